//! The merchant's app in a real browser, inside the dev shop's admin frame with the App Bridge
//! stand-in: the admin's first load, navigation through the admin's menu (session tokens from
//! the admin each time), at 1280 and 390 pixels wide, with no script error or failed request.

use backorder::devshop::Policy;
use serde_json::json;

use fantoccini::Locator;
use fantoccini::key::Key;

use super::Browser;
use crate::effects::Setup;
use crate::support::{Backend, SHOP, eventually};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_and_the_variants_page_open_in_the_admin_frame_without_errors_sideways_scrolling_or_accessibility_problems()
 {
    for backend in [Backend::Embedded, Backend::Redis] {
        let Some(browser) = Browser::start("overview_and_variants").await else { return };
        let store = format!("{backend:?}").to_lowercase();
        let mut s = Setup::start(backend, 0, "50", &[]).await;
        s.enrol(json!({"enabled": true, "cap": 10})).await;
        eventually("the variant to sell on backorder", || async { (s.policy() == Policy::Continue).then_some(()) })
            .await;
        s.order(2).await;
        s.order(1).await;
        s.settled().await;

        browser.viewport(1280, 900).await;
        browser.client.goto(&s.devshop.admin_app_url(SHOP)).await.expect("the admin page");
        browser.enter_app().await;
        let units = browser
            .until(
                "the overview's units waiting",
                "const h = document.querySelector('h1.page-title'); \
                 return h && h.textContent === 'Overview' && document.querySelector('.figure-value').textContent",
            )
            .await;
        assert_eq!(units, "3");
        browser.screenshot(&format!("overview-1280-{store}")).await;

        // The admin's menu, filled by App Bridge from the page's `s-app-nav`, opens the variants.
        browser.open_from_admin_menu("Variants").await;
        let row = browser
            .until(
                "the variants page",
                &format!("const r = document.getElementById('variant-{}'); return r && r.textContent", s.variant),
            )
            .await;
        assert!(row.as_str().unwrap().contains("Selling on backorder"), "{row}");
        let url = browser.until("the page's address", "return window.location.href").await;
        assert!(url.as_str().unwrap().contains("id_token="), "loaded with a session token from the admin: {url}");
        browser.screenshot(&format!("variants-1280-{store}")).await;

        browser.viewport(390, 844).await;
        for (page, path) in [("variants", "/app/variants"), ("overview", "/app")] {
            browser.client.enter_parent_frame().await.unwrap();
            let script = format!(
                "const a = [...document.querySelectorAll('#nav a')].find(a => a.getAttribute('href') === '{path}'); \
                 if (a) {{ a.click(); return true; }} return false;"
            );
            browser.until("the admin's menu", &script).await;
            browser.enter_app().await;
            browser
                .until(
                    &format!("the {page} page"),
                    &format!("return document.readyState === 'complete' && window.location.pathname === '{path}'"),
                )
                .await;
            let width = browser.until("the viewport", "return window.innerWidth").await;
            assert_eq!(width, 390, "{page}: the app's frame is the phone's width");
            assert!(browser.scroll_width().await <= 390, "{page} scrolls sideways at 390 px");
            let problems = browser.accessibility_problems().await;
            assert!(problems.is_empty(), "{page}: axe-core finds {problems:#?}");
            browser.screenshot(&format!("{page}-390-{store}")).await;
        }
        let errors = browser.errors().await;
        assert!(errors.is_empty(), "script errors or failed requests: {errors:#?}");
        browser.stop().await;
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_setting_sent_from_the_keyboard_shows_its_message_next_to_the_field_and_saves_nothing() {
    let Some(browser) = Browser::start("settings").await else { return };
    let s = Setup::start(Backend::Embedded, 0, "50", &[]).await;
    let reminder = || async {
        let resp = crate::api::get(&s.app, "/api/settings", Some(&crate::api::token(SHOP))).await;
        resp.json::<serde_json::Value>().await.unwrap()["reminder_days"].clone()
    };
    assert_eq!(reminder().await, serde_json::Value::Null);
    browser.viewport(1280, 900).await;
    browser.client.goto(&s.devshop.admin_app_url(SHOP)).await.expect("the admin page");
    browser.open_from_admin_menu("Settings").await;
    browser
        .until("the settings page", "return window.location.pathname === '/app/settings' && !!document.forms[0]")
        .await;

    // Typed and sent with Enter, as from the keyboard alone.
    let field = browser.client.find(Locator::Id("f-reminder")).await.unwrap();
    field.click().await.unwrap();
    field.send_keys(&format!("0{}", char::from(Key::Enter))).await.unwrap();
    let message = browser
        .until(
            "the reminder's error next to it",
            "const e = document.getElementById('e-reminder'); return !e.hidden && e.textContent",
        )
        .await;
    assert!(message.as_str().unwrap().contains("must be"), "{message}");
    let invalid = browser
        .until("the field marked", "return document.getElementById('f-reminder').getAttribute('aria-invalid')")
        .await;
    assert_eq!(invalid, "true");
    assert_eq!(reminder().await, serde_json::Value::Null, "nothing saved");
    browser.screenshot("settings-error-1280").await;

    field.clear().await.unwrap();
    field.send_keys(&format!("7{}", char::from(Key::Enter))).await.unwrap();
    browser.client.enter_parent_frame().await.unwrap();
    browser
        .until(
            "the admin's toast",
            "const t = document.getElementById('toast'); return !t.hidden && t.textContent === 'Settings saved'",
        )
        .await;
    assert_eq!(reminder().await, 7);
    browser.enter_app().await;
    let problems = browser.accessibility_problems().await;
    assert!(problems.is_empty(), "settings: axe-core finds {problems:#?}");
    let errors = browser.errors().await;
    assert!(
        errors.iter().all(|e| e.contains("/api/settings") && e.contains("422")),
        "script errors or failed requests other than the refused save: {errors:#?}"
    );
    browser.stop().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_variants_page_shows_who_waits_previews_a_receipt_refuses_a_negative_cap_and_saves_a_plan() {
    let Some(browser) = Browser::start("variant").await else { return };
    let mut s = Setup::start(Backend::Redis, 0, "50", &[]).await;
    s.enrol(json!({"enabled": true, "cap": 10})).await;
    eventually("the variant to sell on backorder", || async { (s.policy() == Policy::Continue).then_some(()) }).await;
    s.order(2).await;
    s.order(1).await;
    s.settled().await;
    let api = || async {
        let path = format!("/api/variants/{}", s.variant);
        crate::api::get(&s.app, &path, Some(&crate::api::token(SHOP))).await.json::<serde_json::Value>().await.unwrap()
    };
    browser.viewport(1280, 900).await;
    browser.client.goto(&s.devshop.admin_app_url(SHOP)).await.expect("the admin page");
    browser.open_from_admin_menu("Variants").await;
    let open = format!(
        "const a = document.querySelector('#variant-{} a'); if (a) {{ a.click(); return true; }} return false;",
        s.variant
    );
    browser.until("the variant's link", &open).await;
    let positions = browser
        .until(
            "the queue with positions",
            "const rows = [...document.querySelectorAll('#queue ~ .table-wrap tbody tr')]; \
             return rows.length === 2 && rows.map(r => r.cells[0].textContent).join(',')",
        )
        .await;
    assert_eq!(positions, "1,3", "the 2-unit order first, then the 1-unit one after its 2 units");
    // What 2 arriving units would fill: the first order's 2 units, and nothing changes.
    let arrive = browser.client.find(Locator::Id("f-arrive")).await.unwrap();
    arrive.clear().await.unwrap();
    arrive.send_keys(&format!("2{}", char::from(Key::Enter))).await.unwrap();
    let filled = browser
        .until(
            "the receipt preview",
            "const r = document.querySelector('.preview-result li'); return r && r.textContent",
        )
        .await;
    assert!(filled.as_str().unwrap().ends_with(": 2 units, filled"), "{filled}");
    assert_eq!(api().await["backordered_units"], 3, "a preview changes nothing");
    browser.screenshot("variant-1280").await;

    // The second order moved ahead by hand, from the keyboard: the page shows it first.
    let names =
        "return [...document.querySelectorAll('#queue ~ .table-wrap tbody tr th')].map(t => t.textContent.trim())";
    let before: Vec<String> = serde_json::from_value(browser.until("the orders' names", names).await).unwrap();
    browser.press("#queue ~ .table-wrap tbody tr:nth-child(2) form button", Key::Enter).await;
    let moved = format!(
        "const n = [...document.querySelectorAll('#queue ~ .table-wrap tbody tr th')].map(t => t.textContent.trim()); \
         return n.length === 2 && n[0].startsWith({:?}) && n[0].includes('Moved by hand') && n",
        before[1]
    );
    browser.until("the moved order first", &moved).await;
    assert_eq!(api().await["queue"][0]["backordered"], 1, "the 1-unit order fills first now");

    let cap = browser.client.find(Locator::Id("f-cap")).await.unwrap();
    cap.clear().await.unwrap();
    cap.send_keys(&format!("-1{}", char::from(Key::Enter))).await.unwrap();
    let message = browser
        .until(
            "the cap's error next to it",
            "const e = document.getElementById('e-cap'); return !e.hidden && e.textContent",
        )
        .await;
    assert!(message.as_str().unwrap().contains("whole number"), "{message}");
    assert_eq!(api().await["cap"], 10, "nothing saved");

    cap.clear().await.unwrap();
    cap.send_keys("5").await.unwrap();
    let supply = browser.client.find(Locator::Id("f-supply")).await.unwrap();
    supply.send_keys("2 2027-01-10\n4 2027-02-01").await.unwrap();
    browser.press("#variant-settings [type=submit]", Key::Enter).await;
    eventually("the plan saved", || async {
        let v = api().await;
        (v["cap"] == 5 && v["supply"].as_array().is_some_and(|b| b.len() == 2)).then_some(())
    })
    .await;
    let problems = browser.accessibility_problems().await;
    assert!(problems.is_empty(), "variant: axe-core finds {problems:#?}");
    let errors = browser.errors().await;
    assert!(
        errors.iter().all(|e| e.contains(&format!("/api/variants/{}", s.variant)) && e.contains("422")),
        "script errors or failed requests other than the refused save: {errors:#?}"
    );
    browser.stop().await;
    s.stop().await;
}

/// `backorder demo --keep-running` prints the dev shop's admin URL: opened in a browser, it shows
/// the app with the demo's backlog, without the internet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demos_admin_url_opens_the_app_with_the_demos_backlog() {
    let Some(browser) = Browser::start("demo").await else { return };
    let options = backorder::demo::DemoOptions {
        store_prefix: crate::support::unique_prefix(),
        verbose: false,
        ..Default::default()
    };
    let (outcome, stage) = backorder::demo::run(&options).await.expect("the demo plays");
    browser.viewport(1280, 900).await;
    browser.client.goto(&stage.devshop.admin_app_url(backorder::demo::SHOP)).await.expect("the admin page");
    browser.enter_app().await;
    let units = browser
        .until(
            "the overview",
            "const h = document.querySelector('h1.page-title'); \
             return h && h.textContent === 'Overview' && document.querySelector('.figure-value').textContent",
        )
        .await;
    // Every managed variant's waiting units: the demo's sale variant and its others.
    let managed =
        backorder::books::apply::managed_variants(&stage.app.state.books, backorder::demo::SHOP).await.unwrap();
    let waiting: u64 = managed.values().map(|v| v.header.backordered()).sum();
    assert!(waiting >= outcome.repaired.snapshot.backordered_units && waiting > 0);
    assert_eq!(units, waiting.to_string());
    browser.screenshot("demo-overview-1280").await;
    let errors = browser.errors().await;
    assert!(errors.is_empty(), "script errors or failed requests: {errors:#?}");
    browser.stop().await;
    stage.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_the_platform_refused_is_put_back_from_the_activity_page_and_goes_through() {
    let Some(browser) = Browser::start("activity").await else { return };
    let overrides = [("BACKORDER__EFFECTS__MAX_FAILED_PASSES", "1"), ("BACKORDER__PLATFORM__MAX_ATTEMPTS", "1")];
    let mut s = Setup::start(Backend::Embedded, 0, "50", &overrides).await;
    s.enrol(json!({"enabled": true})).await;
    eventually("the variant to sell on backorder", || async { (s.policy() == Policy::Continue).then_some(()) }).await;
    s.devshop.set_faults(backorder::devshop::Faults { server_errors: 1.0, ..Default::default() });
    let order = s.order(1).await;
    let buried = || async {
        let letters = s.app.app.state.queue.dead_letters(100).await.unwrap();
        letters.iter().any(|d| d.shop() == SHOP && matches!(d.buried, backorder::store::Buried::Effect { .. }))
    };
    eventually("the order's change dead-lettered", || async { buried().await.then_some(()) }).await;
    s.devshop.set_faults(backorder::devshop::Faults::default());
    assert!(s.tags(order).is_empty(), "not tagged while the platform refused");

    browser.viewport(1280, 900).await;
    browser.client.goto(&s.devshop.admin_app_url(SHOP)).await.expect("the admin page");
    browser.open_from_admin_menu("Activity").await;
    let what = browser
        .until("the dead letter's row", "const r = document.querySelector('tbody tr th'); return r && r.textContent")
        .await;
    let name = s.app.app.state.books.get(SHOP, backorder::books::key::Order(order)).await.unwrap().unwrap().name;
    assert!(what.as_str().unwrap().contains(&format!("Tags and holds of {name}")), "{what}");
    browser.screenshot("activity-1280").await;
    browser.press("tbody tr form button", Key::Enter).await;
    browser
        .until(
            "the row marked put back",
            "const b = document.querySelector('tbody tr .badge-success'); return b && b.textContent",
        )
        .await;
    eventually("the order tagged once put back", || async { (s.tags(order) == ["backorder"]).then_some(()) }).await;
    assert!(!buried().await, "no longer a dead letter");
    let problems = browser.accessibility_problems().await;
    assert!(problems.is_empty(), "activity: axe-core finds {problems:#?}");
    let errors = browser.errors().await;
    assert!(errors.is_empty(), "script errors or failed requests: {errors:#?}");
    browser.stop().await;
    s.stop().await;
}

/// SPEC 10.1 in the merchant's app: the overview's "In demand" card ranks the product options and
/// the variants customers ordered most, as `GET /api/insight` does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_shows_which_options_and_variants_are_in_demand() {
    let Some(browser) = Browser::start("in_demand").await else { return };
    let s = crate::effects::Setup::start(crate::support::Backend::Redis, 0, "50", &[]).await;
    let tees = crate::insight_api::four_tees(&s).await;
    browser.viewport(1280, 900).await;
    browser.client.goto(&s.devshop.admin_app_url(crate::support::SHOP)).await.expect("the admin page");
    browser.enter_app().await;
    let rows = browser
        .until(
            "the in-demand rows",
            "const r = [...document.querySelectorAll('#demand ~ .table-wrap tbody tr, section[aria-labelledby=demand] tbody tr')]; \
             return r.length > 0 && r.map(x => [...x.children].map(c => c.textContent.trim()))",
        )
        .await;
    let rows = rows.as_array().unwrap();
    // Options first, by 30-day demand: Color Red 5, Size S 4, Size M 2, Color Blue 1; then the
    // variants: Red S 3, Red M 2, Blue S 1.
    let labels: Vec<&str> = rows.iter().map(|r| r[0].as_str().unwrap()).collect();
    assert_eq!(labels[..4], ["Color: Red", "Size: S", "Size: M", "Color: Blue"], "{rows:?}");
    assert_eq!(rows[0][1], "5");
    assert_eq!(labels[4], "Tee - Red / S", "{rows:?}");
    let link = browser
        .until(
            "the variant's link",
            "return document.querySelector('section[aria-labelledby=demand] tbody a').getAttribute('href')",
        )
        .await;
    assert_eq!(link, format!("/app/variants/{}", tees[0]));
    assert_eq!(browser.accessibility_problems().await, Vec::<String>::new());
    assert_eq!(browser.errors().await, Vec::<String>::new());
    browser.screenshot("overview").await;
    browser.stop().await;
    s.stop().await;
}
