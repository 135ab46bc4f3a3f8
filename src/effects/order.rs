//! An order's effects: what the ledger says about its lines now, and the calls that bring the
//! platform there (holds first, so nothing ships that should wait; then tags).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::desired::{LineState, OrderDiff};
use super::{Ctx, EffectError};
use crate::platform::ops::{
    FULFILLMENT_ORDER_HOLD, FULFILLMENT_ORDER_RELEASE_HOLD, ORDER_FULFILLMENT_ORDERS, TAGS_ADD, TAGS_REMOVE,
};
use crate::platform::reads::gid_number;
use crate::store::Store;

/// The handle of our hold: one per fulfillment order, found again by it after a crash.
pub const HOLD_HANDLE: &str = "backorder";

/// The order's lines with their open and backordered units; `None` when the ledger does not know
/// the order.
pub async fn lines(store: &dyn Store, shop: &str, order_id: u64) -> Result<Option<Vec<LineState>>, EffectError> {
    let Some((order, books)) = crate::notify::standing::with_variants(store, shop, order_id).await? else {
        return Ok(None);
    };
    let lines = order
        .lines
        .iter()
        .map(|l| {
            let backordered = l
                .variant_id
                .and_then(|v| books.get(&v))
                .map_or(0, |r| r.header.backordered_of(&order.key(order_id, l.line_id), l.open_qty));
            LineState { line_id: l.line_id, open: l.open_qty, backordered }
        })
        .collect();
    Ok(Some(lines))
}

/// Sends `diff` for the order.
pub async fn apply(ctx: &Ctx<'_>, order_id: u64, diff: &OrderDiff) -> Result<(), EffectError> {
    let order_gid = format!("gid://shopify/Order/{order_id}");
    if let Some(holds) = &diff.holds {
        set_holds(ctx, &order_gid, holds).await?;
    }
    if !diff.add_tags.is_empty() {
        ctx.call(&TAGS_ADD, json!({"id": order_gid, "tags": diff.add_tags})).await?;
    }
    if !diff.remove_tags.is_empty() {
        ctx.call(&TAGS_REMOVE, json!({"id": order_gid, "tags": diff.remove_tags})).await?;
    }
    Ok(())
}

/// Replaces our hold with one on exactly `holds` (line id → units). Reads the platform first,
/// so a hold placed just before a crash is released rather than doubled.
async fn set_holds(ctx: &Ctx<'_>, order_gid: &str, holds: &BTreeMap<u64, u32>) -> Result<(), EffectError> {
    let data = ctx.call(&ORDER_FULFILLMENT_ORDERS, json!({"id": order_gid})).await?;
    let orders = data["order"]["fulfillmentOrders"]["nodes"].as_array().cloned().unwrap_or_default();
    for fo in &orders {
        let ours: Vec<&Value> = fo["fulfillmentHolds"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|h| h["handle"] == HOLD_HANDLE)
            .map(|h| &h["id"])
            .collect();
        if !ours.is_empty() {
            ctx.call(&FULFILLMENT_ORDER_RELEASE_HOLD, json!({"id": fo["id"], "holdIds": ours})).await?;
        }
    }
    if holds.is_empty() {
        return Ok(());
    }
    // The fulfillment order line items of the lines to hold, by line item id.
    let mut by_fo: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for fo in &orders {
        if matches!(fo["status"].as_str(), Some("CANCELLED" | "CLOSED")) {
            continue;
        }
        for item in fo["lineItems"]["nodes"].as_array().into_iter().flatten() {
            let Some(line) = gid_number(&item["lineItem"]["id"]) else { continue };
            let remaining = item["remainingQuantity"].as_u64().unwrap_or(0) as u32;
            if let Some(want) = holds.get(&line).map(|q| (*q).min(remaining)).filter(|q| *q > 0) {
                let fo_id = fo["id"].as_str().unwrap_or_default().to_string();
                by_fo.entry(fo_id).or_default().push(json!({"id": item["id"], "quantity": want}));
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
        ctx.call(&FULFILLMENT_ORDER_HOLD, json!({"id": fo, "hold": hold})).await?;
    }
    Ok(())
}
