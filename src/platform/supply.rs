//! Expected supply as the platform records it (SPEC 10.2): the open inventory transfers that
//! carry a variant, each shipment's tracked arrival and what it has received, and the `incoming`
//! quantity of the variant's item. Turned into the ledger's plain [`Transfer`]s here; what they
//! mean for the queue is `ledger::supply`'s.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::ops::{INCOMING_TRANSFERS, INVENTORY_ITEM_LEVELS, INVENTORY_SHIPMENT_LINES, INVENTORY_TRANSFER_ITEMS};
use super::reads::{gid_number, next_cursor};
use super::{AdminClient, PlatformError};
use crate::ledger::supply::{Shipment, Transfer};
use crate::secret::Secret;

/// Transfers read for one variant at most: beyond them, the rest comes in a later read.
const MAX_TRANSFERS: usize = 100;

/// What the platform expects of one inventory item.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expected {
    pub transfers: Vec<Transfer>,
    /// Shipments the caller knew of whose transfer no longer shows as open (complete): read by
    /// id, for their receipts.
    pub finished: Vec<Shipment>,
}

/// The open transfers carrying `variant` (item `item`), with each shipment read, and the
/// shipments of `known` that no open transfer lists any more. `zone`: the shop's, for the day
/// of `arrivesAt`.
pub async fn expected(
    client: &AdminClient,
    shop: &str,
    token: &Secret,
    variant: u64,
    item: u64,
    known: &[String],
    zone: Option<&str>,
) -> Result<Expected, PlatformError> {
    let query = format!("product_variant_id:{variant} AND (status:READY_TO_SHIP OR status:IN_PROGRESS)");
    let mut transfers = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let data = client.call(shop, token, &INCOMING_TRANSFERS, json!({"query": query, "after": after})).await?;
        let page = &data["inventoryTransfers"];
        for node in page["nodes"].as_array().into_iter().flatten() {
            transfers.push(transfer(client, shop, token, node, item, zone).await?);
        }
        after = next_cursor(&page["pageInfo"]);
        if after.is_none() || transfers.len() >= MAX_TRANSFERS {
            break;
        }
    }
    let listed: BTreeSet<&str> = transfers.iter().flat_map(|t| t.shipments.iter().map(|s| s.id.as_str())).collect();
    let mut finished = Vec::new();
    for id in known.iter().filter(|id| !listed.contains(id.as_str())) {
        if let Some(s) = shipment(client, shop, token, id, item, zone).await? {
            finished.push(s);
        }
    }
    Ok(Expected { transfers, finished })
}

async fn transfer(
    client: &AdminClient,
    shop: &str,
    token: &Secret,
    node: &Value,
    item: u64,
    zone: Option<&str>,
) -> Result<Transfer, PlatformError> {
    let malformed = |m: &str| PlatformError::Malformed { operation: INCOMING_TRANSFERS.name, message: m.into() };
    let id = node["id"].as_str().ok_or_else(|| malformed("a transfer without an id"))?.to_string();
    let units = node["lineItems"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|l| gid_number(&l["inventoryItem"]["id"]) == Some(item))
        .filter_map(|l| l["totalQuantity"].as_u64())
        .sum();
    let mut shipments = Vec::new();
    for s in node["shipments"]["nodes"].as_array().into_iter().flatten() {
        let Some(sid) = s["id"].as_str() else { continue };
        if let Some(s) = shipment(client, shop, token, sid, item, zone).await? {
            shipments.push(s);
        }
    }
    Ok(Transfer {
        id,
        name: node["name"].as_str().unwrap_or("A transfer").to_string(),
        destination: gid_number(&node["destination"]["location"]["id"]),
        units,
        shipments,
    })
}

/// One shipment's units of `item`; `None` when the platform has no such shipment (deleted).
async fn shipment(
    client: &AdminClient,
    shop: &str,
    token: &Secret,
    id: &str,
    item: u64,
    zone: Option<&str>,
) -> Result<Option<Shipment>, PlatformError> {
    let mut out = Shipment { id: id.to_string(), units: 0, accepted: 0, unreceived: 0, arrives: None };
    let mut after: Option<String> = None;
    loop {
        let data = client.call(shop, token, &INVENTORY_SHIPMENT_LINES, json!({"id": id, "after": after})).await?;
        let s = &data["inventoryShipment"];
        if s.is_null() {
            return Ok(None);
        }
        out.arrives = s["tracking"]["arrivesAt"].as_str().and_then(|at| day_of(at, zone));
        for l in s["lineItems"]["nodes"].as_array().into_iter().flatten() {
            if gid_number(&l["inventoryItem"]["id"]) != Some(item) {
                continue;
            }
            let n = |f: &str| l[f].as_u64().unwrap_or(0);
            out.units += n("quantity");
            out.accepted += n("acceptedQuantity");
            out.unreceived += n("unreceivedQuantity");
        }
        after = next_cursor(&s["lineItems"]["pageInfo"]);
        if after.is_none() {
            return Ok(Some(out));
        }
    }
}

/// `2026-12-15T12:00:00Z` as a day in the shop's zone.
fn day_of(at: &str, zone: Option<&str>) -> Option<String> {
    let ms = crate::ledger::input::timestamp_ms("arrivesAt", at).ok()?;
    Some(crate::ledger::eta::format(crate::ledger::eta::date_in(zone, ms)))
}

/// The item's `incoming` units summed over the locations `counted` accepts.
pub async fn incoming(
    client: &AdminClient,
    shop: &str,
    token: &Secret,
    item: u64,
    counted: impl Fn(u64) -> bool,
) -> Result<u64, PlatformError> {
    let id = format!("gid://shopify/InventoryItem/{item}");
    let mut total = 0u64;
    let mut after: Option<String> = None;
    loop {
        let data = client.call(shop, token, &INVENTORY_ITEM_LEVELS, json!({"id": id, "after": after})).await?;
        let page = &data["inventoryItem"]["inventoryLevels"];
        for node in page["nodes"].as_array().into_iter().flatten() {
            if !gid_number(&node["location"]["id"]).is_some_and(&counted) {
                continue;
            }
            let incoming = node["quantities"].as_array().into_iter().flatten().find(|q| q["name"] == "incoming");
            total += incoming.and_then(|q| q["quantity"].as_i64()).map_or(0, |q| q.max(0) as u64);
        }
        after = next_cursor(&page["pageInfo"]);
        if after.is_none() {
            return Ok(total);
        }
    }
}

/// The inventory items a supply webhook is about: a shipment's (`InventoryShipment` GID) or a
/// transfer's (`InventoryTransfer` GID). Empty when the platform no longer has it.
pub async fn items_of(
    client: &AdminClient,
    shop: &str,
    token: &Secret,
    id: &str,
) -> Result<BTreeSet<u64>, PlatformError> {
    let (op, root) = if id.contains("/InventoryShipment/") {
        (&INVENTORY_SHIPMENT_LINES, "inventoryShipment")
    } else {
        (&INVENTORY_TRANSFER_ITEMS, "inventoryTransfer")
    };
    let mut items = BTreeSet::new();
    let mut after: Option<String> = None;
    loop {
        let data = client.call(shop, token, op, json!({"id": id, "after": after})).await?;
        let node = &data[root];
        for l in node["lineItems"]["nodes"].as_array().into_iter().flatten() {
            items.extend(gid_number(&l["inventoryItem"]["id"]));
        }
        after = next_cursor(&node["lineItems"]["pageInfo"]);
        if after.is_none() {
            return Ok(items);
        }
    }
}
