//! The daily record's days before enrolment (SPEC 10.1), over real HTTP against the dev shop on
//! both stores: one shop-wide bulk read of the order history serves every variant of an
//! enrolment; it reaches back 60 days, or further with `read_all_orders`; a variant is filled
//! once, and its insight starts with that history.

use backorder::devshop::Policy;
use serde_json::{Value, json};

use crate::api::{get, token};
use crate::effects::Setup;
use crate::onboarding::finished;
use crate::support::{Backend, SHOP};

const DAY_MS: i64 = 86_400_000;

/// Orders placed before the app came: one unit of `variant` a day, `days` back (the newest
/// 24 hours ago), and two of `other` every third day. The platform shows the last 60 × 24
/// hours: the order of 60 days ago is just outside by the time it is asked.
fn history(s: &Setup, variant: u64, other: u64, days: i64) {
    s.world(|w| {
        let now = w.clock_ms();
        for d in 1..=days {
            let id = w.place_order(&format!("h{d}@example.com"), &[], &[(variant, 1)]).unwrap();
            w.backdate(id, now - d * DAY_MS).unwrap();
            if d % 3 == 0 {
                let id = w.place_order(&format!("o{d}@example.com"), &[], &[(other, 2)]).unwrap();
                w.backdate(id, now - d * DAY_MS).unwrap();
            }
        }
    });
}

async fn enrol(s: &Setup, ids: &[u64]) {
    let body = json!({"variant_ids": ids, "lead_time_days": 7});
    let resp =
        s.app.client.post(s.app.url("/api/enrolments")).bearer_auth(token(SHOP)).json(&body).send().await.unwrap();
    assert_eq!(resp.status(), 202);
    let job = finished(s, resp.json::<Value>().await.unwrap()["job"].as_u64().unwrap()).await;
    if let Some(onboarding) = job["summary"]["onboarding_job"].as_u64() {
        finished(s, onboarding).await;
    }
}

/// Units ordered over the variant's daily record as the insight reads it, and its days.
async fn ordered(s: &Setup, variant: u64) -> (u64, usize) {
    let books = &s.app.app.state.books;
    let record = books.get(SHOP, backorder::books::key::Variant(variant)).await.unwrap().unwrap();
    let settings = books.get_or_default(SHOP, backorder::books::key::Settings).await.unwrap();
    let standing = backorder::books::daily::standing_of(books, SHOP, variant, &record, &settings).await.unwrap();
    (standing.ordered, standing.demand.len())
}

fn history_reads(s: &Setup) -> usize {
    s.devshop.calls(SHOP).iter().filter(|c| c.operation == "BulkRunQuery" && c.outcome == "ok").count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_days_before_enrolment_come_from_one_shop_wide_read_of_sixty_days_of_orders() {
    for backend in [Backend::Embedded, Backend::Redis] {
        let s = Setup::start_unheard(backend, 500, Policy::Deny, "50", &[], (1000.0, 1000.0), |s| s).await;
        let jacket = s.world(|w| w.add_variant("Rain Jacket", 500, Policy::Deny));
        history(&s, s.variant, jacket, 90);
        enrol(&s, &[s.variant, jacket]).await;
        assert_eq!(history_reads(&s), 1, "one bulk read for both variants");
        // 60 days the platform shows, the last 59 of them before today.
        assert_eq!(ordered(&s, s.variant).await, (59, 59));
        assert_eq!(ordered(&s, jacket).await.0, 2 * 19, "two every third day: days 3 to 57");
        let insight: Value = get(&s.app, &format!("/api/variants/{}/insight", s.variant), Some(&token(SHOP)))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!((insight["history_days"].as_u64(), insight["demand_per_day"].as_f64()), (Some(59), Some(1.0)));
        let state = s.app.app.state.books.get(SHOP, backorder::backfill::BackfillKey).await.unwrap().unwrap();
        assert_eq!((state.variants_filled, state.failed.clone()), (2, None), "{state:?}");

        // Enrolled again (settings changed): filled once, never twice, and no second read.
        enrol(&s, &[s.variant]).await;
        assert_eq!(history_reads(&s), 1);
        assert_eq!(ordered(&s, s.variant).await, (59, 59));
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_read_all_orders_the_history_reaches_past_sixty_days_and_without_it_the_platform_stops_there() {
    for (all_orders, expected) in [(true, 90), (false, 59)] {
        let s = Setup::start_unheard(Backend::Embedded, 500, Policy::Deny, "50", &[], (1000.0, 1000.0), |s| s).await;
        let jacket = s.world(|w| w.add_variant("Rain Jacket", 500, Policy::Deny));
        history(&s, s.variant, jacket, 90);
        // The install asked for read_all_orders; the platform decides what it shows.
        let state = &s.app.app.state;
        let sealer = state.sealer.as_deref().unwrap();
        let mut install = backorder::auth::install::load(&state.books, sealer, SHOP).await.unwrap().unwrap();
        install.scopes = vec!["read_all_orders".into()];
        backorder::auth::install::save(&state.books, sealer, SHOP, &install).await.unwrap();
        if !all_orders {
            let mut granted: Vec<&str> = backorder::auth::scopes::REQUIRED.to_vec();
            granted.extend(backorder::auth::scopes::OPTIONAL);
            s.devshop.set_scopes(SHOP, &granted);
        }
        enrol(&s, &[s.variant]).await;
        assert_eq!(ordered(&s, s.variant).await.0, expected, "read_all_orders granted: {all_orders}");
        s.stop().await;
    }
}
