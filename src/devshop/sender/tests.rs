use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};

use super::*;
use crate::webhook::verify::verify;

fn deliveries(n: usize) -> Vec<Delivery> {
    let mut s = Sender::new("http://127.0.0.1:9", "s", "a.myshopify.com");
    for i in 0..n {
        s.queue("orders/create", format!("{{\"id\": {i}}}").into_bytes(), "2026-01-01T00:00:00.000Z".into());
    }
    s.pending().to_vec()
}

#[test]
fn a_plan_is_the_same_for_the_same_seed_and_differs_for_another() {
    let ds = deliveries(20);
    let batch = Batch { seed: 7, redeliver: 0.3, same_event: 0.3, delay_share: 0.2, shuffle: true, ..Batch::default() };
    let a = Sender::plan(&ds, &batch);
    assert_eq!(a, Sender::plan(&ds, &batch));
    assert_ne!(a, Sender::plan(&ds, &Batch { seed: 8, ..batch.clone() }));
    assert_ne!(a.iter().map(|s| &s.0).take(20).collect::<Vec<_>>(), ds.iter().collect::<Vec<_>>(), "shuffled");
    let delayed: Vec<bool> = a.iter().map(|s| s.2).collect();
    assert!(delayed.windows(2).all(|w| w[0] <= w[1]), "late sends come last");
}

#[test]
fn duplicates_share_the_ids_shopify_would_share() {
    let ds = deliveries(30);
    let plan = Sender::plan(&ds, &Batch { seed: 1, redeliver: 0.5, same_event: 0.5, ..Batch::default() });
    assert_eq!(plan.iter().filter(|s| s.1 == Kind::Original).count(), 30);
    for (d, kind, _) in &plan {
        let original = ds.iter().find(|o| o.event_id == d.event_id).expect("every send is of a queued event");
        assert_eq!(d.body, original.body);
        match kind {
            Kind::Original | Kind::Redelivery => assert_eq!(d.webhook_id, original.webhook_id),
            Kind::SameEvent => assert_ne!(d.webhook_id, original.webhook_id),
        }
    }
    assert!(plan.iter().any(|s| s.1 == Kind::Redelivery) && plan.iter().any(|s| s.1 == Kind::SameEvent));
}

/// Answers 503 to the first attempt of every webhook id, 200 after; 401 to a bad signature.
async fn flaky(req: HttpRequest, body: web::Bytes, seen: web::Data<Mutex<HashMap<String, u32>>>) -> HttpResponse {
    let hmac = req.headers().get("x-shopify-hmac-sha256").map(|v| v.as_bytes());
    if verify(b"secret", &body, hmac).is_err() {
        return HttpResponse::Unauthorized().finish();
    }
    let id = req.headers().get("x-shopify-webhook-id").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let mut seen = seen.lock().unwrap();
    let n = seen.entry(id.to_string()).or_default();
    *n += 1;
    if *n == 1 { HttpResponse::ServiceUnavailable().finish() } else { HttpResponse::Ok().body("ok") }
}

async fn start_flaky() -> (String, Arc<Mutex<HashMap<String, u32>>>, actix_web::dev::ServerHandle) {
    let seen = web::Data::new(Mutex::new(HashMap::new()));
    let shared = seen.clone().into_inner();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = HttpServer::new(move || App::new().app_data(seen.clone()).route("/webhooks", web::post().to(flaky)))
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
    let handle = server.handle();
    tokio::spawn(server);
    (url, shared, handle)
}

#[tokio::test]
async fn a_failed_delivery_is_retried_until_it_is_answered_2xx() {
    let (url, seen, server) = start_flaky().await;
    let mut sender = Sender::new(&url, "secret", "a.myshopify.com").with_retries(3, Duration::from_millis(1));
    sender.queue("orders/create", b"{}".to_vec(), "2026-01-01T00:00:00.000Z".into());
    sender.queue("orders/updated", b"{\"a\":1}".to_vec(), "2026-01-01T00:00:01.000Z".into());
    let report = sender.send(&Batch::default()).await;
    assert!(report.all_delivered(), "{report:?}");
    for s in &report.sent {
        assert_eq!(s.answers, [Some(503), Some(200)]);
        assert_eq!(s.last_body, "ok");
    }
    assert_eq!(seen.lock().unwrap().len(), 2);
    assert!(sender.pending().is_empty());
    server.stop(true).await;
}

#[tokio::test]
async fn retries_stop_after_the_budget_and_the_report_says_so() {
    let (url, _seen, server) = start_flaky().await;
    let mut sender = Sender::new(&url, "wrong", "a.myshopify.com").with_retries(2, Duration::from_millis(1));
    sender.queue("orders/create", b"{}".to_vec(), "2026-01-01T00:00:00.000Z".into());
    let report = sender.send(&Batch::default()).await;
    assert_eq!(report.undelivered().len(), 1);
    assert_eq!(report.sent[0].answers, [Some(401), Some(401), Some(401)]);
    server.stop(true).await;
}
