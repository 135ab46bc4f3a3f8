//! The Admin API client against the dev shop over real HTTP: answers, refusals, pacing under a
//! small cost bucket, retries through injected faults, and the retry budget.

use std::time::Duration;

use backorder::devshop::{DevShop, Faults, Policy};
use backorder::platform::ops::{ORDER_TAGS, PRODUCT_VARIANT_ITEM, TAGS_ADD};
use backorder::platform::{AdminClient, ClientConfig, PlatformError};
use backorder::secret::Secret;
use serde_json::json;

const SHOP: &str = "platform.myshopify.com";

fn client(devshop: &DevShop, max_attempts: u32) -> AdminClient {
    client_asking(devshop, "2026-10", max_attempts, Default::default())
}

/// A client of the dev shop that asks for Admin API `version` and counts into `metrics`.
pub fn client_asking(
    devshop: &DevShop,
    version: &str,
    max_attempts: u32,
    metrics: std::sync::Arc<backorder::metrics::Metrics>,
) -> AdminClient {
    let config = ClientConfig {
        admin_base_url: devshop.admin_base_url(),
        api_version: version.into(),
        timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(2),
        pool_idle: Duration::from_secs(30),
        max_attempts,
        retry_base_ms: 5,
        retry_max_ms: 50,
    };
    AdminClient::new(config, metrics).unwrap()
}

fn outcomes(devshop: &DevShop, outcome: &str) -> usize {
    devshop.calls(SHOP).iter().filter(|c| c.outcome == outcome).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_variants_inventory_item_is_read_from_the_platform() {
    let devshop = DevShop::start(1000.0, 100.0).await.unwrap();
    let token = Secret::new(devshop.install(SHOP));
    let (variant, item) = devshop.world(SHOP, |w| {
        let v = w.add_variant("Tee", 3, Policy::Deny);
        (v, w.variants[&v].inventory_item_id)
    });
    let data = client(&devshop, 3)
        .call(SHOP, &token, &PRODUCT_VARIANT_ITEM, json!({"id": format!("gid://shopify/ProductVariant/{variant}")}))
        .await
        .unwrap();
    assert_eq!(data["productVariant"]["inventoryItem"]["id"], format!("gid://shopify/InventoryItem/{item}"));
    assert_eq!(data["productVariant"]["inventoryPolicy"], "DENY");
    devshop.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_errors_and_a_wrong_token_are_errors_that_no_retry_can_fix() {
    let devshop = DevShop::start(1000.0, 100.0).await.unwrap();
    let token = Secret::new(devshop.install(SHOP));
    let c = client(&devshop, 5);
    let missing = json!({"id": "gid://shopify/Order/404", "tags": ["backorder"]});
    match c.call(SHOP, &token, &TAGS_ADD, missing.clone()).await {
        Err(e @ PlatformError::Refused { .. }) => assert!(e.to_string().contains("Order does not exist"), "{e}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let denied = c.call(SHOP, &Secret::new("shpat_wrong"), &TAGS_ADD, missing).await;
    assert!(matches!(denied, Err(PlatformError::Denied(401))), "{denied:?}");
    assert_eq!(devshop.calls(SHOP).len(), 2, "neither was retried");
    devshop.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_stay_within_a_small_cost_bucket_without_a_throttled_reply() {
    let devshop = DevShop::start(50.0, 100.0).await.unwrap();
    let token = Secret::new(devshop.install(SHOP));
    let order = devshop.world(SHOP, |w| {
        let v = w.add_variant("Tee", 0, Policy::Continue);
        w.place_order("a@example.com", &[], &[(v, 1)]).unwrap()
    });
    let c = std::sync::Arc::new(client(&devshop, 3));
    let calls = (0..30).map(|i| {
        let (c, token) = (c.clone(), token.clone());
        tokio::spawn(async move {
            let vars = json!({"id": format!("gid://shopify/Order/{order}"), "tags": [format!("t{i}")]});
            c.call(SHOP, &token, &TAGS_ADD, vars).await
        })
    });
    for call in futures_util::future::join_all(calls).await {
        call.unwrap().unwrap();
    }
    assert_eq!(outcomes(&devshop, "throttled"), 0, "the client waited for the bucket instead");
    assert_eq!(devshop.world(SHOP, |w| w.orders[&order].tags.len()), 30);
    devshop.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_rate_limits_and_dropped_connections_are_retried_until_the_call_succeeds() {
    let devshop = DevShop::start(1000.0, 1000.0).await.unwrap();
    let token = Secret::new(devshop.install(SHOP));
    let order = devshop.world(SHOP, |w| {
        let v = w.add_variant("Tee", 0, Policy::Continue);
        w.place_order("a@example.com", &[], &[(v, 1)]).unwrap()
    });
    // Mutations through 5xx and 429, which the platform answers without applying anything.
    devshop.set_faults(Faults {
        server_errors: 0.15,
        too_many_requests: 0.05,
        retry_after_secs: 0.01,
        ..Faults::default()
    });
    let c = client(&devshop, 12);
    for i in 0..20 {
        let vars = json!({"id": format!("gid://shopify/Order/{order}"), "tags": [format!("t{i}")]});
        c.call(SHOP, &token, &TAGS_ADD, vars).await.unwrap();
    }
    assert_eq!(devshop.world(SHOP, |w| w.orders[&order].tags.len()), 20);
    // Reads through all three, dropped replies included: a read can always be sent again.
    devshop.set_faults(Faults {
        server_errors: 0.15,
        too_many_requests: 0.05,
        dropped: 0.05,
        every_nth_server_error: 0,
        retry_after_secs: 0.01,
        ..Faults::default()
    });
    for _ in 0..20 {
        let data = c.call(SHOP, &token, &ORDER_TAGS, json!({"id": format!("gid://shopify/Order/{order}")})).await;
        assert_eq!(data.unwrap()["order"]["tags"].as_array().map(Vec::len), Some(20));
    }
    assert!(devshop.calls(SHOP).len() >= 40);
    devshop.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mutation_whose_reply_is_lost_is_not_sent_again_and_its_outcome_is_reported_unknown() {
    let devshop = DevShop::start(1000.0, 1000.0).await.unwrap();
    let token = Secret::new(devshop.install(SHOP));
    let order = devshop.world(SHOP, |w| {
        let v = w.add_variant("Tee", 0, Policy::Continue);
        w.place_order("a@example.com", &[], &[(v, 1)]).unwrap()
    });
    devshop.set_faults(Faults { dropped: 1.0, ..Faults::default() });
    let vars = json!({"id": format!("gid://shopify/Order/{order}"), "tags": ["backorder"]});
    let err = client(&devshop, 6).call(SHOP, &token, &TAGS_ADD, vars).await.unwrap_err();
    assert!(matches!(err, PlatformError::Uncertain(_)), "{err:?}");
    assert!(err.is_retryable(), "worth another pass, after reading back");
    assert_eq!(devshop.calls(SHOP).len(), 1, "sent once, not retried blindly");
    assert_eq!(devshop.world(SHOP, |w| w.orders[&order].tags.len()), 1, "the platform applied it");
    devshop.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_keeps_failing_gives_up_after_its_retry_budget() {
    let devshop = DevShop::start(1000.0, 1000.0).await.unwrap();
    let token = Secret::new(devshop.install(SHOP));
    devshop.set_faults(Faults { server_errors: 1.0, ..Faults::default() });
    let result =
        client(&devshop, 4).call(SHOP, &token, &TAGS_ADD, json!({"id": "gid://shopify/Order/1", "tags": ["x"]})).await;
    match result {
        Err(e) => assert!(e.is_retryable(), "{e}"),
        Ok(v) => panic!("a failing platform answered {v}"),
    }
    assert_eq!(outcomes(&devshop, "5xx"), 4, "exactly the budget of attempts");
    devshop.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_stocked_at_more_locations_than_a_page_is_read_over_several_pages() {
    let devshop = DevShop::start(10_000.0, 10_000.0).await.unwrap();
    let token = Secret::new(devshop.install(SHOP));
    let item = devshop.world(SHOP, |w| {
        let v = w.add_variant("Tee", 1, Policy::Deny);
        let item = w.variants[&v].inventory_item_id;
        for location in 2..=300 {
            let level =
                backorder::devshop::world::Level { available: 1, incoming: 0, updated_at_ms: 1_795_000_000_000 };
            w.levels.insert((item, location), level);
        }
        item
    });
    let levels = backorder::platform::reads::item_levels(&client(&devshop, 3), SHOP, &token, item).await.unwrap();
    assert_eq!(levels.len(), 300, "every location");
    let reads = devshop.calls(SHOP).iter().filter(|c| c.operation == "InventoryItemLevels").count();
    assert_eq!(reads, 2, "two pages of 250");
    devshop.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_that_is_not_a_finite_number_is_treated_as_absent_and_the_call_retries() {
    let devshop = DevShop::start(1000.0, 1000.0).await.unwrap();
    let token = Secret::new(devshop.install(SHOP));
    let c = client(&devshop, 2);
    // The dev shop writes the figure as `{:.1}`: `NaN` and `inf`, both of which `f64` parses.
    for (n, secs) in [f64::NAN, f64::INFINITY].into_iter().enumerate() {
        devshop.set_faults(Faults { too_many_requests: 1.0, retry_after_secs: secs, ..Faults::default() });
        let result = c.call(SHOP, &token, &TAGS_ADD, json!({"id": "gid://shopify/Order/1", "tags": ["x"]})).await;
        match result {
            Err(e) => assert!(e.is_retryable() && e.to_string().contains("429"), "{e}"),
            Ok(v) => panic!("a platform answering 429 answered {v}"),
        }
        assert_eq!(outcomes(&devshop, "429"), 2 * (n + 1), "retried once, within the budget");
    }
    devshop.stop().await;
}
