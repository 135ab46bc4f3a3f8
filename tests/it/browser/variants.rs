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

/// SPEC 10.2 in the merchant's app: the variant's page lists what Shopify says is on its way
/// (each batch's source, Shopify's date, the merchant's date, incoming units on no transfer
/// flagged), and a date given to a shipment there is saved as the merchant's override.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_variant_page_lists_shopifys_incoming_batches_and_saves_the_merchants_date_for_one() {
    use backorder::devshop::world::MAIN_LOCATION;
    let Some(browser) = Browser::start("platform_supply").await else { return };
    let s = Setup::start(Backend::Redis, 0, "50", &[]).await;
    let v = s.variant;
    let transfer = s.world(|w| w.add_transfer(MAIN_LOCATION, &[(v, 10)]).unwrap());
    let day = |n: i64| time::OffsetDateTime::now_utc().date() + time::Duration::days(n);
    let noon = day(9).with_hms(12, 0, 0).unwrap().assume_utc().unix_timestamp() * 1000;
    let shipment = s.world(|w| w.ship(transfer, &[(v, 6)], Some(noon)).unwrap());
    s.world(|w| w.order_from_supplier(v, 5).unwrap());
    s.enrol(json!({"enabled": true, "lead_time_days": 20, "supply": [{"qty": 2, "eta": day(30).to_string()}]})).await;

    browser.viewport(1280, 900).await;
    browser.client.goto(&s.devshop.admin_app_url(SHOP)).await.expect("the admin page");
    browser.enter_app().await;
    browser.go(&format!("/app/variants/{v}")).await;
    let rows = browser
        .until(
            "Shopify's batches",
            "const r = [...document.querySelectorAll('#platform-supply tbody tr')]; \
             return r.length === 3 && r.map(x => [...x.children].map(c => c.textContent.trim()).slice(0, 3))",
        )
        .await;
    let shipped = format!("{}, shipment 1", s.world(|w| w.transfers[&transfer].name.clone()));
    assert_eq!(rows[0], json!([shipped, "6", day(9).to_string()]), "{rows}");
    assert_eq!(rows[1][2], "none: takes the lead time", "the 4 not shipped yet: {rows}");
    assert!(rows[2][0].as_str().unwrap().contains("no transfer"), "the purchase order's 5 flagged: {rows}");
    let merchant = browser.until("the merchant's own batch", "return document.querySelector('#f-supply').value").await;
    assert_eq!(merchant.as_str().unwrap().trim(), format!("2 {}", day(30)), "only the merchant's in the text box");

    // The merchant's date for the shipment, then Save from the keyboard.
    let set =
        format!("const i = document.querySelector('[data-platform-batch]'); i.value = '{}'; return true;", day(12));
    browser.client.execute(&set, vec![]).await.unwrap();
    browser.press("form.api-form [type=submit]", Key::Enter).await;
    let shipment_id = format!("gid://shopify/InventoryShipment/{shipment}");
    let saved = eventually("the override saved", || async {
        let shown: serde_json::Value =
            crate::api::get(&s.app, &format!("/api/variants/{v}"), Some(&crate::api::token(SHOP)))
                .await
                .json()
                .await
                .ok()?;
        let batch = shown["supply"].as_array()?.iter().find(|b| b["id"] == shipment_id.as_str())?.clone();
        (batch["eta_override"] == day(12).to_string()).then_some(shown)
    })
    .await;
    let merchant: Vec<&serde_json::Value> =
        saved["supply"].as_array().unwrap().iter().filter(|b| b["source"] == "merchant").collect();
    assert_eq!(merchant.len(), 1, "the merchant's batch kept: {saved}");
    browser.screenshot("variant").await;
    assert_eq!(browser.errors().await, Vec::<String>::new());
    // The list is read as a table with labelled fields, and fits a phone (it scrolls in its box).
    assert_eq!(browser.accessibility_problems().await, Vec::<String>::new());
    browser.viewport(390, 844).await;
    assert!(browser.scroll_width().await <= 390, "the page fits a phone");
    browser.stop().await;
    s.stop().await;
}

/// SPEC 10.1 in the merchant's app: a variant with a year of history shows when to reorder on
/// its page, the same numbers `GET /api/variants/{id}/insight` answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_variant_page_says_when_to_reorder_from_a_year_of_history() {
    let Some(browser) = Browser::start("advice").await else { return };
    let s = Setup::start(Backend::Embedded, 45, "50", &[]).await;
    s.enrol(json!({"enabled": true, "lead_time_days": 14})).await;
    crate::insight_api::a_year_of_orders(&s).await;
    let insight: serde_json::Value =
        crate::api::get(&s.app, &format!("/api/variants/{}/insight", s.variant), Some(&crate::api::token(SHOP)))
            .await
            .json()
            .await
            .unwrap();
    browser.viewport(1280, 900).await;
    browser.client.goto(&s.devshop.admin_app_url(SHOP)).await.expect("the admin page");
    browser.enter_app().await;
    browser.go(&format!("/app/variants/{}", s.variant)).await;
    let shown = browser
        .until(
            "the advice",
            "const d = [...document.querySelectorAll('#advice dd')].map(x => x.textContent.trim()); return d.length === 5 && d",
        )
        .await;
    assert_eq!(shown[1], format!("{} units", insight["reorder_point"]), "{shown}");
    assert_eq!(shown[2], format!("{} units", insight["suggested_order_qty"]), "{shown}");
    assert_eq!(shown[3], insight["order_by"].as_str().unwrap(), "{shown}");
    let basis = browser.until("what it rests on", "return document.querySelector('#advice .help').textContent").await;
    assert!(basis.as_str().unwrap().contains(&format!("From {} days of orders", insight["history_days"])), "{basis}");
    assert_eq!(browser.accessibility_problems().await, Vec::<String>::new());
    assert_eq!(browser.errors().await, Vec::<String>::new());
    browser.screenshot("advice").await;
    browser.stop().await;
    s.stop().await;
}
