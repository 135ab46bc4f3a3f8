//! `app/uninstalled`: the tokens go at once, and with them every platform call for the shop,
//! even while its webhooks keep arriving; the ledger stays, so a reinstall resumes.

use backorder::devshop::Policy;
use serde_json::json;

use crate::api::{put, token};
use crate::effects::Setup;
use crate::oauth::stored;
use crate::support::oauth::{API_KEY, install};
use crate::support::webhooks::Delivery;
use crate::support::{Backend, SECRET, SHOP, eventually};

/// An `app/uninstalled` body as Shopify sends it: the shop object, naming its shop.
pub fn uninstall_body(shop: &str) -> String {
    json!({"id": 548380009, "name": "Tiny Tee", "domain": shop, "myshopify_domain": shop}).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_app_uninstalled_the_dev_shop_hears_nothing_more_for_the_shop_until_it_reinstalls() {
    for backend in [Backend::Embedded, Backend::Redis] {
        let mut s = Setup::start(backend, 1, "100", &[]).await;
        s.devshop.set_app(API_KEY, SECRET);
        // Working as it should first, so the silence later means something.
        s.enrol(json!({"enabled": true})).await;
        eventually("the variant to sell on backorder", || async { (s.policy() == Policy::Continue).then_some(()) })
            .await;
        let first = s.order(3).await;
        eventually("the first order to be tagged", || async { (s.tags(first) == ["backorder"]).then_some(()) }).await;
        s.settled().await;

        s.devshop.uninstall(SHOP);
        let uninstalled = Delivery::new("app/uninstalled", uninstall_body(SHOP));
        assert_eq!(s.app.deliver(&uninstalled).await.status(), 200);
        eventually("the uninstall to be processed", || async {
            (s.app.processed("app/uninstalled").await == 1).then_some(())
        })
        .await;
        assert!(stored(&s.app, SHOP).await.is_none(), "the tokens are gone");
        let calls_before = s.devshop.calls(SHOP).len();

        // Webhooks still arrive: the ledger takes them, nothing goes to the platform.
        let second = s.order(2).await;
        eventually("the second order in the ledger, settled and still waiting", || async {
            let settled_before = backorder::store::now_ms().saturating_sub(100);
            let marks = s.app.store.dirty_settled(SHOP, settled_before, 100).await.ok()?;
            marks.iter().any(|s| s.mark == backorder::store::Mark::Order(second)).then_some(())
        })
        .await;
        // One whole effects pass over the settled marks, run here so it surely happened.
        let state = s.app.app.state.clone();
        backorder::effects::settle_shop(&state, SHOP, "uninstall-test").await.unwrap();
        let reconciled = backorder::sync::reconcile::reconcile_shop(&state, SHOP, |_| {}).await;
        assert!(
            matches!(reconciled, Err(backorder::sync::reconcile::ReconcileError::NotInstalled(_))),
            "{reconciled:?}"
        );
        let other_variant = s.world(|w| w.add_variant("Cap", 0, Policy::Deny));
        let resp = put(&s.app, &format!("/api/variants/{other_variant}"), &token(SHOP), json!({"enabled": true})).await;
        assert_eq!(resp.status(), 200, "enrolment still works, from the ledger alone");
        s.app.drained().await;

        let after: Vec<String> = s.devshop.calls(SHOP)[calls_before..].iter().map(|c| c.operation.clone()).collect();
        assert!(after.is_empty(), "no platform call after the uninstall: {after:?}");
        assert!(s.tags(second).is_empty());
        assert!(!s.app.store.ledger_dirty(SHOP).await.unwrap().orders.is_empty(), "the ledger kept its work");

        // A reinstall resumes the effects that waited.
        assert_eq!(install(&s.app, SHOP).await.status(), 302);
        eventually("the waiting order to be tagged after the reinstall", || async {
            (s.tags(second) == ["backorder"]).then_some(())
        })
        .await;
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_app_uninstalled_from_before_a_reinstall_keeps_the_new_install() {
    let s = Setup::start(Backend::Embedded, 1, "100", &[]).await;
    s.devshop.set_app(API_KEY, SECRET);
    assert_eq!(install(&s.app, SHOP).await.status(), 302);
    let mut late = Delivery::new("app/uninstalled", uninstall_body(SHOP));
    late.triggered_at = Some("2020-01-01T00:00:00Z".into());
    assert_eq!(s.app.deliver(&late).await.status(), 200);
    eventually("the late uninstall to be processed", || async {
        (s.app.processed("app/uninstalled").await == 1).then_some(())
    })
    .await;
    assert!(stored(&s.app, SHOP).await.is_some(), "the reinstall stands");
    s.stop().await;
}
