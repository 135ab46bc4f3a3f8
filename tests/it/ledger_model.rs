//! The ledger against a deliberately naive reference model of SPEC 4 over random histories.
//!
//! A history is played on a tiny simulated platform that keeps Shopify's inventory accounting
//! (an order takes stock, a cancellation with restock gives it back, one without does not, a
//! fulfillment leaves it, a restocked return gives shipped units back). Every state change
//! becomes a Shopify-shaped delivery; the deliveries are duplicated and shuffled, fed to the
//! ledger, and the result must equal what the model computes from the platform's final state
//! by brute force: the backordered units per line, the unattributed backlog, and the supply
//! position of SPEC 6 (which only arriving stock moves).

use std::collections::{BTreeMap, BTreeSet};

use backorder::ledger::input::{parse_level, parse_order};
use backorder::ledger::memory::MemoryLedger;
use backorder::ledger::rules::ShopRules;
use proptest::prelude::*;

use crate::support::shopify::{Line, Order, level_body};

pub const VARIANTS: [u64; 3] = [11, 12, 13];
const LOCATIONS: [u64; 2] = [1, 2];

pub fn item_of(variant: u64) -> u64 {
    variant + 100
}

#[derive(Debug, Clone)]
pub enum Op {
    Create {
        vip: bool,
        lines: Vec<(usize, u32)>,
        location: usize,
    },
    Fulfil {
        order: usize,
        line: usize,
        units: u32,
    },
    Cancel {
        order: usize,
        restock: bool,
        location: usize,
    },
    /// Shipped units of a line come back and are put on sale again.
    Return {
        order: usize,
        line: usize,
        units: u32,
        location: usize,
    },
    Restock {
        variant: usize,
        location: usize,
        units: i64,
    },
    Recount {
        variant: usize,
        location: usize,
        available: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (any::<bool>(), proptest::collection::vec((0..3usize, 1..4u32), 1..3), 0..2usize)
            .prop_map(|(vip, lines, location)| Op::Create { vip: vip && lines.len() == 1, lines, location }),
        1 => (any::<usize>(), any::<usize>(), 1..3u32).prop_map(|(order, line, units)| Op::Fulfil { order, line, units }),
        1 => (any::<usize>(), any::<bool>(), 0..2usize).prop_map(|(order, restock, location)| Op::Cancel { order, restock, location }),
        1 => (any::<usize>(), any::<usize>(), 1..3u32, 0..2usize)
            .prop_map(|(order, line, units, location)| Op::Return { order, line, units, location }),
        1 => (0..3usize, 0..2usize, 1..6i64).prop_map(|(variant, location, units)| Op::Restock { variant, location, units }),
        1 => (0..3usize, 0..2usize, -4..4i64).prop_map(|(variant, location, available)| Op::Recount { variant, location, available }),
    ]
}

pub type Delivered = (&'static str, Vec<u8>, String);

/// The simulated platform: the truth, and every delivery it sent.
#[derive(Default)]
pub struct Platform {
    pub orders: Vec<Order>,
    pub levels: BTreeMap<(u64, u64), i64>,
    /// Topic, body and `X-Shopify-Triggered-At` of each delivery, in the order they happened.
    pub deliveries: Vec<Delivered>,
    clock: i64,
}

impl Platform {
    fn tick(&mut self) -> i64 {
        self.clock += 1;
        self.clock
    }

    fn set_level(&mut self, variant: u64, location: u64, available: i64, at: i64) {
        self.levels.insert((item_of(variant), location), available);
        let triggered = self.triggered_at(at);
        self.deliveries.push((
            "inventory_levels/update",
            level_body(item_of(variant), location, available, at),
            triggered,
        ));
    }

    fn adjust(&mut self, variant: u64, location: u64, delta: i64, at: i64) {
        let now = self.levels.get(&(item_of(variant), location)).copied().unwrap_or(0);
        self.set_level(variant, location, now + delta, at);
    }

    fn send_order(&mut self, index: usize, topic: &'static str) {
        let body = self.orders[index].body();
        let triggered = self.triggered_at(self.clock);
        self.deliveries.push((topic, body, triggered));
    }

    /// Several changes can share one second of `updated_at`; the trigger time tells them apart.
    fn triggered_at(&self, at: i64) -> String {
        crate::support::shopify::triggered_at(at, self.deliveries.len() as u32)
    }

    pub fn play(&mut self, op: &Op) {
        let at = self.tick();
        match op {
            Op::Create { vip, lines, location } => {
                let id = self.orders.len() as u64 + 1;
                let lines: Vec<Line> = lines
                    .iter()
                    .enumerate()
                    .map(|(n, (v, q))| Line {
                        line_id: id * 10 + n as u64,
                        variant_id: VARIANTS[*v],
                        quantity: *q,
                        fulfillable: *q,
                        ..Line::default()
                    })
                    .collect();
                for l in &lines {
                    self.adjust(l.variant_id, LOCATIONS[*location], -i64::from(l.quantity), at);
                }
                let tags = if *vip { vec!["VIP".to_string()] } else { vec!["newsletter".to_string()] };
                self.orders.push(Order { id, created_at: at, updated_at: at, tags, cancelled: false, lines });
                self.send_order(self.orders.len() - 1, "orders/create");
            }
            Op::Fulfil { order, line, units } if !self.orders.is_empty() => {
                let i = order % self.orders.len();
                let o = &mut self.orders[i];
                let l = line % o.lines.len();
                if o.cancelled || o.lines[l].fulfillable == 0 {
                    return;
                }
                o.lines[l].fulfillable = o.lines[l].fulfillable.saturating_sub(*units);
                o.updated_at = at;
                let done = o.lines.iter().all(|l| l.fulfillable == 0);
                self.send_order(i, if done { "orders/fulfilled" } else { "orders/updated" });
            }
            Op::Cancel { order, restock, location } if !self.orders.is_empty() => {
                let i = order % self.orders.len();
                if self.orders[i].cancelled {
                    return;
                }
                self.orders[i].cancelled = true;
                self.orders[i].updated_at = at;
                // The unshipped units are refunded, put back on sale or not.
                for l in &mut self.orders[i].lines {
                    if *restock {
                        l.restocked += l.fulfillable;
                    } else {
                        l.unrestocked += l.fulfillable;
                    }
                }
                if *restock {
                    let returns: Vec<(u64, u32)> =
                        self.orders[i].lines.iter().map(|l| (l.variant_id, l.fulfillable)).collect();
                    for (variant, units) in returns.into_iter().filter(|(_, u)| *u > 0) {
                        self.adjust(variant, LOCATIONS[*location], i64::from(units), at);
                    }
                }
                self.send_order(i, "orders/cancelled");
            }
            Op::Return { order, line, units, location } if !self.orders.is_empty() => {
                let i = order % self.orders.len();
                let o = &mut self.orders[i];
                let l = line % o.lines.len();
                if o.cancelled {
                    return;
                }
                let shipped = o.lines[l].quantity - o.lines[l].fulfillable - o.lines[l].restocked;
                let back = (*units).min(shipped);
                if back == 0 {
                    return;
                }
                o.lines[l].restocked += back;
                o.updated_at = at;
                let variant = o.lines[l].variant_id;
                self.adjust(variant, LOCATIONS[*location], i64::from(back), at);
                self.send_order(i, "orders/updated");
            }
            Op::Restock { variant, location, units } => {
                self.adjust(VARIANTS[*variant], LOCATIONS[*location], *units, at)
            }
            Op::Recount { variant, location, available } => {
                self.set_level(VARIANTS[*variant], LOCATIONS[*location], *available, at)
            }
            Op::Fulfil { .. } | Op::Cancel { .. } | Op::Return { .. } => {}
        }
    }
}

/// What SPEC 4 and 6 say, computed from scratch, per variant: backordered units per (order,
/// line), the unattributed backlog, and the supply position (the counted stock plus every unit
/// the orders' lines took for good: ordered, less what was refunded and put back on sale).
pub type Expected = BTreeMap<u64, (BTreeMap<(u64, u64), u32>, u64, i64)>;

pub fn model(platform: &Platform, vip_class: i32, counted: Option<&BTreeSet<u64>>) -> Expected {
    let mut out = Expected::new();
    for variant in VARIANTS {
        let mut lines: Vec<((i32, i64, u64, u64), u32)> = Vec::new();
        for o in platform.orders.iter().filter(|o| !o.cancelled) {
            let class = if o.tags.iter().any(|t| t == "VIP") { vip_class } else { 0 };
            for l in o.lines.iter().filter(|l| l.variant_id == variant && l.fulfillable > 0) {
                lines.push(((-class, o.created_at, o.id, l.line_id), l.fulfillable));
            }
        }
        lines.sort();
        let stock: i64 = LOCATIONS
            .iter()
            .filter(|loc| counted.is_none_or(|c| c.contains(loc)))
            .map(|loc| platform.levels.get(&(item_of(variant), *loc)).copied().unwrap_or(0))
            .sum();
        let backlog = if stock < 0 { (-stock) as u64 } else { 0 };
        let units: u64 = lines.iter().map(|(_, q)| u64::from(*q)).sum();
        // Walk the units one by one: the last `backlog` of them are backordered.
        let mut per_line = BTreeMap::new();
        let mut unit = 0u64;
        for ((_, _, order, line), q) in &lines {
            for _ in 0..*q {
                if unit >= units.saturating_sub(backlog) {
                    *per_line.entry((*order, *line)).or_insert(0) += 1;
                }
                unit += 1;
            }
        }
        let taken: i64 = platform
            .orders
            .iter()
            .flat_map(|o| &o.lines)
            .filter(|l| l.variant_id == variant)
            .map(|l| i64::from(l.quantity - l.restocked))
            .sum();
        out.insert(variant, (per_line, backlog.saturating_sub(units), stock + taken));
    }
    out
}

/// A supply plan of 3 units, then 100, set at enrolment (position 0).
pub fn plan() -> Vec<backorder::ledger::records::SupplyBatch> {
    use backorder::ledger::records::SupplyBatch;
    vec![SupplyBatch::merchant(3, "2027-01-10"), SupplyBatch::merchant(100, "2027-02-10")]
}

/// What is left of [`plan`] once the position has risen to `position`: the earliest units go
/// first, one unit per unit arrived.
pub fn plan_left(position: i64) -> Vec<u64> {
    let mut arrived = position.max(0) as u64;
    let mut left = Vec::new();
    for b in plan() {
        let take = arrived.min(b.qty);
        arrived -= take;
        if b.qty > take {
            left.push(b.qty - take);
        }
    }
    left
}

/// What `consume_arrivals` leaves of [`plan`] on `record` (its plan set at position 0).
pub fn consumed(mut record: backorder::ledger::records::VariantRecord) -> Vec<u64> {
    record.supply_rule = backorder::ledger::records::SUPPLY_RULE;
    record.settings.supply = plan();
    record.settings.supply_mark = Some(0);
    backorder::ledger::eta::consume_arrivals(&mut record, 0);
    record.settings.supply.iter().map(|b| b.qty).collect()
}

/// Stock that arrived at counted locations over the history: receipts, and only receipts.
/// (A recount sets a level to any number, and a move out of the counted locations is stock
/// leaving: histories with either say nothing of arrivals alone.)
pub fn arrivals(ops: &[Op], all_counted: bool) -> Option<i64> {
    let mut arrived = 0;
    for op in ops {
        match op {
            Op::Recount { .. } => return None,
            Op::Restock { units, .. } => arrived += units,
            _ => {}
        }
    }
    all_counted.then_some(arrived)
}

pub fn ledger_view(ledger: &MemoryLedger) -> Expected {
    VARIANTS
        .iter()
        .map(|v| {
            let per_line = ledger.backordered(*v).into_iter().map(|(k, b)| ((k.order_id, k.line_id), b)).collect();
            let book = &ledger.variants[v];
            (*v, (per_line, book.header.unattributed(), book.supply_position()))
        })
        .collect()
}

pub fn feed(ledger: &mut MemoryLedger, deliveries: &[Delivered]) {
    for (topic, body, triggered) in deliveries {
        if topic.starts_with("orders/") {
            ledger.apply_order(&parse_order(body, Some(triggered)).expect("our orders parse"));
        } else {
            ledger.apply_level(&parse_level(body, Some(triggered)).expect("our levels parse"));
        }
    }
}

pub fn history() -> impl Strategy<Value = (Vec<Op>, Vec<usize>, u64, bool)> {
    (
        proptest::collection::vec(op(), 1..40),
        proptest::collection::vec(any::<usize>(), 0..15),
        any::<u64>(),
        any::<bool>(),
    )
}

/// The deliveries, some sent twice, in an order fixed by `seed`.
pub fn scramble(deliveries: &[Delivered], dupes: &[usize], seed: u64) -> Vec<Delivered> {
    let mut all = deliveries.to_vec();
    for d in dupes {
        if !deliveries.is_empty() {
            all.push(deliveries[d % deliveries.len()].clone());
        }
    }
    let mut rng = fastrand::Rng::with_seed(seed);
    rng.shuffle(&mut all);
    all
}

pub fn setup(only_first_location: bool) -> (MemoryLedger, Option<BTreeSet<u64>>) {
    let counted = only_first_location.then(|| BTreeSet::from([LOCATIONS[0]]));
    let rules = ShopRules {
        priority_tags: [("VIP".to_string(), 10)].into(),
        counted_locations: counted.clone(),
        timezone: None,
    };
    let mut ledger = MemoryLedger::new(rules);
    for v in VARIANTS {
        ledger.enrol(v, Some(item_of(v)));
    }
    (ledger, counted)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(1000)
    ))]

    #[test]
    fn shuffled_and_duplicated_deliveries_end_in_the_models_ledger((ops, dupes, seed, one_location) in history()) {
        let mut platform = Platform::default();
        for op in &ops {
            platform.play(op);
        }
        let (mut ledger, counted) = setup(one_location);
        feed(&mut ledger, &scramble(&platform.deliveries, &dupes, seed));
        let view = ledger_view(&ledger);
        let expected = model(&platform, 10, counted.as_ref());
        prop_assert_eq!(&view, &expected);
        // A supply plan set at enrolment is consumed by exactly what arrived.
        for (v, book) in &ledger.variants {
            let record = backorder::ledger::records::VariantRecord {
                header: book.header,
                taken: book.taken,
                ..Default::default()
            };
            prop_assert_eq!(consumed(record), plan_left(expected[v].2));
        }
        // Only arrivals move the supply position: orders, fulfillments, cancellations with or
        // without restock and restocked returns leave it where it was (0 at enrolment).
        if let Some(arrived) = arrivals(&ops, !one_location) {
            let position: i64 = view.values().map(|(_, _, p)| p).sum();
            prop_assert_eq!(position, arrived);
        }
    }
}
