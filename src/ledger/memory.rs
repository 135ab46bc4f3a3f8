//! A whole shop's ledger held in memory, driven by the pure rules. The store backends persist the
//! same records; this type is what they load into and what the tests drive directly.

use std::collections::{BTreeMap, BTreeSet};

use super::book::{self, Header, LineChange};
use super::input::{LevelState, OrderState};
use super::rules::{OrderRecord, ShopRules, plan_level, plan_order};
use super::{FillKey, Moved};

/// One managed variant's book.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VariantBook {
    pub inventory_item_id: Option<u64>,
    pub header: Header,
    pub lines: BTreeMap<FillKey, u32>,
    /// Units its orders' lines took from `available` for good, since enrolment (SPEC 6): with
    /// the stock, the supply position.
    pub taken: i64,
}

impl VariantBook {
    /// The supply position: only arriving stock moves it (`ledger::eta`).
    pub fn supply_position(&self) -> i64 {
        self.header.stock.saturating_add(self.taken)
    }
}

/// What an event changed: the input of the effects (tags, holds, emails).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changed {
    pub orders: BTreeSet<u64>,
    pub variants: BTreeSet<u64>,
}

impl Changed {
    pub fn is_empty(&self) -> bool {
        self.orders.is_empty() && self.variants.is_empty()
    }

    fn record(&mut self, variant: u64, moved: &[Moved]) {
        self.variants.insert(variant);
        self.orders.extend(moved.iter().map(|m| m.key.order_id));
    }
}

#[derive(Debug, Clone, Default)]
pub struct MemoryLedger {
    pub rules: ShopRules,
    pub orders: BTreeMap<u64, OrderRecord>,
    /// Latest level per (inventory item, location).
    pub levels: BTreeMap<(u64, u64), LevelState>,
    pub variants: BTreeMap<u64, VariantBook>,
}

impl MemoryLedger {
    pub fn new(rules: ShopRules) -> Self {
        Self { rules, ..Self::default() }
    }

    /// Starts managing a variant. Its stock comes from the levels already known for its item;
    /// open lines of orders seen before enrolment are found by reconciliation, not here.
    pub fn enrol(&mut self, variant_id: u64, inventory_item_id: Option<u64>) -> Changed {
        self.variants.entry(variant_id).or_default();
        self.map_item(variant_id, inventory_item_id)
    }

    /// Records which inventory item backs a managed variant (from `products/update` or the
    /// platform) and recounts its stock from the levels of that item.
    pub fn map_item(&mut self, variant_id: u64, inventory_item_id: Option<u64>) -> Changed {
        let Some(book) = self.variants.get(&variant_id) else { return Changed::default() };
        if book.inventory_item_id == inventory_item_id {
            return Changed::default();
        }
        let stock = inventory_item_id.map_or(0, |item| self.stock_of(item));
        let book = self.variants.get_mut(&variant_id).expect("checked above");
        book.inventory_item_id = inventory_item_id;
        Self::rebook(variant_id, book, &[], stock)
    }

    fn stock_of(&self, item: u64) -> i64 {
        self.levels
            .range((item, 0)..=(item, u64::MAX))
            .filter(|((_, location), _)| self.rules.counts(*location))
            .map(|(_, l)| l.available.unwrap_or(0))
            .sum()
    }

    pub fn apply_order(&mut self, state: &OrderState) -> Changed {
        let variants = &self.variants;
        let Some(plan) =
            plan_order(state, self.orders.get(&state.order_id), &self.rules, |v| variants.contains_key(&v))
        else {
            return Changed::default();
        };
        self.orders.insert(state.order_id, plan.record);
        let mut changed = Changed::default();
        // Every order of a book in memory is placed after its enrolment.
        for (variant, delta) in plan.taken.iter().chain(&plan.taken_new) {
            let book = self.variants.get_mut(variant).expect("plan only names managed variants");
            book.taken = book.taken.saturating_add(*delta);
        }
        for (variant, changes) in plan.changes {
            let book = self.variants.get_mut(&variant).expect("plan only names managed variants");
            for c in &changes {
                if c.new == 0 {
                    book.lines.remove(&c.key);
                } else {
                    book.lines.insert(c.key, c.new);
                }
            }
            let stock = book.header.stock;
            let moved = Self::rebook(variant, book, &changes, stock);
            changed.orders.extend(moved.orders);
            changed.variants.extend(moved.variants);
        }
        changed
    }

    pub fn apply_level(&mut self, state: &LevelState) -> Changed {
        let key = (state.inventory_item_id, state.location_id);
        let Some(delta) = plan_level(state, self.levels.get(&key), &self.rules) else { return Changed::default() };
        self.levels.insert(key, *state);
        let mut changed = Changed::default();
        if delta == 0 {
            return changed;
        }
        for (variant, book) in
            self.variants.iter_mut().filter(|(_, b)| b.inventory_item_id == Some(state.inventory_item_id))
        {
            let stock = book.header.stock + delta;
            let moved = Self::rebook(*variant, book, &[], stock);
            changed.orders.extend(moved.orders);
            changed.variants.extend(moved.variants);
        }
        changed
    }

    fn rebook(variant: u64, book: &mut VariantBook, changes: &[LineChange], stock: i64) -> Changed {
        let (header, moved) =
            book::apply(&book.header, changes, stock, &book.lines).expect("a book in memory holds all its lines");
        let mut changed = Changed::default();
        if header != book.header || !moved.is_empty() {
            changed.record(variant, &moved);
        }
        book.header = header;
        changed
    }

    /// Backordered units per (order, line) of a variant, in fill order.
    pub fn backordered(&self, variant_id: u64) -> Vec<(FillKey, u32)> {
        let Some(book) = self.variants.get(&variant_id) else { return Vec::new() };
        book.lines.iter().map(|(k, q)| (*k, book.header.backordered_of(k, *q))).filter(|(_, b)| *b > 0).collect()
    }
}
