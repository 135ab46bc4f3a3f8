//! The merchant API over real HTTP with session tokens: shapes of SPEC 3.3 and tenant boundaries.

use backorder::auth::session_token::sign;
use serde_json::{Value, json};

use crate::ledger_http::{VARIANT, enrol, level, order};
use crate::support::{Backend, SECRET, SHOP, TestApp};

fn now() -> i64 {
    backorder::store::now_ms() as i64 / 1000
}

pub fn token_with(shop: &str, aud: &str, secret: &[u8], exp: i64, nbf: i64) -> String {
    let claims = json!({
        "iss": format!("https://{shop}/admin"), "dest": format!("https://{shop}"), "aud": aud,
        "sub": "1", "exp": exp, "nbf": nbf, "iat": nbf, "jti": "j", "sid": "s",
    });
    sign(&claims, secret)
}

pub fn token(shop: &str) -> String {
    token_with(shop, "test-api-key", SECRET.as_bytes(), now() + 60, now() - 1)
}

pub async fn get(app: &TestApp, path: &str, token: Option<&str>) -> reqwest::Response {
    let mut req = app.client.get(app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

pub async fn app_with_a_queue() -> (TestApp, crate::support::TestStore) {
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
        // Signed, but for a host that is no myshopify domain (L4): it would become the host of
        // a token exchange.
        ("not a myshopify shop", token_with("evil.example.com", "test-api-key", SECRET.as_bytes(), t + 60, t - 1)),
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

pub async fn put(app: &TestApp, path: &str, token: &str, body: Value) -> reqwest::Response {
    app.client.put(app.url(path)).bearer_auth(token).json(&body).send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_put_enrols_a_variant_and_changes_only_the_fields_sent() {
    for backend in [Backend::Redis, Backend::Embedded] {
        let (app, _store) = TestApp::spawn(backend, &[]).await;
        let path = "/api/variants/777";
        assert_eq!(get(&app, path, Some(&token(SHOP))).await.status(), 404);
        let body = json!({"enabled": true, "cap": 20, "lead_time_days": 14, "handling_days": 2,
                          "supply": [{"qty": 50, "eta": "2031-01-15"}, {"qty": 12, "eta": "2030-12-10"}]});
        let resp = put(&app, path, &token(SHOP), body).await;
        assert_eq!(resp.status(), 200);
        let shown: Value = resp.json().await.unwrap();
        assert_eq!(shown["cap"], 20);
        assert_eq!(
            shown["supply"],
            json!([{"qty": 12, "eta": "2030-12-10", "source": "merchant"}, {"qty": 50, "eta": "2031-01-15", "source": "merchant"}])
        );
        assert_eq!(shown["policy"], "CONTINUE");

        let resp = put(&app, path, &token(SHOP), json!({"discontinued": true})).await;
        let shown: Value = resp.json().await.unwrap();
        assert_eq!((shown["discontinued"].clone(), shown["cap"].clone()), (json!(true), json!(20)));
        assert_eq!(shown["policy"], "DENY");
        app.app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_put_gets_422_naming_the_field_and_changes_nothing() {
    let (app, _store) = TestApp::spawn(Backend::Redis, &[]).await;
    let path = "/api/variants/778";
    assert_eq!(put(&app, path, &token(SHOP), json!({"cap": 5})).await.status(), 200);
    for (body, field) in [
        (json!({"cap": -1}), "cap"),
        (json!({"cap_mode": "sometimes"}), "cap_mode"),
        (json!({"lead_time_days": 9999}), "lead_time_days"),
        (json!({"supply": [{"qty": 0, "eta": "2026-12-10"}]}), "supply[0].qty"),
        (json!({"supply": [{"qty": 1, "eta": "next week"}]}), "supply[0].eta"),
        (json!({"colour": "red"}), "colour"),
        (json!({"supply": vec![json!({"qty": 1, "eta": "2027-01-01"}); 101]}), "supply"),
        (json!({"cap": 7, "enabled": "yes"}), "enabled"),
    ] {
        let resp = put(&app, path, &token(SHOP), body).await;
        assert_eq!(resp.status(), 422);
        let err: Value = resp.json().await.unwrap();
        assert_eq!(err["field"], field);
        assert!(err["error"].as_str().unwrap().starts_with(field), "{err}");
    }
    let shown: Value = get(&app, path, Some(&token(SHOP))).await.json().await.unwrap();
    assert_eq!(shown["cap"], 5, "no rejected body changed anything");
    app.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_put_with_another_shops_token_changes_only_that_shop() {
    let (app, _store) = app_with_a_queue().await;
    let path = format!("/api/variants/{VARIANT}");
    assert_eq!(put(&app, &path, &token("other-shop.myshopify.com"), json!({"enabled": false})).await.status(), 200);
    let mine: Value = get(&app, &path, Some(&token(SHOP))).await.json().await.unwrap();
    assert_eq!(mine["enabled"], true);
    assert_eq!(mine["backordered_units"], 3);
    app.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrolling_while_the_store_is_down_answers_503_and_works_once_it_is_back() {
    let mut redis = crate::support::redis::RedisServer::start_durable();
    let (app, _store) = TestApp::spawn(Backend::Url(redis.url()), &[]).await;
    let path = "/api/variants/778";
    redis.stop();
    let resp = put(&app, path, &token(SHOP), json!({"enabled": true})).await;
    assert_eq!(resp.status(), 503, "a store outage is worth a retry, not an internal error");
    let body: Value = resp.json().await.unwrap();
    assert!(!body.to_string().contains("redis"), "no internals in the answer: {body}");

    redis.restart();
    crate::support::eventually("the enrolment to go through once the store is back", || async {
        (put(&app, path, &token(SHOP), json!({"enabled": true})).await.status() == 200).then_some(())
    })
    .await;
    app.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_put_of_exactly_what_get_answered_succeeds_and_changes_nothing() {
    let (app, _store) = app_with_a_queue().await;
    let path = format!("/api/variants/{VARIANT}");
    let plan = json!({"supply": [{"qty": 2, "eta": "2027-03-01"}], "cap": 40, "lead_time_days": 21});
    assert_eq!(put(&app, &path, &token(SHOP), plan).await.status(), 200);
    let read: Value = get(&app, &path, Some(&token(SHOP))).await.json().await.unwrap();
    assert!(!read["queue"].as_array().unwrap().is_empty(), "the answer carries the live queue too");

    let resp = put(&app, &path, &token(SHOP), read.clone()).await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let again: Value = get(&app, &path, Some(&token(SHOP))).await.json().await.unwrap();
    assert_eq!(again, read, "sending back what was read changes nothing");

    let resp = put(&app, &path, &token(SHOP), json!({"cap": 41, "colour": "red"})).await;
    assert_eq!(resp.status(), 422);
    assert_eq!(resp.json::<Value>().await.unwrap()["field"], "colour", "an unknown field is still named");
    app.app.stop().await;
}
