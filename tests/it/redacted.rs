//! After `shop/redact` or `customers/redact`, what was still on its way brings nothing back
//! (audit M6): a webhook held by a consumer or waiting to retry finds the shop kept out (a
//! tombstone for the dedupe window) or the order marked redacted; emails written as files go
//! with their order, their shop, and after their retention; a new install lifts the tombstone.

use std::time::Duration;

use backorder::store::Record;
use serde_json::json;

use crate::support::webhooks::Delivery;
use crate::support::{Backend, SHOP, TestApp, eventually};

async fn metric(app: &TestApp, prefix: &str) -> u64 {
    let text = async { reqwest::get(app.url("/metrics")).await.ok()?.text().await.ok() }.await.unwrap_or_default();
    text.lines()
        .filter_map(|l| l.strip_prefix(prefix))
        .filter_map(|v| v.split_whitespace().last()?.parse::<u64>().ok())
        .sum()
}

/// Settings where a consumer that died on an entry hands it on soon.
const HELD: [(&str, &str); 2] = [("BACKORDER__QUEUE__RECLAIM_IDLE_MS", "300"), ("BACKORDER__QUEUE__WORKERS", "1")];

/// Delivers `delivery` while its topic's consumer dies on it: it stays queued, handed out again
/// and again, until `release` is called.
async fn hold(app: &TestApp, delivery: &Delivery) {
    let restarts = metric(app, "backorder_task_restarts_total").await;
    app.app.state.panics.arm(&format!("webhook:{}", delivery.topic));
    assert_eq!(app.deliver(delivery).await.status(), 200);
    eventually("a consumer to die on the held webhook", || async {
        (metric(app, "backorder_task_restarts_total").await > restarts).then_some(())
    })
    .await;
}

fn release(app: &TestApp, topic: &str) {
    app.app.state.panics.disarm(&format!("webhook:{topic}"));
}

async fn settled_queue(app: &TestApp) {
    eventually("the queue to be empty", || async {
        let s = app.store.queue_stats().await.ok()?;
        (s.queued == 0 && s.delayed == 0).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_held_when_its_shop_is_redacted_brings_nothing_of_the_shop_back() {
    for backend in [Backend::Embedded, Backend::Redis] {
        let (app, _store) = TestApp::spawn(backend, &HELD).await;
        assert_eq!(app.deliver(&Delivery::order(76)).await.status(), 200);
        eventually("the first order booked", || async {
            app.store.ledger_get(SHOP, &[Record::Order(76)]).await.ok()?[0].is_some().then_some(())
        })
        .await;
        hold(&app, &Delivery::order(77)).await;

        let redact = Delivery::new("shop/redact", json!({"shop_id": 954889, "shop_domain": SHOP}).to_string());
        assert_eq!(app.deliver(&redact).await.status(), 200);
        eventually("the shop to be redacted", || async {
            let gone = app.store.ledger_get(SHOP, &[Record::Order(76)]).await.ok()?[0].is_none();
            (gone && app.store.kept_out(SHOP).await.ok()?).then_some(())
        })
        .await;
        release(&app, "orders/create");
        settled_queue(&app).await;
        eventually("the held webhook to be dropped", || async {
            let n = metric(
                &app,
                "backorder_webhooks_processed_total{topic=\"orders/create\",outcome=\"dropped_redacted\"}",
            )
            .await;
            (n >= 1).then_some(())
        })
        .await;

        let records = app.store.ledger_get(SHOP, &[Record::Order(76), Record::Order(77)]).await.unwrap();
        assert_eq!(records, [None, None], "no order of the redacted shop came back");
        assert!(!app.store.shops().await.unwrap().contains(&SHOP.to_string()), "nor its place among the shops");
        assert!(app.store.processed_counts(SHOP).await.unwrap().is_empty(), "nor a processed count");
        let dead = app.store.dead_letters(100).await.unwrap();
        assert!(dead.iter().all(|d| d.shop() != SHOP), "nor a dead letter");
        app.app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shop_installed_again_after_its_redaction_works_as_a_new_install() {
    for backend in [Backend::Embedded, Backend::Redis] {
        let (app, _store) = TestApp::spawn(backend, &[]).await;
        let redact = Delivery::new("shop/redact", json!({"shop_id": 954889, "shop_domain": SHOP}).to_string());
        assert_eq!(app.deliver(&redact).await.status(), 200);
        eventually("the shop to be kept out", || async { app.store.kept_out(SHOP).await.ok()?.then_some(()) }).await;
        // The tombstone comes first and the purge after it: an install saved before the purge
        // ends would be purged with the rest. Shopify sends shop/redact 48 hours after the
        // uninstall, so the new install comes after the redaction's end.
        app.drained().await;

        let state = &app.app.state;
        let install = backorder::auth::install::Install {
            access_token: backorder::secret::Secret::new("shpat_again"),
            refresh_token: None,
            expires_at_ms: None,
            scopes: vec![],
            installed_at_ms: 1,
        };
        backorder::auth::install::save(&state.books, state.sealer.as_deref().unwrap(), SHOP, &install).await.unwrap();
        assert!(!app.store.kept_out(SHOP).await.unwrap(), "the new install lifts the tombstone");
        assert_eq!(app.deliver(&Delivery::order(78)).await.status(), 200);
        eventually("the new install's order booked", || async {
            app.store.ledger_get(SHOP, &[Record::Order(78)]).await.ok()?[0].is_some().then_some(())
        })
        .await;
        app.app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_update_held_when_its_customer_is_redacted_brings_back_no_contact_and_no_tags() {
    for backend in [Backend::Embedded, Backend::Redis] {
        let (app, _store) = TestApp::spawn(backend, &HELD).await;
        let order = |topic: &str, qty: u32, at: &str| {
            let body = json!({
                "id": 90, "name": "#90", "email": "ada@example.com", "customer": {"id": 5, "tags": "VIP"},
                "created_at": "2026-11-20T10:00:00-05:00", "updated_at": at,
                "line_items": [{"id": 900, "variant_id": 4711, "title": "Tee", "quantity": qty, "fulfillable_quantity": qty}]
            });
            Delivery::new(topic, body.to_string())
        };
        assert_eq!(app.deliver(&order("orders/create", 1, "2026-11-20T10:00:00-05:00")).await.status(), 200);
        eventually("the order's contact kept", || async {
            app.store.ledger_get(SHOP, &[Record::Contact(90)]).await.ok()?[0].is_some().then_some(())
        })
        .await;
        hold(&app, &order("orders/updated", 2, "2026-11-21T10:00:00-05:00")).await;

        let redact = json!({"shop_id": 954889, "shop_domain": SHOP, "customer": {"id": 5, "email": "ada@example.com"},
            "orders_to_redact": [90]});
        assert_eq!(app.deliver(&Delivery::new("customers/redact", redact.to_string())).await.status(), 200);
        eventually("the contact to be erased", || async {
            app.store.ledger_get(SHOP, &[Record::Contact(90)]).await.ok()?[0].is_none().then_some(())
        })
        .await;
        release(&app, "orders/updated");
        settled_queue(&app).await;
        let records = app.store.ledger_get(SHOP, &[Record::Order(90), Record::Contact(90)]).await.unwrap();
        let kept = String::from_utf8(records[0].clone().expect("the order stays")).unwrap();
        assert!(kept.contains("\"open_qty\":2"), "the update's lines are booked: {kept}");
        assert!(!kept.contains("VIP"), "no customer tag came back: {kept}");
        assert_eq!(records[1], None, "no contact came back");
        app.app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emails_written_as_files_go_with_their_order_with_their_shop_and_after_their_retention() {
    let outbox = tempfile::tempdir().unwrap();
    let dir = outbox.path().to_str().unwrap().to_string();
    let mailer = backorder::mail::Mailer::new("", "shop@example.com", &dir).unwrap();
    let letter = |message_id: &'static str| backorder::mail::Letter {
        to: "ada@example.com",
        message_id,
        subject: "Your order",
        text: "waiting",
        html: "<p>waiting</p>",
    };
    for id in ["<backordered.90.ab@x>", "<eta_changed.90.ab@x>", "<backordered.91.ab@x>"] {
        mailer.send(SHOP, &letter(id)).await.unwrap();
    }
    mailer.send("other.myshopify.com", &letter("<backordered.90.ab@x>")).await.unwrap();
    let files = |shop: &str| -> Vec<String> {
        std::fs::read_dir(outbox.path().join(shop))
            .map(|d| d.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect())
            .unwrap_or_default()
    };
    assert_eq!(files(SHOP).len(), 3);

    assert_eq!(mailer.forget_order(SHOP, 90).await.unwrap(), 2);
    assert_eq!(files(SHOP), ["backordered.91.abx.eml"], "only the other order's email stays");
    assert_eq!(files("other.myshopify.com").len(), 1, "another shop's order 90 is not this one");

    assert_eq!(mailer.expire(Duration::from_secs(3600)).await.unwrap(), 0, "nothing is an hour old");
    assert_eq!(mailer.expire(Duration::ZERO).await.unwrap(), 2, "everything is older than nothing");

    mailer.send(SHOP, &letter("<backordered.92.ab@x>")).await.unwrap();
    mailer.forget_shop(SHOP).await.unwrap();
    assert!(!outbox.path().join(SHOP).exists(), "the shop's folder goes");
    mailer.forget_shop(SHOP).await.unwrap();
}
