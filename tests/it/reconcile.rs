//! `reconcile` against the dev shop: lost webhooks (an order never delivered, a cancellation
//! never delivered, stale stock) are repaired from the platform, and a second run finds nothing.

use backorder::devshop::Policy;
use backorder::sync::reconcile::reconcile_shop;
use serde_json::{Value, json};

use crate::api::{get, token};
use crate::effects::Setup;
use crate::support::{Backend, SHOP, eventually};

async fn queue(s: &Setup) -> (i64, Vec<u64>) {
    let shown: Value =
        get(&s.app, &format!("/api/variants/{}", s.variant), Some(&token(SHOP))).await.json().await.unwrap();
    let ids = shown["queue"].as_array().unwrap().iter().map(|q| q["order_id"].as_u64().unwrap()).collect();
    (shown["available"].as_i64().unwrap(), ids)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_repairs_lost_orders_cancellations_and_stock_and_then_finds_nothing() {
    for backend in [Backend::Redis, Backend::Embedded] {
        let mut s = Setup::start(backend, 1, "100", &[]).await;
        s.enrol(json!({"enabled": true})).await;
        eventually("the variant to sell on backorder", || async { (s.policy() == Policy::Continue).then_some(()) })
            .await;
        let delivered = s.order(1).await;
        s.settled().await;

        // Two orders and a cancellation whose webhooks never arrive.
        let variant = s.variant;
        let c = s.world(|w| {
            w.place_order("b@example.com", &[], &[(variant, 1)]).unwrap();
            let c = w.place_order("c@example.com", &[], &[(variant, 1)]).unwrap();
            w.cancel_order(delivered, true).unwrap();
            c
        });
        assert_eq!(queue(&s).await, (0, vec![]), "the ledger has not heard");

        let state = &s.app.app.state;
        let mut steps = Vec::new();
        let report = reconcile_shop(state, SHOP, |p| steps.push(p.to_string())).await.unwrap();
        assert_eq!(report.levels_repaired, 1);
        assert_eq!((report.orders_added, report.orders_closed), (2, 1));
        assert!(steps.iter().any(|p| p.starts_with("orders:")), "progress is reported: {steps:?}");
        assert_eq!(queue(&s).await, (-1, vec![c]), "the later lost order waits, the earlier one is covered");

        let again = reconcile_shop(state, SHOP, |_| {}).await.unwrap();
        assert_eq!(
            (again.levels_repaired, again.orders_added, again.orders_updated, again.orders_closed),
            (0, 0, 0, 0)
        );
        s.settled().await;
        assert_eq!(s.tags(c), ["backorder"], "the repaired ledger drives the effects too");
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_of_a_shop_without_an_install_says_so() {
    let s = Setup::start(Backend::Embedded, 1, "100", &[]).await;
    let err = reconcile_shop(&s.app.app.state, "stranger.myshopify.com", |_| {}).await.unwrap_err();
    assert!(err.to_string().contains("not installed"), "{err}");
    s.stop().await;
}
