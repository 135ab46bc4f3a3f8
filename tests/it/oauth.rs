//! Installs over real HTTP against the dev shop, on both backends: the authorization-code
//! install, everything it must refuse (with nothing stored), reinstalls, token exchange, and
//! tokens sealed at rest.

use backorder::auth::install::{self, Install};
use backorder::devshop::DevShop;
use backorder::secret::Secret;

use crate::api::token;
use crate::support::dump::{contains, embedded_rows, raw_bytes, redis_entries};
use crate::support::oauth::{self, API_KEY, Callback, consent, follow, now, signed};
use crate::support::{Backend, SHOP, TestApp, TestStore};

pub async fn start(backend: Backend) -> (TestApp, TestStore, DevShop) {
    let devshop = oauth::devshop().await;
    let base = devshop.admin_base_url();
    let (app, store) = TestApp::spawn_bare(backend, &[("BACKORDER__SHOPIFY__ADMIN_BASE_URL", base.as_str())]).await;
    (app, store, devshop)
}

pub async fn stored(app: &TestApp, shop: &str) -> Option<Install> {
    install::load(&app.app.state.books, app.app.state.sealer.as_deref().unwrap(), shop).await.unwrap()
}

/// Nothing of `shop` in the store: no install, no key, no row.
async fn nothing_stored(app: &TestApp, store: &TestStore, shop: &str) {
    assert!(stored(app, shop).await.is_none(), "no install for {shop}");
    if store.dir.is_none() {
        let traces: Vec<String> = redis_entries(store).into_iter().filter(|e| e.contains(shop)).collect();
        assert!(traces.is_empty(), "keys of {shop}: {traces:?}");
    }
    assert!(app.store.processed_counts(shop).await.unwrap().is_empty(), "no mark of {shop}");
}

fn backends() -> [Backend; 2] {
    [Backend::Embedded, Backend::Redis]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_installs_the_app_and_gets_sealed_tokens_and_the_toml_subscriptions_only() {
    for backend in backends() {
        let (app, store, devshop) = start(backend).await;
        let resp = oauth::install(&app, SHOP).await;
        assert_eq!(resp.status(), 302);
        let landing = resp.headers()["location"].to_str().unwrap().to_string();
        assert_eq!(landing, format!("https://admin.shopify.com/store/tiny-tee/apps/{API_KEY}"), "into the app");
        assert!(resp.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"), "the state cookie is spent");

        let install = stored(&app, SHOP).await.expect("installed");
        let access = devshop.token(SHOP).unwrap();
        assert_eq!(install.access_token, Secret::new(access.clone()));
        let refresh = install.refresh_token.clone().expect("an expiring offline token comes with a refresh token");
        let expires = install.expires_at_ms.expect("and an expiry");
        assert!((expires - backorder::store::now_ms() as i64 - 3_600_000).abs() < 60_000, "in about an hour");
        assert_eq!(devshop.grants(SHOP, "authorization_code"), 1);

        // Shopify's own install: the app's `shopify.app.toml` subscriptions apply, and the
        // service creates none by API (every event would come twice).
        let (api, toml) = devshop.world(SHOP, |w| (w.subscriptions.clone(), w.toml_subscriptions));
        assert!(api.is_empty() && toml, "no subscription by API: {api:?}");

        let raw = raw_bytes(&store);
        assert!(!raw.is_empty());
        assert!(!contains(&raw, &access), "the access token is not stored in plain text");
        assert!(!contains(&raw, refresh.expose()), "nor the refresh token");
        app.app.stop().await;
        devshop.stop().await;
    }
}

/// A fresh, valid callback and the cookie of another install attempt.
async fn callbacks(app: &TestApp) -> (Callback, String) {
    let other = consent(app, SHOP).await.cookie;
    (consent(app, SHOP).await, other)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_stale_or_foreign_install_requests_are_refused_and_store_nothing() {
    for backend in backends() {
        let (app, store, devshop) = start(backend).await;
        let (good, other_cookie) = callbacks(&app).await;
        let params = good.params();

        let mut bad_hmac = good.clone();
        bad_hmac.path_and_query = bad_hmac.path_and_query.replace("hmac=", "hmac=00");
        let stale: Vec<(String, String)> = params
            .iter()
            .map(
                |(k, v)| if k == "timestamp" { (k.clone(), (now() - 200).to_string()) } else { (k.clone(), v.clone()) },
            )
            .collect();
        let foreign = |shop: &str| -> Vec<(String, String)> {
            params
                .iter()
                .map(|(k, v)| if k == "shop" { (k.clone(), shop.into()) } else { (k.clone(), v.clone()) })
                .collect()
        };
        let cases: Vec<(&str, Callback, Option<String>, u16)> = vec![
            ("a bad hmac", bad_hmac, Some(good.cookie.clone()), 401),
            ("a stale timestamp", good.with_params(&stale), Some(good.cookie.clone()), 401),
            ("evil.example.com", good.with_params(&foreign("evil.example.com")), Some(good.cookie.clone()), 400),
            (
                "shop.myshopify.com.evil.com",
                good.with_params(&foreign("shop.myshopify.com.evil.com")),
                Some(good.cookie.clone()),
                400,
            ),
            ("another attempt's state cookie", good.clone(), Some(other_cookie), 403),
            ("no state cookie", good.clone(), None, 403),
            ("a forged state cookie", good.clone(), Some(format!("{}x", good.cookie)), 403),
        ];
        for (what, callback, cookie, status) in cases {
            let resp = follow(&app, &callback, cookie.as_deref()).await;
            assert_eq!(resp.status(), status, "{what}");
            assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/html"), "{what}");
            let page = resp.text().await.unwrap();
            assert!(page.contains("<h1>"), "{what}: a page that says why: {page}");
            nothing_stored(&app, &store, SHOP).await;
        }
        // The install request itself: stale, unsigned, or for a foreign domain.
        let browser = oauth::browser();
        for (what, query, status) in [
            ("a stale install request", signed(&[("shop", SHOP), ("timestamp", &(now() - 200).to_string())]), 401),
            ("an unsigned install request", format!("shop={SHOP}&timestamp={}", now()), 401),
            ("evil.example.com", signed(&[("shop", "evil.example.com"), ("timestamp", &now().to_string())]), 400),
            (
                "shop.myshopify.com.evil.com",
                signed(&[("shop", "shop.myshopify.com.evil.com"), ("timestamp", &now().to_string())]),
                400,
            ),
        ] {
            let resp = browser.get(app.url(&format!("/auth?{query}"))).send().await.unwrap();
            assert_eq!(resp.status(), status, "{what}");
            assert!(resp.headers().get("set-cookie").is_none(), "{what}: no state handed out");
        }
        assert_eq!(devshop.grants(SHOP, "authorization_code"), 0, "no code was spent");
        nothing_stored(&app, &store, SHOP).await;
        nothing_stored(&app, &store, "evil.example.com").await;

        // The untouched callback still works: the refusals spent nothing.
        assert_eq!(follow(&app, &good, Some(&good.cookie)).await.status(), 302);
        app.app.stop().await;
        devshop.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_callback_is_refused_and_changes_nothing() {
    for backend in backends() {
        let (app, _store, devshop) = start(backend).await;
        let callback = consent(&app, SHOP).await;
        assert_eq!(follow(&app, &callback, Some(&callback.cookie)).await.status(), 302);
        let first = stored(&app, SHOP).await.unwrap();

        let replay = follow(&app, &callback, Some(&callback.cookie)).await;
        assert_eq!(replay.status(), 403);
        assert!(replay.text().await.unwrap().contains("already used"));
        assert_eq!(stored(&app, SHOP).await.unwrap(), first, "the stored install is the first one");
        assert_eq!(devshop.grants(SHOP, "authorization_code"), 1, "the code was not sent again");
        app.app.stop().await;
        devshop.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reinstalling_over_an_existing_install_stores_the_new_tokens() {
    for backend in backends() {
        let (app, _store, devshop) = start(backend).await;
        assert_eq!(oauth::install(&app, SHOP).await.status(), 302);
        let first = stored(&app, SHOP).await.unwrap();
        assert_eq!(oauth::install(&app, SHOP).await.status(), 302, "existing subscriptions are fine");
        let second = stored(&app, SHOP).await.unwrap();
        assert_ne!(second.access_token, first.access_token);
        assert_eq!(second.access_token, Secret::new(devshop.token(SHOP).unwrap()));
        assert_eq!(devshop.grants(SHOP, "authorization_code"), 2);
        app.app.stop().await;
        devshop.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_install_granting_too_few_scopes_gets_a_clear_page_and_stores_nothing() {
    for backend in backends() {
        let (app, _store, devshop) = start(backend).await;
        devshop.grant_scopes(SHOP, &["read_orders", "write_products"]);
        let resp = oauth::install(&app, SHOP).await;
        assert_eq!(resp.status(), 403);
        let page = resp.text().await.unwrap();
        assert!(page.contains("write_orders") && page.contains("read_inventory"), "{page}");
        assert!(!page.contains("write_products,"), "only what is missing: {page}");
        assert!(stored(&app, SHOP).await.is_none());
        app.app.stop().await;
        devshop.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_embedded_load_with_a_session_token_exchanges_it_for_an_offline_token() {
    for backend in backends() {
        let (app, store, devshop) = start(backend).await;
        let load = |id_token: String| {
            let query = signed(&[
                ("embedded", "1"),
                ("host", "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvdGlueS10ZWU"),
                ("id_token", &id_token),
                ("shop", SHOP),
                ("timestamp", &now().to_string()),
            ]);
            oauth::browser().get(app.url(&format!("/app?{query}"))).send()
        };
        let resp = load(token(SHOP)).await.unwrap();
        assert_eq!(resp.status(), 200);
        let csp = resp.headers()["content-security-policy"].to_str().unwrap().to_string();
        assert!(csp.contains(&format!("frame-ancestors https://{SHOP} https://admin.shopify.com")), "{csp}");
        assert!(resp.text().await.unwrap().contains("app-bridge.js"));

        let install = stored(&app, SHOP).await.expect("stored by token exchange");
        assert_eq!(install.access_token, Secret::new(devshop.token(SHOP).unwrap()));
        assert!(install.refresh_token.is_some() && install.expires_at_ms.is_some(), "an expiring offline token");
        assert_eq!(devshop.grants(SHOP, "token_exchange"), 1);

        assert_eq!(load(token(SHOP)).await.unwrap().status(), 200);
        assert_eq!(devshop.grants(SHOP, "token_exchange"), 1, "a stored token is used, not exchanged again");
        let raw = raw_bytes(&store);
        assert!(!contains(&raw, &devshop.token(SHOP).unwrap()), "sealed at rest");
        app.app.stop().await;
        devshop.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_load_with_a_bad_session_token_is_refused_and_one_with_neither_is_bounced() {
    let (app, store, devshop) = start(Backend::Embedded).await;
    let browser = oauth::browser();
    let forged = crate::api::token(SHOP).replace('.', ".x");
    for (what, path, status) in [
        // A page of the app opened with neither: the bounce page gets a session token for it.
        ("no signature and no session token", format!("/app?shop={SHOP}"), 303),
        ("a forged session token", format!("/app?shop={SHOP}&id_token={forged}"), 401),
        ("another shop's token", format!("/app?shop={SHOP}&id_token={}", token("other.myshopify.com")), 400),
    ] {
        let resp = browser.get(app.url(&path)).send().await.unwrap();
        assert_eq!(resp.status(), status, "{what}");
    }
    // A signed load of a shop that has no install starts the install.
    let resp = browser
        .get(app.url(&format!("/app?{}", signed(&[("shop", SHOP), ("timestamp", &now().to_string())]))))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    assert!(resp.headers()["location"].to_str().unwrap().contains("/admin/oauth/authorize?client_id=test-api-key"));
    nothing_stored(&app, &store, SHOP).await;
    assert!(embedded_rows_after_stop(app, &store).await.iter().all(|row| !row.contains(SHOP)));
    devshop.stop().await;
}

async fn embedded_rows_after_stop(app: TestApp, store: &TestStore) -> Vec<String> {
    app.app.stop().await;
    drop(app.store);
    embedded_rows(store).await
}

/// H2: the state cookie is readable in the merchant's browser. Made with the raw app secret, its
/// tag was a valid webhook signature of its own text; derived per purpose, it signs nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_oauth_state_cookie_is_no_webhook_signature_of_its_text() {
    use base64::Engine;
    let (app, _store, _devshop) = start(Backend::Embedded).await;
    let callback = consent(&app, "forge-shop.myshopify.com").await;
    let value = callback.cookie.split_once('=').expect("name=value").1.to_string();
    let (body, tag) = value.rsplit_once('.').expect("a signed cookie");
    let tag: Vec<u8> = (0..tag.len()).step_by(2).map(|i| u8::from_str_radix(&tag[i..i + 2], 16).unwrap()).collect();
    let signature = base64::engine::general_purpose::STANDARD.encode(tag);
    for text in [format!("oauth-state\0{body}"), body.to_string()] {
        let mut forged = crate::support::webhooks::Delivery::new("orders/create", text.into_bytes());
        forged.shop = "x1.example".into();
        forged.hmac = Some(signature.clone());
        assert_eq!(app.deliver(&forged).await.status(), 401, "a cookie signs no webhook");
    }
    assert_eq!(app.store.dead_letters(10).await.unwrap().len(), 0, "nothing stored");
    app.app.stop().await;
}
