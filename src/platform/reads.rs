//! Reads of platform state the ledger needs, turned into the ledger's plain types.

use serde_json::{Value, json};

use super::ops::{
    FULFILLMENT_ORDER_LINE_ITEMS, INVENTORY_ITEM_LEVELS, OPEN_ORDERS, ORDER_FULFILLMENT_ORDERS, ORDER_LINE_ITEMS,
    ORDER_STATE, ORDER_TAGS, Operation, PRODUCT_VARIANT_IDS, PRODUCT_VARIANT_ITEM, SHOP_TIMEZONE,
};
use super::{AdminClient, PlatformError};
use crate::ledger::input::{Contact, LevelState, OrderLine, OrderState, VariantInfo, timestamp_ms};
use crate::secret::Secret;

/// The number at the end of a GID (`gid://shopify/InventoryItem/42` → 42).
pub fn gid_number(v: &Value) -> Option<u64> {
    v.as_str()?.strip_prefix("gid://shopify/")?.rsplit('/').next()?.parse().ok()
}

/// The variant's product and inventory item; `None` when the platform has no such variant.
pub async fn variant_info(
    client: &AdminClient,
    shop: &str,
    token: &Secret,
    variant: u64,
) -> Result<Option<VariantInfo>, PlatformError> {
    Ok(variant_on_platform(client, shop, token, variant).await?.map(|v| v.info))
}

/// A variant as enrolment reads it: which product and inventory item it belongs to, and how it
/// sells when out of stock now (recorded, and given back when it is unenrolled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformVariant {
    pub info: VariantInfo,
    /// `CONTINUE` or `DENY`.
    pub policy: String,
}

/// The variant as the platform has it now; `None` when the platform has no such variant.
pub async fn variant_on_platform(
    client: &AdminClient,
    shop: &str,
    token: &Secret,
    variant: u64,
) -> Result<Option<PlatformVariant>, PlatformError> {
    let vars = json!({"id": format!("gid://shopify/ProductVariant/{variant}")});
    let data = client.call(shop, token, &PRODUCT_VARIANT_ITEM, vars).await?;
    let v = &data["productVariant"];
    if v.is_null() {
        return Ok(None);
    }
    let malformed =
        |what: &str| PlatformError::Malformed { operation: PRODUCT_VARIANT_ITEM.name, message: format!("no {what}") };
    let info = VariantInfo {
        variant_id: variant,
        product_id: gid_number(&v["product"]["id"]).ok_or_else(|| malformed("product id"))?,
        inventory_item_id: Some(gid_number(&v["inventoryItem"]["id"]).ok_or_else(|| malformed("inventory item id"))?),
        title: v["displayName"].as_str().unwrap_or_default().to_string(),
        options: v["selectedOptions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|o| Some((o["name"].as_str()?.to_string(), o["value"].as_str()?.to_string())))
            .filter(|(name, value)| !crate::ledger::input::is_default_option(name, value))
            .collect(),
    };
    let policy = v["inventoryPolicy"].as_str().filter(|p| matches!(*p, "CONTINUE" | "DENY"));
    let policy = policy.ok_or_else(|| malformed("inventory policy"))?.to_string();
    Ok(Some(PlatformVariant { info, policy }))
}

/// A variant's inventory policy and its `$app.backorder_eta` metafield as the platform has them
/// now; `None` when the platform has no such variant.
pub async fn variant_effects(
    client: &AdminClient,
    shop: &str,
    token: &Secret,
    variant: u64,
) -> Result<Option<(String, Option<String>)>, PlatformError> {
    let vars = json!({"id": format!("gid://shopify/ProductVariant/{variant}")});
    let data = client.call(shop, token, &PRODUCT_VARIANT_ITEM, vars).await?;
    let v = &data["productVariant"];
    if v.is_null() {
        return Ok(None);
    }
    let policy = v["inventoryPolicy"].as_str().unwrap_or_default().to_string();
    Ok(Some((policy, v["metafield"]["value"].as_str().map(String::from))))
}

/// The order's tags as the platform has them now (none when it no longer exists).
pub async fn order_tags(
    client: &AdminClient,
    shop: &str,
    token: &Secret,
    order: u64,
) -> Result<std::collections::BTreeSet<String>, PlatformError> {
    let data = client.call(shop, token, &ORDER_TAGS, json!({"id": format!("gid://shopify/Order/{order}")})).await?;
    Ok(data["order"]["tags"].as_array().into_iter().flatten().filter_map(Value::as_str).map(String::from).collect())
}

/// The shop's IANA time zone (`shop.ianaTimezone`). A name no zone could have (too long, or
/// with characters no IANA name uses) is malformed, never stored.
pub async fn shop_timezone(client: &AdminClient, shop: &str, token: &Secret) -> Result<String, PlatformError> {
    let data = client.call(shop, token, &SHOP_TIMEZONE, json!({})).await?;
    let zone = data["shop"]["ianaTimezone"].as_str().unwrap_or_default();
    let plausible = !zone.is_empty()
        && zone.len() <= 64
        && zone.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '+'));
    if !plausible {
        let message = "ianaTimezone is not a time zone name".into();
        return Err(PlatformError::Malformed { operation: SHOP_TIMEZONE.name, message });
    }
    Ok(zone.to_string())
}

/// The shop's active locations (id, name), for the merchant to pick the counted ones.
pub async fn locations(client: &AdminClient, shop: &str, token: &Secret) -> Result<Vec<(u64, String)>, PlatformError> {
    let data = client.call(shop, token, &super::ops::LOCATIONS, json!({})).await?;
    let nodes = data["locations"]["nodes"].as_array().cloned().unwrap_or_default();
    Ok(nodes
        .iter()
        .filter(|n| n["isActive"].as_bool() != Some(false))
        .filter_map(|n| Some((gid_number(&n["id"])?, n["name"].as_str().unwrap_or_default().to_string())))
        .collect())
}

/// The item's `available` at every location, as the platform has it now.
pub async fn item_levels(
    client: &AdminClient,
    shop: &str,
    token: &Secret,
    item: u64,
) -> Result<Vec<LevelState>, PlatformError> {
    let id = format!("gid://shopify/InventoryItem/{item}");
    let malformed = |m: &str| PlatformError::Malformed { operation: INVENTORY_ITEM_LEVELS.name, message: m.into() };
    let mut levels = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let asked = crate::store::now_ms() as i64;
        let data = client.call(shop, token, &INVENTORY_ITEM_LEVELS, json!({"id": id, "after": after})).await?;
        let page = &data["inventoryItem"]["inventoryLevels"];
        for node in page["nodes"].as_array().into_iter().flatten() {
            let location =
                gid_number(&node["location"]["id"]).ok_or_else(|| malformed("a level without a location"))?;
            let available = node["quantities"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|q| q["name"] == "available")
                .and_then(|q| q["quantity"].as_i64());
            let updated = node["updatedAt"].as_str().ok_or_else(|| malformed("a level without updatedAt"))?;
            let updated_at_ms = timestamp_ms("updatedAt", updated).map_err(|e| malformed(&e.to_string()))?;
            levels.push(LevelState::from_platform(item, location, available, updated_at_ms, asked));
        }
        after = next_cursor(&page["pageInfo"]);
        if after.is_none() {
            return Ok(levels);
        }
    }
}

/// One page of open orders, and the cursor of the next page if there is one.
pub async fn open_orders(
    client: &AdminClient,
    shop: &str,
    token: &Secret,
    after: Option<&str>,
) -> Result<(Vec<OrderState>, Option<String>), PlatformError> {
    orders_page(client, shop, token, "status:open", after).await
}

/// Every variant the catalogue search `query` finds (Shopify's search syntax), page by page.
pub async fn variant_ids(
    client: &AdminClient,
    shop: &str,
    token: &Secret,
    query: &str,
) -> Result<Vec<u64>, PlatformError> {
    let mut ids = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let data = client.call(shop, token, &PRODUCT_VARIANT_IDS, json!({"query": query, "after": after})).await?;
        let page = &data["productVariants"];
        ids.extend(page["nodes"].as_array().into_iter().flatten().filter_map(|n| gid_number(&n["id"])));
        after = next_cursor(&page["pageInfo"]);
        if after.is_none() {
            return Ok(ids);
        }
    }
}

/// Orders on one page of `OpenOrders` (its document's `first`).
pub const OPEN_ORDERS_PAGE: u64 = 20;

/// One page of the orders `query` (Shopify's search syntax) finds, oldest first.
pub async fn orders_page(
    client: &AdminClient,
    shop: &str,
    token: &Secret,
    query: &str,
    after: Option<&str>,
) -> Result<(Vec<OrderState>, Option<String>), PlatformError> {
    let vars = json!({"query": query, "after": after});
    let asked = crate::store::now_ms() as i64;
    let data = client.call(shop, token, &OPEN_ORDERS, vars).await?;
    let page = &data["orders"];
    let mut orders = Vec::new();
    for node in page["nodes"].as_array().into_iter().flatten() {
        let mut node = node.clone();
        rest_of_lines(client, shop, token, &mut node).await?;
        orders.push(order_of(&OPEN_ORDERS, &node, asked)?);
    }
    Ok((orders, next_cursor(&page["pageInfo"])))
}

/// The cursor of the page after this one, if there is one.
pub(crate) fn next_cursor(page_info: &Value) -> Option<String> {
    (page_info["hasNextPage"] == true).then(|| page_info["endCursor"].as_str().map(String::from)).flatten()
}

/// Completes an order node's `lineItems` with the pages its query left out: the queries are
/// sized to Shopify's cost limit, so an order with many lines comes back in parts.
async fn rest_of_lines(
    client: &AdminClient,
    shop: &str,
    token: &Secret,
    node: &mut Value,
) -> Result<(), PlatformError> {
    let mut after = next_cursor(&node["lineItems"]["pageInfo"]);
    while let Some(cursor) = after {
        let vars = json!({"id": node["id"], "after": cursor});
        let data = client.call(shop, token, &ORDER_LINE_ITEMS, vars).await?;
        let more = &data["order"]["lineItems"];
        let Some(nodes) = more["nodes"].as_array().filter(|n| !n.is_empty()) else { break };
        if let Some(lines) = node["lineItems"]["nodes"].as_array_mut() {
            lines.extend(nodes.iter().cloned());
        }
        after = next_cursor(&more["pageInfo"]);
    }
    Ok(())
}

/// One fulfillment order as the effects need it: our holds on it and its line items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FulfillmentOrder {
    pub id: String,
    pub status: String,
    /// The ids of its holds with this handle.
    pub holds: Vec<String>,
    /// (fulfillment order line item id, order line item number, remaining quantity).
    pub lines: Vec<(String, u64, u32)>,
}

impl FulfillmentOrder {
    /// Neither cancelled nor closed: its units may still ship, and be held.
    pub fn is_open(&self) -> bool {
        !matches!(self.status.as_str(), "CANCELLED" | "CLOSED")
    }
}

/// Every fulfillment order of the order and all their line items, over as many pages as the
/// order needs; holds are those with `handle`.
pub async fn fulfillment_orders(
    client: &AdminClient,
    shop: &str,
    token: &Secret,
    order: u64,
    handle: &str,
) -> Result<Vec<FulfillmentOrder>, PlatformError> {
    let id = format!("gid://shopify/Order/{order}");
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let data = client.call(shop, token, &ORDER_FULFILLMENT_ORDERS, json!({"id": id, "after": after})).await?;
        let page = &data["order"]["fulfillmentOrders"];
        for fo in page["nodes"].as_array().into_iter().flatten() {
            let fo_id = fo["id"].as_str().unwrap_or_default().to_string();
            let mut lines = line_items(&fo["lineItems"]);
            let mut more = next_cursor(&fo["lineItems"]["pageInfo"]);
            while let Some(cursor) = more {
                let vars = json!({"id": fo_id, "after": cursor});
                let data = client.call(shop, token, &FULFILLMENT_ORDER_LINE_ITEMS, vars).await?;
                let items = &data["fulfillmentOrder"]["lineItems"];
                let page = line_items(items);
                if page.is_empty() {
                    break;
                }
                lines.extend(page);
                more = next_cursor(&items["pageInfo"]);
            }
            let holds = fo["fulfillmentHolds"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|h| h["handle"] == handle)
                .filter_map(|h| h["id"].as_str().map(String::from))
                .collect();
            let status = fo["status"].as_str().unwrap_or_default().to_string();
            out.push(FulfillmentOrder { id: fo_id, status, holds, lines });
        }
        after = next_cursor(&page["pageInfo"]);
        if after.is_none() {
            return Ok(out);
        }
    }
}

/// A page of fulfillment order line items: (its id, the order line's number, remaining units).
fn line_items(connection: &Value) -> Vec<(String, u64, u32)> {
    connection["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| {
            let line = gid_number(&item["lineItem"]["id"])?;
            let remaining = item["remainingQuantity"].as_u64().unwrap_or(0).min(u64::from(u32::MAX)) as u32;
            Some((item["id"].as_str()?.to_string(), line, remaining))
        })
        .collect()
}

/// One order as the platform has it now; `None` when it no longer exists.
pub async fn order_state(
    client: &AdminClient,
    shop: &str,
    token: &Secret,
    order: u64,
) -> Result<Option<OrderState>, PlatformError> {
    let asked = crate::store::now_ms() as i64;
    let mut data =
        client.call(shop, token, &ORDER_STATE, json!({"id": format!("gid://shopify/Order/{order}")})).await?;
    if data["order"].is_null() {
        return Ok(None);
    }
    rest_of_lines(client, shop, token, &mut data["order"]).await?;
    order_of(&ORDER_STATE, &data["order"], asked).map(Some)
}

/// An order node (`OpenOrders`, `OrderState`) as the ledger's order state.
pub(super) fn order_of(op: &Operation, node: &Value, asked_at_ms: i64) -> Result<OrderState, PlatformError> {
    let malformed = |m: String| PlatformError::Malformed { operation: op.name, message: m };
    let id = gid_number(&node["id"]).ok_or_else(|| malformed("an order without an id".into()))?;
    let time = |field: &'static str| -> Result<i64, PlatformError> {
        let v = node[field].as_str().ok_or_else(|| malformed(format!("order {id} without {field}")))?;
        timestamp_ms(field, v).map_err(|e| malformed(e.to_string()))
    };
    let closed = !node["cancelledAt"].is_null() || !node["closedAt"].is_null();
    let mut lines = Vec::new();
    let mut contact = Contact {
        email: node["email"].as_str().filter(|e| !e.is_empty()).map(String::from),
        customer_id: gid_number(&node["customer"]["id"]),
        first_name: node["customer"]["firstName"].as_str().map(String::from),
        titles: Default::default(),
    };
    for l in node["lineItems"]["nodes"].as_array().into_iter().flatten() {
        let line_id = gid_number(&l["id"]).ok_or_else(|| malformed(format!("order {id}: a line without an id")))?;
        if let Some(title) = l["name"].as_str() {
            contact.titles.insert(line_id, title.to_string());
        }
        let open = l["unfulfilledQuantity"].as_i64().unwrap_or(0).clamp(0, i64::from(u32::MAX)) as u32;
        lines.push(OrderLine {
            line_id,
            variant_id: gid_number(&l["variant"]["id"]),
            open_qty: if closed { 0 } else { open },
            // The order query carries no refunds: how many units went back on sale is unknown.
            taken: None,
        });
    }
    let tags =
        node["customer"]["tags"].as_array().into_iter().flatten().filter_map(Value::as_str).map(String::from).collect();
    let name = node["name"].as_str().unwrap_or_default().to_string();
    let cancelled = !node["cancelledAt"].is_null();
    let mut order = OrderState::from_platform(
        id,
        name,
        time("createdAt")?,
        time("updatedAt")?,
        tags,
        lines,
        cancelled,
        asked_at_ms,
    );
    order.contact = contact;
    Ok(order)
}
