//! The settings page's counted locations, picked from the shop's locations as the dev shop
//! lists them (SPEC 11): none ticked is refused next to the field and saves nothing; one of two
//! ticked is saved as that one; all ticked is "every location".

use backorder::devshop::world::{Level, MAIN_LOCATION};
use fantoccini::key::Key;
use serde_json::Value;

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
