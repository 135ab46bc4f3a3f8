//! Storefront availability through the app proxy: a signed request gets in_stock, backorder
//! (with the ETA a new order would get) or sold_out; a variant the app does not manage, or whose
//! stock it has not read yet, gets 404 (no badge); an unsigned or badly signed one gets 401.

use serde_json::{Value, json};

use crate::effects::Setup;
use crate::support::{Backend, SECRET, SHOP, eventually};

/// A query as the app proxy forwards it, signed with `secret` (the dev shop's proxy signs the
/// same way).
pub fn proxied(secret: &str, variant: u64) -> String {
    let now = (backorder::store::now_ms() / 1000) as i64;
    let own = [("variant_id".to_string(), variant.to_string())];
    backorder::devshop::storefront::signed_query(secret.as_bytes(), SHOP, &own, now)
}

pub async fn ask(s: &Setup, query: &str) -> (u16, Value) {
    let resp = reqwest::get(s.app.url(&format!("/proxy/availability?{query}"))).await.unwrap();
    let code = resp.status().as_u16();
    (code, resp.json().await.unwrap_or(Value::Null))
}

async fn status_becomes(s: &Setup, variant: u64, status: &str) -> Value {
    eventually(&format!("the variant to be {status}"), || async {
        let (code, body) = ask(s, &proxied(SECRET, variant)).await;
        (code == 200 && body["status"] == status).then_some(body)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_request_answers_in_stock_then_backorder_with_its_eta_then_sold_out_at_the_cap() {
    for backend in [Backend::Embedded, Backend::Redis] {
        let mut s = Setup::start(backend, 2, "100", &[]).await;
        let today = time::OffsetDateTime::now_utc().date();
        let batch = today + time::Duration::days(9);
        assert_eq!(ask(&s, &proxied(SECRET, s.variant)).await.0, 404, "not enrolled: no badge");

        s.enrol(json!({"enabled": true, "cap": 3, "handling_days": 1,
                       "supply": [{"qty": 5, "eta": batch.to_string()}]}))
            .await;
        let body = status_becomes(&s, s.variant, "in_stock").await;
        assert_eq!(body, json!({"status": "in_stock", "eta": null, "message": "In stock"}));

        eventually("selling on backorder", || async {
            (s.policy() == backorder::devshop::Policy::Continue).then_some(())
        })
        .await;
        s.order(2).await;
        let body = status_becomes(&s, s.variant, "backorder").await;
        let eta = (batch + time::Duration::days(1)).to_string();
        assert_eq!(body["eta"], json!(eta));
        assert!(body["message"].as_str().unwrap().starts_with("Backorder: ships by "), "{body}");

        s.order(3).await;
        let body = status_becomes(&s, s.variant, "sold_out").await;
        assert_eq!(body["message"], "Sold out", "the cap of 3 is reached");
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsigned_or_badly_signed_request_gets_a_401() {
    let s = Setup::start(Backend::Embedded, 2, "100", &[]).await;
    let good = proxied(SECRET, s.variant);
    assert_eq!(ask(&s, &good).await.0, 404, "signed, and about a variant the app does not manage");
    let unsigned: String = good.split('&').filter(|p| !p.starts_with("signature=")).collect::<Vec<_>>().join("&");
    let other_variant = good.replace(&format!("variant_id={}", s.variant), &format!("variant_id={}", s.variant + 1000));
    assert_ne!(other_variant, good);
    for query in [unsigned, proxied("not-the-app-secret", s.variant), other_variant, String::new()] {
        let (code, body) = ask(&s, &query).await;
        assert_eq!(code, 401, "{query}: {body}");
    }
    let badge = reqwest::get(s.app.url("/proxy/badge.js")).await.unwrap();
    assert_eq!(badge.status(), 200);
    assert!(badge.text().await.unwrap().contains("availability?variant_id="));
    s.stop().await;
}
