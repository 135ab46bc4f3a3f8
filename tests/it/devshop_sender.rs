//! The dev shop's webhook sender into the real service: orders beyond stock, a receipt, a
//! cancellation with restock and a fulfillment, delivered redelivered, duplicated, late and
//! shuffled, end in a ledger that shows exactly what the dev shop says is true.

use std::collections::HashMap;
use std::time::Duration;

use backorder::books::apply::{Event, map_variant};
use backorder::devshop::sender::Kind;
use backorder::devshop::{Batch, DevShop, Policy, Sender, World};
use backorder::ledger::input::VariantInfo;
use serde_json::{Value, json};

use crate::api::{get, token};
use crate::support::{Backend, SECRET, SHOP, TestApp, eventually};

/// Enrols a dev shop variant, as the settings page does.
async fn enrol(app: &TestApp, devshop: &DevShop, variant: u64) {
    let info = devshop.world(SHOP, |w| {
        let v = &w.variants[&variant];
        VariantInfo {
            variant_id: v.id,
            product_id: v.product_id,
            inventory_item_id: Some(v.inventory_item_id),
            title: v.title.clone(),
            options: vec![],
        }
    });
    let event = Event::new(SHOP, format!("enrol-{variant}"), "setup", Duration::from_secs(60));
    map_variant(&app.app.state.books, &event, &info, true).await.unwrap();
}

/// What the API must show for `variant`, worked out from the dev shop's own state by SPEC 4:
/// open lines in fill order (no priority tags are set: `created_at`, then order id), and the
/// last `max(0, -available)` units of them backordered.
fn truth(w: &World, variant: u64) -> Value {
    let mut position = 1;
    let mut queue = Vec::new();
    for (order, line, b) in w.backordered(variant).into_iter().filter(|(.., b)| *b > 0) {
        queue.push(json!({"order_id": order, "order_name": w.orders[&order].name, "line_item_id": line,
                          "backordered": b, "position": position, "eta": null}));
        position += u64::from(b);
    }
    json!({"available": w.available(variant), "backordered_units": position - 1, "queue": queue})
}

async fn shown(app: &TestApp, variant: u64) -> Option<Value> {
    let resp = get(app, &format!("/api/variants/{variant}"), Some(&token(SHOP))).await;
    let body: Value = resp.json().await.ok()?;
    Some(
        json!({"available": body["available"], "backordered_units": body["backordered_units"], "queue": body["queue"]}),
    )
}

/// Every event is accepted exactly once, however often and under however many webhook ids it
/// is sent: the service dedupes on the event id when Shopify gives one.
fn each_event_accepted_once(report: &backorder::devshop::Report) {
    let mut accepted: HashMap<&str, usize> = HashMap::new();
    for s in &report.sent {
        *accepted.entry(&s.delivery.event_id).or_default() += usize::from(s.last_body.contains("accepted"));
    }
    assert!(accepted.values().all(|n| *n == 1), "{accepted:?}");
}

async fn scenario(seed: u64) {
    let (app, _store) = TestApp::spawn(Backend::Embedded, &[]).await;
    let devshop = DevShop::start(1000.0, 100.0).await.unwrap();
    devshop.install(SHOP);
    let (tee, mug) =
        devshop.world(SHOP, |w| (w.add_variant("Tee", 2, Policy::Continue), w.add_variant("Mug", 5, Policy::Deny)));
    enrol(&app, &devshop, tee).await;
    enrol(&app, &devshop, mug).await;

    let mut sender = Sender::new(&app.app.url(), SECRET, SHOP);
    let email = "buyer@example.com";
    let o1 = devshop.place_order_notify(&mut sender, email, &[], &[(tee, 2), (mug, 1)]).unwrap();
    let o2 = devshop.place_order_notify(&mut sender, email, &[], &[(tee, 1)]).unwrap();
    let o3 = devshop.place_order_notify(&mut sender, email, &["VIP"], &[(tee, 3)]).unwrap();
    let o4 = devshop.place_order_notify(&mut sender, email, &[], &[(tee, 1)]).unwrap();
    let o5 = devshop.place_order_notify(&mut sender, email, &[], &[(tee, 2)]).unwrap();
    let refused = devshop.place_order_notify(&mut sender, email, &[], &[(mug, 9)]);
    assert!(refused.is_err(), "a DENY variant refuses an order beyond stock");
    devshop.set_stock_notify(&mut sender, tee, -6).unwrap(); // one unit received
    devshop.cancel_order_notify(&mut sender, o1, true).unwrap();
    devshop.fulfill_order_notify(&mut sender, o2).unwrap();
    devshop.product_notify(&mut sender, tee).unwrap();

    let batch = Batch {
        seed,
        redeliver: 0.3,
        same_event: 0.3,
        delay_share: 0.25,
        delay: Duration::from_millis(100),
        shuffle: true,
    };
    let report = sender.send(&batch).await;
    assert!(report.all_delivered(), "seed {seed}: {:?}", report.undelivered());
    assert!(report.count(Kind::Redelivery) > 0 && report.count(Kind::SameEvent) > 0, "seed {seed}: no duplicates");
    assert!(report.sent.iter().any(|s| s.delayed), "seed {seed}: nothing late");
    each_event_accepted_once(&report);
    app.drained().await;

    for variant in [tee, mug] {
        let expected = devshop.world(SHOP, |w| truth(w, variant));
        let seen = eventually(&format!("seed {seed}: variant {variant} to show {expected}"), || async {
            shown(&app, variant).await.filter(|s| *s == expected)
        })
        .await;
        assert_eq!(seen, expected);
    }
    // The truth itself, spelled out: o2 shipped, o1 cancelled, 2 units cover o3's first two.
    let tee_truth = devshop.world(SHOP, |w| truth(w, tee));
    let lines: Vec<(u64, u64)> = tee_truth["queue"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| (q["order_id"].as_u64().unwrap(), q["backordered"].as_u64().unwrap()))
        .collect();
    assert_eq!((tee_truth["available"].clone(), lines), (json!(-4), vec![(o3, 1), (o4, 1), (o5, 2)]));
    app.app.stop().await;
    devshop.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicated_late_and_shuffled_deliveries_end_in_the_dev_shops_truth() {
    for seed in [1, 2, 3] {
        scenario(seed).await;
    }
}
