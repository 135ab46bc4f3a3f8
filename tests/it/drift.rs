//! Drift repair runs by itself (SPEC 9): a webhook the platform never delivered is repaired by
//! the next pass, without any command, and the repair is counted and kept for the merchant.

use backorder::devshop::Policy;
use backorder::sync::drift::DriftKey;
use serde_json::{Value, json};

use crate::api::{get, token};
use crate::effects::Setup;
use crate::support::{Backend, SHOP, eventually};

async fn metric(s: &Setup, line: &str) -> Option<u64> {
    let text = reqwest::get(s.app.url("/metrics")).await.ok()?.text().await.ok()?;
    text.lines().find_map(|l| l.strip_prefix(line)).and_then(|v| v.trim().parse().ok())
}

async fn waiting(s: &Setup) -> Vec<u64> {
    let shown: Value =
        get(&s.app, &format!("/api/variants/{}", s.variant), Some(&token(SHOP))).await.json().await.unwrap();
    shown["queue"].as_array().unwrap().iter().map(|q| q["order_id"].as_u64().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_whose_webhook_never_came_is_booked_by_the_next_drift_pass_and_the_repair_is_counted() {
    for backend in [Backend::Embedded, Backend::Redis] {
        let s = Setup::start(backend, 0, "100", &[("BACKORDER__RECONCILE__INTERVAL_SECS", "1")]).await;
        s.enrol(json!({"enabled": true})).await;
        eventually("selling on backorder", || async { (s.policy() == Policy::Continue).then_some(()) }).await;
        // The first pass (a full one) has run: the next reads only what changed since.
        eventually("a first drift pass", || async { metric(&s, "backorder_drift_passes_total{kind=\"ok\"}").await })
            .await;

        let variant = s.variant;
        let lost = s.world(|w| w.place_order("lost@example.com", &[], &[(variant, 2)]).unwrap());
        eventually("the lost order in the queue", || async { (waiting(&s).await == [lost]).then_some(()) }).await;
        let added = eventually("the repair counted", || async {
            metric(&s, "backorder_drift_repairs_total{kind=\"order_added\"}").await
        })
        .await;
        assert_eq!(added, 1);
        let drift = s.app.app.state.books.get(SHOP, DriftKey).await.unwrap().unwrap();
        let kept: usize = drift.repairs.iter().map(|r| r.orders_added).sum();
        assert_eq!(kept, 1, "the repair is kept for the merchant: {drift:?}");
        s.settled().await;
        assert_eq!(s.tags(lost), ["backorder"], "the repaired ledger drives the effects");
        s.stop().await;
    }
}
