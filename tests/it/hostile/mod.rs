//! The hostile-input suite: every route the service registers (read back from its one route
//! recorder, `http::routes::table`) gets at least 50 random and hostile requests per run (bodies,
//! path segments, query strings and headers from proptest strategies: deep nesting, huge numbers,
//! ids above 2^63, negative and zero quantities, wrong types, unicode, duplicated keys, strings up
//! to the route's body limit, bad UTF-8), signed as the route needs so that its parsers are
//! reached. Every answer is a 2xx, 3xx or 4xx with a body; none is a 5xx, none is a dropped
//! connection, and afterwards the service is healthy and ready. A route without a generator here
//! fails the suite, so a route added later joins it.

use std::collections::BTreeMap;

use actix_web::http::Method;
use backorder::http::routes::{Access, Route, table};
use backorder::notify::status_token;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::json;

use crate::effects::Setup;
use crate::support::{Backend, SECRET, SHOP};
use inputs::{Parts, encode, parts};

mod inputs;

/// Requests per route and run.
const PER_ROUTE: usize = 50;

/// The largest body each route takes, so the strategies stay within it (beyond, the answer is
/// a 413 that the body-size tests check; here the parsers are the point).
fn body_limit(route: &Route) -> Option<usize> {
    match (route.method.as_str(), route.path) {
        ("POST", "/webhooks") => Some(1024 * 1024),
        ("PUT", "/api/settings") => Some(1024 * 1024),
        ("PUT", "/api/variants/{variant_id}") | ("POST", "/api/variants/{variant_id}/plan-preview") => Some(64 * 1024),
        ("POST", "/api/enrolments") => Some(256 * 1024),
        ("POST", "/api/templates/{kind}/preview") | ("POST", "/api/templates/{kind}/test") => Some(256 * 1024),
        ("DELETE", "/api/enrolments") | ("PUT", "/api/orders/{order_id}/priority") => Some(4 * 1024),
        ("POST", "/status/{token}/cancel") => Some(16 * 1024),
        ("POST", "/operator/dlq/replay")
        | ("POST", "/operator/reconcile")
        | ("POST", "/api/reconcile")
        | ("POST", "/api/dead-letters/{id}/replay") => Some(16 * 1024),
        ("DELETE", "/api/variants/{variant_id}") => Some(4 * 1024),
        ("GET", _) => Some(0),
        _ => None,
    }
}

/// The signature of an app proxy request: the sorted `k=v` pairs, joined with nothing.
fn proxy_signature(pairs: &[(String, String)]) -> String {
    use hmac::Mac;
    let mut sorted: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    sorted.sort();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(sorted.concat().as_bytes());
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// What the shop really has, so that a share of the requests name it and reach deeper code.
struct Known {
    order: u64,
    variant: u64,
}

/// A callback's own parameters and state cookie, from a real consent on the dev shop, so that
/// hostile callbacks get past the state check to the code exchange.
struct Consent {
    params: Vec<(String, String)>,
    cookie: String,
}

async fn consent(s: &Setup) -> Consent {
    let callback = crate::support::oauth::consent(&s.app, SHOP).await;
    let query = callback.path_and_query.split_once('?').map_or("", |(_, q)| q);
    let params = url::form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k != "hmac")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    Consent { params, cookie: callback.cookie }
}

fn request(
    s: &Setup,
    client: &reqwest::Client,
    known: &Known,
    operator: &str,
    route: &Route,
    p: &Parts,
    consent: Option<&Consent>,
) -> reqwest::RequestBuilder {
    let mut segments = p.segments.iter();
    let mut path = String::new();
    for piece in route.path.split('/').skip(1) {
        path.push('/');
        if piece.starts_with('{') {
            let seg = segments.next().cloned().unwrap_or_default();
            // A status link is a token, signed for some order when the request is signed.
            if route.access == Access::StatusLink && p.signed {
                // Half name the waiting order (its page, its form); the rest any order.
                let order = seg.parse::<u64>().ok().filter(|n| n % 2 == 1).unwrap_or(known.order);
                path.push_str(&status_token::sign(SECRET.as_bytes(), SHOP, order));
            } else {
                path.push_str(&seg);
            }
        } else {
            path.push_str(piece);
        }
    }
    let mut query = p.query.clone();
    let now = (backorder::store::now_ms() / 1000).to_string();
    let query_string = match (route.access, p.signed) {
        (Access::QueryHmac, true) => {
            query.retain(|(k, _)| k != "hmac" && k != "signature" && k != "shop" && k != "timestamp");
            match consent {
                Some(c) => {
                    query.retain(|(k, _)| c.params.iter().all(|(own, _)| own != k));
                    query.extend(c.params.iter().cloned());
                }
                None => {
                    query.push(("shop".into(), SHOP.into()));
                    query.push(("timestamp".into(), now));
                }
            }
            let pairs: Vec<(&str, &str)> = query.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            crate::support::oauth::signed(&pairs)
        }
        (Access::ProxySignature, true) => {
            query.retain(|(k, _)| k != "signature" && k != "variant_id");
            let variant = p.segments[0].parse::<u64>().ok().filter(|n| n % 2 == 1).unwrap_or(known.variant);
            query.push(("variant_id".into(), variant.to_string()));
            query.push(("shop".into(), SHOP.into()));
            query.push(("timestamp".into(), now));
            let signature = proxy_signature(&query);
            query.push(("signature".into(), signature));
            encode(&query)
        }
        (Access::PageToken, true) => {
            query.retain(|(k, _)| k != "id_token" && k != "shop");
            query.push(("id_token".into(), crate::api::token(SHOP)));
            encode(&query)
        }
        _ => encode(&query),
    };
    let url = if query_string.is_empty() { s.app.url(&path) } else { s.app.url(&format!("{path}?{query_string}")) };
    let method = reqwest::Method::from_bytes(route.method.as_str().as_bytes()).unwrap();
    let mut req = client.request(method, url);
    for (name, value) in &p.headers {
        req = req.header(name.as_str(), value.as_str());
    }
    if p.signed {
        req = match route.access {
            Access::Webhook => req
                .header("x-shopify-hmac-sha256", backorder::webhook::verify::sign(SECRET.as_bytes(), &p.body))
                .header("x-shopify-topic", p.topic.as_str())
                .header("x-shopify-shop-domain", SHOP)
                .header("x-shopify-webhook-id", format!("hostile-{}", fastrand::u64(..))),
            Access::SessionToken => req.bearer_auth(crate::api::token(SHOP)).header("content-type", "application/json"),
            Access::Operator => req.bearer_auth(operator),
            Access::StatusLink => req.header("content-type", "application/x-www-form-urlencoded"),
            Access::Open | Access::QueryHmac | Access::ProxySignature | Access::PageToken => req,
        };
    }
    if let Some(c) = consent {
        req = req.header("cookie", c.cookie.as_str());
    }
    if !p.body.is_empty() { req.body(p.body.clone()) } else { req }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_hostile_requests_with_a_2xx_3xx_or_4xx_and_the_service_stays_healthy() {
    let overrides = [
        // The limits answer 429 soon enough; here the parsers behind them are the point.
        ("BACKORDER__LIMITS__WRITES_PER_MINUTE_PER_SHOP", "0"),
        ("BACKORDER__LIMITS__STATUS_PER_MINUTE_PER_LINK", "0"),
        ("BACKORDER__LIMITS__STATUS_PER_MINUTE_PER_CLIENT", "0"),
    ];
    let mut s = Setup::start(Backend::Embedded, 0, "50", &overrides).await;
    // The dev shop knows the app, so installs can be consented to (the callback's state).
    s.devshop.set_app(crate::support::oauth::API_KEY, SECRET);
    s.enrol(json!({"enabled": true})).await;
    crate::support::eventually("the variant to sell on backorder", || async {
        (s.policy() == backorder::devshop::Policy::Continue).then_some(())
    })
    .await;
    let known = Known { order: s.order(2).await, variant: s.variant };
    s.settled().await;
    let operator = s.app.app.state.operator_token.get().map(|t| t.expose().to_string()).unwrap_or_default();
    let client = &reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap();

    let routes = table();
    let missing: Vec<String> =
        routes.iter().filter(|r| body_limit(r).is_none()).map(|r| format!("{} {}", r.method, r.path)).collect();
    assert!(missing.is_empty(), "routes without a generator in tests/it/hostile/: {missing:?}");
    assert!(routes.iter().any(|r| r.method == Method::POST && r.path == "/webhooks"), "the table is the real one");

    let seed = std::env::var("HOSTILE_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| fastrand::u64(..));
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(Config::default(), TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes));
    let mut sent: BTreeMap<String, usize> = BTreeMap::new();
    // Statuses by route: a signed route answering nothing but 401 would test only the signature.
    let mut answered: BTreeMap<String, BTreeMap<u16, usize>> = BTreeMap::new();
    let mut bad = Vec::new();
    for route in &routes {
        let strategy = parts(body_limit(route).unwrap());
        for _ in 0..PER_ROUTE {
            let p = strategy.new_tree(&mut runner).expect("a value").current();
            let name = format!("{} {}", route.method, route.path);
            *sent.entry(name.clone()).or_default() += 1;
            let consent = match (route.path, p.signed) {
                ("/auth/callback", true) => Some(consent(&s).await),
                _ => None,
            };
            match request(&s, client, &known, &operator, route, &p, consent.as_ref()).send().await {
                Ok(resp) if resp.status().is_server_error() => {
                    let status = resp.status();
                    let text = resp.text().await.unwrap_or_default();
                    bad.push(format!(
                        "{name}: {status} {}\n  parts: {:.400}",
                        text.chars().take(200).collect::<String>(),
                        format!("{p:?}")
                    ));
                }
                Ok(resp) => {
                    *answered.entry(name.clone()).or_default().entry(resp.status().as_u16()).or_default() += 1;
                    let _ = resp.bytes().await;
                }
                Err(e) => bad.push(format!("{name}: no answer ({e})\n  parts: {:.400}", format!("{p:?}"))),
            }
        }
    }
    assert!(
        bad.is_empty(),
        "seed {seed} (HOSTILE_SEED={seed} reruns it): {} bad answers:\n{}",
        bad.len(),
        bad.join("\n")
    );
    assert!(sent.values().all(|n| *n >= PER_ROUTE) && sent.len() == routes.len(), "{sent:?}");
    let stopped_at_the_door: Vec<&String> = answered
        .iter()
        .filter(|(_, statuses)| statuses.keys().all(|s| matches!(s, 401 | 403)))
        .map(|(name, _)| name)
        .collect();
    assert!(
        stopped_at_the_door.is_empty(),
        "routes whose requests never passed their signature: {stopped_at_the_door:?}\n{answered:?}"
    );
    eprintln!("hostile: seed {seed}, answers by route: {answered:?}");

    for path in ["/readyz", "/healthz"] {
        let resp = client.get(s.app.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{path} afterwards: {}", resp.text().await.unwrap_or_default());
    }
    let metrics = client.get(s.app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let restarts: u64 = metrics
        .lines()
        .filter(|l| l.starts_with("backorder_task_restarts_total"))
        .filter_map(|l| l.split_whitespace().last()?.parse::<u64>().ok())
        .sum();
    assert_eq!(restarts, 0, "no background task died meanwhile");
    s.stop().await;
}

/// The table is complete only if nothing registers a route around the recorder.
#[test]
fn no_route_is_registered_around_the_recorder() {
    let mut around = Vec::new();
    let mut dirs = vec![std::path::PathBuf::from("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs")
                && !path.ends_with("src/http/routes.rs")
                // The dev shop is the simulated platform, a server of its own, not the service.
                && !path.starts_with("src/devshop")
            {
                let text = std::fs::read_to_string(&path).unwrap();
                for (n, line) in text.lines().enumerate() {
                    let configures = line.contains(".configure(") && !line.contains(".configure(crate::http::routes)");
                    if line.contains("cfg.route(") || line.contains("cfg.service(") || configures {
                        around.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                    }
                }
            }
        }
    }
    assert!(around.is_empty(), "register routes through http::routes::Routes: {around:?}");
}
