//! A merchant's first sale on backorder, in a real browser inside the dev shop's admin, on each
//! store: a variant found in the catalogue and enrolled, a cap and two supply batches set (a date
//! that has passed refused next to its field), a sale's orders in the queue with positions and
//! ETAs, a receipt previewed, and a restock on the dev shop moving the queue. Then every page of
//! the app at 1280 and 390 pixels: no sideways scrolling, no serious accessibility problem, no
//! script error or failed request, a screenshot of each.

use backorder::devshop::Policy;
use fantoccini::Locator;
use fantoccini::key::Key;
use serde_json::{Value, json};

use super::Browser;
use crate::api::{get, token};
use crate::effects::Setup;
use crate::support::{Backend, SHOP, eventually};

async fn api(s: &Setup) -> Value {
    let path = format!("/api/variants/{}", s.variant);
    get(&s.app, &path, Some(&token(SHOP))).await.json::<Value>().await.unwrap()
}

async fn supply_field(browser: &Browser) -> fantoccini::elements::Element {
    browser.client.find(Locator::Id("f-supply")).await.unwrap()
}

fn day(offset: i64) -> String {
    backorder::ledger::eta::format(backorder::ledger::eta::today(None) + time::Duration::days(offset))
}

/// The queue's rows on the variant's page, as "position order units eta" each.
const QUEUE_ROWS: &str = "const rows = [...document.querySelectorAll('#queue ~ .table-wrap tbody tr')]; \
     return rows.map(r => [...r.cells].slice(0, 4).map(c => c.textContent.trim()).join(' '));";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_variant_found_in_the_catalogue_is_enrolled_planned_sold_previewed_and_restocked_from_its_page() {
    for backend in [Backend::Embedded, Backend::Redis] {
        let Some(browser) = Browser::start("journey").await else { return };
        let store = format!("{backend:?}").to_lowercase();
        let mut s = Setup::start(backend, 0, "50", &[]).await;
        browser.viewport(1280, 900).await;
        browser.client.goto(&s.devshop.admin_app_url(SHOP)).await.expect("the admin page");
        browser.open_from_admin_menu("Variants").await;
        browser.until("the search field", "return !!document.getElementById('f-q')").await;
        let search = browser.client.find(Locator::Id("f-q")).await.unwrap();
        search.send_keys(&format!("trail{}", char::from(Key::Enter))).await.unwrap();
        let found = browser
            .until(
                "the search's results",
                "const b = [...document.querySelectorAll('input[name=variant]')]; return b.length > 0 && b.map(x => x.value)",
            )
            .await;
        assert_eq!(found, json!([s.variant.to_string()]), "{store}");
        browser.press(&format!("#pick-{}", s.variant), Key::Space).await;
        browser.press("form.enrol-form [type=submit]", Key::Enter).await;
        let status = browser
            .until(
                "the enrolment's end",
                "const s = document.querySelector('.enrol-status').textContent; return s.endsWith('.') && s",
            )
            .await;
        assert_eq!(status, "Enrolled 1 of 1.", "{store}");
        eventually("the variant to sell on backorder", || async { (s.policy() == Policy::Continue).then_some(()) })
            .await;

        browser.go(&format!("/app/variants/{}", s.variant)).await;
        let cap = browser.client.find(Locator::Id("f-cap")).await.unwrap();
        let supply = browser.client.find(Locator::Id("f-supply")).await.unwrap();
        cap.send_keys("5").await.unwrap();
        supply.send_keys(&format!("2 {}", day(-1))).await.unwrap();
        cap.send_keys(&char::from(Key::Enter).to_string()).await.unwrap();
        let message = browser
            .until(
                "the date's error next to it",
                "const e = document.getElementById('e-supply'); return !e.hidden && e.textContent",
            )
            .await;
        assert!(message.as_str().unwrap().starts_with("Line 1: supply[0].eta has passed"), "{store}: {message}");
        assert_eq!(api(&s).await["supply"], json!([]), "{store}: nothing saved");
        supply.clear().await.unwrap();
        supply.send_keys(&format!("2 {}\n3 {}", day(10), day(30))).await.unwrap();
        cap.send_keys(&char::from(Key::Enter).to_string()).await.unwrap();
        eventually("the plan saved", || async {
            let v = api(&s).await;
            (v["cap"] == 5 && v["supply"].as_array().is_some_and(|b| b.len() == 2)).then_some(())
        })
        .await;

        // The sale: four orders, five units, up to the cap.
        for qty in [1, 2, 1, 1] {
            s.order(qty).await;
        }
        s.settled().await;
        browser.go(&format!("/app/variants/{}", s.variant)).await;
        let rows = browser.until("the queue", QUEUE_ROWS).await;
        let rows: Vec<String> = serde_json::from_value(rows).unwrap();
        assert_eq!(rows.len(), 4, "{store}: {rows:?}");
        let positions: Vec<&str> = rows.iter().map(|r| r.split(' ').next().unwrap()).collect();
        assert_eq!(positions, ["1", "2", "4", "5"], "{store}: units ahead of each line's first");
        let etas: Vec<&str> = rows.iter().map(|r| r.rsplit(' ').next().unwrap()).collect();
        assert!(etas[0] >= day(10).as_str() && etas[0] < day(30).as_str(), "{store}: the first batch's: {rows:?}");
        // The second line's last unit, and every unit after, come with the second batch.
        assert!(etas[1..].iter().all(|e| *e >= day(30).as_str()), "{store}: the second batch's: {rows:?}");
        browser.screenshot(&format!("journey-queue-1280-{store}")).await;

        // Five more units coming in five days, typed: what it would do shows before saving.
        supply_field(&browser).await.send_keys(&format!("\n5 {}", day(5))).await.unwrap();
        let effect = browser
            .until(
                "the plan's effect",
                "const p = document.querySelector('.plan-effect p'); return p && p.textContent.includes('earlier') && p.textContent",
            )
            .await;
        assert!(
            effect.as_str().unwrap().starts_with("If saved: 0 waiting lines would get a later date"),
            "{store}: {effect}"
        );
        assert_eq!(api(&s).await["supply"].as_array().map(Vec::len), Some(2), "{store}: a preview saves nothing");

        let arrive = browser.client.find(Locator::Id("f-arrive")).await.unwrap();
        arrive.clear().await.unwrap();
        arrive.send_keys(&format!("3{}", char::from(Key::Enter))).await.unwrap();
        let fills = browser
            .until(
                "the receipt preview",
                "const li = [...document.querySelectorAll('.preview-result li')]; return li.length > 0 && li.map(l => l.textContent)",
            )
            .await;
        let fills: Vec<String> = serde_json::from_value(fills).unwrap();
        assert_eq!(fills.len(), 2, "{store}: {fills:?}");
        assert!(fills.iter().all(|f| f.ends_with(", filled")), "{store}: 1 and 2 units, both filled: {fills:?}");
        assert_eq!(api(&s).await["backordered_units"], 5, "{store}: a preview changes nothing");

        // Three units arrive at the dev shop: the first two orders are filled.
        let variant = s.variant;
        s.world(|w| w.set_stock(variant, -2)).unwrap();
        s.deliver_level().await;
        s.settled().await;
        browser.go(&format!("/app/variants/{}", s.variant)).await;
        let rows = browser.until("the queue after the restock", QUEUE_ROWS).await;
        let rows: Vec<String> = serde_json::from_value(rows).unwrap();
        let positions: Vec<&str> = rows.iter().map(|r| r.split(' ').next().unwrap()).collect();
        assert_eq!(positions, ["1", "2"], "{store}: the last two orders moved to the front: {rows:?}");
        browser.screenshot(&format!("journey-restocked-1280-{store}")).await;
        let errors = browser.errors().await;
        assert!(
            errors.iter().all(|e| e.contains(&format!("/api/variants/{}", s.variant)) && e.contains("422")),
            "{store}: script errors or failed requests other than the refused date: {errors:#?}"
        );
        browser.stop().await;
        s.stop().await;
    }
}

/// Every page of the app, with what each needs to show something: a managed variant with a
/// waiting order.
const PAGES: [(&str, &str); 7] = [
    ("overview", "/app"),
    ("variants", "/app/variants"),
    ("variant", "/app/variants/{variant}"),
    ("emails", "/app/emails"),
    ("emails-ready", "/app/emails?kind=ready"),
    ("settings", "/app/settings"),
    ("activity", "/app/activity"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_fits_a_phone_has_no_serious_accessibility_problem_or_error_and_is_screenshotted_at_both_widths() {
    for backend in [Backend::Embedded, Backend::Redis] {
        let Some(browser) = Browser::start("every_page").await else { return };
        let store = format!("{backend:?}").to_lowercase();
        let mut s = Setup::start(backend, 0, "50", &[]).await;
        s.enrol(json!({"enabled": true, "cap": 10, "lead_time_days": 12})).await;
        eventually("the variant to sell on backorder", || async { (s.policy() == Policy::Continue).then_some(()) })
            .await;
        s.order(2).await;
        s.settled().await;
        browser.client.goto(&s.devshop.admin_app_url(SHOP)).await.expect("the admin page");
        browser.enter_app().await;
        browser
            .until("the overview", "return document.readyState === 'complete' && !!document.querySelector('h1')")
            .await;
        for (width, height) in [(1280, 900), (390, 844)] {
            browser.viewport(width, height).await;
            for (name, path) in PAGES {
                let path = path.replace("{variant}", &s.variant.to_string());
                browser.go(&path).await;
                if name.starts_with("emails") {
                    browser
                        .until("the email's preview", "return !!document.querySelector('.template-preview').srcdoc")
                        .await;
                }
                assert!(
                    browser.scroll_width().await <= u64::from(width),
                    "{store}: {name} scrolls sideways at {width} px"
                );
                let problems = browser.accessibility_problems().await;
                assert!(problems.is_empty(), "{store}: {name} at {width} px: axe-core finds {problems:#?}");
                browser.screenshot(&format!("{name}-{width}-{store}")).await;
            }
        }
        let errors = browser.errors().await;
        assert!(errors.is_empty(), "{store}: script errors or failed requests: {errors:#?}");
        browser.stop().await;
        s.stop().await;
    }
}
