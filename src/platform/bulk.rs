//! Bulk operations (SPEC 3.5): a large shop's open orders read in one go. Shopify runs the query
//! without the cost limit of one query and writes the result as JSONL, one object per line: an
//! order, then its line items, each naming its order in `__parentId`. Starting and polling cost
//! a few points; the result is a plain download.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::ops::{BULK_OPEN_ORDERS, BULK_OPERATION, BULK_RUN_QUERY, ORDERS_COUNT};
use super::reads::order_of;
use super::{AdminClient, PlatformError};
use crate::ledger::input::OrderState;
use crate::secret::Secret;

/// A bulk operation that has not finished after this long is given up on (Shopify's own limit
/// is days; an onboarding that waits longer than this tells the merchant instead).
const DEADLINE: Duration = Duration::from_secs(30 * 60);

/// How many orders the search `query` finds (Shopify's count, exact up to its limit).
pub async fn orders_count(client: &AdminClient, shop: &str, token: &Secret, query: &str) -> Result<u64, PlatformError> {
    let data = client.call(shop, token, &ORDERS_COUNT, json!({"query": query})).await?;
    Ok(data["ordersCount"]["count"].as_u64().unwrap_or(0))
}

/// Every open order of the shop, through one bulk operation. `seen(orders read)` as the result
/// is read.
pub async fn open_orders(
    client: &AdminClient,
    shop: &str,
    token: &Secret,
    mut seen: impl FnMut(u64),
) -> Result<Vec<OrderState>, PlatformError> {
    // The result reflects every change made before the operation started, and perhaps some after.
    let asked = crate::store::now_ms() as i64;
    let body = run(client, shop, token, BULK_OPEN_ORDERS.document).await?;
    parse(&body, asked, &mut seen)
}

/// Runs `query` (a document of `ops/bulk/`) as one bulk operation and downloads its JSONL
/// result; empty when it found nothing.
pub async fn run(client: &AdminClient, shop: &str, token: &Secret, query: &str) -> Result<Vec<u8>, PlatformError> {
    let refused = |message: String| PlatformError::Refused { operation: BULK_OPERATION.name, message };
    let started = client.call(shop, token, &BULK_RUN_QUERY, json!({"query": query})).await?;
    let id = started["bulkOperationRunQuery"]["bulkOperation"]["id"]
        .as_str()
        .ok_or_else(|| refused("no bulk operation was started".into()))?
        .to_string();
    let deadline = Instant::now() + DEADLINE;
    let mut wait = Duration::from_millis(200);
    let url = loop {
        let data = client.call(shop, token, &BULK_OPERATION, json!({"id": id})).await?;
        let op = &data["bulkOperation"];
        match op["status"].as_str().unwrap_or_default() {
            "COMPLETED" => break op["url"].as_str().map(String::from),
            "CREATED" | "RUNNING" if Instant::now() < deadline => {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(5));
            }
            status => {
                let code = op["errorCode"].as_str().unwrap_or("none");
                return Err(refused(format!("bulk operation {id} ended {status} (error {code})")));
            }
        }
    };
    // No url: the query found nothing.
    let Some(url) = url else { return Ok(Vec::new()) };
    let body = client
        .http()
        .get(&url)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| PlatformError::Unavailable(format!("bulk result: {e}")))?
        .bytes()
        .await
        .map_err(|e| PlatformError::Unavailable(format!("bulk result: {e}")))?;
    Ok(body.to_vec())
}

/// The orders of a JSONL result: each order line, with the line items that name it.
fn parse(body: &[u8], asked_at_ms: i64, seen: &mut impl FnMut(u64)) -> Result<Vec<OrderState>, PlatformError> {
    let orders = join(body, BULK_OPEN_ORDERS.name, seen)?;
    orders.iter().map(|node| order_of(&BULK_OPEN_ORDERS, node, asked_at_ms)).collect()
}

/// The order nodes of a JSONL result of `operation`, each with the line items that name it
/// under `lineItems.nodes`; `seen(orders so far)` as they are read.
pub fn join(body: &[u8], operation: &'static str, seen: &mut impl FnMut(u64)) -> Result<Vec<Value>, PlatformError> {
    let malformed = |m: String| PlatformError::Malformed { operation, message: m };
    let mut orders: Vec<Value> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for (n, line) in body.split(|b| *b == b'\n').enumerate().filter(|(_, l)| !l.iter().all(u8::is_ascii_whitespace)) {
        let mut object: Value = serde_json::from_slice(line).map_err(|e| malformed(format!("line {}: {e}", n + 1)))?;
        match object.get("__parentId").and_then(Value::as_str).map(String::from) {
            Some(parent) => {
                let at = *index.get(&parent).ok_or_else(|| malformed(format!("line {}: no order {parent}", n + 1)))?;
                object.as_object_mut().map(|o| o.remove("__parentId"));
                orders[at]["lineItems"]["nodes"].as_array_mut().expect("set below").push(object);
            }
            None => {
                let id = object["id"].as_str().ok_or_else(|| malformed(format!("line {}: no id", n + 1)))?.to_string();
                object["lineItems"] = json!({"nodes": []});
                index.insert(id, orders.len());
                orders.push(object);
                seen(orders.len() as u64);
            }
        }
    }
    Ok(orders)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn line_items_join_the_order_they_name() {
        let body = br##"{"id":"gid://shopify/Order/1","name":"#1001","createdAt":"2026-12-01T10:00:00Z","updatedAt":"2026-12-01T10:00:00Z","cancelledAt":null,"closedAt":null}
{"id":"gid://shopify/LineItem/11","quantity":2,"unfulfilledQuantity":2,"variant":{"id":"gid://shopify/ProductVariant/7"},"__parentId":"gid://shopify/Order/1"}
{"id":"gid://shopify/Order/2","name":"#1002","createdAt":"2026-12-01T11:00:00Z","updatedAt":"2026-12-01T11:00:00Z","cancelledAt":null,"closedAt":null}
"##;
        let mut read = 0;
        let orders = parse(body, 0, &mut |n| read = n).unwrap();
        assert_eq!(read, 2);
        assert_eq!(orders.iter().map(|o| (o.order_id, o.lines.len())).collect::<Vec<_>>(), [(1, 1), (2, 0)]);
        assert_eq!((orders[0].lines[0].variant_id, orders[0].lines[0].open_qty), (Some(7), 2));
    }

    #[test]
    fn a_line_item_before_its_order_or_a_broken_line_is_malformed() {
        let orphan = br#"{"id":"gid://shopify/LineItem/11","__parentId":"gid://shopify/Order/1"}"#;
        assert!(matches!(parse(orphan, 0, &mut |_| {}), Err(PlatformError::Malformed { .. })));
        assert!(matches!(parse(b"{not json", 0, &mut |_| {}), Err(PlatformError::Malformed { .. })));
    }

    proptest! {
        #[test]
        fn no_result_body_panics_the_parser(body in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse(&body, 0, &mut |_| {});
        }
    }
}
