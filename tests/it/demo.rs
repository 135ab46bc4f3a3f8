//! `backorder demo`'s flash sale, checked against the dev shop's state on both store backends:
//! tags, hold quantities, policy flips, and the queue after every act.

use std::collections::BTreeMap;

use backorder::demo::{DemoOptions, Snapshot, run};
use backorder::devshop::Policy;

use crate::support::unique_prefix;

/// Holds equal each waiting order's backordered units, and exactly the waiting orders carry
/// the `backorder` tag.
fn platform_matches_the_queue(s: &Snapshot) {
    let mut waiting: BTreeMap<u64, u32> = BTreeMap::new();
    for q in &s.queue {
        *waiting.entry(q.order_id).or_default() += q.backordered;
    }
    assert_eq!(s.held, waiting, "holds are exactly the backordered units");
    for (order, tags) in &s.tags {
        assert_eq!(tags.contains(&"backorder".to_string()), waiting.contains_key(order), "order {order}: {tags:?}");
    }
    assert_eq!(waiting.values().map(|b| u64::from(*b)).sum::<u64>(), s.backordered_units);
}

async fn check(store_url: Option<String>) {
    let options = DemoOptions { store_url, store_prefix: unique_prefix(), verbose: false, seed: 3, smtp_url: None };
    let (o, stage) = run(&options).await.expect("the demo plays");

    // The sale: 43 units against 5 in stock, 38 backordered = the cap.
    assert_eq!((o.after_sale.backordered_units, o.after_sale.available), (38, -38));
    assert_eq!(o.after_sale.policy, Policy::Deny, "DENY once the cap is reached");
    assert!(o.refused_at_cap, "the shop refuses orders at the cap");
    assert!(o.after_sale.queue.iter().all(|q| q.order_id != o.vip_order), "the VIP order is covered");
    assert_eq!(o.after_sale.queue[0].order_id, o.orders[3], "the first three orders and the VIP's took the stock");
    assert_eq!(o.after_sale.queue[0].position, 1);
    for s in [&o.after_sale, &o.after_restock, &o.after_cancellations, &o.partial] {
        platform_matches_the_queue(s);
    }
    for covered in &o.orders[..3] {
        assert!(o.after_sale.tags[covered].is_empty(), "in-stock orders are left alone");
    }

    // The restock: 12 units fill the oldest lines; selling resumes.
    assert_eq!(o.after_restock.backordered_units, 26);
    assert_eq!(o.after_restock.policy, Policy::Continue, "CONTINUE after the restock");
    let now_ready: Vec<u64> = o
        .after_sale
        .queue
        .iter()
        .map(|q| q.order_id)
        .filter(|id| o.after_restock.queue.iter().all(|q| q.order_id != *id))
        .collect();
    assert!(!now_ready.is_empty());
    for id in &now_ready {
        assert_eq!(o.after_restock.tags[id], ["backorder-ready"], "order {id} became ready");
    }
    let oldest_waiting = o.after_sale.queue.iter().map(|q| q.order_id).find(|id| !now_ready.contains(id));
    assert_eq!(o.after_restock.queue.first().map(|q| q.order_id), oldest_waiting, "filled strictly oldest first");

    // The cancellations: the last backordered order frees nobody; the in-stock one fills the
    // oldest waiting line.
    let (backordered, in_stock) = o.cancelled;
    assert!(o.after_cancellations.queue.iter().all(|q| q.order_id != backordered));
    assert_eq!(o.after_cancellations.backordered_units, 24);
    assert!(o.after_cancellations.tags[&in_stock].is_empty());
    let freed = o.after_restock.queue[0].order_id;
    assert_eq!(o.after_cancellations.tags[&freed], ["backorder-ready"]);

    // ETAs (SPEC 6): supply of 12 in 10 days and 30 in 40 days, 2 handling days. The front of
    // the queue gets the first batch; a new order (position 39, then 27 once the 12 arrived and
    // consumed the first batch) the second.
    let today = time::OffsetDateTime::now_utc().date();
    let day = |n: i64| (today + time::Duration::days(n)).to_string();
    for q in &o.after_sale.queue {
        // Webhooks arrived shuffled: only arrivals that held for the settle time consume supply,
        // so the first batch still covers exactly positions 1 to 12.
        let last = q.position + u64::from(q.backordered) - 1;
        let expected = if last <= 12 { day(12) } else { day(42) };
        assert_eq!(q.eta.as_deref(), Some(expected.as_str()), "{} (positions {}..={last})", q.order_name, q.position);
    }
    assert_eq!(o.after_sale.queue.last().unwrap().eta.as_deref(), Some(day(42).as_str()));
    assert_eq!(o.after_sale.eta_metafield.as_deref(), Some(day(42).as_str()), "the metafield of a new order");
    assert_eq!(o.after_restock.queue[0].eta.as_deref(), Some(day(42).as_str()), "the first batch was consumed");
    assert_eq!(o.after_restock.eta_metafield.as_deref(), Some(day(42).as_str()));

    // The partial order: 10 ordered, 4 in stock.
    assert_eq!(o.partial.held.get(&o.partial_order), Some(&6));
    assert_eq!(o.partial_fulfillable, 4);
    assert_eq!(o.partial.tags[&o.partial_order], ["backorder"]);

    // Stock on its way on a Shopify transfer (SPEC 10.2): 6 wait, 4 are shipped in 7 days with
    // a handling day; the shipment slips 8 days and tells those 4; its receipt fills them.
    let day = |n: i64| (time::OffsetDateTime::now_utc().date() + time::Duration::days(n)).to_string();
    let t = &o.shipped;
    let etas = |s: &Snapshot| s.queue.iter().map(|q| q.eta.clone().unwrap_or_default()).collect::<Vec<_>>();
    assert_eq!(etas(&t.on_its_way), [day(8), day(8), day(8), day(8), day(22), day(22)]);
    assert_eq!(etas(&t.delayed), [day(16), day(16), day(16), day(16), day(22), day(22)]);
    let delayed: Vec<u64> =
        t.delayed.emails.keys().filter(|(_, k)| k.starts_with("eta_changed")).map(|(o, _)| *o).collect();
    assert_eq!(delayed, t.orders[..4], "exactly the orders on the shipment are told");
    let waiting: Vec<u64> = t.received.queue.iter().map(|q| q.order_id).collect();
    assert_eq!(waiting, t.orders[4..], "the oldest four were filled");
    let ready: Vec<u64> = t.received.emails.keys().filter(|(_, k)| k == "ready").map(|(o, _)| *o).collect();
    assert_eq!(ready, t.orders[..4]);
    platform_matches_the_queue(&t.received);

    // Found at enrolment (SPEC 9): of five orders placed before install, the newest three units
    // wait, tagged and held, and nobody is emailed.
    let found = &o.found;
    assert_eq!(found.preview_waiting, 3, "the preview said so beforehand");
    let waiting: Vec<u64> = found.snapshot.queue.iter().map(|q| q.order_id).collect();
    assert_eq!(waiting, found.orders[2..]);
    platform_matches_the_queue(&found.snapshot);
    assert!(found.snapshot.emails.is_empty(), "placed before install: nobody emailed");
    // A lost webhook: the drift pass books the order at the back of the queue.
    let r = &o.repaired;
    assert_eq!((r.backordered_before, r.orders_added, r.levels), (3, 1, 1));
    assert_eq!(r.snapshot.queue.last().map(|q| q.order_id), Some(r.order));
    assert_eq!(r.snapshot.backordered_units, 4);
    platform_matches_the_queue(&r.snapshot);
    assert!(r.snapshot.emails.contains_key(&(r.order, "backordered".to_string())), "placed after install: told");

    // The last batch pushed back 14 days (SPEC 10.3): every order still waiting on it slipped by
    // more than 7 days, so each is told its new date and gets one consolation code, in its own
    // email; then the variant's reorder advice (SPEC 10.1).
    let a = &o.advised;
    let waiting: std::collections::BTreeSet<u64> = a.after_delay.queue.iter().map(|q| q.order_id).collect();
    assert!(!waiting.is_empty());
    assert_eq!(a.consoled.iter().copied().collect::<std::collections::BTreeSet<_>>(), waiting);
    assert_eq!(a.codes, a.consoled.len(), "one code per consoled order");
    assert!(
        a.after_delay.queue.iter().all(|q| q.eta.as_deref() == Some(day(56).as_str())),
        "{:?}",
        a.after_delay.queue
    );
    for key in ["method", "demand_per_day", "safety_stock", "reorder_point", "suggested_order_qty"] {
        assert!(!a.insight[key].is_null(), "the insight has {key}: {}", a.insight);
    }
    assert_eq!(a.insight["backordered_units"].as_u64(), Some(a.after_delay.backordered_units));
    platform_matches_the_queue(&a.after_delay);

    // Nothing applied twice: one hold per held order, and no THROTTLED reply.
    let holds_per_order =
        stage.devshop.world(backorder::demo::SHOP, |w| w.orders.values().map(|o| o.holds.len()).max());
    assert_eq!(holds_per_order, Some(1));
    assert!(stage.devshop.calls(backorder::demo::SHOP).iter().all(|c| c.outcome != "throttled"));
    stage.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_flash_sale_on_the_embedded_store_ends_with_the_expected_tags_holds_and_policies() {
    check(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_flash_sale_on_redis_ends_with_the_expected_tags_holds_and_policies() {
    check(Some(crate::support::redis::shared().url())).await;
}

#[test]
fn backorder_demo_runs_with_no_outside_service_and_exits_zero() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_backorder"))
        .arg("demo")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("Flash sale") && stdout.contains("Done in"), "{stdout}");
}
