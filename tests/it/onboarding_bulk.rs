//! A large shop's open orders are read at enrolment through one bulk operation (SPEC 9, 3.5):
//! the dev shop runs it as Shopify does (started, running, completed, a JSONL file to download).

use backorder::devshop::Policy;
use serde_json::{Value, json};

use crate::api::{get, put, token};
use crate::effects::Setup;
use crate::support::{Backend, SHOP, eventually};

const OPEN: usize = 2_000;
/// Of the 2,000 units ordered, this many wait: the rest were in stock.
const WAITING: i64 = 6;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shop_with_2000_open_orders_is_onboarded_through_the_bulk_path_with_progress_and_no_throttling() {
    for backend in [Backend::Embedded, Backend::Redis] {
        // Shopify's smallest bucket: 1,000 points restoring 50 a second.
        let s = Setup::start_unheard(backend, 0, Policy::Continue, "50", &[], (1000.0, 50.0), |s| s).await;
        let variant = s.variant;
        let orders: Vec<u64> = s.world(|w| {
            (0..OPEN).map(|i| w.place_order(&format!("b{i}@example.com"), &[], &[(variant, 1)]).unwrap()).collect()
        });
        s.world(|w| w.set_stock(variant, -WAITING)).unwrap();

        let resp = put(&s.app, &format!("/api/variants/{variant}"), &token(SHOP), json!({"enabled": true})).await;
        assert_eq!(resp.status(), 200);
        let shown: Value = resp.json().await.unwrap();
        let job = shown["onboarding"]["job"].as_u64().expect("an onboarding job");
        // Its progress as the merchant sees it, until it ends.
        let seen = std::sync::Mutex::new(Vec::new());
        let done = eventually("the onboarding job to end", || async {
            let shown: Value = get(&s.app, &format!("/api/jobs/{job}"), Some(&token(SHOP))).await.json().await.ok()?;
            seen.lock().unwrap().push((shown["done"].as_u64()?, shown["total"].as_u64()?));
            (shown["state"] != "running").then_some(shown)
        })
        .await;
        let seen = seen.into_inner().unwrap();
        assert_eq!(done["state"], "done", "{done}");
        assert_eq!(done["summary"]["bulk"], true, "read in bulk: {done}");
        assert_eq!((done["summary"]["orders"].as_u64(), done["summary"]["added"].as_u64()), (Some(2000), Some(2000)));
        assert_eq!((done["done"].as_u64(), done["total"].as_u64()), (Some(2000), Some(2000)));
        assert!(seen.iter().all(|(d, t)| d <= t), "progress never beyond its total: {seen:?}");

        let shown: Value =
            get(&s.app, &format!("/api/variants/{variant}"), Some(&token(SHOP))).await.json().await.unwrap();
        let waiting: Vec<u64> =
            shown["queue"].as_array().unwrap().iter().map(|q| q["order_id"].as_u64().unwrap()).collect();
        assert_eq!(waiting, orders[OPEN - WAITING as usize..], "the newest units wait");
        s.settled().await;
        for order in &orders[OPEN - WAITING as usize..] {
            assert_eq!(s.tags(*order), ["backorder"]);
        }
        let calls = s.devshop.calls(SHOP);
        assert!(calls.iter().any(|c| c.operation == "BulkRunQuery" && c.outcome == "ok"));
        assert!(calls.iter().all(|c| c.operation != "OpenOrders"), "no page of open orders read");
        // Within the bucket: after its first bucket-full (the client learns it from the replies),
        // no call is refused as THROTTLED.
        let mut charged = 0.0;
        let warm = calls.iter().position(|c| {
            charged += c.cost;
            charged >= 1000.0
        });
        let throttled = warm.map_or(0, |w| calls[w..].iter().filter(|c| c.outcome == "throttled").count());
        assert_eq!(throttled, 0);
        s.stop().await;
    }
}
