//! The shop-wide API over real HTTP: the backorder list, previews, and settings, including what
//! a settings change does to the existing books.

use serde_json::{Value, json};

use crate::api::{app_with_a_queue, get, put, token};
use crate::ledger_http::{ITEM, VARIANT, enrol, level, order};
use crate::support::shopify::{Line, Order, level_body, triggered_at};
use crate::support::webhooks::Delivery;
use crate::support::{Backend, SHOP, TestApp, eventually};

const OTHER: &str = "other-shop.myshopify.com";

async fn json_of(app: &TestApp, path: &str, shop: &str) -> Value {
    let resp = get(app, path, Some(&token(shop))).await;
    assert_eq!(resp.status(), 200, "{path}");
    resp.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_backorder_list_holds_every_backordered_line_of_the_shop_and_no_other() {
    let (app, _store) = app_with_a_queue().await;
    let list = json_of(&app, "/api/backorders", SHOP).await;
    assert_eq!(
        list["backorders"],
        json!([
            {"variant_id": VARIANT, "order_id": 2, "order_name": "#1002", "line_item_id": 20, "backordered": 1, "position": 1, "eta": null},
            {"variant_id": VARIANT, "order_id": 3, "order_name": "#1003", "line_item_id": 30, "backordered": 2, "position": 2, "eta": null},
        ])
    );
    assert_eq!(list["backordered_units"], 3);
    let theirs = json_of(&app, "/api/backorders", OTHER).await;
    assert_eq!(theirs["backorders"], json!([]));
    app.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_backorder_list_pages_with_limit_and_cursor_and_the_pages_join_into_the_whole_list() {
    let (app, _store) = app_with_a_queue().await;
    let whole = json_of(&app, "/api/backorders", SHOP).await;
    assert_eq!(whole["next"], Value::Null, "everything fits one default page");
    let mut joined = Vec::new();
    let mut path = "/api/backorders?limit=1".to_string();
    let mut pages = 0;
    loop {
        let page = json_of(&app, &path, SHOP).await;
        pages += 1;
        let lines = page["backorders"].as_array().unwrap();
        assert!(lines.len() <= 1, "a page holds at most `limit` lines");
        joined.extend(lines.iter().cloned());
        match page["next"].as_str() {
            Some(next) => path = format!("/api/backorders?limit=1&cursor={next}"),
            None => break,
        }
        assert!(pages < 10, "the pages end");
    }
    assert_eq!(Value::Array(joined), whole["backorders"], "in order, nothing twice, nothing missed");
    assert_eq!(pages, 2, "the last page says so: no empty page after it");

    for (query, field) in
        [("limit=0", "limit"), ("limit=5001", "limit"), ("limit=x", "limit"), ("cursor=%21%21", "cursor")]
    {
        let resp = get(&app, &format!("/api/backorders?{query}"), Some(&token(SHOP))).await;
        assert_eq!(resp.status(), 422, "{query}");
        assert_eq!(resp.json::<Value>().await.unwrap()["field"], field, "{query}");
    }
    // Another shop's token with this shop's cursor reads only its own (empty) books.
    let cursor = json_of(&app, "/api/backorders?limit=1", SHOP).await["next"].as_str().unwrap().to_string();
    let theirs = json_of(&app, &format!("/api/backorders?cursor={cursor}"), OTHER).await;
    assert_eq!(theirs["backorders"], json!([]));
    app.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preview_names_the_lines_arriving_units_would_fill_and_changes_nothing() {
    let (app, _store) = app_with_a_queue().await;
    let path = format!("/api/variants/{VARIANT}");
    let before = json_of(&app, &path, SHOP).await;

    let two = json_of(&app, &format!("{path}/preview?units=2"), SHOP).await;
    assert_eq!(
        two["fills"],
        json!([
            {"order_id": 2, "order_name": "#1002", "line_item_id": 20, "backordered": 1, "position": 1, "eta": null, "units": 1, "covered": true},
            {"order_id": 3, "order_name": "#1003", "line_item_id": 30, "backordered": 2, "position": 2, "eta": null, "units": 1, "covered": false},
        ])
    );
    assert_eq!((two["still_backordered"].clone(), two["left_in_stock"].clone()), (json!(1), json!(0)));
    let five = json_of(&app, &format!("{path}/preview?units=5"), SHOP).await;
    assert_eq!((five["still_backordered"].clone(), five["left_in_stock"].clone()), (json!(0), json!(2)));

    for bad in ["", "?units=-1", "?units=lots", "?units=99999999999"] {
        let resp = get(&app, &format!("{path}/preview{bad}"), Some(&token(SHOP))).await;
        assert_eq!(resp.status(), 422, "{bad}");
        assert_eq!(resp.json::<Value>().await.unwrap()["field"], "units");
    }
    let other = get(&app, &format!("{path}/preview?units=2"), Some(&token(OTHER))).await;
    assert_eq!(other.status(), 404, "another shop's token previews nothing of this shop");
    assert_eq!(json_of(&app, &path, SHOP).await, before, "a preview changes nothing");
    app.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_answer_the_full_object_and_a_put_changes_only_the_fields_sent() {
    for backend in [Backend::Redis, Backend::Embedded] {
        let (app, _store) = TestApp::spawn(backend, &[]).await;
        let defaults = json_of(&app, "/api/settings", SHOP).await;
        assert_eq!(
            defaults,
            json!({"priority_tags": {}, "counted_locations": null,
                   "tags": {"backordered": "backorder", "ready": "backorder-ready"},
                   "holds": true, "settle_ms": 2000, "eta_change_threshold_days": 3, "reminder_days": null,
                   "alert_threshold_units": 20, "owner_email": null, "templates": {}, "template_failures": {},
                   "rework": null, "timezone": "Etc/UTC", "supply_scope_missing": null, "discount_scope_missing": null,
                   "service_level": 0.95,
                   "consolation": {"enabled": false, "after_days": 21, "slip_days": 7, "kind": "percentage",
                                   "value": 10, "expires_days": 60, "before_install": false}})
        );
        let resp =
            put(&app, "/api/settings", &token(SHOP), json!({"owner_email": "owner@example.com", "settle_ms": 500}))
                .await;
        assert_eq!(resp.status(), 200);
        let shown: Value = resp.json().await.unwrap();
        assert_eq!(
            (shown["owner_email"].clone(), shown["settle_ms"].clone()),
            (json!("owner@example.com"), json!(500))
        );
        assert_eq!(shown["tags"], defaults["tags"]);

        let resp = put(&app, "/api/settings", &token(SHOP), json!({"holds": false, "reminder_days": 0})).await;
        assert_eq!(resp.status(), 422);
        assert_eq!(resp.json::<Value>().await.unwrap()["field"], "reminder_days");
        let now = json_of(&app, "/api/settings", SHOP).await;
        assert_eq!(now["holds"], true, "a refused body changes nothing");
        assert_eq!(json_of(&app, "/api/settings", OTHER).await, defaults, "another shop keeps its own settings");
        app.app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settings_put_of_exactly_what_get_answered_succeeds_and_changes_nothing() {
    for backend in [Backend::Redis, Backend::Embedded] {
        let (app, _store) = TestApp::spawn(backend, &[]).await;
        let body = json!({"owner_email": "owner@example.com", "priority_tags": {"VIP": 10}, "reminder_days": 7});
        assert_eq!(put(&app, "/api/settings", &token(SHOP), body).await.status(), 200);
        let read = json_of(&app, "/api/settings", SHOP).await;
        let resp = put(&app, "/api/settings", &token(SHOP), read.clone()).await;
        assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
        let again = json_of(&app, "/api/settings", SHOP).await;
        assert_eq!(again["owner_email"], read["owner_email"]);
        assert_eq!(again["priority_tags"], read["priority_tags"]);
        assert_eq!(again["reminder_days"], read["reminder_days"]);
        // A rework shown as running is read-only: sent back, it is ignored, not refused.
        let resp =
            put(&app, "/api/settings", &token(SHOP), json!({"rework": {"state": "running", "done": 1, "total": 2}}))
                .await;
        assert_eq!(resp.status(), 200);
        let resp = put(&app, "/api/settings", &token(SHOP), json!({"colour": "red"})).await;
        assert_eq!(resp.status(), 422);
        assert_eq!(resp.json::<Value>().await.unwrap()["field"], "colour", "an unknown field is still named");
        app.app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_or_malformed_api_bodies_get_a_clear_4xx_and_change_nothing() {
    let (app, _store) = TestApp::spawn(Backend::Embedded, &[]).await;
    let before = json_of(&app, "/api/settings", SHOP).await;
    let huge = json!({"owner_email": "x".repeat(1024 * 1024 + 1)});
    let resp = put(&app, "/api/settings", &token(SHOP), huge).await;
    assert_eq!(resp.status(), 413);
    assert!(resp.json::<Value>().await.unwrap()["error"].as_str().unwrap().contains("at most"));

    let resp = app
        .client
        .put(app.url("/api/settings"))
        .bearer_auth(token(SHOP))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    assert_eq!(resp.json::<Value>().await.unwrap()["field"], "body");

    let big_plan = json!({"supply": vec![json!({"qty": 1, "eta": "2027-01-01"}); 5000]});
    assert_eq!(put(&app, "/api/variants/9", &token(SHOP), big_plan).await.status(), 413);
    assert_eq!(json_of(&app, "/api/settings", SHOP).await, before, "nothing changed");
    assert_eq!(get(&app, "/api/variants/9", Some(&token(SHOP))).await.status(), 404, "nothing enrolled");
    app.app.stop().await;
}

fn customer_order(id: u64, qty: u32, at: i64, tags: &[&str]) -> Delivery {
    let order = Order {
        id,
        created_at: at,
        updated_at: at,
        tags: tags.iter().map(|t| t.to_string()).collect(),
        cancelled: false,
        lines: vec![Line { line_id: id * 10, variant_id: VARIANT, quantity: qty, fulfillable: qty, ..Line::default() }],
    };
    let mut d = Delivery::new("orders/create", order.body());
    d.triggered_at = Some(triggered_at(at, 0));
    d
}

async fn backordered_orders(app: &TestApp) -> Vec<u64> {
    let shown = json_of(app, &format!("/api/variants/{VARIANT}"), SHOP).await;
    shown["queue"].as_array().unwrap().iter().map(|q| q["order_id"].as_u64().unwrap()).collect()
}

/// The variant enrolled with 2 in stock and three orders of 1: the last is a VIP's, but no
/// priority map says so yet, so it is the one that waits.
async fn three_orders_the_last_a_vips(app: &TestApp) {
    enrol(app).await;
    for d in [
        customer_order(1, 1, 10, &[]),
        customer_order(2, 1, 20, &[]),
        customer_order(3, 1, 30, &["VIP"]),
        level(-1, 30),
    ] {
        assert_eq!(app.deliver(&d).await.status(), 200);
    }
    app.drained().await;
    assert_eq!(backordered_orders(app).await, [3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_priority_map_moves_waiting_vip_orders_ahead_of_earlier_ones() {
    for backend in [Backend::Redis, Backend::Embedded] {
        let (app, _store) = TestApp::spawn(backend, &[]).await;
        three_orders_the_last_a_vips(&app).await;

        let resp = put(&app, "/api/settings", &token(SHOP), json!({"priority_tags": {"VIP": 10}})).await;
        assert_eq!(resp.status(), 200);
        eventually("the VIP order to move ahead", || async { (backordered_orders(&app).await == [2]).then_some(()) })
            .await;
        eventually("the rework to finish", || async {
            json_of(&app, "/api/settings", SHOP).await["rework"].is_null().then_some(())
        })
        .await;
        app.app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counting_fewer_locations_recounts_the_stock_of_every_managed_variant() {
    let (app, _store) = TestApp::spawn(Backend::Embedded, &[]).await;
    enrol(&app).await;
    let mut second = Delivery::new("inventory_levels/update", level_body(ITEM, 2, 5, 40));
    second.triggered_at = Some(triggered_at(40, 2));
    for d in [order(1, 2, 10), level(-2, 10), second] {
        assert_eq!(app.deliver(&d).await.status(), 200);
    }
    app.drained().await;
    let path = format!("/api/variants/{VARIANT}");
    assert_eq!(json_of(&app, &path, SHOP).await["available"], 3, "both locations count by default");

    let resp = put(&app, "/api/settings", &token(SHOP), json!({"counted_locations": [1]})).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["counted_locations"], json!([1]));
    let shown = eventually("the stock to be recounted", || async {
        let shown = json_of(&app, &path, SHOP).await;
        (shown["available"] == -2).then_some(shown)
    })
    .await;
    assert_eq!(shown["backordered_units"], 2);
    assert_eq!(backordered_orders(&app).await, [1]);
    app.app.stop().await;
}

/// A rework cut short (here: never started, as after a crash right behind the settings change)
/// is taken up by the shop's next drift pass, as a job with progress, with nobody opening the
/// settings.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rework_cut_short_finishes_as_a_job_at_the_next_drift_pass_without_anyone_looking() {
    use backorder::books::{Change, key};
    use backorder::shop::PendingRework;
    for backend in [Backend::Redis, Backend::Embedded] {
        // The pass's platform part is refused at once (nothing listens there); the rework is
        // local and does not wait for it.
        let overrides = [
            ("BACKORDER__RECONCILE__INTERVAL_SECS", "1"),
            ("BACKORDER__SHOPIFY__ADMIN_BASE_URL", "http://127.0.0.1:9/shops/{shop}"),
        ];
        let (app, _store) = TestApp::spawn(backend, &overrides).await;
        three_orders_the_last_a_vips(&app).await;
        let state = &app.app.state;
        let sealer = state.sealer.as_deref().unwrap();
        let install = backorder::auth::install::Install {
            access_token: backorder::secret::Secret::new("shpat_test"),
            refresh_token: None,
            expires_at_ms: None,
            scopes: vec![],
            installed_at_ms: 0,
        };
        backorder::auth::install::save(&state.books, sealer, SHOP, &install).await.unwrap();
        // The new map is stored and its rework pending, but nothing runs it.
        let mut rules = state.books.get_or_default(SHOP, key::Rules).await.unwrap();
        rules.priority_tags = [("VIP".to_string(), 10)].into();
        let mut settings = state.books.get_or_default(SHOP, key::Settings).await.unwrap();
        settings.rules_revision += 1;
        settings.rework =
            Some(PendingRework { revision: settings.rules_revision, rekey: true, recount: false, job: None });
        let change = Change::unchecked().put(key::Rules, &rules).put(key::Settings, &settings);
        assert!(state.books.commit(SHOP, change).await.unwrap());

        eventually("the VIP order to move ahead", || async { (backordered_orders(&app).await == [2]).then_some(()) })
            .await;
        let job = eventually("the rework job to finish", || async {
            let ids = state.books.get_or_default(SHOP, backorder::sync::jobs::JobsKey).await.ok()?;
            for id in ids {
                let shown: Value = get(&app, &format!("/api/jobs/{id}"), Some(&token(SHOP))).await.json().await.ok()?;
                if shown["kind"] == "rework" && shown["state"] == "done" {
                    return Some(shown);
                }
            }
            None
        })
        .await;
        assert_eq!(job["done"], job["total"], "{job}");
        assert_eq!(job["summary"]["changed"].as_u64().map(|c| c > 0), Some(true), "{job}");
        assert!(state.books.get_or_default(SHOP, key::Settings).await.unwrap().rework.is_none());
        app.app.stop().await;
    }
}
