//! What one client, one status link or one shop can ask of the service (audit M3, L7): a status
//! page far back in a long queue costs no queue read once the queue is kept, and requests beyond
//! the configured rates get 429 with a Retry-After while others are still served.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use backorder::bench::counting::Counting;
use backorder::bench::fill;
use backorder::books::Books;
use backorder::notify::status_token;
use serde_json::json;

use crate::api::{put, token};
use crate::support::{Backend, SECRET, SHOP, TestApp, settings};

const OTHER: &str = "limits-other.myshopify.com";

async fn status(app: &TestApp, token: &str, forwarded: Option<&str>) -> reqwest::Response {
    let mut req = app.client.get(app.url(&format!("/status/{token}")));
    if let Some(address) = forwarded {
        req = req.header("X-Forwarded-For", address);
    }
    req.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_page_at_the_back_of_a_long_queue_reads_the_queue_once_however_often_it_is_asked() {
    for backend in [Backend::Embedded, Backend::Redis] {
        let test_store = backend.prepare();
        let counting = Arc::new(Counting::new(test_store.open().await));
        // Stock covers about half: the backlog's 1,250 or so lines are two pages of the store's
        // queue reads, and a page of the last line needs all of them.
        let open = fill::orders(2500, &mut fastrand::Rng::with_seed(7));
        fill::fill(&Books::new(counting.clone()), SHOP, &open).await.expect("the queue is filled");
        let last = open.last().unwrap().order_id;
        let app = TestApp::start(
            counting.clone(),
            settings(&test_store, &[("BACKORDER__LIMITS__STATUS_CACHE_MS", "600000")]),
        )
        .await;
        let token = status_token::sign(SECRET.as_bytes(), SHOP, last);

        let before = counting.counts.line_reads.load(Relaxed);
        let first = status(&app, &token, None).await;
        assert_eq!(first.status(), 200);
        assert!(first.text().await.unwrap().contains("in line"), "the page shows the line's position");
        let first_reads = counting.counts.line_reads.load(Relaxed) - before;
        assert!(first_reads >= 2, "the first page reads the queue ahead: {first_reads} reads");

        let before = counting.counts.line_reads.load(Relaxed);
        for _ in 0..20 {
            assert_eq!(status(&app, &token, None).await.status(), 200);
        }
        let later_reads = counting.counts.line_reads.load(Relaxed) - before;
        assert_eq!(later_reads, 0, "20 more pages read no line of the queue");
        app.app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_link_asked_too_often_gets_429_with_retry_after_while_another_link_is_served() {
    let (app, _store) =
        TestApp::spawn(Backend::Embedded, &[("BACKORDER__LIMITS__STATUS_PER_MINUTE_PER_LINK", "3")]).await;
    let link = status_token::sign(SECRET.as_bytes(), SHOP, 1);
    for _ in 0..3 {
        assert_eq!(status(&app, &link, None).await.status(), 404, "an order the ledger does not know");
    }
    let refused = status(&app, &link, None).await;
    assert_eq!(refused.status(), 429);
    let wait: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=20).contains(&wait), "a minute holds 3: the next comes within 20 s, not {wait}");
    assert!(refused.text().await.unwrap().contains("Too many requests"));
    let another = status_token::sign(SECRET.as_bytes(), SHOP, 2);
    assert_eq!(status(&app, &another, None).await.status(), 404, "another link is served");
    app.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_asking_for_many_links_is_limited_by_its_address_and_behind_a_proxy_by_the_forwarded_one() {
    let overrides = [
        ("BACKORDER__LIMITS__STATUS_PER_MINUTE_PER_CLIENT", "5"),
        ("BACKORDER__LIMITS__CLIENT_IP_HEADER", "X-Forwarded-For"),
    ];
    let (app, _store) = TestApp::spawn(Backend::Embedded, &overrides).await;
    let link = |n: u64| status_token::sign(SECRET.as_bytes(), SHOP, n);
    // What the client writes before the proxy's own address counts for nothing.
    for n in 0..5 {
        let forged = format!("10.9.9.{n}, 203.0.113.7");
        assert_eq!(status(&app, &link(n), Some(&forged)).await.status(), 404);
    }
    assert_eq!(status(&app, &link(9), Some("10.9.9.9, 203.0.113.7")).await.status(), 429, "the sixth of one client");
    assert_eq!(status(&app, &link(9), Some("203.0.113.8")).await.status(), 404, "another client is served");
    // Garbage and a missing header count as the peer itself, which has a budget of its own.
    assert_eq!(status(&app, &link(9), Some("not an address")).await.status(), 404);
    app.app.stop().await;

    // Without a configured header, the header is nobody's address: the peer is the client.
    let (app, _store) = TestApp::spawn(Backend::Embedded, &overrides[..1]).await;
    for n in 0..5 {
        status(&app, &link(n), Some(&format!("203.0.113.{n}"))).await;
    }
    assert_eq!(status(&app, &link(9), Some("198.51.100.1")).await.status(), 429);
    app.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shop_saving_too_often_gets_429_and_changes_nothing_while_another_shop_saves() {
    let (app, _store) =
        TestApp::spawn(Backend::Embedded, &[("BACKORDER__LIMITS__WRITES_PER_MINUTE_PER_SHOP", "3")]).await;
    for days in 1..=3 {
        let resp = put(&app, "/api/settings", &token(SHOP), json!({"reminder_days": days})).await;
        assert_eq!(resp.status(), 200);
    }
    let refused = put(&app, "/api/settings", &token(SHOP), json!({"reminder_days": 9})).await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    let body: serde_json::Value = refused.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("too many changes"), "{body}");
    let shown: serde_json::Value =
        crate::api::get(&app, "/api/settings", Some(&token(SHOP))).await.json().await.unwrap();
    assert_eq!(shown["reminder_days"], 3, "reads are not limited, and the refused write changed nothing");
    let other = put(&app, "/api/settings", &token(OTHER), json!({"reminder_days": 9})).await;
    assert_eq!(other.status(), 200, "another shop saves");
    app.app.stop().await;
}
