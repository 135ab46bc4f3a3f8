//! The merchant API over real HTTP with session tokens: shapes of SPEC 3.3 and tenant boundaries.

use backorder::auth::session_token::sign;
use serde_json::{Value, json};

use crate::ledger_http::{VARIANT, enrol, level, order};
use crate::support::{Backend, SECRET, SHOP, TestApp};

fn now() -> i64 {
    backorder::store::now_ms() as i64 / 1000
}

fn token_with(shop: &str, aud: &str, secret: &[u8], exp: i64, nbf: i64) -> String {
    let claims = json!({
        "iss": format!("https://{shop}/admin"), "dest": format!("https://{shop}"), "aud": aud,
        "sub": "1", "exp": exp, "nbf": nbf, "iat": nbf, "jti": "j", "sid": "s",
    });
    sign(&claims, secret)
}

fn token(shop: &str) -> String {
    token_with(shop, "test-api-key", SECRET.as_bytes(), now() + 60, now() - 1)
}

async fn get(app: &TestApp, path: &str, token: Option<&str>) -> reqwest::Response {
    let mut req = app.client.get(app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

async fn app_with_a_queue() -> (TestApp, crate::support::TestStore) {
    let (app, store) = TestApp::spawn(Backend::Redis, &[]).await;
    enrol(&app).await;
    for d in [order(1, 2, 10), level(1, 10), order(2, 2, 20), level(-1, 20), order(3, 2, 30), level(-3, 30)] {
        assert_eq!(app.deliver(&d).await.status(), 200);
    }
    app.drained().await;
    (app, store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_variant_answers_with_its_queue_positions_and_order_names() {
    let (app, _store) = app_with_a_queue().await;
    let resp = get(&app, &format!("/api/variants/{VARIANT}"), Some(&token(SHOP))).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["variant_id"], json!(VARIANT));
    assert_eq!(body["available"], -3);
    assert_eq!(body["backordered_units"], 3);
    assert_eq!(body["policy"], "CONTINUE");
    assert_eq!(
        body["queue"],
        json!([
            {"order_id": 2, "order_name": "#1002", "line_item_id": 20, "backordered": 1, "position": 1, "eta": null},
            {"order_id": 3, "order_name": "#1003", "line_item_id": 30, "backordered": 2, "position": 2, "eta": null},
        ])
    );
    app.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_of_another_shop_never_sees_this_shops_variant() {
    let (app, _store) = app_with_a_queue().await;
    let resp = get(&app, &format!("/api/variants/{VARIANT}"), Some(&token("other-shop.myshopify.com"))).await;
    assert_eq!(resp.status(), 404);
    let text = resp.text().await.unwrap();
    assert!(!text.contains("#1002") && !text.contains("queue"), "{text}");
    app.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_session_tokens_get_401_with_the_retry_header() {
    let (app, _store) = TestApp::spawn(Backend::Redis, &[]).await;
    let t = now();
    let none = {
        use base64::Engine;
        let e = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let claims = json!({"dest": format!("https://{SHOP}"), "aud": "test-api-key", "exp": t + 60});
        format!("{}.{}.", e(br#"{"alg":"none"}"#), e(claims.to_string().as_bytes()))
    };
    let cases = [
        ("expired", token_with(SHOP, "test-api-key", SECRET.as_bytes(), t - 30, t - 90)),
        ("not yet valid", token_with(SHOP, "test-api-key", SECRET.as_bytes(), t + 120, t + 60)),
        ("wrong audience", token_with(SHOP, "another-app", SECRET.as_bytes(), t + 60, t - 1)),
        ("wrong key", token_with(SHOP, "test-api-key", b"not-the-secret", t + 60, t - 1)),
        ("alg none", none),
        ("garbage", "not.a.jwt".to_string()),
    ];
    for (name, bad) in cases {
        let resp = get(&app, &format!("/api/variants/{VARIANT}"), Some(&bad)).await;
        assert_eq!(resp.status(), 401, "{name}");
        assert_eq!(resp.headers()["x-shopify-retry-invalid-session-request"], "1", "{name}");
    }
    let resp = get(&app, &format!("/api/variants/{VARIANT}"), None).await;
    assert_eq!(resp.status(), 401, "no token");
    app.app.stop().await;
}
