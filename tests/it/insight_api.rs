//! `GET /api/variants/{id}/insight` over real HTTP (SPEC 10.1): a variant with a year of history
//! built through the ledger (order webhooks dated over the year), its demand and reorder advice.

use serde_json::{Value, json};

use crate::api::{get, put, token};
use crate::effects::{Setup, exact};
use crate::support::shopify::{Line, Order, since_base};
use crate::support::webhooks::Delivery;
use crate::support::{Backend, SHOP};

const DAY_MS: i64 = 24 * 3600 * 1000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_variant_with_a_year_of_history_gets_its_demand_and_reorder_advice() {
    for backend in [Backend::Redis, Backend::Embedded] {
        let s = Setup::start(backend, 40, "50", &[]).await;
        s.enrol(json!({"enabled": true, "lead_time_days": 14})).await;
        let ordered = a_year_of_orders(&s).await;
        s.app.drained().await;
        assert_eq!(put(&s.app, "/api/settings", &token(SHOP), json!({"service_level": 0.9})).await.status(), 200);

        let path = format!("/api/variants/{}/insight", s.variant);
        let resp = get(&s.app, &path, Some(&token(SHOP))).await;
        assert_eq!(resp.status(), 200);
        let insight: Value = resp.json().await.unwrap();
        assert_eq!(insight["variant_id"], s.variant);
        assert!(insight["history_days"].as_u64().unwrap() >= 364, "{insight}");
        let rate = insight["demand_per_day"].as_f64().unwrap();
        assert!((1.5..=2.5).contains(&rate), "about 2 a day: {insight}");
        assert_eq!((insight["lead_time_days"].clone(), insight["service_level"].clone()), (json!(14), json!(0.9)));
        let (safety, reorder) = (insight["safety_stock"].as_u64().unwrap(), insight["reorder_point"].as_u64().unwrap());
        assert!(safety > 0 && reorder >= (rate * 14.0) as u64 + safety - 1, "{insight}");
        assert_eq!(insight["cancel_rate"], 0.0);
        assert_eq!(insight["backordered_units"], 0);
        assert!(["ses", "croston", "sba", "tsb", "adida"].contains(&insight["method"].as_str().unwrap()));
        assert!(ordered > 700);

        // Another shop's token cannot read it; an unmanaged variant is 404.
        let other = get(&s.app, &path, Some(&token("other-shop.myshopify.com"))).await;
        assert_eq!(other.status(), 404);
        assert_eq!(get(&s.app, "/api/variants/999999999/insight", Some(&token(SHOP))).await.status(), 404);
        // A service level out of range is refused naming the field, and nothing changes.
        let bad = put(&s.app, "/api/settings", &token(SHOP), json!({"service_level": 1.5})).await;
        assert_eq!(bad.status(), 422);
        let settings: Value = get(&s.app, "/api/settings", Some(&token(SHOP))).await.json().await.unwrap();
        assert_eq!(settings["service_level"], 0.9);
        s.stop().await;
    }
}

/// Gives the enrolled variant of `s` a year of history through the ledger: enrolled a year ago
/// (its daily record starts then), and order webhooks dated over the year, shipped, 1, 2 or 3
/// units a day in turn (2 a day on average), at noon. The units ordered.
pub async fn a_year_of_orders(s: &Setup) -> u32 {
    // Enrolled a year ago: its daily record starts then.
    let now = backorder::store::now_ms() as i64;
    let year_ago = now - 365 * DAY_MS;
    s.app
        .app
        .state
        .books
        .update(SHOP, backorder::books::key::Variant(s.variant), |r| {
            let mut r = r.expect("enrolled");
            r.daily_since_ms = Some(year_ago);
            backorder::books::Edit::put(r, ())
        })
        .await
        .unwrap();
    // A year of orders, shipped: 1, 2 or 3 units a day, in turn (2 a day on average), at noon.
    let mut ordered = 0u32;
    for day in 0..365i64 {
        let at = year_ago - year_ago.rem_euclid(DAY_MS) + day * DAY_MS + DAY_MS / 2;
        if at >= now - DAY_MS {
            continue;
        }
        let qty = 1 + (day % 3) as u32;
        ordered += qty;
        let id = 500_000 + day as u64;
        let order = Order {
            id,
            created_at: since_base(at),
            updated_at: since_base(at),
            tags: vec![],
            cancelled: false,
            lines: vec![Line {
                line_id: id * 10,
                variant_id: s.variant,
                quantity: qty,
                fulfillable: 0,
                ..Line::default()
            }],
        };
        let mut d = Delivery::new("orders/create", order.body());
        d.triggered_at = Some(exact(at));
        assert_eq!(s.app.deliver(&d).await.status(), 200);
    }
    s.app.drained().await;
    ordered
}

/// SPEC 10.1: with a year of history, the owner's reorder alert fires when the inventory
/// position falls to the reorder point (not at the fixed threshold), once, however many more
/// orders come.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reorder_alert_fires_once_when_the_inventory_position_falls_to_the_reorder_point() {
    let sink = crate::support::smtp::SmtpSink::start();
    let smtp = sink.url();
    let mut s = Setup::start(Backend::Embedded, 45, "50", &[("BACKORDER__EMAIL__SMTP_URL", smtp.as_str())]).await;
    s.enrol(json!({"enabled": true, "lead_time_days": 14})).await;
    a_year_of_orders(&s).await;
    let body = json!({"owner_email": "owner@example.com", "alert_threshold_units": 1000});
    assert_eq!(put(&s.app, "/api/settings", &token(SHOP), body).await.status(), 200);
    let insight: Value =
        get(&s.app, &format!("/api/variants/{}/insight", s.variant), Some(&token(SHOP))).await.json().await.unwrap();
    let point = insight["reorder_point"].as_i64().unwrap();
    assert!(point < 45, "45 in stock is above the point: {insight}");
    let alerts = || sink.messages().into_iter().filter(|m| m.rcpt_tos == ["owner@example.com"]).count();

    // Orders of 3 now: no alert while the position stays above the point.
    let mut available = 45i64;
    while available - 3 > point {
        s.order(3).await;
        available -= 3;
    }
    s.settled().await;
    assert_eq!(alerts(), 0, "above the reorder point ({point}) at {available}");
    // The order that takes it to the point: one alert, naming the point.
    s.order(3).await;
    let mail = crate::support::eventually("the reorder alert", || async {
        let found: Vec<_> = sink.messages().into_iter().filter(|m| m.rcpt_tos == ["owner@example.com"]).collect();
        (!found.is_empty()).then_some(found)
    })
    .await;
    let text = mail[0].text.as_deref().unwrap_or_default();
    assert!(text.contains(&format!("reorder point of {point} units")), "{text}");
    // More orders, still below the point: no second alert.
    s.order(3).await;
    s.order(3).await;
    s.settled().await;
    assert_eq!(alerts(), 1, "told once");
    s.stop().await;
}

/// SPEC 10.1: `GET /api/insight` ranks the managed variants and their product options by units
/// waiting and by demand, the options read from the platform at enrolment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_board_ranks_variants_and_their_options_by_units_waiting_and_by_demand() {
    for backend in [Backend::Embedded, Backend::Redis] {
        let s = Setup::start(backend, 0, "50", &[]).await;
        let tees = four_tees(&s).await;
        s.app.drained().await;
        let board: Value = get(&s.app, "/api/insight", Some(&token(SHOP))).await.json().await.unwrap();
        let options: Vec<(String, String, u64, u64)> = board["options"]["by_backordered"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                (
                    o["option"].as_str().unwrap().into(),
                    o["value"].as_str().unwrap().into(),
                    o["backordered_units"].as_u64().unwrap(),
                    o["demand_7"].as_u64().unwrap(),
                )
            })
            .collect();
        let expected: Vec<(String, String, u64, u64)> =
            [("Color", "Red", 5, 5), ("Size", "S", 4, 4), ("Size", "M", 2, 2), ("Color", "Blue", 1, 1)]
                .iter()
                .map(|(o, v, b, d)| (o.to_string(), v.to_string(), *b, *d))
                .collect();
        assert_eq!(options, expected, "{board}");
        let first = &board["variants"]["by_demand"][0];
        assert_eq!((first["variant_id"].as_u64(), first["demand_30"].as_u64()), (Some(tees[0]), Some(3)), "{board}");
        assert_eq!(board["variants"]["by_backordered"].as_array().unwrap().len(), 4, "the four managed tees");
        // Another shop's token sees none of it.
        let other: Value =
            get(&s.app, "/api/insight", Some(&token("other-shop.myshopify.com"))).await.json().await.unwrap();
        assert_eq!(other["variants"]["by_backordered"], json!([]));
        s.stop().await;
    }
}

/// Four managed tees of one product in two colours and two sizes, out of stock, with 3 units of
/// Red S ordered, 2 of Red M and 1 of Blue S (delivered as the dev shop's webhooks). Their ids.
pub async fn four_tees(s: &Setup) -> Vec<u64> {
    use backorder::devshop::world::{Ids, MAIN_LOCATION};
    // A tee in two colours and two sizes, out of stock.
    let tees: Vec<u64> = s.world(|w| {
        let product = w.next_id();
        [("Red", "S"), ("Red", "M"), ("Blue", "S"), ("Blue", "M")]
            .iter()
            .map(|(colour, size)| {
                let ids = Ids { variant: w.next_id(), product, item: w.next_id() };
                let v =
                    w.add_variant_as(ids, &format!("Tee - {colour} / {size}"), 0, backorder::devshop::Policy::Continue);
                w.variants.get_mut(&v).unwrap().options =
                    vec![("Color".into(), colour.to_string()), ("Size".into(), size.to_string())];
                v
            })
            .collect()
    });
    for v in &tees {
        assert_eq!(
            put(&s.app, &format!("/api/variants/{v}"), &token(SHOP), json!({"enabled": true})).await.status(),
            200
        );
    }
    // Red S: 3 units, Red M: 2, Blue S: 1, Blue M: none.
    for (v, qty) in tees.iter().zip([3u32, 2, 1]) {
        let order = s.world(|w| w.place_order("buyer@example.com", &[], &[(*v, qty)]).unwrap());
        let body = s.world(|w| backorder::devshop::payloads::order(w, order).unwrap());
        assert_eq!(s.app.deliver(&Delivery::new("orders/create", body)).await.status(), 200);
        let (item, level) = s.world(|w| {
            let item = w.variants[v].inventory_item_id;
            (item, w.levels[&(item, MAIN_LOCATION)])
        });
        let mut d =
            Delivery::new("inventory_levels/update", backorder::devshop::payloads::level(item, MAIN_LOCATION, &level));
        d.triggered_at = Some(exact(level.updated_at_ms));
        assert_eq!(s.app.deliver(&d).await.status(), 200);
    }
    s.app.drained().await;
    tees
}

/// SPEC 10.1: the weekly digest lists the variants to reorder now, with the quantity and the
/// date the insight endpoint advises.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_weekly_digest_lists_the_variants_to_reorder_now_with_the_advised_quantity() {
    let sink = crate::support::smtp::SmtpSink::start();
    let smtp = sink.url();
    let s = Setup::start(Backend::Redis, 0, "50", &[("BACKORDER__EMAIL__SMTP_URL", smtp.as_str())]).await;
    s.enrol(json!({"enabled": true, "lead_time_days": 14})).await;
    a_year_of_orders(&s).await;
    assert_eq!(
        put(&s.app, "/api/settings", &token(SHOP), json!({"owner_email": "owner@example.com"})).await.status(),
        200
    );
    let insight: Value =
        get(&s.app, &format!("/api/variants/{}/insight", s.variant), Some(&token(SHOP))).await.json().await.unwrap();
    // The digest's week is up.
    let state = &s.app.app.state;
    state
        .books
        .update(SHOP, backorder::notify::owner::ScheduleKey, |schedule| {
            let mut schedule = schedule.unwrap_or_default();
            schedule.next_digest_ms = 1;
            backorder::books::Edit::put(schedule, ())
        })
        .await
        .unwrap();
    let settings = state.books.get_or_default(SHOP, backorder::books::key::Settings).await.unwrap();
    backorder::notify::owner::run_due(state, SHOP, &settings).await.unwrap();
    let digest = crate::support::eventually("the digest", || async {
        sink.messages().into_iter().find(|m| m.subject.as_deref().is_some_and(|s| s.starts_with("Backorder digest")))
    })
    .await;
    let text = digest.text.as_deref().unwrap_or_default();
    let line = format!(
        "(variant {}): order {} units, by {}",
        s.variant,
        insight["suggested_order_qty"],
        insight["order_by"].as_str().unwrap()
    );
    assert!(text.contains("Reorder now") && text.contains(&line), "{line}\n{text}");
    s.stop().await;
}
