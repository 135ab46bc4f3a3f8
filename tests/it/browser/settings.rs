//! The settings page's counted locations, picked from the shop's locations as the dev shop
//! lists them (SPEC 11): none ticked is refused next to the field and saves nothing; one of two
//! ticked is saved as that one; all ticked is "every location".

use backorder::devshop::world::{Level, MAIN_LOCATION};
use fantoccini::key::Key;
use serde_json::{Value, json};

use super::Browser;
use crate::api::{get, token};
use crate::effects::Setup;
use crate::support::{Backend, SHOP, eventually};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counted_locations_are_ticked_from_the_shops_locations_and_none_ticked_is_refused_next_to_the_field() {
    let Some(browser) = Browser::start("locations").await else { return };
    let s = Setup::start(Backend::Redis, 0, "50", &[]).await;
    // A second location with stock of the item.
    let item = s.world(|w| w.variants[&s.variant].inventory_item_id);
    s.world(|w| w.levels.insert((item, 2), Level { available: 4, incoming: 0, updated_at_ms: 1 }));
    let counted = || async {
        let settings: Value = get(&s.app, "/api/settings", Some(&token(SHOP))).await.json().await.unwrap();
        settings["counted_locations"].clone()
    };
    assert_eq!(counted().await, Value::Null);
    browser.viewport(1280, 900).await;
    browser.client.goto(&s.devshop.admin_app_url(SHOP)).await.expect("the admin page");
    browser.open_from_admin_menu("Settings").await;
    let names = browser
        .until(
            "the shop's locations",
            "const l = [...document.querySelectorAll('#f-locations label')]; return l.length > 0 && l.map(x => x.textContent)",
        )
        .await;
    assert_eq!(names, serde_json::json!(["Main warehouse", "Store 2"]));

    // Both unticked from the keyboard, then sent with Enter on Save: refused next to the field.
    browser.press(&format!("#loc-{MAIN_LOCATION}"), Key::Space).await;
    browser.press("#loc-2", Key::Space).await;
    browser.press("form.api-form [type=submit]", Key::Enter).await;
    let message = browser
        .until(
            "the locations' error",
            "const e = document.getElementById('e-locations'); return !e.hidden && e.textContent",
        )
        .await;
    assert!(message.as_str().unwrap().contains("at least one location"), "{message}");
    assert_eq!(counted().await, Value::Null, "nothing saved");

    browser.press(&format!("#loc-{MAIN_LOCATION}"), Key::Space).await;
    browser.press("form.api-form [type=submit]", Key::Enter).await;
    eventually("the main warehouse alone counted", || async {
        (counted().await == serde_json::json!([MAIN_LOCATION])).then_some(())
    })
    .await;
    let problems = browser.accessibility_problems().await;
    assert!(problems.is_empty(), "settings: axe-core finds {problems:#?}");
    browser.screenshot("settings-locations-1280").await;

    // "Remove everything", from the keyboard: refused without its tick, then done as a job.
    s.enrol(serde_json::json!({"enabled": true})).await;
    let managed = || async { get(&s.app, &format!("/api/variants/{}", s.variant), Some(&token(SHOP))).await.status() };
    assert_eq!(managed().await, 200);
    browser.press("#s-remove ~ form [type=submit]", Key::Enter).await;
    browser
        .until("the tick asked for", "const e = document.getElementById('e-remove'); return !e.hidden && e.textContent")
        .await;
    assert_eq!(managed().await, 200, "nothing removed without the tick");
    browser.press("#f-remove", Key::Space).await;
    browser.press("#s-remove ~ form [type=submit]", Key::Enter).await;
    browser
        .until(
            "the form marked done",
            "const b = document.getElementById('s-remove').closest('section').querySelector('.badge-success'); return b && b.textContent",
        )
        .await;
    eventually("the variant no longer managed", || async { (managed().await == 404).then_some(()) }).await;
    let errors = browser.errors().await;
    assert!(
        errors.iter().all(|e| e.contains("/api/settings") && e.contains("422")),
        "script errors or failed requests other than the refused save: {errors:#?}"
    );
    browser.stop().await;
    s.stop().await;
}

/// SPEC 10.1 and 10.3 in the settings page: the service level of the reorder advice and the
/// consolation offer, typed and ticked from the keyboard; a percentage over 100 is refused next
/// to its field and nothing is saved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_level_and_the_consolation_offer_are_set_from_the_settings_page() {
    let Some(browser) = Browser::start("consolation").await else { return };
    let s = Setup::start(Backend::Embedded, 0, "50", &[]).await;
    let settings = || async { get(&s.app, "/api/settings", Some(&token(SHOP))).await.json::<Value>().await.unwrap() };
    browser.viewport(1280, 900).await;
    browser.client.goto(&s.devshop.admin_app_url(SHOP)).await.expect("the admin page");
    browser.open_from_admin_menu("Settings").await;
    browser.until("the consolation's fields", "return document.getElementById('f-consolation') !== null").await;
    let retype = |id: &'static str, text: &'static str| {
        let browser = &browser;
        async move {
            let field = browser.client.find(fantoccini::Locator::Id(id)).await.unwrap();
            field.clear().await.unwrap();
            field.send_keys(text).await.unwrap();
        }
    };
    retype("f-service-level", "0.9").await;
    browser.press("#f-consolation", Key::Space).await;
    browser.press("#f-consolation-kind", Key::Space).await;
    retype("f-consolation-after", "14").await;
    retype("f-consolation-value", "101").await;
    browser.press("form.api-form [type=submit]", Key::Enter).await;
    let message = browser
        .until(
            "the percentage's error",
            "const e = document.getElementById('e-consolation-value'); return !e.hidden && e.textContent",
        )
        .await;
    assert!(message.as_str().unwrap().contains("from 1 to 100"), "{message}");
    assert_eq!(settings().await["consolation"]["enabled"], false, "nothing saved");

    retype("f-consolation-value", "15").await;
    browser.press("form.api-form [type=submit]", Key::Enter).await;
    let saved = eventually("the offer saved", || async {
        let now = settings().await;
        (now["consolation"]["enabled"] == true).then_some(now)
    })
    .await;
    assert_eq!(saved["service_level"], 0.9);
    let c = &saved["consolation"];
    assert_eq!(
        (c["after_days"].clone(), c["kind"].clone(), c["value"].clone()),
        (json!(14), json!("free_shipping"), json!(15))
    );
    assert_eq!(browser.accessibility_problems().await, Vec::<String>::new());
    // The refused save is the one failed request: Chromium logs its 422.
    let errors = browser.errors().await;
    assert!(errors.iter().all(|e| e.contains("/api/settings") && e.contains("422")), "{errors:?}");
    browser.stop().await;
    s.stop().await;
}
