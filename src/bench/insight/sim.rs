//! One variant's two years, day by day, through the ledger's rules (`ledger::MemoryLedger`, the
//! pure in-memory ledger the store backends persist): customers order whatever the stock (what
//! cannot ship waits on backorder; in the second run a share cancel when told a long ETA), the
//! platform's `available` follows, covered lines ship, and the supplier delivers after a lead
//! time that varies.
//!
//! The first year the merchant reorders by feel: when the shelf is empty, what waits and about
//! six weeks of recent orders. Stockouts are frequent, and a sales report hides the demand during them.
//! The second year the merchant follows the service's advice (`forecast::advise`, from the
//! ledger's daily `ordered`, with the spread of lead times the receipts so far show): an order
//! whenever the inventory position falls to the reorder point. Those cycles measure the service
//! level the reorder points achieve.

use fastrand::Rng;

use super::demand::Profile;
use crate::forecast::{Standing, advise, inventory_position};
use crate::ledger::input::{LevelState, OrderLine, OrderState, Version};
use crate::ledger::memory::MemoryLedger;
use crate::ledger::rules::ShopRules;

const VARIANT: u64 = 1;
const ITEM: u64 = 1;
const LOCATION: u64 = 1;
/// The day the merchant starts following the advice.
pub const ADVISED_FROM: usize = 365;
/// Days of history the advice reads (the service reads the daily record up to a year back).
const HISTORY: usize = 365;
/// A reorder covers at least this many days of the forecast, so cycles do not overlap.
const MIN_COVER_DAYS: f64 = 30.0;

/// Customers who cancel a backorder when the ETA they are told is long.
#[derive(Debug, Clone, Copy)]
pub struct GiveUp {
    pub share: f64,
    pub after_days: u32,
}

/// What one variant's run recorded, per day.
#[derive(Debug, Clone, Default)]
pub struct VariantRun {
    pub shape: Option<super::demand::Shape>,
    /// Units that reached checkout (the truth the estimates are measured against).
    pub checkout: Vec<u64>,
    /// (a) Units sold from stock at the moment of ordering: what a sales report shows.
    pub sales: Vec<u64>,
    /// A day on which some unit could not ship from stock (it opened empty, or ran out).
    pub stockout: Vec<bool>,
    /// (c) The ledger's daily `ordered`: units taken, in stock and on backorder.
    pub ordered: Vec<u64>,
    /// Replenishment cycles placed at the reorder point, and those with no unit backordered
    /// between the order and its receipt.
    pub cycles: u32,
    pub cycles_met: u32,
    /// Units ordered on backorder and cancelled at once for the long wait.
    pub gave_up: u64,
}

/// The supplier order on its way: units, the day it arrives, the day it was placed, and
/// whether a unit went on backorder since (for advised cycles).
struct Outstanding {
    units: u64,
    arrives: usize,
    placed: usize,
    advised: bool,
    short: bool,
}

struct Books {
    ledger: MemoryLedger,
    /// Open (order, units) of the variant, oldest first.
    open: Vec<(u64, u32)>,
    next_id: u64,
    clock: i64,
    available: i64,
}

impl Books {
    fn new(available: i64) -> Self {
        let mut books =
            Self { ledger: MemoryLedger::new(ShopRules::default()), open: Vec::new(), next_id: 0, clock: 0, available };
        books.ledger.enrol(VARIANT, Some(ITEM));
        books.level(available);
        books
    }

    fn version(&mut self) -> Version {
        self.clock += 1;
        Version { updated_at_ms: self.clock, triggered_at_ns: self.clock, digest: 0 }
    }

    fn level(&mut self, available: i64) {
        self.available = available;
        let version = self.version();
        let state = LevelState { inventory_item_id: ITEM, location_id: LOCATION, available: Some(available), version };
        self.ledger.apply_level(&state);
    }

    fn order_state(&mut self, id: u64, units: u32, open: u32, day: usize) -> OrderState {
        let version = self.version();
        let lines = vec![OrderLine { line_id: id, variant_id: Some(VARIANT), open_qty: open, taken: Some(units) }];
        let created_at_ms = day as i64 * 86_400_000 + (id % 86_400_000) as i64;
        let mut state = OrderState::from_platform(id, String::new(), created_at_ms, 0, Vec::new(), lines, false, 0);
        state.version = version;
        state
    }

    /// A customer's order of `units`: the ledger books it, then the platform's level drops.
    fn place(&mut self, units: u32, day: usize) {
        self.next_id += 1;
        let id = self.next_id;
        let state = self.order_state(id, units, units, day);
        self.ledger.apply_order(&state);
        self.open.push((id, units));
        self.level(self.available - i64::from(units));
    }

    /// The customer of the latest order gives up: it is cancelled, its units go back on sale.
    fn cancel_latest(&mut self, day: usize) {
        let Some((id, units)) = self.open.pop() else { return };
        let mut state = self.order_state(id, 0, 0, day);
        state.cancelled = true;
        self.ledger.apply_order(&state);
        self.ledger.orders.remove(&id);
        self.level(self.available + i64::from(units));
    }

    /// Ships every open line with no unit waiting; shipped orders leave the ledger's memory
    /// (no event of theirs comes again).
    fn ship_covered(&mut self, day: usize) {
        let waiting: std::collections::BTreeSet<u64> =
            self.ledger.backordered(VARIANT).iter().map(|(k, _)| k.order_id).collect();
        let open = std::mem::take(&mut self.open);
        for (id, units) in open {
            if waiting.contains(&id) {
                self.open.push((id, units));
                continue;
            }
            let shipped = self.order_state(id, units, 0, day);
            self.ledger.apply_order(&shipped);
            self.ledger.orders.remove(&id);
        }
    }

    fn taken(&self) -> i64 {
        self.ledger.variants[&VARIANT].taken
    }

    fn backordered(&self) -> u64 {
        self.ledger.variants[&VARIANT].header.backordered()
    }
}

fn mean_and_spread(xs: &[u32]) -> (f64, Option<f64>) {
    if xs.is_empty() {
        return (0.0, None);
    }
    let n = xs.len() as f64;
    let mean = xs.iter().map(|x| f64::from(*x)).sum::<f64>() / n;
    let spread =
        (xs.len() >= 2).then(|| (xs.iter().map(|x| (f64::from(*x) - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt());
    (mean, spread)
}

/// Runs one variant through `profile.orders.len()` days.
pub fn run(profile: &Profile, give_up: Option<GiveUp>, service_level: f64, rng: &mut Rng) -> VariantRun {
    let days = profile.orders.len();
    let first_weeks: u32 = profile.orders.iter().take(42).flatten().sum();
    let mut books = Books::new(i64::from(first_weeks));
    let mut out = VariantRun {
        checkout: vec![0; days],
        sales: vec![0; days],
        stockout: vec![false; days],
        ordered: vec![0; days],
        shape: Some(profile.shape),
        ..VariantRun::default()
    };
    // The first orders the advice places may start from the stockout the year by feel left:
    // cycles count from the first advised receipt on.
    let mut steady_since: Option<usize> = None;
    // Supplier orders on their way; the advice may have several out at once, as a reorder
    // point on the inventory position (stock + on order − backordered) does.
    let mut outstanding: Vec<Outstanding> = Vec::new();
    let mut lead_times: Vec<u32> = Vec::new();
    let today0 = time::Date::from_calendar_date(2025, time::Month::January, 1).expect("a date");
    for day in 0..days {
        let (arriving, on_way): (Vec<Outstanding>, Vec<Outstanding>) =
            std::mem::take(&mut outstanding).into_iter().partition(|o| o.arrives == day);
        outstanding = on_way;
        for o in arriving {
            books.level(books.available + o.units as i64);
            lead_times.push((o.arrives - o.placed) as u32);
            if o.advised && steady_since.is_some_and(|since| o.placed >= since) {
                out.cycles += 1;
                out.cycles_met += u32::from(!o.short);
            }
            if o.advised && steady_since.is_none() {
                steady_since = Some(day);
            }
        }
        out.stockout[day] = books.available <= 0;
        for &units in &profile.orders[day] {
            let waits = books.available < i64::from(units);
            out.checkout[day] += u64::from(units);
            out.sales[day] += books.available.clamp(0, i64::from(units)) as u64;
            if waits {
                out.stockout[day] = true;
                for o in &mut outstanding {
                    o.short = true;
                }
            }
            // The ledger's `ordered` is what the order took (`Tally::Taken` up); a
            // cancellation is counted apart, as the daily record does.
            let before = books.taken();
            books.place(units, day);
            out.ordered[day] += (books.taken() - before).max(0) as u64;
            if let (true, Some(g)) = (waits, give_up) {
                // Told a long wait (the `backordered` email), some cancel at once.
                let next = outstanding.iter().map(|o| o.arrives - day).min();
                let eta = next.unwrap_or(profile.lead_time_days as usize);
                if eta > g.after_days as usize && rng.f64() < g.share {
                    out.gave_up += u64::from(units);
                    books.cancel_latest(day);
                }
            }
        }
        books.ship_covered(day);

        let advised = day >= ADVISED_FROM;
        let on_order: u64 = outstanding.iter().map(|o| o.units).sum();
        if !advised && on_order > 0 {
            continue;
        }
        let units = if advised {
            let (mean, spread) = mean_and_spread(&lead_times);
            let standing = Standing {
                demand: out.ordered[day + 1 - HISTORY.min(day + 1)..=day].iter().map(|u| *u as f64).collect(),
                ordered: 0,
                cancelled: 0,
                lead_time_days: if lead_times.is_empty() { profile.lead_time_days } else { mean.round() as u32 },
                lead_time_spread: spread,
                service_level,
                available: books.available,
                backordered: books.backordered(),
                incoming: on_order,
                today: today0 + time::Duration::days(day as i64),
            };
            // Worked out daily, as the service does (its reorder point is cached per shop day).
            let advice = advise(&standing);
            let position = inventory_position(books.available, on_order, books.backordered());
            if position > advice.reorder_point as i64 {
                continue;
            }
            advice.suggested_order_qty.max((advice.demand_per_day * MIN_COVER_DAYS).ceil() as u64).max(1)
        } else {
            // By feel: when the shelf is empty, what waits and six weeks of the orders of the
            // last four.
            if books.available > 0 {
                continue;
            }
            let recent: u64 = out.checkout[day + 1 - 28.min(day + 1)..=day].iter().sum();
            (books.backordered() + recent * 42 / 28).max(5)
        };
        let (low, high) = profile.lead_time_range;
        let factor = low + (high - low) * rng.f64();
        let lead = ((f64::from(profile.lead_time_days) * factor).round() as usize).max(1);
        outstanding.push(Outstanding { units, arrives: day + lead, placed: day, advised, short: false });
    }
    out
}
