//! Enrolment starts from the store's truth (SPEC 9): the levels, the policy and the open orders
//! the platform already has, read through the dev shop over real HTTP, with no webhook sent.

use std::collections::BTreeMap;

use backorder::devshop::Policy;
use backorder::effects::people::{ByPeopleKey, What};
use serde_json::{Value, json};

use crate::api::{get, put, token};
use crate::effects::Setup;
use crate::proxy::{ask, proxied};
use crate::support::smtp::SmtpSink;
use crate::support::{Backend, SECRET, SHOP, eventually};

async fn start(backend: Backend, stock: i64, policy: Policy, overrides: &[(&str, &str)]) -> Setup {
    Setup::start_unheard(backend, stock, policy, "100", overrides, (1000.0, 1000.0), |s| s).await
}

async fn enrol(s: &Setup, body: Value) -> Value {
    let resp = put(&s.app, &format!("/api/variants/{}", s.variant), &token(SHOP), body).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

/// Waits for the job to end and answers it; it must have succeeded.
pub async fn finished(s: &Setup, job: u64) -> Value {
    let job = eventually("the job to end", || async {
        let shown: Value = get(&s.app, &format!("/api/jobs/{job}"), Some(&token(SHOP))).await.json().await.ok()?;
        (shown["state"] != "running").then_some(shown)
    })
    .await;
    assert_eq!(job["state"], "done", "{job}");
    job
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_variant_in_stock_enrolled_before_any_webhook_shows_in_stock_and_sells_on() {
    for backend in [Backend::Embedded, Backend::Redis] {
        let s = start(backend, 5, Policy::Deny, &[]).await;
        assert_eq!(ask(&s, &proxied(SECRET, s.variant)).await.0, 404, "not managed: no badge");

        let shown = enrol(&s, json!({"enabled": true, "lead_time_days": 10})).await;
        assert_eq!((shown["available"].clone(), shown["backordered_units"].clone()), (json!(5), json!(0)));
        // Read before the PUT answered: no wait here.
        let (code, body) = ask(&s, &proxied(SECRET, s.variant)).await;
        assert_eq!((code, body), (200, json!({"status": "in_stock", "eta": null, "message": "In stock"})));

        eventually("the platform to sell on backorder", || async { (s.policy() == Policy::Continue).then_some(()) })
            .await;
        s.settled().await;
        let today = time::OffsetDateTime::now_utc().date().to_string();
        let metafield = s.world(|w| {
            w.variants[&s.variant].metafields.get(&("$app".into(), "backorder_eta".into())).map(|(_, v)| v.clone())
        });
        assert!(metafield.as_ref().is_none_or(|d| *d >= today), "no date in the past: {metafield:?}");
        finished(&s, shown["onboarding"]["job"].as_u64().expect("an onboarding job")).await;
        s.stop().await;
    }
}

/// A variant at 2 with 5 orders of 1 unit placed before the app was installed: 3 units wait.
async fn five_orders_before_install(backend: Backend, sink: &SmtpSink) -> (Setup, Vec<u64>) {
    let smtp = sink.url();
    let s = start(backend, 2, Policy::Continue, &[("BACKORDER__EMAIL__SMTP_URL", smtp.as_str())]).await;
    let variant = s.variant;
    let orders: Vec<u64> = (0..5)
        .map(|i| s.world(|w| w.place_order(&format!("early{i}@example.com"), &[], &[(variant, 1)]).unwrap()))
        .collect();
    // Installed after them, by the shop's own clock (which may run a little ahead of ours).
    let installed = s.world(|w| w.tick()) + 1;
    s.installed_at(installed).await;
    assert_eq!(s.world(|w| w.available(variant)), -3);
    (s, orders)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_open_before_install_are_booked_at_enrolment_and_the_newest_three_units_wait() {
    for backend in [Backend::Redis, Backend::Embedded] {
        let sink = SmtpSink::start();
        let (s, orders) = five_orders_before_install(backend, &sink).await;
        let shown = enrol(&s, json!({"enabled": true, "lead_time_days": 10})).await;
        let job = finished(&s, shown["onboarding"]["job"].as_u64().unwrap()).await;
        assert_eq!(job["summary"]["added"], 5, "{job}");

        let shown: Value =
            get(&s.app, &format!("/api/variants/{}", s.variant), Some(&token(SHOP))).await.json().await.unwrap();
        let waiting: Vec<u64> =
            shown["queue"].as_array().unwrap().iter().map(|q| q["order_id"].as_u64().unwrap()).collect();
        assert_eq!(waiting, orders[2..], "the newest three wait, in fill order");
        assert_eq!(shown["unattributed_units"], 0);

        s.settled().await;
        for (i, order) in orders.iter().enumerate() {
            let waits = i >= 2;
            assert_eq!(s.tags(*order), if waits { vec!["backorder".to_string()] } else { vec![] }, "order {i}");
            let line = s.world(|w| w.orders[order].lines[0].id);
            let holds = if waits { vec![BTreeMap::from([(line, 1)])] } else { vec![] };
            assert_eq!(s.holds(*order), holds, "order {i}");
        }
        assert!(sink.messages().is_empty(), "placed before install: by default nobody is emailed");
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_who_chooses_to_email_earlier_orders_sends_each_waiting_one_backordered_email() {
    let sink = SmtpSink::start();
    let (s, orders) = five_orders_before_install(Backend::Embedded, &sink).await;
    let body = json!({"enabled": true, "lead_time_days": 10, "existing_orders": {"email": "all"}});
    let shown = enrol(&s, body).await;
    finished(&s, shown["onboarding"]["job"].as_u64().unwrap()).await;
    let mail = eventually("three backordered emails", || async {
        let mail = sink.messages();
        (mail.len() >= 3).then_some(mail)
    })
    .await;
    s.settled().await;
    let mut told: Vec<u64> = mail.iter().filter(|m| m.kind() == "backordered").map(|m| m.order_id()).collect();
    told.sort();
    assert_eq!((told, sink.messages().len()), (orders[2..].to_vec(), 3), "one each, to those who wait");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_who_chooses_no_tags_or_holds_for_earlier_orders_gets_none_on_them() {
    let sink = SmtpSink::start();
    let (s, orders) = five_orders_before_install(Backend::Redis, &sink).await;
    let body = json!({"enabled": true, "existing_orders": {"tag": false, "hold": false, "email": "none"}});
    let shown = enrol(&s, body).await;
    finished(&s, shown["onboarding"]["job"].as_u64().unwrap()).await;
    s.settled().await;
    for order in &orders {
        assert!(s.tags(*order).is_empty() && s.holds(*order).is_empty(), "order {order} is left alone");
    }
    assert!(sink.messages().is_empty());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enrolment_with_a_bad_existing_orders_choice_is_refused_naming_it_and_enrols_nothing() {
    let s = start(Backend::Embedded, 1, Policy::Deny, &[]).await;
    let path = format!("/api/variants/{}", s.variant);
    for (body, field) in [
        (json!({"existing_orders": {"email": "sometimes"}}), "existing_orders.email"),
        (json!({"existing_orders": {"tag": "yes"}}), "existing_orders.tag"),
        (json!({"existing_orders": {"colour": true}}), "existing_orders.colour"),
        (json!({"existing_orders": []}), "existing_orders"),
    ] {
        let resp = put(&s.app, &path, &token(SHOP), body).await;
        assert_eq!(resp.status(), 422);
        let err: Value = resp.json().await.unwrap();
        assert_eq!(err["field"], field, "{err}");
    }
    assert_eq!(get(&s.app, &path, Some(&token(SHOP))).await.status(), 404, "nothing enrolled");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_of_one_shop_is_not_found_by_another() {
    let (s, _) = five_orders_before_install(Backend::Embedded, &SmtpSink::start()).await;
    let shown = enrol(&s, json!({"enabled": true})).await;
    let job = shown["onboarding"]["job"].as_u64().unwrap();
    let other = get(&s.app, &format!("/api/jobs/{job}"), Some(&token("other-shop.myshopify.com"))).await;
    assert_eq!(other.status(), 404);
    finished(&s, job).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unenrolling_gives_back_the_policy_and_takes_off_our_date_tags_and_holds() {
    for backend in [Backend::Embedded, Backend::Redis] {
        let mut s = Setup::start(backend, 1, "100", &[]).await;
        s.enrol(json!({"enabled": true, "lead_time_days": 10})).await;
        eventually("selling on backorder", || async { (s.policy() == Policy::Continue).then_some(()) }).await;
        let orders = [s.order(1).await, s.order(1).await, s.order(1).await];
        s.settled().await;
        assert_eq!(s.tags(orders[2]), ["backorder"]);
        let date = ("$app".to_string(), "backorder_eta".to_string());
        assert!(s.world(|w| w.variants[&s.variant].metafields.contains_key(&date)), "our date is set");

        let path = format!("/api/variants/{}", s.variant);
        let resp = reqwest::Client::new().delete(s.app.url(&path)).bearer_auth(token(SHOP)).send().await.unwrap();
        assert_eq!(resp.status(), 202);
        let job: Value = resp.json().await.unwrap();
        assert_eq!(get(&s.app, &path, Some(&token(SHOP))).await.status(), 404, "no longer managed");
        finished(&s, job["job"].as_u64().unwrap()).await;
        s.settled().await;

        assert_eq!(s.policy(), Policy::Deny, "the policy it had before enrolment");
        assert!(!s.world(|w| w.variants[&s.variant].metafields.contains_key(&date)), "our date is gone");
        for order in orders {
            assert!(s.tags(order).is_empty() && s.holds(order).is_empty(), "order {order} is given back");
        }
        assert_eq!(ask(&s, &proxied(SECRET, s.variant)).await.0, 404, "no badge");
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_onboarding_preview_shows_which_earlier_orders_would_wait_and_what_each_would_get() {
    let (s, orders) = five_orders_before_install(Backend::Embedded, &SmtpSink::start()).await;
    let path = format!("/api/variants/{}/onboarding-preview", s.variant);
    let resp = get(&s.app, &path, Some(&token(SHOP))).await;
    assert_eq!(resp.status(), 200);
    let preview: Value = resp.json().await.unwrap();
    assert_eq!((preview["available"].clone(), preview["backordered_units"].clone()), (json!(-3), json!(3)));
    assert_eq!(preview["open_orders"], 5);
    let waiting: Vec<u64> =
        preview["orders"].as_array().unwrap().iter().map(|o| o["order_id"].as_u64().unwrap()).collect();
    assert_eq!(waiting, orders[2..]);
    let first = &preview["orders"][0];
    assert_eq!(
        (first["tag"].clone(), first["hold"].clone(), first["email"].clone()),
        (json!(true), json!(true), json!(false))
    );
    let shown = get(&s.app, &format!("/api/variants/{}", s.variant), Some(&token(SHOP))).await;
    assert_eq!(shown.status(), 404, "a preview enrols nothing");
    s.stop().await;
}

/// People win over the app (SPEC 9): a hold a person released is not put back by the passes that
/// follow (an ETA moved, a reconcile), while the line waits as it did.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hold_released_by_hand_on_one_order_is_not_re_applied_by_the_next_passes() {
    for backend in [Backend::Redis, Backend::Embedded] {
        let sink = SmtpSink::start();
        let (mut s, orders) = five_orders_before_install(backend, &sink).await;
        let shown = enrol(&s, json!({"enabled": true, "lead_time_days": 10})).await;
        finished(&s, shown["onboarding"]["job"].as_u64().unwrap()).await;
        s.settled().await;
        assert_eq!(s.holds(orders[3]).len(), 1, "held at first");
        let holds_placed = s.calls("FulfillmentOrderHold");

        s.world(|w| w.release_holds_by_hand(orders[3])).unwrap();
        // Passes over every waiting order: a supply plan moves their ETAs, then a full reconcile.
        enrol(&s, json!({"supply": [{"qty": 2, "eta": "2027-03-01"}]})).await;
        s.settled().await;
        let resp = s.app.client.post(s.app.url("/api/reconcile")).bearer_auth(token(SHOP)).send().await.unwrap();
        assert_eq!(resp.status(), 202);
        finished(&s, resp.json::<Value>().await.unwrap()["job"].as_u64().unwrap()).await;
        s.settled().await;

        assert!(s.holds(orders[3]).is_empty(), "the person's release stands");
        assert_eq!(s.tags(orders[3]), ["backorder"], "the order still waits");
        for i in [2, 4] {
            assert_eq!(s.holds(orders[i]).len(), 1, "order {i} keeps its hold");
        }
        assert_eq!(s.calls("FulfillmentOrderHold"), holds_placed, "no hold placed again");

        // Two units arrive: orders 2 and 3 are filled. Order 3's hold, found gone when the app
        // comes to release it, is recorded as the person's doing.
        s.world(|w| w.set_stock(s.variant, -1)).unwrap();
        s.deliver_level().await;
        s.settled().await;
        assert_eq!(s.tags(orders[3]), ["backorder-ready"]);
        let people = s.app.app.state.books.get(SHOP, ByPeopleKey).await.unwrap().unwrap_or_default();
        let found: Vec<_> = people.changes.iter().map(|c| (c.order_id, c.what.clone(), c.reapplied)).collect();
        assert_eq!(found, [(Some(orders[3]), What::HoldReleased, false)]);
        s.stop().await;
    }
}

/// Orders the platform would not let the app read (older than 60 days without
/// `read_all_orders`) leave backlog that no open order explains: the onboarding job reports it
/// as unattributed, and nothing is guessed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backlog_that_no_readable_order_explains_is_reported_unattributed_at_enrolment() {
    let s = start(Backend::Embedded, 1, Policy::Continue, &[]).await;
    let variant = s.variant;
    s.world(|w| {
        for i in 0..3 {
            w.place_order(&format!("u{i}@example.com"), &[], &[(variant, 1)]).unwrap();
        }
        // Five units short, three of them explained by the open orders the app can read.
        w.set_stock(variant, -5).unwrap();
    });
    let shown = enrol(&s, json!({"enabled": true})).await;
    let job = finished(&s, shown["onboarding"]["job"].as_u64().unwrap()).await;
    assert_eq!(job["summary"]["unattributed"][variant.to_string()], 2, "{job}");
    let shown: Value = get(&s.app, &format!("/api/variants/{variant}"), Some(&token(SHOP))).await.json().await.unwrap();
    assert_eq!((shown["backordered_units"].as_u64(), shown["unattributed_units"].as_u64()), (Some(3), Some(2)));
    s.stop().await;
}

/// People win over the app (SPEC 9): an inventory policy a person set by hand stands through
/// the passes that follow, and is recorded; the app sets its own again only once it wants
/// another policy (here: a cap reached, then lifted).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_a_person_set_by_hand_stands_until_the_app_wants_another() {
    for backend in [Backend::Embedded, Backend::Redis] {
        let s = start(backend, 0, Policy::Deny, &[]).await;
        enrol(&s, json!({"enabled": true})).await;
        eventually("selling on backorder", || async { (s.policy() == Policy::Continue).then_some(()) }).await;
        s.settled().await;
        let sent = s.calls("VariantsPolicy");

        // A person turns "continue selling" off in the admin; Shopify says so in products/update.
        let body = s.world(|w| {
            w.variants.get_mut(&s.variant).unwrap().policy = Policy::Deny;
            let at = w.tick() + 1_000;
            backorder::devshop::payloads::product(w, w.variants[&s.variant].product_id, at).unwrap()
        });
        let resp = s.app.deliver(&crate::support::webhooks::Delivery::new("products/update", body)).await;
        assert_eq!(resp.status(), 200);
        s.app.drained().await;
        // A pass over the variant (its ETA inputs change) sends no policy.
        enrol(&s, json!({"lead_time_days": 5})).await;
        s.settled().await;
        assert_eq!((s.policy(), s.calls("VariantsPolicy")), (Policy::Deny, sent), "the person's policy stands");
        let people = s.app.app.state.books.get(SHOP, ByPeopleKey).await.unwrap().unwrap_or_default();
        let found: Vec<_> = people.changes.iter().map(|c| (c.variant_id, c.what.clone())).collect();
        assert_eq!(found, [(Some(s.variant), What::PolicyChanged { to: "DENY".into() })]);

        // The app wants DENY (a cap of 0), then CONTINUE again (no cap): its own goes out.
        enrol(&s, json!({"cap": 0})).await;
        s.settled().await;
        enrol(&s, json!({"cap": null})).await;
        eventually("the app's policy again", || async { (s.policy() == Policy::Continue).then_some(()) }).await;
        s.stop().await;
    }
}
