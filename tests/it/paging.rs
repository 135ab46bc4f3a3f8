//! Orders bigger than one page of a query sized to Shopify's cost limit: holds land on every
//! fulfillment order and line that needs one, and reconcile reads every line, against the dev
//! shop's enforced limit.

use std::collections::BTreeMap;

use backorder::devshop::Policy;
use backorder::sync::reconcile::reconcile_shop;
use serde_json::{Value, json};

use crate::api::{get, token};
use crate::effects::Setup;
use crate::support::{Backend, SHOP, eventually};

/// Fulfillment orders of 100 lines each: more lines than one page of `OrderFulfillmentOrders`
/// holds per fulfillment order (95), and more fulfillment orders than one page (5).
const LINES: usize = 600;
const LINES_PER_FULFILLMENT_ORDER: usize = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_with_more_fulfillment_orders_and_lines_than_a_page_is_held_on_each_waiting_line() {
    for backend in [Backend::Redis, Backend::Embedded] {
        let mut s = Setup::start_paced(backend, 0, "50", &[], (2000.0, 2000.0)).await;
        s.enrol(json!({"enabled": true})).await;
        eventually("the variant to sell on backorder", || async { (s.policy() == Policy::Continue).then_some(()) })
            .await;
        let variant = s.variant;
        // The waiting variant first and last; socks in stock in between.
        let (order, first, last) = s.world(|w| {
            let socks = w.add_variant("Socks", 10_000, Policy::Deny);
            let mut lines = vec![(variant, 1)];
            lines.extend(std::iter::repeat_n((socks, 1), LINES - 2));
            lines.push((variant, 2));
            let order = w.place_order("many@example.com", &[], &lines).unwrap();
            w.split_fulfillment(order, LINES_PER_FULFILLMENT_ORDER).unwrap();
            let o = &w.orders[&order];
            (order, o.lines[0].id, o.lines[LINES - 1].id)
        });
        s.deliver_order(order, "orders/create").await;
        s.deliver_level().await;
        let (first_fo, last_fo) = s.world(|w| {
            let fos = &w.orders[&order].fulfillment_orders;
            assert_eq!(fos.len(), LINES / LINES_PER_FULFILLMENT_ORDER);
            (fos[0].id, fos[fos.len() - 1].id)
        });
        let expected =
            BTreeMap::from([(first_fo, BTreeMap::from([(first, 1)])), (last_fo, BTreeMap::from([(last, 2)]))]);
        let holds = || {
            s.world(|w| {
                w.orders[&order]
                    .holds
                    .iter()
                    .map(|h| (h.fulfillment_order_id, h.quantities.clone()))
                    .collect::<BTreeMap<_, _>>()
            })
        };
        eventually("a hold on the first and the last fulfillment order", || async {
            (holds() == expected && s.tags(order) == ["backorder"]).then_some(())
        })
        .await;
        s.settled().await;
        assert_eq!(holds(), expected, "each held once");
        let calls = s.devshop.calls(SHOP);
        assert!(calls.iter().all(|c| c.outcome != "too_costly"), "no query over the limit");
        assert!(
            calls.iter().any(|c| c.operation == "FulfillmentOrderLineItems" && c.outcome == "ok"),
            "the lines past the first page were read"
        );
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_reads_every_line_of_an_order_with_more_lines_than_a_page() {
    for backend in [Backend::Redis, Backend::Embedded] {
        let mut s = Setup::start(backend, 0, "50", &[]).await;
        s.enrol(json!({"enabled": true})).await;
        eventually("the variant to sell on backorder", || async { (s.policy() == Policy::Continue).then_some(()) })
            .await;
        s.deliver_level().await;
        s.settled().await;
        let variant = s.variant;
        // Never delivered: only the platform knows it. The waiting line is the 30th, past the
        // 22 lines one page of OpenOrders holds per order.
        let order = s.world(|w| {
            let socks = w.add_variant("Socks", 10_000, Policy::Deny);
            let mut lines = vec![(socks, 1); 29];
            lines.push((variant, 3));
            w.place_order("late@example.com", &[], &lines).unwrap()
        });
        let report = reconcile_shop(&s.app.app.state, SHOP, |_| {}).await.unwrap();
        assert_eq!(report.orders_added, 1);
        let shown: Value =
            get(&s.app, &format!("/api/variants/{variant}"), Some(&token(SHOP))).await.json().await.unwrap();
        assert_eq!(shown["backordered_units"], 3, "{shown}");
        assert_eq!(shown["queue"][0]["order_id"], order);
        let calls = s.devshop.calls(SHOP);
        assert!(calls.iter().all(|c| c.outcome != "too_costly"), "no query over the limit");
        assert!(calls.iter().any(|c| c.operation == "OrderLineItems" && c.outcome == "ok"), "the rest was read");
        s.stop().await;
    }
}
