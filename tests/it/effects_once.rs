//! Each effect sent once, even when the platform fails: with 5xx and dropped replies injected,
//! a change whose reply was lost is read back from the platform before anything is sent again,
//! and a change that went through is recorded at once, so a later failure does not repeat it.

use std::collections::BTreeMap;

use backorder::devshop::{Call, Faults, Policy};
use serde_json::json;

use crate::effects::Setup;
use crate::support::{Backend, SHOP, eventually};

/// The mutations of `operation` that reached the platform's state (answered, or applied with the
/// reply dropped), by the key `of` picks from their variables.
fn applied_by(calls: &[Call], operation: &str, of: impl Fn(&Call) -> String) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for c in calls.iter().filter(|c| c.operation == operation && matches!(c.outcome, "ok" | "dropped")) {
        *counts.entry(of(c)).or_default() += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_server_errors_and_dropped_replies_no_tag_policy_or_date_is_sent_twice() {
    for backend in [Backend::Redis, Backend::Embedded] {
        let overrides = [("BACKORDER__PLATFORM__MAX_ATTEMPTS", "10"), ("BACKORDER__EFFECTS__MAX_FAILED_PASSES", "20")];
        let mut s = Setup::start_paced(backend, 0, "50", &overrides, (2000.0, 2000.0)).await;
        // Drawn per call, and every 7th reply dropped for sure: the run always has lost replies.
        s.devshop.set_faults(Faults { server_errors: 0.2, dropped: 0.2, every_nth_dropped: 7, ..Faults::default() });
        s.enrol(json!({"enabled": true, "lead_time_days": 14})).await;
        eventually("the variant to sell on backorder", || async { (s.policy() == Policy::Continue).then_some(()) })
            .await;
        let mut orders = Vec::new();
        for _ in 0..6 {
            orders.push(s.order(1).await);
        }
        eventually("every order tagged", || async { orders.iter().all(|o| s.tags(*o) == ["backorder"]).then_some(()) })
            .await;
        s.settled().await;
        let calls = s.devshop.calls(SHOP);
        assert!(calls.iter().any(|c| c.outcome == "dropped"), "replies were dropped");
        let tags = applied_by(&calls, "TagsAdd", |c| format!("{} {}", c.variables["id"], c.variables["tags"]));
        assert_eq!(tags.len(), orders.len(), "{tags:?}");
        assert!(tags.values().all(|n| *n == 1), "a tag sent again after it went through: {tags:?}");
        let policies = applied_by(&calls, "VariantsPolicy", |c| c.variables["variants"].to_string());
        assert!(policies.values().all(|n| *n == 1), "a policy sent again: {policies:?}");
        let dates = applied_by(&calls, "EtaMetafields", |c| c.variables["metafields"].to_string());
        assert!(!dates.is_empty() && dates.values().all(|n| *n == 1), "a date sent again: {dates:?}");
        assert!(s.app.store.dead_letters(10).await.unwrap().is_empty(), "nothing gave up");
        assert_eq!(s.devshop.noops(SHOP), Vec::<String>::new(), "no change sent whose effect was there already");
        s.stop().await;
    }
}
