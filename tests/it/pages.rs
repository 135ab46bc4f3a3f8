//! The merchant's app over HTTP (SPEC 11): pages need a session token in their URL and bounce
//! for one without it; a token of one shop never shows another shop's data on any page; the
//! headers keep pages in the admin's frame and their tokens out of referrers and caches.

use backorder::devshop::Policy;
use serde_json::json;

use crate::api::{token, token_with};
use crate::effects::Setup;
use crate::support::oauth::now;
use crate::support::{Backend, SECRET, SHOP, eventually, install_shop};

const OTHER: &str = "other-shop.myshopify.com";

/// Every page of the app, as a path with its query (without the token).
const PAGES: [&str; 8] = [
    "/app",
    "/app/emails",
    "/app/emails?kind=ready",
    "/app/variants",
    "/app/variants?filter=waiting",
    "/app/variants?filter=capped",
    "/app/settings",
    "/app/activity",
];

fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

fn with_token(path: &str, token: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}id_token={token}")
}

/// A page of the app as the shop's session token reads it.
pub async fn page_html(s: &Setup, path: &str, token: &str) -> String {
    let resp = browser().get(s.app.url(&with_token(path, token))).send().await.unwrap();
    assert_eq!(resp.status(), 200, "{path}");
    resp.text().await.unwrap()
}

/// A shop with one managed variant and `waiting` backordered units.
async fn shop_with_backlog(backend: Backend, waiting: u32) -> Setup {
    let mut s = Setup::start(backend, 0, "50", &[]).await;
    s.enrol(json!({"enabled": true, "cap": 10})).await;
    eventually("the variant to sell on backorder", || async { (s.policy() == Policy::Continue).then_some(()) }).await;
    for _ in 0..waiting {
        s.order(1).await;
    }
    s.settled().await;
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_without_a_valid_session_token_is_sent_to_the_bounce_page_which_loads_app_bridge() {
    let s = Setup::start(Backend::Embedded, 0, "50", &[]).await;
    let expired = token_with(SHOP, "test-api-key", SECRET.as_bytes(), now() - 120, now() - 180);
    let forged = token(SHOP).replace('.', ".x");
    for (what, path) in [
        ("no token", format!("/app/variants?shop={SHOP}&filter=waiting")),
        ("an expired token", with_token(&format!("/app/variants?shop={SHOP}&filter=waiting"), &expired)),
        ("a forged token", with_token(&format!("/app/variants?shop={SHOP}&filter=waiting"), &forged)),
    ] {
        let resp = browser().get(s.app.url(&path)).send().await.unwrap();
        assert_eq!(resp.status(), 303, "{what}");
        let location = resp.headers()["location"].to_str().unwrap().to_string();
        let reload = url::Url::parse(&format!("http://x{location}")).unwrap();
        assert_eq!(reload.path(), "/app/bounce", "{what}");
        let back = reload.query_pairs().find(|(k, _)| k == "shopify-reload").map(|(_, v)| v.into_owned());
        assert_eq!(
            back.as_deref(),
            Some(format!("/app/variants?shop={SHOP}&filter=waiting")).as_deref(),
            "{what}: the same page again, without the stale token"
        );
    }
    let bounce = browser().get(s.app.url("/app/bounce?shopify-reload=%2Fapp%2Fvariants")).send().await.unwrap();
    assert_eq!(bounce.status(), 200);
    let html = bounce.text().await.unwrap();
    assert!(html.contains(r#"<meta name="shopify-api-key" content="test-api-key">"#), "{html}");
    // minijinja writes `/` as `&#x2f;` in HTML; the browser reads it back as `/`.
    let bridge = format!(r#"<script src="{}/admin/app-bridge.js"></script>"#, s.devshop.url).replace('/', "&#x2f;");
    assert!(html.contains(&bridge.replace("&#x2f;script>", "/script>")), "{html}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_and_the_variants_page_show_the_backlog_in_figures() {
    for backend in [Backend::Redis, Backend::Embedded] {
        let s = shop_with_backlog(backend, 2).await;
        let overview = browser().get(s.app.url(&with_token("/app", &token(SHOP)))).send().await.unwrap();
        assert_eq!(overview.status(), 200);
        let html = overview.text().await.unwrap();
        assert!(html.contains(r#"<p class="figure-label">Units waiting</p><p class="figure-value">2</p>"#), "{html}");
        assert!(html.contains(">Trail Runner</a>"), "the most backordered, by its name on the platform: {html}");
        let waiting = browser()
            .get(s.app.url(&with_token("/app/variants?filter=waiting", &token(SHOP))))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(waiting.contains(&format!(r#"<tr id="variant-{}">"#, s.variant)), "{waiting}");
        assert!(waiting.contains("Selling on backorder"), "{waiting}");
        let capped = browser()
            .get(s.app.url(&with_token("/app/variants?filter=capped", &token(SHOP))))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!capped.contains(&format!(r#"<tr id="variant-{}">"#, s.variant)), "2 of 10: not capped: {capped}");
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_token_of_one_shop_never_shows_another_shops_data_on_any_page() {
    for backend in [Backend::Redis, Backend::Embedded] {
        let s = shop_with_backlog(backend, 1).await;
        let state = &s.app.app.state;
        install_shop(&state.books, state.sealer.as_deref().unwrap(), OTHER).await;
        // This shop's marks: its variant's name, and an owner's address in its settings.
        let body = json!({"owner_email": "owner@tiny-tee.example"});
        assert_eq!(crate::api::put(&s.app, "/api/settings", &token(SHOP), body).await.status(), 200);
        let marks = ["Trail Runner", "owner@tiny-tee.example"];
        // Each mark shows on this shop's own pages, so its absence elsewhere means something.
        let own = |page: &str| {
            let url = s.app.url(&with_token(page, &token(SHOP)));
            async move { browser().get(url).send().await.unwrap().text().await.unwrap() }
        };
        assert!(own("/app").await.contains(marks[0]) && own("/app/settings").await.contains(marks[1]));
        for page in PAGES {
            // The other shop's own token: its own (empty) pages.
            let resp = browser().get(s.app.url(&with_token(page, &token(OTHER)))).send().await.unwrap();
            assert_eq!(resp.status(), 200, "{page}");
            let html = resp.text().await.unwrap();
            assert!(!marks.iter().any(|m| html.contains(m)), "{page} shows another shop's data: {html}");
            // The other shop's token with this shop's name in the query: no page at all.
            let named = format!("{page}{}shop={SHOP}", if page.contains('?') { '&' } else { '?' });
            let resp = browser().get(s.app.url(&with_token(&named, &token(OTHER)))).send().await.unwrap();
            assert_ne!(resp.status(), 200, "{named}");
            let html = resp.text().await.unwrap();
            assert!(!marks.iter().any(|m| html.contains(m)), "{named}: {html}");
        }
        // This shop's variant's own page, asked for with the other shop's token: not there.
        let page = format!("/app/variants/{}", s.variant);
        assert!(own(&page).await.contains(marks[0]));
        let resp = browser().get(s.app.url(&with_token(&page, &token(OTHER)))).send().await.unwrap();
        assert_eq!(resp.status(), 404);
        assert!(!resp.text().await.unwrap().contains(marks[0]));
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_are_framed_only_by_the_admin_and_keep_their_token_out_of_referrers_and_caches() {
    let s = Setup::start(Backend::Embedded, 0, "50", &[]).await;
    for page in PAGES {
        let resp = browser().get(s.app.url(&with_token(page, &token(SHOP)))).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{page}");
        let header = |name: &str| resp.headers()[name].to_str().unwrap().to_string();
        assert_eq!(
            header("content-security-policy"),
            format!("frame-ancestors https://{SHOP} https://admin.shopify.com {};", s.devshop.url),
            "{page}: the admin, and the configured admin's origin (the dev shop here)"
        );
        assert_eq!(header("referrer-policy"), "no-referrer", "{page}");
        assert_eq!(header("cache-control"), "no-store", "{page}");
    }
    let css = browser().get(s.app.url("/app/assets/app.css")).send().await.unwrap();
    assert_eq!(css.status(), 200);
    assert!(css.headers()["content-type"].to_str().unwrap().starts_with("text/css"));
    assert!(css.headers()["cache-control"].to_str().unwrap().contains("immutable"));
    assert_eq!(browser().get(s.app.url("/app/assets/nothing.js")).send().await.unwrap().status(), 404);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shop_cannot_put_back_another_shops_dead_letter() {
    let s = Setup::start(Backend::Redis, 0, "50", &[]).await;
    let state = &s.app.app.state;
    install_shop(&state.books, state.sealer.as_deref().unwrap(), OTHER).await;
    // A webhook of this shop whose body is not JSON: dead-lettered at once.
    let d = crate::support::webhooks::Delivery::new("orders/create", b"not json".to_vec());
    assert_eq!(s.app.deliver(&d).await.status(), 200);
    let id = eventually("the dead letter", || async {
        let letters = state.queue.dead_letters(100).await.ok()?;
        letters.into_iter().find(|l| l.shop() == SHOP).map(|l| l.id)
    })
    .await;
    let replay = |shop: &'static str| {
        let url = s.app.url(&format!("/api/dead-letters/{id}/replay"));
        async move { browser().post(url).bearer_auth(token(shop)).send().await.unwrap().status() }
    };
    assert_eq!(replay(OTHER).await, 404, "another shop's token");
    assert!(state.queue.dead_letters(100).await.unwrap().iter().any(|l| l.id == id), "still there");
    assert_eq!(replay(SHOP).await, 200, "its own shop's token");
    assert_eq!(replay(SHOP).await, 404, "gone once put back");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_backlog_exports_as_csv_in_fill_order_and_another_shops_token_gets_none_of_it() {
    for backend in [Backend::Redis, Backend::Embedded] {
        let s = shop_with_backlog(backend, 2).await;
        let state = &s.app.app.state;
        install_shop(&state.books, state.sealer.as_deref().unwrap(), OTHER).await;
        let csv = |shop: &'static str| {
            let url = s.app.url(&with_token("/app/backlog.csv", &token(shop)));
            async move {
                let resp = browser().get(url).send().await.unwrap();
                assert_eq!(resp.status(), 200);
                assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
                resp.text().await.unwrap()
            }
        };
        let ours = csv(SHOP).await;
        let lines: Vec<&str> = ours.lines().collect();
        assert_eq!(lines[0], "variant_id,variant,order,line_item_id,units,position,eta");
        assert_eq!(lines.len(), 3, "{ours}");
        let positions: Vec<&str> = lines[1..].iter().map(|l| l.split(',').nth(5).unwrap()).collect();
        assert_eq!(positions, ["1", "2"]);
        assert!(lines[1].starts_with(&format!("{},Trail Runner,#", s.variant)), "{ours}");
        assert_eq!(csv(OTHER).await.lines().count(), 1, "the other shop's file holds the header only");
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_variants_queue_is_shown_a_page_at_a_time_from_the_front_to_its_end() {
    let s = shop_with_backlog(Backend::Embedded, 30).await;
    let rows = |html: &str| -> Vec<String> {
        html.split("<td class=\"num\" data-label=\"Position\">")
            .skip(1)
            .map(|r| r.split('<').next().unwrap_or_default().to_string())
            .collect()
    };
    let first = page_html(&s, &format!("/app/variants/{}", s.variant), &token(SHOP)).await;
    let positions: Vec<String> = (1..=25).map(|p| p.to_string()).collect();
    assert_eq!(rows(&first), positions);
    // minijinja writes `/` as `&#x2f;` in attributes.
    let next = first.split("href=\"").find(|h| h.contains("after=")).expect("a link to the next page");
    let next = next.split('"').next().unwrap().replace("&#x2f;", "/").replace("#queue", "");
    let second = page_html(&s, &next, &token(SHOP)).await;
    let positions: Vec<String> = (26..=30).map(|p| p.to_string()).collect();
    assert_eq!(rows(&second), positions, "the rest of the queue, numbered on from the first page");
    assert!(second.contains("Back to the front"), "{second}");
    assert!(!second.contains("after="), "no page after the last");
    // A cursor this page did not give starts at the front.
    let forged = page_html(&s, &format!("/app/variants/{}?after=bm90LWEtY3Vyc29y", s.variant), &token(SHOP)).await;
    assert_eq!(rows(&forged).len(), 25);
    s.stop().await;
}
