//! Answers the service's Admin GraphQL operations with Shopify's response shapes. The dev shop
//! knows the operations by name (each is one `.graphql` file of `crate::platform::ops`, all
//! validated against the real schema); it is a faithful stand-in for them, not a GraphQL engine.

use serde_json::{Value, json};

use super::fulfillment::{fulfillment_order_line_items, fulfillment_orders, hold, release};
use super::world::{Order, Policy, World};
use crate::ledger::input::{admin_time, timestamp_ms};
use crate::platform::cost::Document;

/// A reply's `data`, or top-level GraphQL errors.
pub type Resolved = Result<Value, String>;

pub fn gid(kind: &str, id: u64) -> String {
    format!("gid://shopify/{kind}/{id}")
}

/// The number at the end of a GID of `kind`.
pub fn parse_gid(kind: &str, v: &Value) -> Option<u64> {
    v.as_str()?.strip_prefix("gid://shopify/")?.strip_prefix(kind)?.strip_prefix('/')?.parse().ok()
}

fn user_errors(errors: Vec<(Vec<&str>, String)>) -> Value {
    Value::Array(errors.into_iter().map(|(field, message)| json!({"field": field, "message": message})).collect())
}

/// One page of `items` (in ascending id order) after the cursor `after` (the id of the last
/// item of the page before, which may be gone since), of the size the document asks for at that
/// connection, and its `pageInfo`.
pub(super) fn page<'a, T>(
    items: &'a [T],
    id: impl Fn(&T) -> u64,
    size: Option<u64>,
    after: &Value,
) -> (&'a [T], Value) {
    let start = match after.as_str().and_then(|c| c.parse::<u64>().ok()) {
        Some(cursor) => items.iter().position(|i| id(i) > cursor).unwrap_or(items.len()),
        None => 0,
    };
    let rest = &items[start.min(items.len())..];
    let size = usize::try_from(size.unwrap_or(0)).unwrap_or(usize::MAX).min(rest.len());
    let page = &rest[..size];
    let info = json!({"hasNextPage": rest.len() > size, "endCursor": page.last().map(|i| id(i).to_string())});
    (page, info)
}

/// The operation's answer. `doc` is the document the client sent: the dev shop serves the page
/// sizes it asks for, so a document sized to Shopify's limit is paged exactly as Shopify would.
pub fn resolve(world: &mut World, operation: &str, vars: &Value, doc: &Document) -> Resolved {
    match operation {
        "ProductVariantItem" => Ok(product_variant(world, vars)),
        "IncomingTransfers" => Ok(super::transfers::incoming_transfers(world, vars, doc)),
        "InventoryShipmentLines" => Ok(super::transfers::shipment_lines(world, vars, doc)),
        "InventoryTransferItems" => Ok(super::transfers::transfer_items(world, vars, doc)),
        "ConsolationCode" => Ok(super::discounts::by_code(world, vars)),
        "DiscountCodeBasicCreate" => Ok(super::discounts::create(world, "basic", vars)),
        "DiscountCodeFreeShippingCreate" => Ok(super::discounts::create(world, "free_shipping", vars)),
        "TagsAdd" | "TagsRemove" => Ok(tags(world, operation == "TagsAdd", vars)),
        "VariantsPolicy" => Ok(variants_policy(world, vars)),
        "EtaMetafields" => Ok(metafields_set(world, vars)),
        "EtaMetafieldsDelete" => Ok(metafields_delete(world, vars)),
        "OrderFulfillmentOrders" => Ok(fulfillment_orders(world, vars, doc)),
        "FulfillmentOrderLineItems" => Ok(fulfillment_order_line_items(world, vars, doc)),
        "FulfillmentOrderHold" => Ok(hold(world, vars)),
        "FulfillmentOrderReleaseHold" => Ok(release(world, vars)),
        "InventoryItemLevels" => Ok(levels(world, vars, doc)),
        "OpenOrders" => Ok(open_orders(world, vars, doc)),
        "OrderState" => {
            let lines = doc.page_size(&["order", "lineItems"], vars);
            let order = parse_gid("Order", &vars["id"]).and_then(|id| world.orders.get(&id));
            Ok(json!({"order": order.map(|o| order_node(world, o, lines))}))
        }
        "OrderLineItems" => {
            let size = doc.page_size(&["order", "lineItems"], vars);
            let order = parse_gid("Order", &vars["id"]).and_then(|id| world.orders.get(&id));
            Ok(json!({"order": order.map(|o| json!({"lineItems": line_items(world, o, size, &vars["after"])}))}))
        }
        "WebhookSubscriptionCreate" => Ok(subscribe(world, vars)),
        "OrderTags" => {
            let order = parse_gid("Order", &vars["id"]).and_then(|id| world.orders.get(&id));
            Ok(json!({"order": order.map(|o| json!({"tags": o.tags}))}))
        }
        // One shop per world: its id only says the token was accepted.
        "ShopId" => Ok(json!({"shop": {"id": gid("Shop", 1)}})),
        "OrdersCount" => {
            let query = vars["query"].as_str().unwrap_or_default();
            let count = world.orders.values().filter(|o| order_matches(query, o)).count();
            Ok(json!({"ordersCount": {"count": count, "precision": "EXACT"}}))
        }
        "BulkRunQuery" => Ok(super::bulk::run_query(world, vars)),
        "ProductVariantIds" => Ok(variant_search(world, vars, doc)),
        "ProductVariantSearch" => Ok(variant_search_page(world, vars, doc)),
        "BulkOperation" => {
            let base = world.bulk_base.clone();
            Ok(super::bulk::look(world, vars, &base))
        }
        "Locations" => {
            // Every location the shop keeps stock at, the main one first.
            let mut ids: Vec<u64> = world.levels.keys().map(|(_, location)| *location).collect();
            ids.push(super::world::MAIN_LOCATION);
            ids.sort_unstable();
            ids.dedup();
            let nodes: Vec<Value> = ids
                .iter()
                .map(|id| {
                    let name = if *id == super::world::MAIN_LOCATION {
                        "Main warehouse".into()
                    } else {
                        format!("Store {id}")
                    };
                    json!({"id": gid("Location", *id), "name": name, "isActive": true})
                })
                .collect();
            Ok(json!({"locations": {"nodes": nodes}}))
        }
        "ShopTimezone" => {
            let zone = if world.timezone.is_empty() { "Etc/UTC" } else { world.timezone.as_str() };
            Ok(json!({"shop": {"ianaTimezone": zone}}))
        }
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
        "displayName": v.title,
        "inventoryPolicy": v.policy,
        "selectedOptions": if v.options.is_empty() {
            json!([{"name": "Title", "value": "Default Title"}])
        } else {
            json!(v.options.iter().map(|(name, value)| json!({"name": name, "value": value})).collect::<Vec<_>>())
        },
        "product": {"id": gid("Product", v.product_id)},
        "inventoryItem": {"id": gid("InventoryItem", v.inventory_item_id)},
        "metafield": v.metafields.get(&("$app".to_string(), "backorder_eta".to_string()))
            .map(|(_, value)| json!({"value": value})),
    }))})
}

fn tags(world: &mut World, add: bool, vars: &Value) -> Value {
    let field = if add { "tagsAdd" } else { "tagsRemove" };
    let order = parse_gid("Order", &vars["id"]).and_then(|id| world.orders.get_mut(&id));
    let Some(order) = order else {
        return json!({ field: {"node": null, "userErrors": user_errors(vec![(vec!["id"], "Order does not exist".into())])} });
    };
    let mut changed = false;
    for t in vars["tags"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        changed |= if add { order.tags.insert(t.to_string()) } else { order.tags.remove(t) };
    }
    if !changed {
        let id = order.id;
        world.noops.push(format!("{field} on order {id}: nothing to change"));
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
    if changes.iter().all(|(id, policy)| world.variants[id].policy == *policy) {
        world.noops.push(format!("productVariantsBulkUpdate {changes:?}: every policy already set"));
    }
    for (id, policy) in changes {
        let v = world.variants.get_mut(&id).expect("checked");
        v.policy = policy;
        out.push(json!({"id": gid("ProductVariant", id), "inventoryPolicy": policy}));
    }
    json!({"productVariantsBulkUpdate": {"productVariants": out, "userErrors": []}})
}

/// `metafieldsDelete`: each identifier deleted, or `null` in its place when there was none.
fn metafields_delete(world: &mut World, vars: &Value) -> Value {
    let deleted: Vec<Value> = vars["metafields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            let variant = parse_gid("ProductVariant", &m["ownerId"]).and_then(|id| world.variants.get_mut(&id));
            let key = (
                m["namespace"].as_str().unwrap_or_default().to_string(),
                m["key"].as_str().unwrap_or_default().to_string(),
            );
            match variant.and_then(|v| v.metafields.remove(&key)) {
                Some(_) => json!({"key": key.1}),
                None => Value::Null,
            }
        })
        .collect();
    if deleted.iter().all(Value::is_null) {
        world.noops.push(format!("metafieldsDelete {}: nothing to delete", vars["metafields"]));
    }
    json!({"metafieldsDelete": {"deletedMetafields": deleted, "userErrors": []}})
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
    let same = writes.iter().all(|(owner, namespace, key, kind, value)| {
        world.variants[owner].metafields.get(&(namespace.clone(), key.clone())) == Some(&(kind.clone(), value.clone()))
    });
    if same {
        world.noops.push(format!("metafieldsSet {}: every value already set", vars["metafields"]));
    }
    let mut out = Vec::new();
    for (owner, namespace, key, kind, value) in writes {
        let v = world.variants.get_mut(&owner).expect("checked");
        v.metafields.insert((namespace, key.clone()), (kind, value.clone()));
        out.push(json!({"ownerType": "PRODUCTVARIANT", "key": key, "value": value}));
    }
    json!({"metafieldsSet": {"metafields": out, "userErrors": []}})
}

fn levels(world: &World, vars: &Value, doc: &Document) -> Value {
    let Some(item) = parse_gid("InventoryItem", &vars["id"]) else { return json!({"inventoryItem": null}) };
    let levels: Vec<(u64, &super::world::Level)> =
        world.levels.range((item, 0)..=(item, u64::MAX)).map(|((_, location), l)| (*location, l)).collect();
    if levels.is_empty() {
        return json!({"inventoryItem": null});
    }
    let size = doc.page_size(&["inventoryItem", "inventoryLevels"], vars);
    let (page, info) = page(&levels, |(location, _)| *location, size, &vars["after"]);
    let nodes: Vec<Value> = page
        .iter()
        .map(|(location, l)| {
            json!({
                "location": {"id": gid("Location", *location)},
                "quantities": [{"name": "available", "quantity": l.available}, {"name": "incoming", "quantity": l.incoming}],
                "updatedAt": admin_time(l.updated_at_ms),
            })
        })
        .collect();
    json!({"inventoryItem": {"id": gid("InventoryItem", item), "inventoryLevels": {"pageInfo": info, "nodes": nodes}}})
}

/// `productVariants(query:)` with the terms the service sends: `product_ids:1,2` and
/// `inventory_quantity:<=0` (summed over the item's locations, as Shopify aggregates it).
/// The variants a `productVariants(query:)` search finds: the filters the service sends
/// (`product_ids:`, `inventory_quantity:<=`), and any other word matched against the title and
/// the SKU without regard to case, as Shopify's default search does.
fn search(world: &World, query: &str) -> Vec<u64> {
    world
        .variants
        .iter()
        .filter(|(id, v)| {
            query.split_whitespace().all(|term| {
                if let Some(list) = term.strip_prefix("product_ids:") {
                    return list.split(',').any(|p| p.trim().parse() == Ok(v.product_id));
                }
                if let Some(n) = term.strip_prefix("inventory_quantity:<=") {
                    return n.parse::<i64>().is_ok_and(|n| world.available(**id) <= n);
                }
                let word = term.trim_matches(['"', '\'', '*']).to_lowercase();
                v.title.to_lowercase().contains(&word) || v.sku.to_lowercase().contains(&word)
            })
        })
        .map(|(id, _)| *id)
        .collect()
}

/// `ProductVariantSearch`: the page's catalogue search, with what it shows of each variant.
fn variant_search_page(world: &World, vars: &Value, doc: &Document) -> Value {
    let found = search(world, vars["query"].as_str().unwrap_or_default());
    let (page, _) = page(&found, |v| *v, doc.page_size(&["productVariants"], vars), &Value::Null);
    let nodes: Vec<Value> = page
        .iter()
        .filter_map(|id| world.variants.get(id))
        .map(|v| {
            json!({"id": gid("ProductVariant", v.id), "displayName": v.title, "sku": v.sku,
                   "inventoryQuantity": world.available(v.id)})
        })
        .collect();
    json!({"productVariants": {"nodes": nodes}})
}

fn variant_search(world: &World, vars: &Value, doc: &Document) -> Value {
    let found = search(world, vars["query"].as_str().unwrap_or_default());
    let (page, info) = page(&found, |v| *v, doc.page_size(&["productVariants"], vars), &vars["after"]);
    json!({"productVariants": {"pageInfo": info,
           "nodes": page.iter().map(|v| json!({"id": gid("ProductVariant", *v)})).collect::<Vec<_>>()}})
}

/// Whether `order` matches an `orders(query:)` search: the terms the service sends
/// (`status:open`, `updated_at:>=` or `>` a time), all of which must hold. Like Shopify, a term
/// it does not know filters nothing.
pub(super) fn order_matches(query: &str, order: &Order) -> bool {
    query.split_whitespace().filter(|t| !t.eq_ignore_ascii_case("AND")).all(|term| {
        let term = term.replace(['\'', '"'], "");
        if term == "status:open" {
            return !order.cancelled && order.lines.iter().any(|l| l.fulfilled < l.quantity);
        }
        if let Some(rest) = term.strip_prefix("created_at:>=") {
            // A day (midnight UTC, the dev shop's zone) or a time.
            let at =
                timestamp_ms("created_at", rest).or_else(|_| timestamp_ms("created_at", &format!("{rest}T00:00:00Z")));
            return at.is_ok_and(|at| order.created_at_ms >= at);
        }
        if let Some(rest) = term.strip_prefix("updated_at:") {
            let (inclusive, at) = match rest.strip_prefix(">=") {
                Some(at) => (true, at),
                None => (false, rest.strip_prefix('>').unwrap_or(rest)),
            };
            let Ok(at) = timestamp_ms("updated_at", at) else { return true };
            // Shopify compares at whole seconds.
            let updated = order.updated_at_ms.div_euclid(1000) * 1000;
            return if inclusive { updated >= at } else { updated > at };
        }
        true
    })
}

fn open_orders(world: &World, vars: &Value, doc: &Document) -> Value {
    let query = vars["query"].as_str().unwrap_or_default();
    let open: Vec<&Order> = world.orders.values().filter(|o| order_matches(query, o)).collect();
    let (page, info) = page(&open, |o| o.id, doc.page_size(&["orders"], vars), &vars["after"]);
    let lines = doc.page_size(&["orders", "nodes", "lineItems"], vars);
    json!({"orders": {"pageInfo": info, "nodes": page.iter().map(|o| order_node(world, o, lines)).collect::<Vec<_>>()}})
}

/// An order as `OpenOrders` and `OrderState` select it, with the first `lines` of its lines.
pub(super) fn order_node(world: &World, o: &Order, lines: Option<u64>) -> Value {
    json!({
        "id": gid("Order", o.id),
        "name": o.name,
        "email": o.email,
        "createdAt": admin_time(o.created_at_ms),
        "updatedAt": admin_time(o.updated_at_ms),
        "cancelledAt": if o.cancelled { Value::from(admin_time(o.updated_at_ms)) } else { Value::Null },
        "closedAt": null,
        // The same customer the order webhooks name (`payloads::order`).
        "customer": {"id": gid("Customer", 900_000 + o.id), "firstName": "Dev", "tags": o.customer_tags},
        "lineItems": line_items(world, o, lines, &Value::Null),
    })
}

/// A page of an order's line items as `OpenOrders`, `OrderState` and `OrderLineItems` select them.
fn line_items(world: &World, o: &Order, size: Option<u64>, after: &Value) -> Value {
    let (lines, info) = page(&o.lines, |l| l.id, size, after);
    json!({"pageInfo": info, "nodes": lines.iter().map(|l| json!({
        "id": gid("LineItem", l.id),
        "quantity": l.quantity,
        "name": world.variants.get(&l.variant_id).map(|v| v.title.clone()),
        "unfulfilledQuantity": if o.cancelled { 0 } else { l.quantity - l.fulfilled },
        "currentQuantity": if o.cancelled { 0 } else { l.quantity },
        "variant": {"id": gid("ProductVariant", l.variant_id)},
    })).collect::<Vec<_>>()})
}
