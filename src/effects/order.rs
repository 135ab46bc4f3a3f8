//! An order's effects: what the ledger says about its lines now, and the calls that bring the
//! platform there (holds first, so nothing ships that should wait; then tags).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::desired::{AppliedOrder, LineState, OrderDiff};
use super::{Ctx, EffectError};
use crate::books::Books;
use crate::platform::ops::{FULFILLMENT_ORDER_HOLD, FULFILLMENT_ORDER_RELEASE_HOLD, TAGS_ADD, TAGS_REMOVE};
use crate::platform::reads::{fulfillment_orders, order_tags};

/// The handle of our hold: one per fulfillment order, found again by it after a crash.
pub const HOLD_HANDLE: &str = "backorder";

/// The order's lines with their open and backordered units; `None` when the ledger does not know
/// the order.
pub async fn lines(books: &Books, shop: &str, order_id: u64) -> Result<Option<Vec<LineState>>, EffectError> {
    let Some((order, variants)) = crate::books::standing::with_variants(books, shop, order_id).await? else {
        return Ok(None);
    };
    let lines = order
        .lines
        .iter()
        .map(|l| {
            let record = l.variant_id.and_then(|v| variants.get(&v));
            let backordered =
                record.map_or(0, |r| r.header.backordered_of(&order.key(order_id, l.line_id), l.open_qty));
            LineState { line_id: l.line_id, open: l.open_qty, backordered, managed: record.is_some() }
        })
        .collect();
    Ok(Some(lines))
}

/// Sends `diff` for the order, recording each change in `applied` as soon as its call went
/// through, so that a later call failing does not make the next pass send it again. `true`:
/// the hold `applied` had was no longer on the platform (a person released it by hand).
/// `holds_in_doubt`: the last pass set out to change the holds and may have, unrecorded; a hold
/// missing now is then no sign of a person.
pub async fn apply(
    ctx: &Ctx<'_>,
    order_id: u64,
    diff: &OrderDiff,
    applied: &mut AppliedOrder,
    holds_in_doubt: bool,
) -> Result<bool, EffectError> {
    let order_gid = format!("gid://shopify/Order/{order_id}");
    let mut released_by_hand = false;
    if let Some(holds) = &diff.holds {
        let held = !applied.holds.is_empty() && !holds_in_doubt;
        released_by_hand = set_holds(ctx, order_id, holds, held).await?;
        applied.holds = holds.clone();
    }
    if !diff.add_tags.is_empty() {
        ctx.call(&TAGS_ADD, json!({"id": order_gid, "tags": diff.add_tags})).await?;
        applied.tags.extend(diff.add_tags.iter().cloned());
    }
    if !diff.remove_tags.is_empty() {
        ctx.call(&TAGS_REMOVE, json!({"id": order_gid, "tags": diff.remove_tags})).await?;
        applied.tags.retain(|t| !diff.remove_tags.contains(t));
    }
    Ok(released_by_hand)
}

/// After a pass that failed, perhaps with a reply lost after the platform applied a change, our
/// tags as the platform has them: those of `ours` it carries. Holds need no such step: they are
/// always read before they are changed.
pub async fn tags_on_platform(
    ctx: &Ctx<'_>,
    order_id: u64,
    ours: &std::collections::BTreeSet<String>,
) -> Result<std::collections::BTreeSet<String>, EffectError> {
    let on_platform = order_tags(ctx.platform, ctx.shop, ctx.token, order_id).await?;
    Ok(ours.intersection(&on_platform).cloned().collect())
}

/// Replaces our hold with one on exactly `holds` (line id → units). Reads the platform first,
/// every page of the order's fulfillment orders, so a hold placed just before a crash is
/// released rather than doubled. `true`: `held` (our hold went through earlier) but no open
/// fulfillment order carries it any more: a person released it.
async fn set_holds(ctx: &Ctx<'_>, order_id: u64, holds: &BTreeMap<u64, u32>, held: bool) -> Result<bool, EffectError> {
    let orders = fulfillment_orders(ctx.platform, ctx.shop, ctx.token, order_id, HOLD_HANDLE).await?;
    let released_by_hand = held && orders.iter().any(|fo| fo.is_open()) && orders.iter().all(|fo| fo.holds.is_empty());
    for fo in orders.iter().filter(|fo| !fo.holds.is_empty()) {
        ctx.call_about(Some(order_id), &FULFILLMENT_ORDER_RELEASE_HOLD, json!({"id": fo.id, "holdIds": fo.holds}))
            .await?;
    }
    if holds.is_empty() {
        return Ok(released_by_hand);
    }
    // The fulfillment order line items of the lines to hold, by fulfillment order.
    let mut by_fo: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for fo in orders.iter().filter(|fo| fo.is_open()) {
        for (item, line, remaining) in &fo.lines {
            if let Some(want) = holds.get(line).map(|q| (*q).min(*remaining)).filter(|q| *q > 0) {
                by_fo.entry(&fo.id).or_default().push(json!({"id": item, "quantity": want}));
            }
        }
    }
    for (fo, items) in by_fo {
        let hold = json!({
            "reason": "INVENTORY_OUT_OF_STOCK",
            "handle": HOLD_HANDLE,
            "reasonNotes": "Waiting for stock: backordered units are held until they arrive.",
            "fulfillmentOrderLineItems": items,
        });
        if let Err(e) = ctx.call_about(Some(order_id), &FULFILLMENT_ORDER_HOLD, json!({"id": fo, "hold": hold})).await {
            // Refused because the order closed since it was read (cancelled, shipped): there is
            // nothing to hold, and its webhook will tell the ledger. Anything else stands.
            let refused = matches!(&e, EffectError::Platform(crate::platform::PlatformError::Refused { .. }));
            let closed = refused
                && !fulfillment_orders(ctx.platform, ctx.shop, ctx.token, order_id, HOLD_HANDLE)
                    .await?
                    .iter()
                    .any(|f| f.id == fo && f.is_open());
            if !closed {
                return Err(e);
            }
        }
    }
    Ok(released_by_hand)
}
