//! Queries Shopify accepts: the dev shop costs every document as Shopify documents it and
//! refuses one over 1,000 requested points with `MAX_COST_EXCEEDED`; every operation the
//! service sends fits; the client gives up on such a refusal at once, naming the query; and a
//! reply served in another API version than the one asked for is warned about and counted.

use std::sync::Arc;

use backorder::devshop::{DevShop, Policy};
use backorder::metrics::Metrics;
use backorder::platform::ops::{ALL, ORDER_FULFILLMENT_ORDERS, Operation};
use backorder::platform::{AdminClient, PlatformError};
use backorder::secret::Secret;
use serde_json::{Value, json};

const SHOP: &str = "costly.myshopify.com";

/// The fulfillment-order read as it was before it was sized: 25,203 requested points.
const UNPAGED: Operation = Operation {
    name: "OrderFulfillmentOrders",
    document: "query OrderFulfillmentOrders($id: ID!) { order(id: $id) { id fulfillmentOrders(first: 50) { nodes { id status fulfillmentHolds { id handle reason } lineItems(first: 250) { nodes { id remainingQuantity lineItem { id } } } } } } }",
};

fn client(devshop: &DevShop, version: &str, metrics: Arc<Metrics>) -> AdminClient {
    crate::platform::client_asking(devshop, version, 4, metrics)
}

/// Posts `document` as the client would, and returns the whole reply.
async fn post(devshop: &DevShop, token: &str, op: &Operation, variables: Value) -> (reqwest::StatusCode, Value) {
    let url = format!("{}/shops/{SHOP}/admin/api/2026-10/graphql.json", devshop.url);
    let body = json!({"query": op.document, "operationName": op.name, "variables": variables});
    let resp =
        reqwest::Client::new().post(url).header("X-Shopify-Access-Token", token).json(&body).send().await.unwrap();
    (resp.status(), resp.json().await.unwrap())
}

/// Variables for every operation at once: ids of real records, cursors, and the largest inputs
/// the service builds (250 variants per product, 25 metafields per call).
fn variables(order: u64, variant: u64, product: u64, item: u64) -> Value {
    let variants: Vec<Value> = (0..250)
        .map(|_| json!({"id": format!("gid://shopify/ProductVariant/{variant}"), "inventoryPolicy": "CONTINUE"}))
        .collect();
    let metafields: Vec<Value> = (0..25)
        .map(|_| {
            json!({"ownerId": format!("gid://shopify/ProductVariant/{variant}"), "namespace": "$app",
                        "key": "backorder_eta", "type": "date", "value": "2026-12-24"})
        })
        .collect();
    json!({
        "id": format!("gid://shopify/Order/{order}"),
        "after": null,
        "query": "status:open",
        "tags": ["backorder"],
        "productId": format!("gid://shopify/Product/{product}"),
        "variants": variants,
        "metafields": metafields,
        "hold": {"reason": "INVENTORY_OUT_OF_STOCK", "handle": "backorder", "fulfillmentOrderLineItems": []},
        "holdIds": [],
        "topic": "ORDERS_CREATE",
        "subscription": {"uri": "https://example.com/webhooks"},
        "item": format!("gid://shopify/InventoryItem/{item}"),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_the_service_sends_is_within_shopifys_limit_for_one_query() {
    let devshop = DevShop::start(100_000.0, 100_000.0).await.unwrap();
    let token = devshop.install(SHOP);
    let (order, variant, product, item) = devshop.world(SHOP, |w| {
        let v = w.add_variant("Tee", 0, Policy::Continue);
        let o = w.place_order("a@example.com", &[], &[(v, 1)]).unwrap();
        (o, v, w.variants[&v].product_id, w.variants[&v].inventory_item_id)
    });
    let mut costs = Vec::new();
    for op in ALL {
        let vars = variables(order, variant, product, item);
        let (status, reply) = post(&devshop, &token, &op, vars).await;
        assert_eq!(status, 200, "{}: {reply}", op.name);
        let refused = reply["errors"].as_array().into_iter().flatten().any(|e| e["extensions"]["code"].is_string());
        assert!(!refused, "{} was refused: {reply}", op.name);
        let requested = reply["extensions"]["cost"]["requestedQueryCost"].as_f64().expect("a cost");
        assert!(requested <= 1000.0, "{} requests {requested} points", op.name);
        assert_eq!(requested as u64, op.requested_cost(&json!({})), "{}: the client expects what is charged", op.name);
        costs.push((op.name, requested));
    }
    assert_eq!(costs.len(), ALL.len());
    devshop.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_over_the_limit_is_refused_as_shopify_refuses_it_and_costs_nothing() {
    let devshop = DevShop::start(100_000.0, 100_000.0).await.unwrap();
    let token = devshop.install(SHOP);
    let (status, reply) = post(&devshop, &token, &UNPAGED, json!({"id": "gid://shopify/Order/1"})).await;
    assert_eq!(status, 200, "Shopify answers a refused query with 200");
    let error = &reply["errors"][0];
    assert_eq!(error["extensions"]["code"], "MAX_COST_EXCEEDED", "{reply}");
    assert_eq!(error["extensions"]["cost"], 25_203);
    assert_eq!(error["extensions"]["maxCost"], 1000);
    assert!(error["message"].as_str().unwrap().starts_with("Query cost is 25203"), "{reply}");
    assert!(reply.get("data").is_none(), "nothing ran: {reply}");
    let calls = devshop.calls(SHOP);
    assert_eq!((calls[0].outcome, calls[0].cost), ("too_costly", 0.0));
    devshop.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_gives_up_on_max_cost_exceeded_at_once_and_names_the_query() {
    let devshop = DevShop::start(100_000.0, 100_000.0).await.unwrap();
    let token = Secret::new(devshop.install(SHOP));
    let metrics = Arc::new(Metrics::new());
    let err = client(&devshop, "2026-10", metrics).call(SHOP, &token, &UNPAGED, json!({"id": "x"})).await.unwrap_err();
    assert!(matches!(err, PlatformError::Refused { operation: "OrderFulfillmentOrders", .. }), "{err:?}");
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("MAX_COST_EXCEEDED"), "{err}");
    assert_eq!(devshop.calls(SHOP).len(), 1, "no retry of a query that can never run");
    devshop.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bucket_keeps_the_actual_cost_of_a_query_and_refunds_the_rest() {
    let devshop = DevShop::start(2000.0, 100.0).await.unwrap();
    let token = Secret::new(devshop.install(SHOP));
    let order = devshop.world(SHOP, |w| {
        let v = w.add_variant("Tee", 0, Policy::Continue);
        w.place_order("a@example.com", &[], &[(v, 1)]).unwrap()
    });
    let vars = json!({"id": format!("gid://shopify/Order/{order}")});
    let requested = ORDER_FULFILLMENT_ORDERS.requested_cost(&vars) as f64;
    client(&devshop, "2026-10", Arc::new(Metrics::new()))
        .call(SHOP, &token, &ORDER_FULFILLMENT_ORDERS, vars)
        .await
        .unwrap();
    let call = devshop.calls(SHOP).pop().unwrap();
    // One order, one fulfillment order with one line: 1 + 2 + (1 + 1 + 2 + 2).
    assert_eq!(call.cost, 9.0, "charged what came back, not the {requested} asked for");
    devshop.stop().await;
}

/// A log writer the test can read back.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

// One thread: the subscriber set for this test sees every event the client logs.
#[tokio::test(flavor = "current_thread")]
async fn a_reply_in_another_api_version_than_asked_is_warned_about_and_counted() {
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let devshop = DevShop::start(100_000.0, 100_000.0).await.unwrap();
    let token = Secret::new(devshop.install(SHOP));
    let tags = backorder::platform::ops::TAGS_ADD;
    let vars = || json!({"id": "gid://shopify/Order/1", "tags": ["x"]});

    let current = Arc::new(Metrics::new());
    let _ = client(&devshop, "2026-10", current.clone()).call(SHOP, &token, &tags, vars()).await;
    assert!(current.render(None).contains("backorder_api_version_mismatches_total 0"));
    assert!(!log.text().contains("another version"), "no warning for the version asked for:\n{}", log.text());

    // A version past its support window is served as the oldest supported one, silently.
    let stale = Arc::new(Metrics::new());
    let _ = client(&devshop, "2025-07", stale.clone()).call(SHOP, &token, &tags, vars()).await;
    let text = stale.render(None);
    assert!(text.contains("backorder_api_version_mismatches_total 1"), "{text}");
    let warned = log.text();
    assert!(
        warned.contains("WARN") && warned.contains("another version") && warned.contains("served=\"2026-01\""),
        "the warning names the version served:\n{warned}"
    );
    devshop.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dev_shop_answers_on_the_2026_10_path_and_names_the_version_it_served() {
    let devshop = DevShop::start(100_000.0, 100_000.0).await.unwrap();
    let token = devshop.install(SHOP);
    let url = |v: &str| format!("{}/shops/{SHOP}/admin/api/{v}/graphql.json", devshop.url);
    let body = json!({"query": "query ShopName { shop { name } }", "operationName": "TagsAdd", "variables": {}});
    let http = reqwest::Client::new();
    let resp = http.post(url("2026-10")).header("X-Shopify-Access-Token", &token).json(&body).send().await.unwrap();
    assert_eq!(resp.headers()["x-shopify-api-version"], "2026-10");
    let resp = http.post(url("2025-07")).header("X-Shopify-Access-Token", &token).json(&body).send().await.unwrap();
    assert_eq!(resp.headers()["x-shopify-api-version"], "2026-01", "falls forward to the oldest supported");
    let resp = http.post(url("latest")).header("X-Shopify-Access-Token", &token).json(&body).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    devshop.stop().await;
}

/// The reads of expected supply (SPEC 10.2): what each asks for and what one costs for a variant
/// on one open transfer with one tracked shipment. Printed for BENCHMARKS.md ("Query cost of
/// the supply reads": `cargo test --test it supply_reads -- --nocapture`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_supply_reads_ask_for_under_the_limit_and_cost_what_benchmarks_md_says() {
    use backorder::platform::ops::{
        INCOMING_TRANSFERS, INVENTORY_ITEM_LEVELS, INVENTORY_SHIPMENT_LINES, INVENTORY_TRANSFER_ITEMS,
    };
    backorder::init_crypto();
    let devshop = DevShop::start(100_000.0, 100_000.0).await.unwrap();
    let token = devshop.install(SHOP);
    let (variant, item, transfer, shipment) = devshop.world(SHOP, |w| {
        let v = w.add_variant("Tee", 0, Policy::Continue);
        let t = w.add_transfer(backorder::devshop::world::MAIN_LOCATION, &[(v, 12)]).unwrap();
        let s = w.ship(t, &[(v, 8)], Some(1_797_000_000_000)).unwrap();
        (v, w.variants[&v].inventory_item_id, t, s)
    });
    let reads = [
        (
            INCOMING_TRANSFERS,
            json!({"query": format!("product_variant_id:{variant} AND (status:READY_TO_SHIP OR status:IN_PROGRESS)"), "after": null}),
        ),
        (INVENTORY_SHIPMENT_LINES, json!({"id": format!("gid://shopify/InventoryShipment/{shipment}"), "after": null})),
        (INVENTORY_TRANSFER_ITEMS, json!({"id": format!("gid://shopify/InventoryTransfer/{transfer}"), "after": null})),
        (INVENTORY_ITEM_LEVELS, json!({"id": format!("gid://shopify/InventoryItem/{item}"), "after": null})),
    ];
    println!("| read | requested points | actual points (1 transfer, 1 shipment, 1 location) |");
    println!("|---|---:|---:|");
    for (op, vars) in reads {
        let (status, reply) = post(&devshop, &token, &op, vars).await;
        assert_eq!(status, 200, "{}: {reply}", op.name);
        let cost = &reply["extensions"]["cost"];
        let (requested, actual) =
            (cost["requestedQueryCost"].as_f64().unwrap(), cost["actualQueryCost"].as_f64().unwrap());
        assert!(requested <= 1000.0 && actual <= requested, "{}: {cost}", op.name);
        assert!(reply["errors"].is_null(), "{}: {reply}", op.name);
        println!("| `{}` | {requested} | {actual} |", op.name);
    }
    devshop.stop().await;
}
