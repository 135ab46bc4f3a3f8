//! The variants in a real browser: a product's variants found in the catalogue and enrolled in
//! bulk with the job's progress, and a variant unenrolled from its page once the merchant ticks
//! that they mean it.

use backorder::devshop::Policy;
use serde_json::json;

use fantoccini::Locator;
use fantoccini::key::Key;

use super::Browser;
use crate::effects::Setup;
use crate::support::{Backend, SHOP, eventually};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_products_variants_found_in_the_catalogue_are_enrolled_in_bulk_with_the_progress_shown_to_the_end() {
    let Some(browser) = Browser::start("catalogue").await else { return };
    let s = Setup::start(Backend::Embedded, 0, "50", &[]).await;
    s.enrol(json!({"enabled": true})).await;
    // Two variants of one product, the beanie.
    let beanies: Vec<u64> = s.world(|w| {
        let product = w.next_id();
        ["Wool Beanie - Red", "Wool Beanie - Blue"]
            .iter()
            .map(|t| {
                let ids = backorder::devshop::world::Ids { variant: w.next_id(), product, item: w.next_id() };
                w.add_variant_as(ids, t, 0, Policy::Deny)
            })
            .collect()
    });
    browser.viewport(1280, 900).await;
    browser.client.goto(&s.devshop.admin_app_url(SHOP)).await.expect("the admin page");
    browser.open_from_admin_menu("Variants").await;
    browser
        .until(
            "the variants page",
            "return window.location.pathname === '/app/variants' && !!document.getElementById('f-q')",
        )
        .await;
    let search = browser.client.find(Locator::Id("f-q")).await.unwrap();
    search.send_keys(&format!("beanie{}", char::from(Key::Enter))).await.unwrap();
    let found = browser
        .until(
            "the search's results",
            "const boxes = [...document.querySelectorAll('input[name=variant]')]; \
             return boxes.length > 0 && boxes.map(b => b.value).join(',')",
        )
        .await;
    let expected: Vec<String> = beanies.iter().map(u64::to_string).collect();
    assert_eq!(found, expected.join(","), "both beanies, and not the managed runner");
    // What enrolling one would do to the orders already open, read before enrolling it.
    browser.press(&format!("button[aria-describedby=op-{}]", beanies[0]), Key::Enter).await;
    let said = browser
        .until(
            "what enrolling does",
            &format!(
                "const o = document.getElementById('op-{}').textContent; return o.startsWith('No open') && o",
                beanies[0]
            ),
        )
        .await;
    assert_eq!(said, "No open order holds it: nothing changes for anyone.");
    for id in &beanies {
        browser.press(&format!("#pick-{id}"), Key::Space).await;
    }
    browser.press("form.enrol-form [type=submit]", Key::Enter).await;
    let status = browser
        .until(
            "the progress at its end",
            "const s = document.querySelector('.enrol-status').textContent; return s.endsWith('.') && s",
        )
        .await;
    assert_eq!(status, "Enrolled 2 of 2.");
    let bar = browser
        .until("the bar full", "const b = document.querySelector('.enrol-progress'); return b.value === b.max && b.max")
        .await;
    assert_eq!(bar, 2);
    browser.screenshot("catalogue-1280").await;
    for id in &beanies {
        let resp = crate::api::get(&s.app, &format!("/api/variants/{id}"), Some(&crate::api::token(SHOP))).await;
        assert_eq!(resp.status(), 200, "variant {id} enrolled");
    }
    let problems = browser.accessibility_problems().await;
    assert!(problems.is_empty(), "variants with results: axe-core finds {problems:#?}");
    let errors = browser.errors().await;
    assert!(errors.is_empty(), "script errors or failed requests: {errors:#?}");
    browser.stop().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_variant_is_unenrolled_from_its_page_only_once_the_merchant_ticks_that_they_mean_it() {
    let Some(browser) = Browser::start("unenrol").await else { return };
    let s = Setup::start(Backend::Embedded, 0, "50", &[]).await;
    s.enrol(json!({"enabled": true})).await;
    eventually("the variant to sell on backorder", || async { (s.policy() == Policy::Continue).then_some(()) }).await;
    let managed = || async {
        crate::api::get(&s.app, &format!("/api/variants/{}", s.variant), Some(&crate::api::token(SHOP))).await.status()
    };
    browser.viewport(1280, 900).await;
    browser.client.goto(&s.devshop.admin_app_url(SHOP)).await.expect("the admin page");
    browser.enter_app().await;
    browser.until("the overview", "return document.readyState === 'complete' && !!document.querySelector('h1')").await;
    // Straight to the variant's page, as a link from the overview would go.
    browser
        .until(
            "the variant's page",
            &format!(
                "if (window.location.pathname !== '/app/variants/{v}') {{ \
                   const a = document.createElement('a'); a.href = '/app/variants/{v}'; document.body.appendChild(a); a.click(); return false; }} \
                 return !!document.getElementById('f-unenrol');",
                v = s.variant
            ),
        )
        .await;
    let unenrol = "#s-unenrol ~ form [type=submit]";
    browser.press(unenrol, Key::Enter).await;
    browser
        .until(
            "the tick asked for",
            "const e = document.getElementById('e-unenrol'); return !e.hidden && e.textContent",
        )
        .await;
    assert_eq!(managed().await, 200, "not unenrolled without the tick");
    browser.press("#f-unenrol", Key::Space).await;
    browser.press(unenrol, Key::Enter).await;
    browser
        .until(
            "the form marked done",
            "const b = document.getElementById('s-unenrol').closest('section').querySelector('.badge-success'); \
             return b && b.textContent",
        )
        .await;
    eventually("the variant no longer managed", || async { (managed().await == 404).then_some(()) }).await;
    eventually("its policy given back", || async { (s.policy() == Policy::Deny).then_some(()) }).await;
    let errors = browser.errors().await;
    assert!(errors.is_empty(), "script errors or failed requests: {errors:#?}");
    browser.stop().await;
    s.stop().await;
}
