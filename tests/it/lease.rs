//! A shop's lease kept while its holder works: renewed in the background, lost for good once
//! another holder has it or the store cannot renew it, and an effects pass that the platform
//! holds up for longer than the lease keeps the shop from every other instance meanwhile.

use std::time::{Duration, Instant};

use backorder::books::{Books, Lease};
use serde_json::json;

use crate::effects::Setup;
use crate::support::redis::RedisServer;
use crate::support::{Backend, SHOP, TestStore, eventually};

const LENGTH: Duration = Duration::from_millis(1000);

/// Checks `still` again and again for `window`, failing at the first `false`.
async fn throughout(what: &str, window: Duration, mut still: impl AsyncFnMut() -> bool) {
    let end = Instant::now() + window;
    while Instant::now() < end {
        assert!(still().await, "{what}");
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_is_renewed_while_its_holder_works_and_no_one_else_gets_it() {
    for backend in [Backend::Redis, Backend::Embedded] {
        let store = backend.prepare();
        let books = Books::new(store.open().await);
        let lease = Lease::take(&books, SHOP, "effects", "first", LENGTH).await.unwrap().expect("a free lease");
        throughout("the lease stays with its holder for three of its lengths", LENGTH * 3, async || {
            lease.held() && !books.try_lease(SHOP, "effects", "second", LENGTH).await.unwrap()
        })
        .await;
        lease.release().await.unwrap();
        assert!(books.try_lease(SHOP, "effects", "second", LENGTH).await.unwrap(), "released: free at once");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_another_holder_has_taken_is_no_longer_held() {
    for backend in [Backend::Redis, Backend::Embedded] {
        let store = backend.prepare();
        let books = Books::new(store.open().await);
        let lease = Lease::take(&books, SHOP, "effects", "first", LENGTH).await.unwrap().expect("a free lease");
        // As if the store had let it lapse: another holder takes it.
        books.release_lease(SHOP, "effects", "first").await.unwrap();
        assert!(books.try_lease(SHOP, "effects", "second", LENGTH * 10).await.unwrap());
        eventually("the first holder to see it lost", || async { (!lease.held()).then_some(()) }).await;
        assert!(!books.try_lease(SHOP, "effects", "first", LENGTH).await.unwrap(), "the second holder keeps it");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_that_cannot_be_renewed_stops_being_held_and_stays_lost_when_the_store_is_back() {
    let mut redis = RedisServer::start_durable();
    let store = TestStore { url: redis.url(), prefix: crate::support::unique_prefix(), dir: None };
    let books = Books::new(store.open().await);
    let lease = Lease::take(&books, SHOP, "effects", "first", LENGTH).await.unwrap().expect("a free lease");
    redis.stop();
    eventually("the holder to stop calling the lease its own", || async { (!lease.held()).then_some(()) }).await;
    redis.restart();
    // The key may still be there, or lapsed and free: either way this holder's work read the
    // shop before the outage and must not go on.
    throughout("a lost lease is not found again", LENGTH * 2, async || !lease.held()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_effects_pass_held_up_by_the_platform_past_its_lease_keeps_the_shop_and_sends_each_tag_once() {
    for backend in [Backend::Redis, Backend::Embedded] {
        let mut s = Setup::start(backend, 0, "50", &[("BACKORDER__EFFECTS__LEASE_MS", "1000")]).await;
        s.enrol(json!({"enabled": true})).await;
        s.settled().await;
        let held = s.devshop.hold_calls(SHOP);
        let order = s.order(1).await;
        eventually("the pass to be waiting on the platform", || async { (held.waiting() > 0).then_some(()) }).await;
        let books = &s.app.app.state.books;
        throughout("no other instance takes the shop while its pass waits", LENGTH * 3, async || {
            !books.try_lease(SHOP, "effects", "another-instance", LENGTH).await.unwrap()
        })
        .await;
        held.release();
        eventually("the order tagged", || async { (s.tags(order) == ["backorder"]).then_some(()) }).await;
        s.settled().await;
        assert_eq!(s.calls("TagsAdd"), 1, "the tag sent once");
        assert_eq!(s.devshop.noops(SHOP), Vec::<String>::new(), "no change sent whose effect was there already");
        s.stop().await;
    }
}
