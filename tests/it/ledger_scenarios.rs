//! The consequences SPEC 4 names, one test each, on every store backend: a history is played on
//! the simulated platform and its deliveries go through the worker's ledger handlers in order.

use std::collections::BTreeMap;

use backorder::ledger::rules::ShopRules;
use backorder::store::SharedStore;

use crate::ledger_backends::{enrol_all, feed, ledger_view};
use crate::ledger_model::{Op, Platform, VARIANTS};

const V: usize = 0;

/// Backordered units per order of the first variant, and its unattributed backlog.
async fn play(store: &SharedStore, ops: &[Op]) -> (BTreeMap<u64, u32>, u64) {
    let mut platform = Platform::default();
    for op in ops {
        platform.play(op);
    }
    let rules = ShopRules { priority_tags: [("VIP".to_string(), 10)].into(), counted_locations: None, timezone: None };
    enrol_all(store, &rules).await;
    feed(store, &platform.deliveries).await;
    let view = ledger_view(store).await;
    let (lines, unattributed, _) = &view[&VARIANTS[V]];
    let mut per_order = BTreeMap::new();
    for ((order, _), units) in lines {
        *per_order.entry(*order).or_insert(0) += units;
    }
    (per_order, *unattributed)
}

fn stock(units: i64) -> Op {
    Op::Recount { variant: V, location: 0, available: units }
}

fn order(qty: u32) -> Op {
    Op::Create { vip: false, lines: vec![(V, qty)], location: 0 }
}

fn vip_order(qty: u32) -> Op {
    Op::Create { vip: true, lines: vec![(V, qty)], location: 0 }
}

/// Orders are numbered from 1 in the order they were placed.
fn cancel(order: usize, restock: bool) -> Op {
    Op::Cancel { order: order - 1, restock, location: 0 }
}

async fn an_order_of_ten_with_four_in_stock_has_six_backordered(store: SharedStore) {
    let (backordered, _) = play(&store, &[stock(4), order(10)]).await;
    assert_eq!(backordered, BTreeMap::from([(1, 6)]));
}

async fn stock_arriving_fills_the_oldest_lines_first(store: SharedStore) {
    let restock = Op::Restock { variant: V, location: 0, units: 3 };
    let (backordered, _) = play(&store, &[stock(0), order(2), order(2), order(2), restock]).await;
    assert_eq!(backordered, BTreeMap::from([(2, 1), (3, 2)]));
}

async fn a_cancelled_backordered_line_frees_nobody(store: SharedStore) {
    let (backordered, _) = play(&store, &[stock(1), order(1), order(1), order(1), cancel(2, true)]).await;
    assert_eq!(backordered, BTreeMap::from([(3, 1)]), "order 3 still waits");
}

async fn a_cancelled_in_stock_line_with_restock_fills_the_oldest_waiting_line(store: SharedStore) {
    let (backordered, _) = play(&store, &[stock(1), order(1), order(1), order(1), cancel(1, true)]).await;
    assert_eq!(backordered, BTreeMap::from([(3, 1)]), "order 2 is covered by the returned unit");
}

async fn a_cancellation_without_restock_leaves_the_backlog_alone(store: SharedStore) {
    let (backordered, _) = play(&store, &[stock(1), order(1), order(1), order(1), cancel(1, false)]).await;
    // Nothing came back to stock, so the two waiting units still wait; one now has no order.
    assert_eq!(backordered, BTreeMap::from([(2, 1), (3, 1)]));
}

async fn a_fulfillment_changes_nobody(store: SharedStore) {
    // Before the fulfillment order 2 waits for both its units (see the ten-with-four case for
    // the arithmetic); shipping order 1 leaves that exactly as it was.
    let fulfil = Op::Fulfil { order: 0, line: 0, units: 2 };
    let after = play(&store, &[stock(2), order(2), order(2), fulfil]).await;
    assert_eq!(after, (BTreeMap::from([(2, 2)]), 0));
}

async fn a_vip_order_placed_later_is_covered_before_earlier_ordinary_orders(store: SharedStore) {
    let (backordered, _) = play(&store, &[stock(2), order(1), order(1), vip_order(1)]).await;
    assert_eq!(backordered, BTreeMap::from([(2, 1)]));
}

async fn orders_the_ledger_never_saw_show_up_as_drift(store: SharedStore) {
    // Stock says five units are owed, but the ledger knows of one waiting order of two.
    let (backordered, unattributed) = play(&store, &[stock(-3), order(2)]).await;
    assert_eq!(backordered, BTreeMap::from([(1, 2)]));
    assert_eq!(unattributed, 3);
}

on_every_backend!(
    an_order_of_ten_with_four_in_stock_has_six_backordered,
    stock_arriving_fills_the_oldest_lines_first,
    a_cancelled_backordered_line_frees_nobody,
    a_cancelled_in_stock_line_with_restock_fills_the_oldest_waiting_line,
    a_cancellation_without_restock_leaves_the_backlog_alone,
    a_fulfillment_changes_nobody,
    a_vip_order_placed_later_is_covered_before_earlier_ordinary_orders,
    orders_the_ledger_never_saw_show_up_as_drift,
);
