//! Workers against real stores: crashes, outages and restarts lose nothing and repeat nothing.

use std::time::Duration;

use crate::support::redis::RedisServer;
use crate::support::webhooks::Delivery;
use crate::support::{Backend, SHOP, TestApp, eventually, settings};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_held_by_a_worker_that_died_is_reclaimed_and_processed_exactly_once() {
    for backend in [Backend::Redis, Backend::Embedded] {
        let test_store = backend.prepare();
        let store = test_store.open().await;
        let intake = TestApp::start(store.clone(), settings(&test_store, &[("BACKORDER__QUEUE__WORKERS", "0")])).await;
        intake.install(SHOP).await;
        let (committed, uncommitted) = (Delivery::order(2001), Delivery::order(2002));
        assert_eq!(intake.deliver(&committed).await.status(), 200);
        assert_eq!(intake.deliver(&uncommitted).await.status(), 200);

        // A worker takes both entries; it finishes the first one's work but dies before any ack.
        let taken = store.dequeue("doomed-worker", store.lane_of(SHOP), 2, Duration::from_secs(5)).await.unwrap();
        assert_eq!(taken.len(), 2);
        let first = &taken[0].envelope;
        assert!(
            store
                .commit_event(&first.meta.shop, &first.event_key(), "orders/create", Duration::from_secs(60))
                .await
                .unwrap()
        );
        drop(taken);
        intake.app.stop().await;

        let workers =
            TestApp::start(store.clone(), settings(&test_store, &[("BACKORDER__QUEUE__RECLAIM_IDLE_MS", "300")])).await;
        workers.drained().await;
        eventually("both orders to be processed", || async {
            (workers.processed("orders/create").await == 2).then_some(())
        })
        .await;
        let metrics = workers.client.get(workers.url("/metrics")).send().await.unwrap().text().await.unwrap();
        assert!(metrics.contains(r#"topic="orders/create",outcome="already_done"} 1"#), "{metrics}");
        assert!(metrics.contains(r#"topic="orders/create",outcome="done"} 1"#), "{metrics}");
        workers.app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_going_away_gives_503_and_nothing_acknowledged_is_lost() {
    let mut redis = RedisServer::start_durable();
    // Work in flight when Redis vanished stays with its consumer until re-claimed.
    let (app, _store) =
        TestApp::spawn(Backend::Url(redis.url()), &[("BACKORDER__QUEUE__RECLAIM_IDLE_MS", "500")]).await;
    for n in 0..20 {
        assert_eq!(app.deliver(&Delivery::order(3000 + n)).await.status(), 200);
    }

    redis.stop();
    let during = Delivery::order(3100);
    assert_eq!(app.deliver(&during).await.status(), 503);
    assert_eq!(app.client.get(app.url("/readyz")).send().await.unwrap().status(), 503);

    redis.restart();
    let after = Delivery::order(3101);
    eventually("webhooks to be accepted again", || async { (app.deliver(&after).await.status() == 200).then_some(()) })
        .await;
    // Shopify retries what got a 503.
    assert_eq!(app.deliver(&during).await.status(), 200);
    eventually("every acknowledged webhook to be processed", || async {
        (app.processed("orders/create").await == 22).then_some(())
    })
    .await;
    app.drained().await;
    assert_eq!(app.processed("orders/create").await, 22);
    app.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_acknowledged_before_a_restart_are_processed_after_it() {
    let test_store = Backend::Embedded.prepare();
    {
        let store = test_store.open().await;
        let intake = TestApp::start(store, settings(&test_store, &[("BACKORDER__QUEUE__WORKERS", "0")])).await;
        intake.install(SHOP).await;
        for n in 0..5 {
            assert_eq!(intake.deliver(&Delivery::order(4000 + n)).await.status(), 200);
        }
        intake.app.stop().await;
    }
    let store = test_store.open().await;
    let app = TestApp::start(store, settings(&test_store, &[])).await;
    eventually("the queued webhooks to be processed", || async {
        (app.processed("orders/create").await == 5).then_some(())
    })
    .await;
    app.drained().await;
    app.app.stop().await;
}

/// L8: with a token configured, `/metrics` answers only a scrape that carries it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_answer_only_the_configured_bearer_token() {
    let (open, _s1) = TestApp::spawn(Backend::Embedded, &[]).await;
    assert_eq!(open.client.get(open.url("/metrics")).send().await.unwrap().status(), 200, "open by default");
    open.app.stop().await;

    let (app, _s2) = TestApp::spawn(Backend::Embedded, &[("BACKORDER__SECURITY__METRICS_TOKEN", "scrape-me")]).await;
    let get = |auth: Option<&'static str>| {
        let mut req = app.client.get(app.url("/metrics"));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        req.send()
    };
    assert_eq!(get(None).await.unwrap().status(), 401);
    assert_eq!(get(Some("Bearer wrong")).await.unwrap().status(), 401);
    assert_eq!(get(Some("Bearer scrape-me")).await.unwrap().status(), 200);
    app.app.stop().await;
}
