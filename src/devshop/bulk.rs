//! Bulk operations as Shopify runs them for an app: `bulkOperationRunQuery` starts one (one at a
//! time per shop here; Shopify allows a few), `bulkOperation(id)` reports it `RUNNING` at the
//! first look and `COMPLETED` after, with the URL of a JSONL file the dev shop serves: each
//! order on a line, then its line items, each naming its order in `__parentId`.

use serde_json::{Value, json};

use super::graphql::{gid, order_matches, order_node, parse_gid};
use super::world::World;
use crate::platform::cost::Document;

/// One bulk operation of a shop.
#[derive(Debug, Clone)]
pub struct BulkOperation {
    /// Looks left before it reports `COMPLETED`.
    pub looks_left: u32,
    pub jsonl: String,
    pub objects: u64,
    pub roots: u64,
}

/// `bulkOperationRunQuery`: the dev shop runs the service's bulk queries over orders (the open
/// orders, the order history) with the search terms they use, and answers any other with
/// Shopify's user error.
pub fn run_query(world: &mut World, vars: &Value) -> Value {
    let refuse = |message: &str| {
        json!({"bulkOperationRunQuery": {"bulkOperation": null,
               "userErrors": [{"field": ["query"], "message": message, "code": "INVALID"}]}})
    };
    let query = vars["query"].as_str().unwrap_or_default();
    if Document::parse(query).is_err() || !query.contains("orders(") {
        return refuse("Invalid bulk query: the dev shop runs the open orders query only.");
    }
    if world.bulk_operations.values().any(|b| b.looks_left > 0) {
        return refuse("A bulk query operation for this app and shop is already in progress.");
    }
    let search = search_of(query);
    // Shopify shows an app the last 60 days of orders unless it has `read_all_orders`.
    let window = world.clock_ms().saturating_sub(60 * 86_400_000);
    let readable = |o: &&super::world::Order| world.all_orders || o.created_at_ms >= window;
    let (mut lines, mut roots, mut objects) = (Vec::new(), 0, 0);
    for o in world.orders.values().filter(|o| order_matches(&search, o)).filter(readable) {
        let mut node = order_node(world, o, Some(u64::MAX));
        let items = node.as_object_mut().and_then(|n| n.remove("lineItems")).unwrap_or_default();
        lines.push(node.to_string());
        roots += 1;
        objects += 1;
        for mut item in items["nodes"].as_array().cloned().unwrap_or_default() {
            item["__parentId"] = gid("Order", o.id).into();
            lines.push(item.to_string());
            objects += 1;
        }
    }
    let id = world.next_id();
    let jsonl = lines.iter().map(|l| format!("{l}\n")).collect();
    world.bulk_operations.insert(id, BulkOperation { looks_left: 1, jsonl, objects, roots });
    json!({"bulkOperationRunQuery": {"bulkOperation": {"id": gid("BulkOperation", id), "status": "CREATED"},
           "userErrors": []}})
}

/// The `query:` argument of the bulk query's `orders` connection.
fn search_of(query: &str) -> String {
    let Some(rest) = query.split_once("orders(").map(|(_, r)| r) else { return String::new() };
    let Some(rest) = rest.split_once("query:").map(|(_, r)| r.trim_start()) else { return String::new() };
    rest.strip_prefix('"').and_then(|r| r.split_once('"')).map(|(s, _)| s.to_string()).unwrap_or_default()
}

/// `bulkOperation(id)`; `result_base` is where the shop's results are served.
pub fn look(world: &mut World, vars: &Value, result_base: &str) -> Value {
    let Some(id) = parse_gid("BulkOperation", &vars["id"]) else { return json!({"bulkOperation": null}) };
    let Some(op) = world.bulk_operations.get_mut(&id) else { return json!({"bulkOperation": null}) };
    let status = if op.looks_left > 0 {
        op.looks_left -= 1;
        "RUNNING"
    } else {
        "COMPLETED"
    };
    let done = status == "COMPLETED";
    // A query that found nothing has no file.
    let url = (done && op.objects > 0).then(|| format!("{result_base}/{id}.jsonl"));
    json!({"bulkOperation": {"id": gid("BulkOperation", id), "status": status, "errorCode": null,
           "objectCount": if done { op.objects } else { 0 }.to_string(),
           "rootObjectCount": if done { op.roots } else { 0 }.to_string(), "url": url}})
}

/// The JSONL result of a completed bulk operation, by the file name its URL gives.
pub fn result(world: &World, file: &str) -> Option<String> {
    let id: u64 = file.strip_suffix(".jsonl")?.parse().ok()?;
    world.bulk_operations.get(&id).filter(|op| op.looks_left == 0).map(|op| op.jsonl.clone())
}
