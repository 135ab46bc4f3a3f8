//! What a run's histories say, measured against the demand that reached checkout: the bias of
//! the demand rate estimated from (a) sales, (b) sales on days without a stockout, (c) the
//! ledger's backorder-inclusive `ordered`; the RMSSE of each method and of `auto` on (c); and
//! the cycle service level the reorder points achieved.

use super::sim::VariantRun;
use crate::forecast::{HOLDOUT_DAYS, Method, auto, rate};

/// The first forecast origin: a quarter of history before the first estimate.
const FIRST_ORIGIN: usize = 84;
/// Origins are this many days apart, each forecasting the days up to the next.
const STEP: usize = HOLDOUT_DAYS;

/// A history source of the bias table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Sales,
    InStockDays,
    Ledger,
}

impl Source {
    pub const ALL: [Source; 3] = [Source::Sales, Source::InStockDays, Source::Ledger];

    pub fn label(self) -> &'static str {
        match self {
            Source::Sales => "(a) sales only",
            Source::InStockDays => "(b) sales, stockout days left out",
            Source::Ledger => "(c) this service's history (backorders included)",
        }
    }

    /// The history up to `origin` (exclusive) this source sees.
    fn history(self, run: &VariantRun, origin: usize) -> Vec<f64> {
        let days = 0..origin;
        match self {
            Source::Sales => days.map(|d| run.sales[d] as f64).collect(),
            Source::InStockDays => days.filter(|d| !run.stockout[*d]).map(|d| run.sales[d] as f64).collect(),
            Source::Ledger => days.map(|d| run.ordered[d] as f64).collect(),
        }
    }
}

/// The forecast origins of a run of `days`.
fn origins(days: usize) -> impl Iterator<Item = usize> {
    (FIRST_ORIGIN..=days.saturating_sub(STEP)).step_by(STEP)
}

/// How a demand rate is estimated at an origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Estimate {
    /// The source's units per day over the 28 days before the origin (for (b), over the last 28
    /// in-stock days, however far back): what each history says the rate is, with no method in
    /// between.
    Trailing,
    /// The `auto` method's forecast on the source's whole history: what the advice uses.
    Auto,
}

/// Σ estimated / Σ reached checkout − 1 over the 28 days after every origin of every variant.
/// An origin where the source has nothing to go on (no in-stock day yet) is left out.
pub fn bias(runs: &[VariantRun], source: Source, estimate: Estimate) -> f64 {
    let (mut estimated, mut actual) = (0.0, 0.0);
    for run in runs {
        for origin in origins(run.checkout.len()) {
            let per_day = match estimate {
                Estimate::Trailing => {
                    let history = source.history(run, origin);
                    let history = &history[history.len().saturating_sub(STEP)..];
                    if history.is_empty() {
                        continue;
                    }
                    history.iter().sum::<f64>() / history.len() as f64
                }
                Estimate::Auto => {
                    let history = source.history(run, origin);
                    rate(auto(&history), &history).max(0.0)
                }
            };
            estimated += per_day * STEP as f64;
            actual += run.checkout[origin..origin + STEP].iter().sum::<u64>() as f64;
        }
    }
    if actual == 0.0 { 0.0 } else { estimated / actual - 1.0 }
}

/// Mean RMSSE over every origin of every variant, of `method` (or of `auto`'s choice at each
/// origin with `None`), on the ledger's history against what reached checkout.
pub fn rmsse(runs: &[VariantRun], method: Option<Method>) -> f64 {
    let (mut total, mut n) = (0.0, 0usize);
    for run in runs {
        for origin in origins(run.checkout.len()) {
            let history = Source::Ledger.history(run, origin);
            let scale = history.windows(2).map(|w| (w[1] - w[0]).powi(2)).sum::<f64>() / (history.len() - 1) as f64;
            if scale <= 0.0 {
                continue;
            }
            let chosen = method.unwrap_or_else(|| auto(&history));
            let forecast = rate(chosen, &history);
            let ahead = &run.checkout[origin..origin + STEP];
            let mse = ahead.iter().map(|a| (*a as f64 - forecast).powi(2)).sum::<f64>() / STEP as f64;
            total += (mse / scale).sqrt();
            n += 1;
        }
    }
    if n == 0 { 0.0 } else { total / n as f64 }
}

/// The share of advised replenishment cycles with no unit backordered before the receipt.
pub fn cycle_service_level(runs: &[VariantRun]) -> (f64, u32) {
    let cycles: u32 = runs.iter().map(|r| r.cycles).sum();
    let met: u32 = runs.iter().map(|r| r.cycles_met).sum();
    (if cycles == 0 { 0.0 } else { f64::from(met) / f64::from(cycles) }, cycles)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steady(days: usize, per_day: u64, stockouts: bool) -> VariantRun {
        VariantRun {
            checkout: vec![per_day; days],
            // Every fourth day out of stock: nothing sells then, though customers order.
            sales: (0..days).map(|d| if stockouts && d % 4 == 0 { 0 } else { per_day }).collect(),
            stockout: (0..days).map(|d| stockouts && d % 4 == 0).collect(),
            ordered: vec![per_day; days],
            ..VariantRun::default()
        }
    }

    #[test]
    fn sales_hide_the_demand_of_stockout_days_and_the_ledger_does_not() {
        let runs = [steady(400, 4, true)];
        for estimate in [Estimate::Trailing, Estimate::Auto] {
            assert!(bias(&runs, Source::Ledger, estimate).abs() < 1e-9, "the ledger's history is the demand");
            let sales = bias(&runs, Source::Sales, estimate);
            assert!(sales < -0.2, "a quarter of the days hidden: {sales}");
            let in_stock = bias(&runs, Source::InStockDays, estimate);
            assert!(in_stock.abs() < 1e-9, "leaving those days out recovers a steady rate: {in_stock}");
        }
    }

    #[test]
    fn a_perfect_forecast_has_no_error_and_the_service_level_counts_cycles() {
        let mut run = steady(400, 4, false);
        run.ordered[0] = 5;
        assert!(rmsse(&[run.clone()], Some(Method::Ses)) < 0.05);
        run.cycles = 20;
        run.cycles_met = 19;
        assert_eq!(cycle_service_level(&[run]), (0.95, 20));
    }
}
