//! `POST /api/variants/{id}/plan-preview`: what a change of a variant's plan would do to the
//! dates of the lines waiting now, before it is saved; checked as a save is; nothing written.

use backorder::devshop::Policy;
use serde_json::{Value, json};

use crate::api::{get, token};
use crate::effects::Setup;
use crate::support::{Backend, SHOP, eventually};

fn day(offset: i64) -> String {
    backorder::ledger::eta::format(backorder::ledger::eta::today(None) + time::Duration::days(offset))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_preview_tells_which_waiting_lines_dates_move_and_saves_nothing() {
    let mut s = Setup::start(Backend::Redis, 0, "50", &[]).await;
    s.enrol(json!({"enabled": true, "lead_time_days": 20, "handling_days": 0})).await;
    eventually("the variant to sell on backorder", || async { (s.policy() == Policy::Continue).then_some(()) }).await;
    let orders = [s.order(1).await, s.order(2).await];
    s.settled().await;
    let path = format!("/api/variants/{}/plan-preview", s.variant);
    let post = |body: Value| {
        let (app, path) = (&s.app, &path);
        async move { app.client.post(app.url(path)).bearer_auth(token(SHOP)).json(&body).send().await.unwrap() }
    };

    // One unit coming in 3 days: the first order's date comes earlier, the second's stays.
    let resp = post(json!({"supply": [{"qty": 1, "eta": day(3)}]})).await;
    assert_eq!(resp.status(), 200);
    let effect: Value = resp.json().await.unwrap();
    assert_eq!(
        (effect["lines"].clone(), effect["earlier"].clone(), effect["later"].clone()),
        (json!(2), json!(1), json!(0)),
        "{effect}"
    );
    assert_eq!(effect["changes"][0]["order_id"], orders[0], "{effect}");
    assert_eq!(effect["changes"][0]["from"], day(20));
    assert_eq!(effect["changes"][0]["to"], day(3));
    assert!(effect["changes"][0]["order_name"].as_str().unwrap().starts_with('#'), "{effect}");

    // A longer lead time moves both later.
    let effect: Value = post(json!({"lead_time_days": 30})).await.json().await.unwrap();
    assert_eq!((effect["earlier"].clone(), effect["later"].clone()), (json!(0), json!(2)), "{effect}");

    let resp = post(json!({"supply": [{"qty": 1, "eta": day(-2)}]})).await;
    assert_eq!(resp.status(), 422, "a date that has passed, as a save refuses it");
    assert_eq!(resp.json::<Value>().await.unwrap()["field"], "supply[0].eta");
    let shown: Value =
        get(&s.app, &format!("/api/variants/{}", s.variant), Some(&token(SHOP))).await.json().await.unwrap();
    assert_eq!((shown["supply"].clone(), shown["lead_time_days"].clone()), (json!([]), json!(20)), "nothing saved");
    let other = s.app.client.post(s.app.url("/api/variants/999999/plan-preview")).bearer_auth(token(SHOP));
    assert_eq!(other.json(&json!({})).send().await.unwrap().status(), 404, "a variant not managed");
    s.stop().await;
}
