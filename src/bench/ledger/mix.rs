//! The measured mix of ledger events on the one variant, in cycles of 20 that add as many lines
//! as they remove, so the depth stays where the setup put it (within a few lines):
//! - 7 new orders, created after every other (the back of the queue),
//! - 2 VIP orders (a higher priority class: the front of the queue),
//! - 9 cancellations of a random open order,
//! - 1 restock and 1 sale: a level update of +3 and one of -3 units.
//!
//! Every event goes through the engine exactly as a worker applies a webhook's parsed state.

use std::sync::Mutex;

use super::fill::{self, Open};
use crate::books::apply::{apply_level, apply_order};
use crate::books::{BookError, Books};
use crate::ledger::input::{OrderState, Version};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    New,
    Vip,
    Cancel,
    Level,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::New, Kind::Vip, Kind::Cancel, Kind::Level];

    pub fn name(self) -> &'static str {
        match self {
            Kind::New => "new order (back)",
            Kind::Vip => "VIP order (front)",
            Kind::Cancel => "cancel (random line)",
            Kind::Level => "level ±3",
        }
    }
}

const CYCLE: [(Kind, usize); 4] = [(Kind::New, 7), (Kind::Vip, 2), (Kind::Cancel, 9), (Kind::Level, 2)];
const LEVEL_STEP: i64 = 3;

/// What the bench knows of the book: the open orders and the clocks, shared by the tasks.
pub struct Book {
    state: Mutex<State>,
}

struct State {
    open: Vec<Open>,
    next_order: u64,
    /// Milliseconds; every created_at and updated_at the bench sends is later than the last one.
    clock: i64,
    available: i64,
    restock_next: bool,
    cycle: Vec<Kind>,
    rng: fastrand::Rng,
    events: u64,
}

/// One event, decided under the lock and applied outside it.
enum Planned {
    Order { state: Box<OrderState>, created: Option<Open> },
    Level { available: i64, at: i64 },
}

impl Book {
    pub fn new(open: Vec<Open>, available: i64, seed: u64) -> Self {
        let next_order = open.last().map_or(fill::FIRST_ORDER, |o| o.order_id + 1);
        let clock = open.last().map_or(fill::EPOCH_MS, |o| o.created_at_ms) + 1;
        let state = State {
            open,
            next_order,
            clock,
            available,
            restock_next: true,
            cycle: Vec::new(),
            rng: fastrand::Rng::with_seed(seed),
            events: 0,
        };
        Self { state: Mutex::new(state) }
    }

    pub fn depth(&self) -> usize {
        self.lock().open.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn plan(&self) -> (Kind, String, Planned) {
        let mut s = self.lock();
        if s.cycle.is_empty() {
            let mut cycle: Vec<Kind> = CYCLE.iter().flat_map(|(k, n)| std::iter::repeat_n(*k, *n)).collect();
            s.rng.shuffle(&mut cycle);
            s.cycle = cycle;
        }
        let mut kind = s.cycle.pop().expect("refilled above");
        if kind == Kind::Cancel && s.open.is_empty() {
            kind = Kind::New;
        }
        s.clock += 1;
        s.events += 1;
        let (at, key) = (s.clock, format!("bench:ev:{}", s.events));
        let planned = match kind {
            Kind::New | Kind::Vip => {
                let o =
                    Open { order_id: s.next_order, created_at_ms: at, vip: kind == Kind::Vip, qty: s.rng.u32(1..=3) };
                s.next_order += 1;
                Planned::Order { state: Box::new(order_state(&o, at, o.qty)), created: Some(o) }
            }
            Kind::Cancel => {
                let len = s.open.len();
                let i = s.rng.usize(..len);
                let o = s.open.swap_remove(i);
                Planned::Order { state: Box::new(order_state(&o, at, 0)), created: None }
            }
            Kind::Level => {
                s.available += if s.restock_next { LEVEL_STEP } else { -LEVEL_STEP };
                s.restock_next = !s.restock_next;
                Planned::Level { available: s.available, at }
            }
        };
        (kind, key, planned)
    }

    /// Decides and applies the next event of the mix.
    pub async fn step(&self, books: &Books, shop: &str) -> (Kind, Result<(), BookError>) {
        let (kind, key, planned) = self.plan();
        let event = fill::event(shop, key);
        let result = match planned {
            Planned::Order { state, created } => {
                let r = apply_order(books, &event, &state).await;
                if let (Ok(_), Some(o)) = (&r, created) {
                    self.lock().open.push(o);
                }
                r
            }
            Planned::Level { available, at } => apply_level(books, &event, &fill::level(available, at)).await,
        };
        (kind, result.map(|_| ()))
    }
}

/// The order as its webhook would describe it at `updated_at_ms`, its line open for `open_qty`.
fn order_state(o: &Open, updated_at_ms: i64, open_qty: u32) -> OrderState {
    OrderState {
        order_id: o.order_id,
        name: format!("#{}", o.order_id),
        created_at_ms: o.created_at_ms,
        version: Version { updated_at_ms, triggered_at_ns: 0, digest: u64::from(open_qty) },
        customer_tags: o.tags(),
        lines: vec![o.line(open_qty)],
        // The bench's closing events are cancellations.
        cancelled: open_qty == 0,
        contact: Default::default(),
    }
}
