//! Answers the service's Admin GraphQL operations with Shopify's response shapes. The dev shop
//! knows the operations by name (each is one `.graphql` file of `crate::platform::ops`, all
//! validated against the real schema); it is a faithful stand-in for them, not a GraphQL engine.

use serde_json::{Value, json};

use super::world::{Hold, Order, Policy, World};

/// A reply's `data`, or top-level GraphQL errors.
pub type Resolved = Result<Value, String>;

pub fn gid(kind: &str, id: u64) -> String {
    format!("gid://shopify/{kind}/{id}")
}

/// The number at the end of a GID of `kind`.
pub fn parse_gid(kind: &str, v: &Value) -> Option<u64> {
    v.as_str()?.strip_prefix("gid://shopify/")?.strip_prefix(kind)?.strip_prefix('/')?.parse().ok()
}

/// A timestamp as the Admin API writes it: UTC, whole seconds (`2026-03-14T16:27:41Z`).
fn admin_time(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// What the dev shop charges per operation: Shopify's rules (objects 1, connections by their
/// page size, mutations 10) applied to our documents.
pub fn requested_cost(operation: &str) -> f64 {
    match operation {
        "ShopId" => 1.0,
        "ProductVariantItem" => 3.0,
        "OrderFulfillmentOrders" => 20.0,
        "InventoryItemLevels" => 20.0,
        "OpenOrders" => 302.0,
        _ => 10.0,
    }
}

fn user_errors(errors: Vec<(Vec<&str>, String)>) -> Value {
    Value::Array(errors.into_iter().map(|(field, message)| json!({"field": field, "message": message})).collect())
}

pub fn resolve(world: &mut World, operation: &str, vars: &Value) -> Resolved {
    match operation {
        "ProductVariantItem" => Ok(product_variant(world, vars)),
        "TagsAdd" | "TagsRemove" => Ok(tags(world, operation == "TagsAdd", vars)),
        "VariantsPolicy" => Ok(variants_policy(world, vars)),
        "EtaMetafields" => Ok(metafields_set(world, vars)),
        "OrderFulfillmentOrders" => Ok(fulfillment_orders(world, vars)),
        "FulfillmentOrderHold" => Ok(hold(world, vars)),
        "FulfillmentOrderReleaseHold" => Ok(release(world, vars)),
        "InventoryItemLevels" => Ok(levels(world, vars)),
        "OpenOrders" => Ok(open_orders(world, vars)),
        "OrderState" => {
            Ok(json!({"order": parse_gid("Order", &vars["id"]).and_then(|id| world.orders.get(&id)).map(order_node)}))
        }
        "WebhookSubscriptionCreate" => Ok(subscribe(world, vars)),
        // One shop per world: its id only says the token was accepted.
        "ShopId" => Ok(json!({"shop": {"id": gid("Shop", 1)}})),
        other => Err(format!("the dev shop does not know the operation {other:?}")),
    }
}

fn subscribe(world: &mut World, vars: &Value) -> Value {
    let topic = vars["topic"].as_str().unwrap_or_default().to_string();
    let Some(uri) = vars["subscription"]["uri"].as_str().filter(|u| u.starts_with("http")) else {
        return json!({"webhookSubscriptionCreate": {"webhookSubscription": null,
            "userErrors": user_errors(vec![(vec!["webhookSubscription", "uri"], "Address is invalid".into())])}});
    };
    if world.subscriptions.get(&topic).is_some_and(|u| u == uri) {
        return json!({"webhookSubscriptionCreate": {"webhookSubscription": null,
            "userErrors": user_errors(vec![(vec!["address"], "Address for this topic has already been taken".into())])}});
    }
    world.subscriptions.insert(topic.clone(), uri.to_string());
    json!({"webhookSubscriptionCreate": {
        "webhookSubscription": {"id": gid("WebhookSubscription", world.next_id()), "topic": topic},
        "userErrors": [],
    }})
}

fn product_variant(world: &World, vars: &Value) -> Value {
    let v = parse_gid("ProductVariant", &vars["id"]).and_then(|id| world.variants.get(&id));
    json!({"productVariant": v.map(|v| json!({
        "id": gid("ProductVariant", v.id),
        "inventoryPolicy": v.policy,
        "product": {"id": gid("Product", v.product_id)},
        "inventoryItem": {"id": gid("InventoryItem", v.inventory_item_id)},
    }))})
}

fn tags(world: &mut World, add: bool, vars: &Value) -> Value {
    let field = if add { "tagsAdd" } else { "tagsRemove" };
    let order = parse_gid("Order", &vars["id"]).and_then(|id| world.orders.get_mut(&id));
    let Some(order) = order else {
        return json!({ field: {"node": null, "userErrors": user_errors(vec![(vec!["id"], "Order does not exist".into())])} });
    };
    for t in vars["tags"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        if add {
            order.tags.insert(t.to_string());
        } else {
            order.tags.remove(t);
        }
    }
    json!({ field: {"node": {"id": gid("Order", order.id)}, "userErrors": []} })
}

fn variants_policy(world: &mut World, vars: &Value) -> Value {
    let product = parse_gid("Product", &vars["productId"]);
    let inputs = vars["variants"].as_array().cloned().unwrap_or_default();
    let mut changes = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let variant = parse_gid("ProductVariant", &input["id"]).and_then(|id| world.variants.get(&id));
        let policy = match input["inventoryPolicy"].as_str() {
            Some("DENY") => Policy::Deny,
            Some("CONTINUE") => Policy::Continue,
            _ => {
                let errors =
                    user_errors(vec![(vec!["variants", "inventoryPolicy"], format!("variant {i}: invalid policy"))]);
                return json!({"productVariantsBulkUpdate": {"productVariants": null, "userErrors": errors}});
            }
        };
        match variant {
            Some(v) if Some(v.product_id) == product => changes.push((v.id, policy)),
            _ => {
                // allowPartialUpdates defaults to false: one bad variant blocks them all.
                let errors = user_errors(vec![(vec!["variants", "id"], "Product variant does not exist".into())]);
                return json!({"productVariantsBulkUpdate": {"productVariants": null, "userErrors": errors}});
            }
        }
    }
    let mut out = Vec::new();
    for (id, policy) in changes {
        let v = world.variants.get_mut(&id).expect("checked");
        v.policy = policy;
        out.push(json!({"id": gid("ProductVariant", id), "inventoryPolicy": policy}));
    }
    json!({"productVariantsBulkUpdate": {"productVariants": out, "userErrors": []}})
}

fn metafields_set(world: &mut World, vars: &Value) -> Value {
    let inputs = vars["metafields"].as_array().cloned().unwrap_or_default();
    let refuse = |field: &str, message: &str| json!({"metafieldsSet": {"metafields": null, "userErrors": [{"field": ["metafields", field], "message": message, "code": "INVALID"}]}});
    if inputs.len() > 25 {
        return refuse("", "Exceeded the maximum metafields input limit of 25.");
    }
    let mut writes = Vec::new();
    for m in &inputs {
        let Some(owner) = parse_gid("ProductVariant", &m["ownerId"]).filter(|id| world.variants.contains_key(id))
        else {
            return refuse("ownerId", "Owner does not exist");
        };
        let namespace = m["namespace"].as_str().unwrap_or("$app").to_string();
        let (Some(key), Some(value)) = (m["key"].as_str(), m["value"].as_str()) else {
            return refuse("value", "Key and value are required");
        };
        let kind = m["type"].as_str().unwrap_or("single_line_text_field");
        let date = time::macros::format_description!("[year]-[month]-[day]");
        if kind == "date" && time::Date::parse(value, date).is_err() {
            return refuse("value", "Value must be in YYYY-MM-DD format.");
        }
        writes.push((owner, namespace, key.to_string(), kind.to_string(), value.to_string()));
    }
    // Atomic, as Shopify's: everything was checked before anything is written.
    let mut out = Vec::new();
    for (owner, namespace, key, kind, value) in writes {
        let v = world.variants.get_mut(&owner).expect("checked");
        v.metafields.insert((namespace, key.clone()), (kind, value.clone()));
        out.push(json!({"ownerType": "PRODUCTVARIANT", "key": key, "value": value}));
    }
    json!({"metafieldsSet": {"metafields": out, "userErrors": []}})
}

fn fo_status(order: &Order) -> &'static str {
    if order.cancelled {
        "CANCELLED"
    } else if !order.holds.is_empty() {
        "ON_HOLD"
    } else if order.lines.iter().all(|l| l.fulfilled == l.quantity) {
        "CLOSED"
    } else {
        "OPEN"
    }
}

fn hold_json(h: &Hold) -> Value {
    json!({"id": gid("FulfillmentHold", h.id), "handle": h.handle, "reason": h.reason})
}

fn fulfillment_orders(world: &World, vars: &Value) -> Value {
    let order = parse_gid("Order", &vars["id"]).and_then(|id| world.orders.get(&id));
    json!({"order": order.map(|o| json!({
        "id": gid("Order", o.id),
        "fulfillmentOrders": {"nodes": [{
            "id": gid("FulfillmentOrder", o.fulfillment_order_id),
            "status": fo_status(o),
            "fulfillmentHolds": o.holds.iter().map(hold_json).collect::<Vec<_>>(),
            "lineItems": {"nodes": o.lines.iter().map(|l| json!({
                "id": gid("FulfillmentOrderLineItem", l.id),
                "remainingQuantity": l.quantity - l.fulfilled,
                "lineItem": {"id": gid("LineItem", l.id)},
            })).collect::<Vec<_>>()},
        }]},
    }))})
}

fn order_of_fo(world: &mut World, v: &Value) -> Option<u64> {
    let fo = parse_gid("FulfillmentOrder", v)?;
    world.orders.values().find(|o| o.fulfillment_order_id == fo).map(|o| o.id)
}

fn hold(world: &mut World, vars: &Value) -> Value {
    let refuse = |message: &str| {
        json!({"fulfillmentOrderHold": {"fulfillmentHold": null, "remainingFulfillmentOrder": null,
               "userErrors": [{"field": ["id"], "message": message, "code": "INVALID"}]}})
    };
    let Some(order_id) = order_of_fo(world, &vars["id"]) else { return refuse("Fulfillment order does not exist.") };
    let input = &vars["hold"];
    let handle = input["handle"].as_str().unwrap_or("").to_string();
    let id = world.next_id();
    let order = world.orders.get(&order_id).expect("found");
    if order.cancelled {
        return refuse("The fulfillment order is cancelled.");
    }
    if order.holds.len() >= 10 || order.holds.iter().any(|h| h.handle == handle) {
        return refuse("The handle is already used by an active hold, or the hold limit is reached.");
    }
    let mut quantities = std::collections::BTreeMap::new();
    for item in input["fulfillmentOrderLineItems"].as_array().into_iter().flatten() {
        let line =
            parse_gid("FulfillmentOrderLineItem", &item["id"]).and_then(|id| order.lines.iter().find(|l| l.id == id));
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
        quantities = order.lines.iter().map(|l| (l.id, world.fulfillable(order, l))).filter(|(_, q)| *q > 0).collect();
    }
    let h = Hold { id, handle, reason: input["reason"].as_str().unwrap_or("OTHER").to_string(), quantities };
    let out = hold_json(&h);
    let order = world.orders.get_mut(&order_id).expect("found");
    order.holds.push(h);
    json!({"fulfillmentOrderHold": {"fulfillmentHold": out,
           "remainingFulfillmentOrder": {"id": gid("FulfillmentOrder", order.fulfillment_order_id)}, "userErrors": []}})
}

fn release(world: &mut World, vars: &Value) -> Value {
    let Some(order_id) = order_of_fo(world, &vars["id"]) else {
        return json!({"fulfillmentOrderReleaseHold": {"fulfillmentOrder": null,
                      "userErrors": [{"field": ["id"], "message": "Fulfillment order does not exist.", "code": "INVALID"}]}});
    };
    let ids: Option<Vec<u64>> =
        vars["holdIds"].as_array().map(|ids| ids.iter().filter_map(|i| parse_gid("FulfillmentHold", i)).collect());
    let order = world.orders.get_mut(&order_id).expect("found");
    order.holds.retain(|h| ids.as_ref().is_some_and(|ids| !ids.contains(&h.id)));
    json!({"fulfillmentOrderReleaseHold": {"fulfillmentOrder": {"id": gid("FulfillmentOrder", order.fulfillment_order_id),
           "status": fo_status(order)}, "userErrors": []}})
}

fn levels(world: &World, vars: &Value) -> Value {
    let Some(item) = parse_gid("InventoryItem", &vars["id"]) else { return json!({"inventoryItem": null}) };
    let nodes: Vec<Value> = world
        .levels
        .range((item, 0)..=(item, u64::MAX))
        .map(|((_, location), l)| {
            json!({
                "location": {"id": gid("Location", *location)},
                "quantities": [{"name": "available", "quantity": l.available}],
                "updatedAt": admin_time(l.updated_at_ms),
            })
        })
        .collect();
    if nodes.is_empty() {
        return json!({"inventoryItem": null});
    }
    json!({"inventoryItem": {"id": gid("InventoryItem", item), "inventoryLevels": {"nodes": nodes}}})
}

fn open_orders(world: &World, vars: &Value) -> Value {
    const PAGE: usize = 50;
    let after: u64 = vars["after"].as_str().and_then(|c| c.parse().ok()).unwrap_or(0);
    let open: Vec<&Order> = world
        .orders
        .values()
        .filter(|o| o.id > after && !o.cancelled && o.lines.iter().any(|l| l.fulfilled < l.quantity))
        .take(PAGE + 1)
        .collect();
    let more = open.len() > PAGE;
    let page = &open[..open.len().min(PAGE)];
    json!({"orders": {
        "pageInfo": {"hasNextPage": more, "endCursor": page.last().map(|o| o.id.to_string())},
        "nodes": page.iter().map(|o| order_node(o)).collect::<Vec<_>>(),
    }})
}

/// An order as `OpenOrders` and `OrderState` select it.
fn order_node(o: &Order) -> Value {
    json!({
        "id": gid("Order", o.id),
        "name": o.name,
        "createdAt": admin_time(o.created_at_ms),
        "updatedAt": admin_time(o.updated_at_ms),
        "cancelledAt": if o.cancelled { Value::from(admin_time(o.updated_at_ms)) } else { Value::Null },
        "closedAt": null,
        "customer": {"tags": o.customer_tags},
        "lineItems": {"nodes": o.lines.iter().map(|l| json!({
            "id": gid("LineItem", l.id),
            "quantity": l.quantity,
            "unfulfilledQuantity": if o.cancelled { 0 } else { l.quantity - l.fulfilled },
            "variant": {"id": gid("ProductVariant", l.variant_id)},
        })).collect::<Vec<_>>()},
    })
}
