//! Bringing existing books in line with changed shop rules: a new priority map moves orders to
//! their new place in the fill order, new counted locations change each variant's stock.
//!
//! Webhooks only ever touch what their event changes; a rules change touches every open order,
//! so it is the one piece of work that grows with the backlog. It runs as a job of small
//! commits, each re-deciding one order or one variant from fresh reads, so it never holds up
//! webhooks, a concurrent webhook for the same order simply wins the race and the job's retry
//! finds nothing left to do, and a job cut short can run again from the start.

use std::collections::BTreeSet;
use std::ops::Bound;

use super::apply::{Event, book_into, book_order, finish, load_books, rebook, stock_of, too_contended};
use super::daily::Diary;
use super::{BookError, Books, Reads, key};
use crate::ledger::rules::{OrderPlan, OrderRecord, ShopRules, plan_override, plan_rekey};
use crate::store::Record;

/// Lines read per page while collecting a book's orders.
const PAGE: usize = 1000;

/// Moves one order's lines to the places the current priority map gives them. `Ok(false)`
/// when the order was already in place (or is gone).
pub async fn rekey_order(books: &Books, event: &Event<'_>, order_id: u64) -> Result<bool, BookError> {
    let replanned =
        replan_order(books, event, order_id, |old, rules, managed| plan_rekey(order_id, old, rules, managed));
    Ok(replanned.await?.unwrap_or(false))
}

/// Gives the order the class `by_hand` (SPEC 11: moved ahead by the merchant; `None` takes it
/// back to its customer's tags' class) and moves its lines to their new places. `Ok(None)`: no
/// such order; `Ok(Some(changed))`.
pub async fn override_order(
    books: &Books,
    event: &Event<'_>,
    order_id: u64,
    by_hand: Option<i32>,
) -> Result<Option<bool>, BookError> {
    replan_order(books, event, order_id, |old, rules, managed| plan_override(order_id, old, by_hand, rules, managed))
        .await
}

/// Books the order again as `plan` decides from its record and the shop's rules (a class that
/// changed), in one checked commit. `Ok(None)`: no such order; `Ok(Some(changed))`.
async fn replan_order(
    books: &Books,
    event: &Event<'_>,
    order_id: u64,
    plan: impl Fn(&OrderRecord, &ShopRules, &dyn Fn(u64) -> bool) -> Option<OrderPlan>,
) -> Result<Option<bool>, BookError> {
    let store = books.store();
    for _ in 0..super::MAX_TRIES {
        let mut reads = Reads::new(store, event.shop);
        reads.load(&[Record::Rules, Record::Order(order_id)]).await?;
        let rules: ShopRules = reads.get(key::Rules)?.unwrap_or_default();
        let Some(old) = reads.get(key::Order(order_id))? else { return Ok(None) };
        let mut variants: Vec<u64> = old.lines.iter().filter_map(|l| l.variant_id).collect();
        variants.sort_unstable();
        variants.dedup();
        let mut diary = Diary::new(&rules);
        let daily = diary.records(&variants, &[]);
        let books = load_books(&mut reads, &variants, &daily).await?;
        diary.take(&reads, &daily)?;
        let Some(plan) = plan(&old, &rules, &|v| books.contains_key(&v)) else { return Ok(Some(false)) };
        let mut commit = reads.commit(event.mark.clone());
        book_order(store, event.shop, order_id, &plan, &books, &mut commit, &mut diary).await?;
        diary.write_into(&mut commit);
        if finish(store, event.shop, &commit).await?.is_some() {
            return Ok(Some(true));
        }
    }
    Err(too_contended(event))
}

/// Recounts a managed variant's stock from its item's stored levels under the current counted
/// locations. `Ok(false)` when the stock was already right.
pub async fn recount_variant(books: &Books, event: &Event<'_>, variant: u64) -> Result<bool, BookError> {
    let store = books.store();
    for _ in 0..super::MAX_TRIES {
        let mut reads = Reads::new(store, event.shop);
        reads.load(&[Record::Rules, Record::Variant(variant)]).await?;
        let rules: ShopRules = reads.get(key::Rules)?.unwrap_or_default();
        let Some(mut record) = reads.get(key::Variant(variant))? else { return Ok(false) };
        let Some(item) = record.inventory_item_id else { return Ok(false) };
        let mut diary = Diary::new(&rules);
        let mut also = diary.records(&[variant], &[]);
        // Expecting the item record makes a level change committed meanwhile a conflict.
        also.push(Record::Item(item));
        reads.load(&also).await?;
        diary.take(&reads, &also)?;
        reads.get(key::Item(item))?;
        let stock = stock_of(store, event.shop, item, &rules).await?;
        if stock == record.header.stock {
            return Ok(false);
        }
        let before = record.header;
        let (header, moved) = rebook(store, event.shop, variant, &record.header, &[], stock).await?;
        record.header = header;
        let mut commit = reads.commit(event.mark.clone());
        book_into(&mut commit, &mut diary, &before, (variant, &record), &[], &moved);
        diary.write_into(&mut commit);
        if finish(store, event.shop, &commit).await?.is_some() {
            return Ok(true);
        }
    }
    Err(too_contended(event))
}

/// Every order with an open line in a book of `variants`, each once.
pub async fn orders_in_books(books: &Books, shop: &str, variants: &[u64]) -> Result<BTreeSet<u64>, BookError> {
    let mut orders = BTreeSet::new();
    for variant in variants {
        let mut from = Bound::Unbounded;
        loop {
            let page = books.lines(shop, *variant, from, PAGE).await?;
            orders.extend(page.iter().map(|(k, _)| k.order_id));
            match page.last() {
                Some((last, _)) if page.len() == PAGE => from = Bound::Excluded(*last),
                _ => break,
            }
        }
    }
    Ok(orders)
}

/// What a rules change asks of the books.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rework {
    pub rekey: bool,
    pub recount: bool,
}

impl Rework {
    pub fn between(old: &ShopRules, new: &ShopRules) -> Self {
        Self { rekey: old.priority_tags != new.priority_tags, recount: old.counted_locations != new.counted_locations }
    }

    pub fn is_empty(&self) -> bool {
        !self.rekey && !self.recount
    }
}

/// How far a rework has come; `total` is known once the books have been read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Progress {
    pub done: u64,
    pub total: u64,
    pub changed: u64,
}

/// Runs `rework` over every managed variant of the shop, reporting progress after each step.
pub async fn rework_shop(
    books: &Books,
    shop: &str,
    revision: u64,
    rework: Rework,
    mut progress: impl FnMut(Progress),
) -> Result<Progress, BookError> {
    let variants: Vec<u64> = books.get_or_default(shop, key::Variants).await?.into_iter().collect();
    let orders = if rework.rekey { orders_in_books(books, shop, &variants).await? } else { BTreeSet::new() };
    let mut p = Progress {
        total: (orders.len() + if rework.recount { variants.len() } else { 0 }) as u64,
        ..Progress::default()
    };
    progress(p);
    // Marked per order and variant, so a rework resumed after a crash skips what it did.
    let event = |what: String| {
        Event::new(shop, format!("rules:{revision}:{what}"), "settings", std::time::Duration::from_secs(24 * 3600))
    };
    if rework.recount {
        for v in &variants {
            p.changed += u64::from(recount_variant(books, &event(format!("v{v}")), *v).await?);
            p.done += 1;
            progress(p);
        }
    }
    for order in orders {
        p.changed += u64::from(rekey_order(books, &event(format!("o{order}")), order).await?);
        p.done += 1;
        progress(p);
    }
    Ok(p)
}
