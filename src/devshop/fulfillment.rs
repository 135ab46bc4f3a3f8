//! Fulfillment orders and their holds, as Shopify answers for them: the orders' fulfillment
//! orders a page at a time, placing a hold on some of their units (one per handle, ten at most
//! per fulfillment order), and releasing holds.

use serde_json::{Value, json};

use super::graphql::{gid, page, parse_gid};
use super::world::{FulfillmentOrder, Hold, Order, OrderLine, World};
use crate::platform::cost::Document;

fn fo_status(order: &Order, fo: &FulfillmentOrder) -> &'static str {
    let lines = || order.lines.iter().filter(|l| fo.line_ids.contains(&l.id));
    if order.cancelled {
        "CANCELLED"
    } else if order.holds.iter().any(|h| h.fulfillment_order_id == fo.id) {
        "ON_HOLD"
    } else if lines().all(|l| l.fulfilled == l.quantity) {
        "CLOSED"
    } else {
        "OPEN"
    }
}

fn hold_json(h: &Hold) -> Value {
    json!({"id": gid("FulfillmentHold", h.id), "handle": h.handle, "reason": h.reason})
}

pub(super) fn fulfillment_orders(world: &World, vars: &Value, doc: &Document) -> Value {
    let path = ["order", "fulfillmentOrders"];
    let lines = doc.page_size(&["order", "fulfillmentOrders", "nodes", "lineItems"], vars);
    let order = parse_gid("Order", &vars["id"]).and_then(|id| world.orders.get(&id));
    json!({"order": order.map(|o| {
        let (fos, info) = page(&o.fulfillment_orders, |f| f.id, doc.page_size(&path, vars), &vars["after"]);
        json!({
            "id": gid("Order", o.id),
            "fulfillmentOrders": {"pageInfo": info, "nodes": fos.iter().map(|fo| json!({
                "id": gid("FulfillmentOrder", fo.id),
                "status": fo_status(o, fo),
                "fulfillmentHolds": o.holds.iter().filter(|h| h.fulfillment_order_id == fo.id).map(hold_json).collect::<Vec<_>>(),
                "lineItems": fo_line_items(o, fo, lines, &Value::Null),
            })).collect::<Vec<_>>()},
        })
    })})
}

pub(super) fn fulfillment_order_line_items(world: &World, vars: &Value, doc: &Document) -> Value {
    let size = doc.page_size(&["fulfillmentOrder", "lineItems"], vars);
    let found = parse_gid("FulfillmentOrder", &vars["id"])
        .and_then(|id| world.orders.values().find_map(|o| o.fulfillment_order(id).map(|fo| (o, fo))));
    json!({"fulfillmentOrder": found.map(|(o, fo)| json!({"lineItems": fo_line_items(o, fo, size, &vars["after"])}))})
}

/// A page of a fulfillment order's line items (their ids are the order lines' ids).
fn fo_line_items(order: &Order, fo: &FulfillmentOrder, size: Option<u64>, after: &Value) -> Value {
    let lines: Vec<&OrderLine> = order.lines.iter().filter(|l| fo.line_ids.contains(&l.id)).collect();
    let (lines, info) = page(&lines, |l| l.id, size, after);
    json!({"pageInfo": info, "nodes": lines.iter().map(|l| json!({
        "id": gid("FulfillmentOrderLineItem", l.id),
        "remainingQuantity": l.quantity - l.fulfilled,
        "lineItem": {"id": gid("LineItem", l.id)},
    })).collect::<Vec<_>>()})
}

/// The order that has the fulfillment order `v`, and that fulfillment order's id.
fn order_of_fo(world: &World, v: &Value) -> Option<(u64, u64)> {
    let fo = parse_gid("FulfillmentOrder", v)?;
    world.orders.values().find(|o| o.fulfillment_order(fo).is_some()).map(|o| (o.id, fo))
}

pub(super) fn hold(world: &mut World, vars: &Value) -> Value {
    let refuse = |message: &str| {
        json!({"fulfillmentOrderHold": {"fulfillmentHold": null, "remainingFulfillmentOrder": null,
               "userErrors": [{"field": ["id"], "message": message, "code": "INVALID"}]}})
    };
    let Some((order_id, fo_id)) = order_of_fo(world, &vars["id"]) else {
        return refuse("Fulfillment order does not exist.");
    };
    let input = &vars["hold"];
    let handle = input["handle"].as_str().unwrap_or("").to_string();
    let id = world.next_id();
    let order = world.orders.get(&order_id).expect("found");
    let fo = order.fulfillment_order(fo_id).expect("found");
    if order.cancelled {
        return refuse("The fulfillment order is cancelled.");
    }
    let on_fo: Vec<&Hold> = order.holds.iter().filter(|h| h.fulfillment_order_id == fo_id).collect();
    if on_fo.iter().any(|h| h.handle == handle) {
        world.noops.push(format!("fulfillmentOrderHold {fo_id}: the hold {handle:?} is already there"));
        return refuse("The handle is already used by an active hold, or the hold limit is reached.");
    }
    if on_fo.len() >= 10 {
        return refuse("The handle is already used by an active hold, or the hold limit is reached.");
    }
    let mut quantities = std::collections::BTreeMap::new();
    for item in input["fulfillmentOrderLineItems"].as_array().into_iter().flatten() {
        let line = parse_gid("FulfillmentOrderLineItem", &item["id"])
            .filter(|id| fo.line_ids.contains(id))
            .and_then(|id| order.lines.iter().find(|l| l.id == id));
        let qty = item["quantity"].as_u64().unwrap_or(0) as u32;
        match line {
            Some(l) if qty >= 1 && qty <= world.fulfillable(order, l) => {
                quantities.insert(l.id, qty);
            }
            _ => return refuse("A line item quantity is invalid."),
        }
    }
    if quantities.is_empty() {
        // No line items: the whole fulfillment order is held.
        quantities = order
            .lines
            .iter()
            .filter(|l| fo.line_ids.contains(&l.id))
            .map(|l| (l.id, world.fulfillable(order, l)))
            .filter(|(_, q)| *q > 0)
            .collect();
    }
    let reason = input["reason"].as_str().unwrap_or("OTHER").to_string();
    let h = Hold { id, fulfillment_order_id: fo_id, handle, reason, quantities };
    let out = hold_json(&h);
    world.orders.get_mut(&order_id).expect("found").holds.push(h);
    json!({"fulfillmentOrderHold": {"fulfillmentHold": out,
           "remainingFulfillmentOrder": {"id": gid("FulfillmentOrder", fo_id)}, "userErrors": []}})
}

pub(super) fn release(world: &mut World, vars: &Value) -> Value {
    let Some((order_id, fo_id)) = order_of_fo(world, &vars["id"]) else {
        return json!({"fulfillmentOrderReleaseHold": {"fulfillmentOrder": null,
                      "userErrors": [{"field": ["id"], "message": "Fulfillment order does not exist.", "code": "INVALID"}]}});
    };
    let ids: Option<Vec<u64>> =
        vars["holdIds"].as_array().map(|ids| ids.iter().filter_map(|i| parse_gid("FulfillmentHold", i)).collect());
    let order = world.orders.get_mut(&order_id).expect("found");
    let before = order.holds.len();
    // No ids: every hold of this fulfillment order.
    order.holds.retain(|h| h.fulfillment_order_id != fo_id || ids.as_ref().is_some_and(|ids| !ids.contains(&h.id)));
    if order.holds.len() == before {
        world.noops.push(format!("fulfillmentOrderReleaseHold {fo_id}: no hold to release"));
    }
    let fo = order.fulfillment_order(fo_id).expect("found");
    json!({"fulfillmentOrderReleaseHold": {"fulfillmentOrder": {"id": gid("FulfillmentOrder", fo_id),
           "status": fo_status(order, fo)}, "userErrors": []}})
}
