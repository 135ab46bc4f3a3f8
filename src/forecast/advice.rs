//! Reorder advice (SPEC 10.1) from a variant's demand history and where its stock stands:
//! safety stock, reorder point, how much to order and by when. Pure arithmetic; the endpoint and
//! the owner's alert feed it what the books hold.
//!
//! Demand is what customers ordered per day, in stock and on backorder, so a stockout does not
//! hide it. Lead-time demand is the forecast rate times the lead time. Its spread is measured,
//! not assumed: the root mean square of the method's own errors over a lead time in the history
//! (each day's forecast times the lead time against what the next lead-time days ordered), so it
//! holds the error of the forecast's level, which lasts the whole lead time, and any bias of the
//! method, as well as the days' noise; one-day errors times the square root of the lead time
//! would take the days as independent and miss both. The spread of the lead time itself is added
//! where receipts show it. A lumpy history takes the service level's quantile of its own rolling
//! lead-time sums instead, which a normal spread understates.

use serde::Serialize;
use time::Date;

use super::{Method, auto, fit, is_lumpy, sigma};

/// Where a variant stands, and what the merchant set.
#[derive(Debug, Clone)]
pub struct Standing {
    /// Units ordered per day, oldest first, ending yesterday or today.
    pub demand: Vec<f64>,
    /// Units ordered and given back over the same days.
    pub ordered: u64,
    pub cancelled: u64,
    pub lead_time_days: u32,
    /// The spread of observed lead times, in days, where receipts show it.
    pub lead_time_spread: Option<f64>,
    pub service_level: f64,
    /// The counted stock (`available`, negative while units are backordered).
    pub available: i64,
    pub backordered: u64,
    /// Units of the remaining supply batches.
    pub incoming: u64,
    pub today: Date,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Advice {
    pub method: Method,
    pub demand_per_day: f64,
    pub sigma_per_day: f64,
    pub lead_time_days: u32,
    pub service_level: f64,
    pub safety_stock: u64,
    pub reorder_point: u64,
    pub on_hand: u64,
    pub backordered_units: u64,
    pub incoming: u64,
    /// Available (not below 0) + incoming − backordered.
    pub inventory_position: i64,
    pub suggested_order_qty: u64,
    /// The last day to order that keeps the variant above its safety stock; `None` when no
    /// demand is forecast.
    pub order_by: Option<String>,
    /// Whole days the stock on hand lasts at the forecast rate; `None` when none is forecast.
    pub days_of_cover: Option<u64>,
    pub history_days: usize,
    pub cancel_rate: f64,
    pub lumpy: bool,
}

/// What the variant has and expects, less what customers wait for: available (not below 0) +
/// incoming − backordered.
pub fn inventory_position(available: i64, incoming: u64, backordered: u64) -> i64 {
    available.max(0).saturating_add(incoming as i64).saturating_sub(backordered as i64)
}

/// The standard normal quantile (Acklam's rational approximation, relative error below
/// 1.2e-9: far below a unit of stock), for `p` in (0, 1).
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.38357751867269e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] =
        [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// The `level` quantile (nearest rank) of what a lumpy history ordered from a day with demand
/// through the `lead` days after it. A lumpy series falls to its reorder point on a day with
/// demand, and often by a whole case past it: the day's demand beyond the point waits on the
/// same receipt as the lead time's, so each window holds that day and the lead time after it.
fn rolling_quantile(y: &[f64], lead: usize, level: f64) -> Option<f64> {
    if lead == 0 || y.len() <= lead {
        return None;
    }
    let mut sums: Vec<f64> = y.windows(lead + 1).filter(|w| w[0] > 0.0).map(|w| w.iter().sum()).collect();
    if sums.is_empty() {
        return None;
    }
    sums.sort_by(f64::total_cmp);
    let rank = ((level * sums.len() as f64).ceil() as usize).clamp(1, sums.len());
    Some(sums[rank - 1])
}

/// The root mean square of `lead`-day errors: at each day with a forecast (`fitted`), that
/// forecast over the next `lead` days against what they ordered. `None` with fewer than two.
fn lead_time_error(y: &[f64], fitted: &[f64], lead: usize) -> Option<f64> {
    if lead == 0 || y.len() < lead {
        return None;
    }
    let mut window: f64 = y[..lead].iter().sum();
    let (mut squares, mut n) = (0.0, 0usize);
    for t in 0..=y.len() - lead {
        if t > 0 {
            window += y[t + lead - 1] - y[t - 1];
        }
        if let Some(f) = fitted.get(t).filter(|f| f.is_finite()) {
            squares += (window - f * lead as f64).powi(2);
            n += 1;
        }
    }
    (n >= 2).then(|| (squares / n as f64).sqrt())
}

pub fn advise(s: &Standing) -> Advice {
    let method = auto(&s.demand);
    let f = fit(method, &s.demand);
    let (rate, spread) = (f.rate.max(0.0), sigma(&s.demand, &f.fitted));
    let lead = f64::from(s.lead_time_days);
    let lead_demand = rate * lead;
    let lt_spread = s.lead_time_spread.unwrap_or(0.0);
    let lumpy = is_lumpy(&s.demand);
    // Measured over lead times where the history holds them; days taken as independent where
    // it is too short.
    let lead_spread =
        lead_time_error(&s.demand, &f.fitted, s.lead_time_days as usize).unwrap_or_else(|| spread * lead.sqrt());
    let normal_safety = normal_quantile(s.service_level) * (lead_spread.powi(2) + (rate * lt_spread).powi(2)).sqrt();
    let safety = match rolling_quantile(&s.demand, s.lead_time_days as usize, s.service_level).filter(|_| lumpy) {
        Some(quantile) => (quantile - lead_demand).max(0.0),
        None => normal_safety.max(0.0),
    };
    let safety_stock = safety.ceil() as u64;
    let reorder_point = (lead_demand + safety).ceil() as u64;
    let on_hand = s.available.max(0) as u64;
    let position = inventory_position(s.available, s.incoming, s.backordered);
    let need = s.backordered as f64 + lead_demand + safety - on_hand as f64 - s.incoming as f64;
    let suggested_order_qty = need.max(0.0).ceil() as u64;
    let order_by = (rate > 0.0).then(|| {
        let days = ((position as f64 - reorder_point as f64) / rate).floor().max(0.0);
        let day = s.today.checked_add(time::Duration::days(days.min(3650.0) as i64)).unwrap_or(s.today);
        crate::ledger::eta::format(day)
    });
    let days_of_cover = (rate > 0.0).then(|| (on_hand as f64 / rate).floor() as u64);
    Advice {
        method,
        demand_per_day: rate,
        sigma_per_day: spread,
        lead_time_days: s.lead_time_days,
        service_level: s.service_level,
        safety_stock,
        reorder_point,
        on_hand,
        backordered_units: s.backordered,
        incoming: s.incoming,
        inventory_position: position,
        suggested_order_qty,
        order_by,
        days_of_cover,
        history_days: s.demand.len(),
        cancel_rate: if s.ordered == 0 { 0.0 } else { s.cancelled as f64 / s.ordered as f64 },
        lumpy,
    }
}
