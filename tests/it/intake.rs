//! `POST /webhooks` over real HTTP, on a real Redis and on the embedded store.

use backorder::store::SharedStore;

use crate::support::webhooks::Delivery;
use crate::support::{Backend, SHOP, TestApp, eventually, redis};

/// Nothing at all was kept: no queue entry, no dedupe mark, no dead letter, no processed event.
async fn assert_nothing_stored(store: &SharedStore) {
    let stats = store.queue_stats().await.unwrap();
    assert_eq!((stats.queued, stats.delayed, stats.dead), (0, 0, 0));
    assert!(store.processed_counts(SHOP).await.unwrap().is_empty());
}

fn redis_prefix_keys(prefix: &str) -> Vec<String> {
    let reply = redis::command(redis::shared().port, &["KEYS", &format!("{prefix}:*")]).unwrap();
    reply.lines().filter(|l| l.starts_with(prefix)).map(str::to_string).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_good_signature_is_accepted_and_enqueued_once() {
    for backend in [Backend::Redis, Backend::Embedded] {
        let (app, _store) = TestApp::spawn(backend, &[("BACKORDER__QUEUE__WORKERS", "0")]).await;
        let delivery = Delivery::order(1001);
        let resp = app.deliver(&delivery).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.json::<serde_json::Value>().await.unwrap()["status"], "accepted");
        assert_eq!(app.store.queue_stats().await.unwrap().queued, 1);
        let entry = app
            .store
            .dequeue("inspector", app.store.lane_of(SHOP), 1, std::time::Duration::ZERO)
            .await
            .unwrap()
            .remove(0);
        // Queued with what the ledger reads of the order, which it reads as the whole body.
        let kept = backorder::ledger::kept::order_body(&delivery.body).expect("an order body");
        assert_eq!(entry.envelope.body, kept);
        assert!(kept.len() < delivery.body.len(), "{} of {} bytes", kept.len(), delivery.body.len());
        let read = |body: &[u8]| backorder::ledger::input::parse_order(body, None).unwrap();
        assert_eq!(read(&entry.envelope.body), read(&delivery.body));
        assert_eq!(entry.envelope.meta.topic, "orders/create");
        assert_eq!(entry.envelope.meta.shop, SHOP);
        assert_eq!(entry.envelope.meta.webhook_id, delivery.webhook_id);
        assert_eq!(entry.envelope.meta.event_id, delivery.event_id);
        assert_eq!(entry.envelope.meta.api_version.as_deref(), Some("2026-10"));
        app.app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_missing_or_malformed_signatures_get_401_and_nothing_is_stored() {
    for backend in [Backend::Redis, Backend::Embedded] {
        let (app, store) = TestApp::spawn_bare(backend, &[("BACKORDER__QUEUE__WORKERS", "0")]).await;
        let wrong = backorder::webhook::verify::sign(b"not-the-secret", b"{}");
        for hmac in [wrong.as_str(), "", "!!!not-base64!!!", "c2hvcnQ="] {
            let mut delivery = Delivery::order(1002);
            delivery.hmac = Some(hmac.to_string());
            let resp = app.deliver(&delivery).await;
            assert_eq!(resp.status(), 401, "hmac {hmac:?}");
            assert_nothing_stored(&app.store).await;
        }
        if store.dir.is_none() {
            let keys = redis_prefix_keys(&store.prefix);
            // The lanes' empty streams (made with their consumer groups) and the store's number
            // of shards: nothing of any delivery.
            assert!(
                keys.iter().all(|k| k.ends_with(":queue") || k.ends_with("{intake}:shards")),
                "only the empty queue streams: {keys:?}"
            );
        }
        app.app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_delivery_leaves_no_dedupe_mark() {
    let (app, _store) = TestApp::spawn(Backend::Redis, &[("BACKORDER__QUEUE__WORKERS", "0")]).await;
    let mut delivery = Delivery::order(1003);
    delivery.hmac = Some(backorder::webhook::verify::sign(b"forged", &delivery.body));
    assert_eq!(app.deliver(&delivery).await.status(), 401);
    delivery.hmac = None;
    let resp = app.deliver(&delivery).await;
    assert_eq!(resp.json::<serde_json::Value>().await.unwrap()["status"], "accepted");
    app.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_one_byte_over_a_mebibyte_gets_413() {
    let (app, _store) = TestApp::spawn(Backend::Redis, &[("BACKORDER__QUEUE__WORKERS", "0")]).await;
    let big = Delivery::new("orders/create", vec![b' '; 1024 * 1024 + 1]);
    assert_eq!(app.deliver(&big).await.status(), 413);
    let exact = Delivery::new("orders/create", vec![b' '; 1024 * 1024]);
    assert_eq!(app.deliver(&exact).await.status(), 200, "exactly 1 MiB is allowed");
    let stats = app.store.queue_stats().await.unwrap();
    assert_eq!(stats.queued, 1, "only the allowed body was stored");
    app.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_body_that_is_not_json_is_acknowledged_and_dead_lettered() {
    for backend in [Backend::Redis, Backend::Embedded] {
        let (app, _store) = TestApp::spawn(backend, &[]).await;
        let delivery = Delivery::new("orders/create", b"this is not json".to_vec());
        assert_eq!(app.deliver(&delivery).await.status(), 200);
        let dead = eventually("the delivery to be dead-lettered", || async {
            let dead = app.store.dead_letters(10).await.ok()?;
            (!dead.is_empty()).then_some(dead)
        })
        .await;
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].envelope().unwrap().body, delivery.body);
        assert!(dead[0].reason.contains("not the expected JSON"), "{}", dead[0].reason);
        assert_eq!(app.processed("orders/create").await, 0);
        app.app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_the_ledger_refuses_is_dead_lettered_with_the_fields_it_was_refused_for_and_its_replay_meets_the_same_refusal()
 {
    for backend in [Backend::Redis, Backend::Embedded] {
        let (app, _store) = TestApp::spawn(backend, &[]).await;
        let mut order: serde_json::Value = serde_json::from_slice(&Delivery::order(1010).body).unwrap();
        order["created_at"] = "the day before yesterday".into();
        let delivery = Delivery::new("orders/create", serde_json::to_vec(&order).unwrap());
        assert_eq!(app.deliver(&delivery).await.status(), 200);
        let dead = eventually("the order to be dead-lettered", || async {
            let dead = app.store.dead_letters(10).await.ok()?;
            (!dead.is_empty()).then_some(dead)
        })
        .await;
        assert!(dead[0].reason.contains("created_at"), "{}", dead[0].reason);
        let kept: serde_json::Value = serde_json::from_slice(&dead[0].envelope().unwrap().body).unwrap();
        assert_eq!(kept["created_at"], "the day before yesterday");
        assert_eq!(kept["id"], order["id"]);
        assert!(kept["line_items"][0].get("quantity").is_none(), "what the ledger does not read is not kept");
        // The dead letter is what an operator replays once the cause is fixed; replayed as it
        // is, the same refusal comes back, and nothing is counted.
        let first = dead[0].id.clone();
        assert_eq!(app.store.replay_dead_letters(Some(&first)).await.unwrap(), 1);
        eventually("the replayed order to be dead-lettered again", || async {
            let dead = app.store.dead_letters(10).await.ok()?;
            (dead.len() == 1 && dead[0].id != first).then_some(())
        })
        .await;
        assert_eq!(app.processed("orders/create").await, 0);
        app.app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_delivery_three_times_is_processed_once() {
    for backend in [Backend::Redis, Backend::Embedded] {
        let (app, _store) = TestApp::spawn(backend, &[]).await;
        let delivery = Delivery::order(1004);
        let mut statuses = Vec::new();
        for _ in 0..3 {
            let resp = app.deliver(&delivery).await;
            assert_eq!(resp.status(), 200);
            statuses.push(resp.json::<serde_json::Value>().await.unwrap()["status"].clone());
        }
        assert_eq!(statuses, ["accepted", "duplicate", "duplicate"]);
        eventually("the order to be processed", || async { (app.processed("orders/create").await == 1).then_some(()) })
            .await;
        app.drained().await;
        assert_eq!(app.processed("orders/create").await, 1);
        app.app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_event_under_two_delivery_ids_is_processed_once() {
    for backend in [Backend::Redis, Backend::Embedded] {
        let (app, _store) = TestApp::spawn(backend, &[]).await;
        let first = Delivery::order(1005);
        let second = first.redelivered();
        assert_ne!(first.webhook_id, second.webhook_id);
        assert_eq!(app.deliver(&first).await.status(), 200);
        assert_eq!(app.deliver(&second).await.status(), 200);
        eventually("the order to be processed", || async { (app.processed("orders/create").await == 1).then_some(()) })
            .await;
        app.drained().await;
        assert_eq!(app.processed("orders/create").await, 1);
        app.app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_the_service_does_not_handle_are_acknowledged_and_ignored() {
    let (app, _store) = TestApp::spawn(Backend::Redis, &[("BACKORDER__QUEUE__WORKERS", "0")]).await;
    let resp = app.deliver(&Delivery::new("carts/create", b"{}".to_vec())).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<serde_json::Value>().await.unwrap()["status"], "ignored");
    assert_eq!(app.store.queue_stats().await.unwrap().queued, 0);
    // A bad signature on an unknown topic is still refused.
    let mut forged = Delivery::new("carts/create", b"{}".to_vec());
    forged.hmac = Some("AAAA".into());
    assert_eq!(app.deliver(&forged).await.status(), 401);
    app.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_without_a_webhook_id_is_refused_with_a_clear_message() {
    let (app, _store) = TestApp::spawn(Backend::Redis, &[("BACKORDER__QUEUE__WORKERS", "0")]).await;
    let resp = app
        .client
        .post(app.url("/webhooks"))
        .header("X-Shopify-Topic", "orders/create")
        .header("X-Shopify-Shop-Domain", SHOP)
        .header("X-Shopify-Hmac-Sha256", backorder::webhook::verify::sign(crate::support::SECRET.as_bytes(), b"{}"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "missing X-Shopify-Webhook-Id");
    app.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_and_metrics_answer() {
    let (app, _store) = TestApp::spawn(Backend::Redis, &[]).await;
    assert_eq!(app.client.get(app.url("/healthz")).send().await.unwrap().status(), 200);
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert!(ready.headers().contains_key("x-request-id"));
    app.deliver(&Delivery::order(1006)).await;
    eventually("the order to be processed", || async { (app.processed("orders/create").await == 1).then_some(()) })
        .await;
    // The count goes up once the entry is acknowledged, a moment after its commit.
    let done = r#"backorder_webhooks_processed_total{topic="orders/create",outcome="done"} 1"#;
    let text = eventually("the processed webhook to be counted", || async {
        let text = app.client.get(app.url("/metrics")).send().await.ok()?.text().await.ok()?;
        text.contains(done).then_some(text)
    })
    .await;
    for needle in [
        r#"backorder_webhooks_received_total{topic="orders/create",outcome="accepted"} 1"#,
        r#"backorder_webhooks_processed_total{topic="orders/create",outcome="done"} 1"#,
        "backorder_processing_seconds_bucket",
        "backorder_queue_depth",
        "backorder_dead_letters 0",
    ] {
        assert!(text.contains(needle), "metrics lack {needle}:\n{text}");
    }
    app.app.stop().await;
}

/// M4: a client that declares a body and then trickles it gets 408 and its connection closed
/// once the body deadline passes, and nothing is stored; other requests are served meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_sent_too_slowly_is_cut_with_408_and_nothing_is_stored() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (app, _store) = TestApp::spawn(Backend::Embedded, &[("BACKORDER__SERVER__BODY_TIMEOUT_MS", "300")]).await;
    let mut slow = tokio::net::TcpStream::connect(app.app.addr).await.unwrap();
    let head = "POST /webhooks HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
                X-Shopify-Topic: orders/create\r\nContent-Length: 1048576\r\n\r\n";
    slow.write_all(head.as_bytes()).await.unwrap();
    slow.write_all(b"{\"id\": 1,").await.unwrap();

    // Served meanwhile: the slow client holds no one up.
    assert_eq!(app.deliver(&Delivery::order(1)).await.status(), 200);

    // The server answers and closes; the guard only bounds a failure, it measures nothing.
    let mut answer = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(60), slow.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the server kept the trickling connection open");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert_eq!(app.store.queue_stats().await.unwrap().dead, 0, "nothing of the slow body was kept");
    app.app.stop().await;
}

/// A signed delivery whose shop is no `name.myshopify.com` (audit H2, SPEC 7): 200 so it is not
/// sent again, and nothing of it is queued, dead-lettered or counted as processed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_delivery_for_a_shop_that_is_no_myshopify_domain_is_acknowledged_and_stores_nothing() {
    let (app, _store) = TestApp::spawn(Backend::Redis, &[("BACKORDER__QUEUE__WORKERS", "0")]).await;
    for shop in ["evil.example.com", "tiny-tee.myshopify.com.evil.example", "-x.myshopify.com"] {
        let body = br#"{"id": 1, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}"#;
        let resp = app
            .client
            .post(app.url("/webhooks"))
            .header("X-Shopify-Topic", "orders/create")
            .header("X-Shopify-Shop-Domain", shop)
            .header("X-Shopify-Webhook-Id", format!("wh-{shop}"))
            .header("X-Shopify-Hmac-Sha256", backorder::webhook::verify::sign(crate::support::SECRET.as_bytes(), body))
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{shop}");
        let answer: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(answer["status"], "ignored", "{shop}");
    }
    let stats = app.store.queue_stats().await.unwrap();
    assert_eq!((stats.queued, stats.delayed, stats.dead), (0, 0, 0), "nothing stored");
    app.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_delivery_for_a_shop_with_no_install_here_is_acknowledged_and_stores_nothing_but_a_redaction_is_honoured()
 {
    for backend in [Backend::Redis, Backend::Embedded] {
        let (app, _store) = TestApp::spawn_bare(backend, &[("BACKORDER__QUEUE__WORKERS", "0")]).await;
        // Even a body the service could not read: nothing of it is kept.
        for delivery in [Delivery::order(1), Delivery::new("orders/create", b"not json".to_vec())] {
            let resp = app.deliver(&delivery).await;
            assert_eq!(resp.status(), 200);
            let answer: serde_json::Value = resp.json().await.unwrap();
            assert_eq!(answer["status"], "ignored");
        }
        let stats = app.store.queue_stats().await.unwrap();
        assert_eq!((stats.queued, stats.delayed, stats.dead), (0, 0, 0), "nothing stored");
        assert!(app.store.shops().await.unwrap().is_empty(), "no shop listed");

        // A shop uninstalled days ago still gets its redaction.
        let redact = serde_json::json!({"shop_id": 1, "shop_domain": SHOP}).to_string();
        let resp = app.deliver(&Delivery::new("shop/redact", redact)).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(app.store.queue_stats().await.unwrap().queued, 1, "the redaction is queued");

        // Once installed, the same shop's orders are taken.
        app.install(SHOP).await;
        assert_eq!(app.deliver(&Delivery::order(2)).await.status(), 200);
        assert_eq!(app.store.queue_stats().await.unwrap().queued, 2);
        app.app.stop().await;
    }
}
