//! Setup of one depth, not measured: the shop's rules, one enrolled variant backed by one
//! inventory item, and `depth` open lines on it with negative stock, so about half the units
//! are backordered and the boundary sits in the middle of the queue.
//!
//! The lines go in by large commits written straight to the store (a thousand orders each),
//! not event by event: 100,000 events through the engine would take minutes on a busy machine.
//! The header is computed once over all lines; the first measured event checks it (the engine
//! refuses a book that disagrees with its lines).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::books::apply::{Event, apply_level, map_variant};
use crate::books::{Books, Change, key};
use crate::ledger::input::{LevelState, OrderLine, VariantInfo, Version};
use crate::ledger::rules::{OrderRecord, ShopRules};
use crate::ledger::{FillKey, Header};

pub const VARIANT: u64 = 9_153_027_655_318_407_221;
pub const ITEM: u64 = 9_007_199_254_740_993;
pub const LOCATION: u64 = 1;
/// The priority class of orders from customers tagged `VIP`.
pub const VIP_CLASS: i32 = 10;
/// Order ids of the bench start here; line ids are `order id * 10 + 1`.
pub const FIRST_ORDER: u64 = 5_000_000_000_000;
/// `created_at` of the first pre-filled order; each later order is one millisecond younger.
pub const EPOCH_MS: i64 = 1_780_000_000_000;
const ORDERS_PER_COMMIT: usize = 1000;

/// One open order of the bench: one line of `qty` units on the variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Open {
    pub order_id: u64,
    pub created_at_ms: i64,
    pub vip: bool,
    pub qty: u32,
}

impl Open {
    pub fn key(&self) -> FillKey {
        let priority = if self.vip { VIP_CLASS } else { 0 };
        FillKey {
            priority,
            created_at_ms: self.created_at_ms,
            order_id: self.order_id,
            line_id: self.order_id * 10 + 1,
        }
    }

    pub fn line(&self, open_qty: u32) -> OrderLine {
        OrderLine { line_id: self.order_id * 10 + 1, variant_id: Some(VARIANT), open_qty, taken: None }
    }

    pub fn tags(&self) -> Vec<String> {
        if self.vip { vec!["VIP".into()] } else { Vec::new() }
    }
}

pub fn event(shop: &str, key: String) -> Event<'_> {
    Event::new(shop, key, "bench", Duration::from_secs(3600))
}

/// Stock that leaves about half of `units` backordered.
pub fn half_covered(units: u64) -> i64 {
    -(units.div_ceil(2) as i64)
}

pub fn level(available: i64, updated_at_ms: i64) -> LevelState {
    let version = Version { updated_at_ms, triggered_at_ns: 0, digest: available as u64 };
    LevelState { inventory_item_id: ITEM, location_id: LOCATION, available: Some(available), version }
}

/// The book's header over `lines` (in fill order) and `stock`, as the engine would keep it.
pub fn header_of(lines: &[(FillKey, u32)], stock: i64) -> Header {
    let units: u64 = lines.iter().map(|(_, q)| u64::from(*q)).sum();
    let mut header = Header { units, stock, boundary: None, before: units };
    let covered = header.covered();
    let mut before = 0u64;
    for (key, qty) in lines {
        if before + u64::from(*qty) > covered {
            header.boundary = Some(*key);
            header.before = before;
            break;
        }
        before += u64::from(*qty);
    }
    header
}

/// The open orders of a fresh book of `depth` lines of 1 to 3 units each, oldest first.
pub fn orders(depth: usize, rng: &mut fastrand::Rng) -> Vec<Open> {
    (0..depth)
        .map(|i| Open {
            order_id: FIRST_ORDER + i as u64,
            created_at_ms: EPOCH_MS + i as i64,
            vip: false,
            qty: rng.u32(1..=3),
        })
        .collect()
}

/// Rules, level, enrolment, then the lines and the header. Returns the stock set.
pub async fn fill(books: &Books, shop: &str, open: &[Open]) -> Result<i64, String> {
    let fail = |what: &str, e: &dyn std::fmt::Display| format!("setup, {what}: {e}");
    let rules = ShopRules {
        priority_tags: BTreeMap::from([("VIP".into(), VIP_CLASS)]),
        counted_locations: None,
        timezone: None,
    };
    books.commit(shop, Change::unchecked().put(key::Rules, &rules)).await.map_err(|e| fail("rules", &e))?;

    let units: u64 = open.iter().map(|o| u64::from(o.qty)).sum();
    let stock = half_covered(units);
    apply_level(books, &event(shop, "bench:level".into()), &level(stock, EPOCH_MS))
        .await
        .map_err(|e| fail("level", &e))?;
    let info = VariantInfo {
        variant_id: VARIANT,
        product_id: 1,
        inventory_item_id: Some(ITEM),
        title: "Tee".into(),
        options: vec![],
    };
    map_variant(books, &event(shop, "bench:enrol".into()), &info, true).await.map_err(|e| fail("enrol", &e))?;

    for chunk in open.chunks(ORDERS_PER_COMMIT) {
        let mut change = Change::unchecked();
        for o in chunk {
            let record = OrderRecord {
                version: Version { updated_at_ms: o.created_at_ms, triggered_at_ns: 0, digest: 0 },
                name: format!("#{}", o.order_id),
                created_at_ms: o.created_at_ms,
                priority: 0,
                lines: vec![o.line(o.qty)],
                customer_tags: Vec::new(),
                redacted: false,
                priority_override: None,
            };
            change = change.put(key::Order(o.order_id), &record).line(VARIANT, o.key(), 0, o.qty);
        }
        books.commit(shop, change).await.map_err(|e| fail("lines", &e))?;
    }

    let mut record = books
        .get(shop, key::Variant(VARIANT))
        .await
        .map_err(|e| fail("variant", &e))?
        .ok_or("setup: the variant was not enrolled")?;
    let lines: Vec<(FillKey, u32)> = open.iter().map(|o| (o.key(), o.qty)).collect();
    record.header = header_of(&lines, stock);
    books
        .commit(shop, Change::unchecked().put(key::Variant(VARIANT), &record))
        .await
        .map_err(|e| fail("header", &e))?;
    Ok(stock)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::book::attribute;

    #[test]
    fn the_computed_header_attributes_like_the_definition() {
        let mut rng = fastrand::Rng::with_seed(7);
        for depth in [0, 1, 2, 10, 57] {
            let open = orders(depth, &mut rng);
            let lines: Vec<(FillKey, u32)> = open.iter().map(|o| (o.key(), o.qty)).collect();
            let units: u64 = lines.iter().map(|(_, q)| u64::from(*q)).sum();
            for stock in [half_covered(units), 0, 5, -(units as i64), -(units as i64) - 4] {
                let header = header_of(&lines, stock);
                let (expected, unattributed) = attribute(&lines.iter().copied().collect(), header.backlog());
                let got: Vec<(FillKey, u32)> = lines.iter().map(|(k, q)| (*k, header.backordered_of(k, *q))).collect();
                assert_eq!(got, expected, "depth {depth}, stock {stock}");
                assert_eq!(header.unattributed(), unattributed);
            }
        }
    }
}
