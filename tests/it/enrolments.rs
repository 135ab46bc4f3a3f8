//! `POST /api/enrolments` (SPEC 3.3): many variants enrolled at once as a job, by ids, by
//! product or every variant out of stock, over real HTTP against the dev shop.

use backorder::devshop::Policy;
use serde_json::{Value, json};

use crate::api::{get, token};
use crate::effects::Setup;
use crate::onboarding::finished;
use crate::support::{Backend, SHOP};

async fn post(s: &Setup, body: Value) -> reqwest::Response {
    s.app.client.post(s.app.url("/api/enrolments")).bearer_auth(token(SHOP)).json(&body).send().await.unwrap()
}

async fn variant(s: &Setup, id: u64) -> (u16, Value) {
    let resp = get(&s.app, &format!("/api/variants/{id}"), Some(&token(SHOP))).await;
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_enrolment_of_every_variant_out_of_stock_enrols_each_with_the_settings_and_reads_open_orders_once() {
    for backend in [Backend::Embedded, Backend::Redis] {
        // The setup's own variant is in stock; two more are at or below zero, one with orders.
        let s = Setup::start_unheard(backend, 5, Policy::Deny, "50", &[], (1000.0, 1000.0), |s| s).await;
        let (short, empty, orders) = s.world(|w| {
            let short = w.add_variant("Rain Jacket", 2, Policy::Continue);
            let orders: Vec<u64> =
                (0..4).map(|i| w.place_order(&format!("r{i}@example.com"), &[], &[(short, 1)]).unwrap()).collect();
            (short, w.add_variant("Wool Socks", 0, Policy::Deny), orders)
        });
        let resp = post(&s, json!({"out_of_stock": true, "lead_time_days": 7})).await;
        assert_eq!(resp.status(), 202);
        let job = finished(&s, resp.json::<Value>().await.unwrap()["job"].as_u64().unwrap()).await;
        assert_eq!((job["done"].as_u64(), job["total"].as_u64()), (Some(2), Some(2)), "{job}");
        assert_eq!((job["summary"]["found"].as_u64(), job["summary"]["enrolled"].as_u64()), (Some(2), Some(2)));
        let onboarding = job["summary"]["onboarding_job"].as_u64().expect("one onboarding job for both");
        let onboarded = finished(&s, onboarding).await;
        assert_eq!(onboarded["summary"]["orders"], 4, "{onboarded}");

        assert_eq!(variant(&s, s.variant).await.0, 404, "in stock: not enrolled");
        for id in [short, empty] {
            let (code, shown) = variant(&s, id).await;
            assert_eq!((code, shown["lead_time_days"].as_u64()), (200, Some(7)), "variant {id}: {shown}");
            assert_eq!(shown["onboarding"]["job"].as_u64(), Some(onboarding));
        }
        let (_, shown) = variant(&s, short).await;
        let waiting: Vec<u64> =
            shown["queue"].as_array().unwrap().iter().map(|q| q["order_id"].as_u64().unwrap()).collect();
        assert_eq!(waiting, orders[2..], "the newest two units wait");
        let pages = s.devshop.calls(SHOP).iter().filter(|c| c.operation == "OpenOrders" && c.outcome == "ok").count();
        assert_eq!(pages, 1, "one read of the open orders for both variants");
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_enrolment_by_product_enrols_every_variant_of_it_and_no_other() {
    let s = Setup::start_unheard(Backend::Embedded, 1, Policy::Deny, "50", &[], (1000.0, 1000.0), |s| s).await;
    let (small, large, product) = s.world(|w| {
        let small = w.add_variant("Tee, S", 3, Policy::Deny);
        let large = w.add_variant("Tee, L", 0, Policy::Deny);
        let product = w.variants[&small].product_id;
        w.variants.get_mut(&large).unwrap().product_id = product;
        (small, large, product)
    });
    let resp = post(&s, json!({"product_ids": [product], "cap": 10})).await;
    assert_eq!(resp.status(), 202);
    let job = finished(&s, resp.json::<Value>().await.unwrap()["job"].as_u64().unwrap()).await;
    assert_eq!(job["summary"]["enrolled"], 2, "{job}");
    for id in [small, large] {
        let (code, shown) = variant(&s, id).await;
        assert_eq!((code, shown["cap"].as_u64()), (200, Some(10)));
    }
    assert_eq!(variant(&s, s.variant).await.0, 404, "another product's variant");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_enrolment_with_a_bad_field_is_refused_naming_it_and_enrols_nothing() {
    let s = Setup::start_unheard(Backend::Embedded, 0, Policy::Deny, "50", &[], (1000.0, 1000.0), |s| s).await;
    for (body, field) in [
        (json!({}), "variant_ids"),
        (json!({"variant_ids": [s.variant], "product_ids": [1]}), "variant_ids"),
        (json!({"variant_ids": []}), "variant_ids"),
        (json!({"variant_ids": [s.variant, "x"]}), "variant_ids[1]"),
        (json!({"out_of_stock": false}), "out_of_stock"),
        (json!({"variant_ids": [s.variant], "cap": -1}), "cap"),
        (json!({"variant_ids": [s.variant], "colour": "red"}), "colour"),
        (json!({"variant_ids": [s.variant], "existing_orders": {"email": "sometimes"}}), "existing_orders.email"),
    ] {
        let resp = post(&s, body.clone()).await;
        assert_eq!(resp.status(), 422, "{body}");
        let err: Value = resp.json().await.unwrap();
        assert_eq!(err["field"], field, "{body}: {err}");
    }
    assert_eq!(variant(&s, s.variant).await.0, 404, "nothing enrolled");
    s.stop().await;
}

/// "Remove everything" (SPEC 9): every managed variant unenrolled as one job, each given back
/// its policy from before, its orders their tags and holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_everything_unenrols_every_variant_and_gives_the_store_back() {
    for backend in [Backend::Embedded, Backend::Redis] {
        let mut s = Setup::start(backend, 0, "50", &[]).await;
        let jacket = s.world(|w| w.add_variant("Rain Jacket", 0, Policy::Deny));
        s.enrol(json!({"enabled": true, "lead_time_days": 10})).await;
        let resp =
            crate::api::put(&s.app, &format!("/api/variants/{jacket}"), &token(SHOP), json!({"enabled": true})).await;
        assert_eq!(resp.status(), 200);
        crate::support::eventually("both selling on backorder", || async {
            let both = s.world(|w| [s.variant, jacket].iter().all(|v| w.variants[v].policy == Policy::Continue));
            both.then_some(())
        })
        .await;
        let order = s.order(2).await;
        s.settled().await;
        assert_eq!(s.tags(order), ["backorder"]);

        let resp = s.app.client.delete(s.app.url("/api/enrolments")).bearer_auth(token(SHOP)).send().await.unwrap();
        assert_eq!(resp.status(), 202);
        let job = finished(&s, resp.json::<Value>().await.unwrap()["job"].as_u64().unwrap()).await;
        assert_eq!((job["done"].as_u64(), job["total"].as_u64()), (Some(2), Some(2)), "{job}");
        assert_eq!(job["summary"]["variants_unenrolled"], 2, "{job}");
        s.settled().await;
        for id in [s.variant, jacket] {
            assert_eq!(variant(&s, id).await.0, 404, "variant {id} no longer managed");
            assert_eq!(s.world(|w| w.variants[&id].policy), Policy::Deny, "variant {id}: its policy from before");
        }
        assert!(s.tags(order).is_empty() && s.holds(order).is_empty(), "the order is given back");
        s.stop().await;
    }
}
