//! The dates a customer sees are days of the shop's calendar (SPEC 6): `shop.ianaTimezone`, read
//! from the platform at enrolment and again by every reconcile, not the server's UTC.

use backorder::devshop::Policy;
use serde_json::{Value, json};

use crate::api::{get, put, token};
use crate::effects::Setup;
use crate::proxy::{ask, proxied};
use crate::support::{Backend, SECRET, SHOP, eventually};

const LEAD_DAYS: i64 = 7;

/// Today in `zone` plus the lead time, worked out here with the time zone database, not by the
/// service's code.
fn lead_time_eta(zone: &str) -> String {
    let now = jiff::Timestamp::now();
    let day = jiff::tz::TimeZone::get(zone).expect("a known zone").to_datetime(now).date();
    let month = time::Month::try_from(day.month() as u8).unwrap();
    let day = time::Date::from_calendar_date(i32::from(day.year()), month, day.day() as u8).unwrap();
    (day + time::Duration::days(LEAD_DAYS)).to_string()
}

/// The ETA a new order would get, as the API, the storefront and (once the effects settled) the
/// metafield show it, with the expected dates worked out just before and just after (a midnight
/// may pass in between).
async fn shown_etas(s: &Setup, zone: &str) -> (Value, Vec<String>) {
    let before = lead_time_eta(zone);
    let api: Value =
        get(&s.app, &format!("/api/variants/{}", s.variant), Some(&token(SHOP))).await.json().await.unwrap();
    let (code, storefront) = ask(s, &proxied(SECRET, s.variant)).await;
    assert_eq!(code, 200);
    assert_eq!(storefront["status"], "backorder");
    assert_eq!(api["eta"], storefront["eta"], "the API and the storefront agree");
    (api["eta"].clone(), vec![before, lead_time_eta(zone)])
}

async fn metafield(s: &Setup, eta: &Value) {
    let want = eta.as_str().expect("a date").to_string();
    eventually("the metafield to carry the shop's date", || async {
        let key = ("$app".to_string(), "backorder_eta".to_string());
        let got = s.world(|w| w.variants[&s.variant].metafields.get(&key).map(|(_, v)| v.clone()));
        (got.as_deref() == Some(want.as_str())).then_some(())
    })
    .await;
}

async fn reconcile(s: &Setup) {
    let resp = s.app.client.post(s.app.url("/api/reconcile")).bearer_auth(token(SHOP)).send().await.unwrap();
    assert_eq!(resp.status(), 202);
    let job = resp.json::<Value>().await.unwrap()["job"].as_u64().expect("a job");
    crate::onboarding::finished(s, job).await;
}

/// A shop in `zone` whose variant, out of stock, is enrolled with a lead time and no supply.
async fn enrolled_in(backend: Backend, zone: &str) -> Setup {
    let s = Setup::start_unheard(backend, 0, Policy::Deny, "50", &[], (1000.0, 1000.0), |s| s).await;
    s.world(|w| w.timezone = zone.into());
    let body = json!({"enabled": true, "lead_time_days": LEAD_DAYS});
    let resp = put(&s.app, &format!("/api/variants/{}", s.variant), &token(SHOP), body).await;
    assert_eq!(resp.status(), 200);
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eta_dates_of_a_shop_in_auckland_are_that_shops_calendar_days() {
    for backend in [Backend::Embedded, Backend::Redis] {
        let s = enrolled_in(backend, "Pacific/Auckland").await;
        let settings: Value = get(&s.app, "/api/settings", Some(&token(SHOP))).await.json().await.unwrap();
        assert_eq!(settings["timezone"], "Pacific/Auckland", "read from the platform at enrolment");

        let (eta, expected) = shown_etas(&s, "Pacific/Auckland").await;
        assert!(expected.iter().any(|d| eta == d.as_str()), "{eta} is Auckland's today + {LEAD_DAYS}: {expected:?}");
        metafield(&s, &eta).await;
        s.stop().await;
    }
}

/// Kiritimati (UTC+14) and Pago Pago (UTC−11) are 25 hours apart: at any instant their calendar
/// days differ, so the dates tell which zone the service counted in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_moves_to_another_time_zone_gets_its_new_calendars_dates_after_a_reconcile() {
    for backend in [Backend::Embedded, Backend::Redis] {
        let s = enrolled_in(backend, "Pacific/Kiritimati").await;
        let (east, expected) = shown_etas(&s, "Pacific/Kiritimati").await;
        assert!(expected.iter().any(|d| east == d.as_str()), "{east}: {expected:?}");
        metafield(&s, &east).await;

        s.world(|w| w.timezone = "Pacific/Pago_Pago".into());
        reconcile(&s).await;
        let (west, expected) = shown_etas(&s, "Pacific/Pago_Pago").await;
        assert!(expected.iter().any(|d| west == d.as_str()), "{west}: {expected:?}");
        assert_ne!(east, west, "a day apart at least");
        metafield(&s, &west).await;
        s.stop().await;
    }
}
