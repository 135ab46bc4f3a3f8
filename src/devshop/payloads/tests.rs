//! Every body goes through the service's own parser: what the dev shop sends is what the
//! service reads.

use serde_json::Value;

use super::*;
use crate::devshop::world::MAIN_LOCATION;
use crate::ledger::input::{parse_level, parse_order, parse_product, timestamp_ms};

fn world() -> (World, u64, u64) {
    let mut w = World::default();
    let tee = w.add_variant("Tee", 3, Policy::Continue);
    let mug = w.add_variant("Mug", 9, Policy::Deny);
    (w, tee, mug)
}

fn json(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap()
}

#[test]
fn orders_create_reads_as_the_placed_order() {
    let (mut w, tee, mug) = world();
    let id = w.place_order("ann@example.com", &["VIP", "wholesale"], &[(tee, 5), (mug, 1)]).unwrap();
    let body = order(&w, id).unwrap();
    let o = &w.orders[&id];
    let parsed = parse_order(&body, None).unwrap();
    assert_eq!(parsed.order_id, id);
    assert_eq!(parsed.name, o.name);
    assert_eq!(parsed.customer_tags, ["VIP", "wholesale"]);
    // Whole seconds in the body, as Shopify writes them.
    assert_eq!(parsed.created_at_ms, o.created_at_ms - o.created_at_ms.rem_euclid(1000));
    assert_eq!(parsed.version.updated_at_ms, o.updated_at_ms - o.updated_at_ms.rem_euclid(1000));
    let lines: Vec<_> = parsed.lines.iter().map(|l| (l.line_id, l.variant_id, l.open_qty)).collect();
    assert_eq!(lines, [(o.lines[0].id, Some(tee), 5), (o.lines[1].id, Some(mug), 1)]);
    let v = json(&body);
    assert_eq!(v["email"], "ann@example.com");
    assert_eq!(v["line_items"][0]["current_quantity"], 5);
    assert_eq!(v["line_items"][0]["fulfillment_status"], Value::Null);
    assert_eq!(v["cancelled_at"], Value::Null);
    assert_eq!(v["total_price"], "150.00");
}

#[test]
fn orders_updated_carries_the_later_updated_at() {
    let (mut w, tee, _) = world();
    let id = w.place_order("ann@example.com", &[], &[(tee, 1)]).unwrap();
    let before = parse_order(&order(&w, id).unwrap(), None).unwrap();
    let later = w.orders[&id].updated_at_ms + 1500;
    w.orders.get_mut(&id).unwrap().updated_at_ms = later;
    let after = parse_order(&order(&w, id).unwrap(), None).unwrap();
    assert!(after.version > before.version);
    assert_eq!(after.lines, before.lines);
}

#[test]
fn orders_cancelled_has_nothing_open() {
    let (mut w, tee, _) = world();
    let id = w.place_order("ann@example.com", &[], &[(tee, 2)]).unwrap();
    w.cancel_order(id, true).unwrap();
    let body = order(&w, id).unwrap();
    let parsed = parse_order(&body, None).unwrap();
    assert_eq!(parsed.lines[0].open_qty, 0);
    let v = json(&body);
    let cancelled_at = timestamp_ms("cancelled_at", v["cancelled_at"].as_str().unwrap()).unwrap();
    assert_eq!(cancelled_at / 1000, w.orders[&id].updated_at_ms / 1000);
    assert_eq!(v["line_items"][0]["current_quantity"], 0);
}

#[test]
fn orders_fulfilled_has_nothing_left_to_ship() {
    let (mut w, tee, _) = world();
    let id = w.place_order("ann@example.com", &[], &[(tee, 2)]).unwrap();
    w.fulfill_order(id).unwrap();
    let body = order(&w, id).unwrap();
    assert_eq!(parse_order(&body, None).unwrap().lines[0].open_qty, 0);
    let v = json(&body);
    assert_eq!(v["fulfillment_status"], "fulfilled");
    assert_eq!(v["line_items"][0]["fulfillment_status"], "fulfilled");
    assert_eq!(v["line_items"][0]["current_quantity"], 2, "a shipped unit is still part of the order");
}

#[test]
fn a_held_unit_still_counts_as_fulfillable() {
    let (mut w, tee, _) = world();
    let id = w.place_order("ann@example.com", &[], &[(tee, 4)]).unwrap();
    let line = w.orders[&id].lines[0].id;
    let hold = crate::devshop::world::Hold {
        id: 77,
        fulfillment_order_id: w.orders[&id].fulfillment_orders[0].id,
        handle: "backorder".into(),
        reason: "INVENTORY_OUT_OF_STOCK".into(),
        quantities: [(line, 1)].into(),
    };
    w.orders.get_mut(&id).unwrap().holds.push(hold);
    assert_eq!(parse_order(&order(&w, id).unwrap(), None).unwrap().lines[0].open_qty, 4);
}

#[test]
fn inventory_levels_update_reads_as_the_level() {
    let (mut w, tee, _) = world();
    w.place_order("ann@example.com", &[], &[(tee, 5)]).unwrap();
    let item = w.variants[&tee].inventory_item_id;
    let lvl = w.levels[&(item, MAIN_LOCATION)];
    let parsed = parse_level(&level(item, MAIN_LOCATION, &lvl), None).unwrap();
    assert_eq!((parsed.inventory_item_id, parsed.location_id, parsed.available), (item, MAIN_LOCATION, Some(-2)));
    assert_eq!(parsed.version.updated_at_ms, lvl.updated_at_ms - lvl.updated_at_ms.rem_euclid(1000));
}

#[test]
fn products_update_lists_the_variants_with_their_items_and_policies() {
    let (w, tee, _) = world();
    let v = &w.variants[&tee];
    let body = product(&w, v.product_id, 1_790_000_000_123).unwrap();
    let parsed = parse_product(&body).unwrap();
    assert_eq!(parsed.len(), 1);
    assert_eq!(
        (parsed[0].variant_id, parsed[0].product_id, parsed[0].inventory_item_id),
        (tee, v.product_id, Some(v.inventory_item_id))
    );
    assert_eq!(parsed[0].title, "Tee");
    let j = json(&body);
    assert_eq!(j["variants"][0]["inventory_policy"], "continue");
    assert_eq!(j["variants"][0]["inventory_quantity"], 3);
    assert_eq!(j["updated_at"], "2026-09-21T09:13:20-05:00");
    assert!(product(&w, 424_242, 0).is_err());
}
