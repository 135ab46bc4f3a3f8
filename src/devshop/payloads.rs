//! Webhook bodies in the shape of Shopify's REST payloads (2026-10), built from a dev shop
//! world, so the service reads the dev shop exactly as it reads Shopify.
//!
//! Timestamps in bodies have whole seconds and the shop's UTC offset, as Shopify writes them;
//! the exact instant of a change travels in `X-Shopify-Triggered-At` (see `sender`), which is
//! what the service uses to order two changes within one second.

use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

use super::world::{Level, Order, OrderLine, Policy, Variant, World, WorldError};

/// The dev shop's time zone: Shopify renders body timestamps in the shop's zone.
const SHOP_OFFSET_HOURS: i8 = -5;
/// The dev shop has no prices; every unit costs the same.
const PRICE: &str = "25.00";
const PRICE_CENTS: u64 = 2500;

/// `ms` as Shopify writes body timestamps: `2026-03-14T11:27:41-05:00`.
pub fn shop_time(ms: i64) -> String {
    let offset = UtcOffset::from_hms(SHOP_OFFSET_HOURS, 0, 0).expect("valid offset");
    OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .to_offset(offset)
        .format(&Rfc3339)
        .unwrap_or_default()
}

fn status_of(shipped: u32, total: u32) -> Value {
    match shipped {
        0 => Value::Null,
        s if s >= total => "fulfilled".into(),
        _ => "partial".into(),
    }
}

fn line_item(world: &World, order: &Order, line: &OrderLine) -> Value {
    let variant = world.variants.get(&line.variant_id);
    let title = variant.map_or("Deleted product", |v| v.title.as_str());
    // Shopify's `fulfillable_quantity` ignores fulfillment holds: it is what is left to ship.
    // (A held unit still counts, or the service's own hold would shrink its own queue.)
    let unshipped = if order.cancelled { 0 } else { line.quantity - line.fulfilled };
    json!({
        "id": line.id,
        "admin_graphql_api_id": format!("gid://shopify/LineItem/{}", line.id),
        "current_quantity": line.quantity - line.restocked - line.unrestocked,
        "fulfillable_quantity": unshipped,
        "fulfillment_service": "manual",
        "fulfillment_status": status_of(line.fulfilled, line.quantity),
        "gift_card": false,
        "grams": 200,
        "name": title,
        "price": PRICE,
        "product_exists": variant.is_some(),
        "product_id": variant.map(|v| v.product_id),
        "quantity": line.quantity,
        "requires_shipping": true,
        "sku": format!("DEV-{}", line.variant_id),
        "taxable": true,
        "title": title,
        "total_discount": "0.00",
        "variant_id": line.variant_id,
        "variant_inventory_management": "shopify",
        "variant_title": Value::Null,
        "vendor": "Dev Shop",
    })
}

/// The order's refunds as the webhook lists them: one, for the cancellation, if any unit was
/// refunded.
fn refunds(order: &Order) -> Value {
    let lines: Vec<Value> = order
        .lines
        .iter()
        .flat_map(|l| [(l.id, l.restocked, "cancel"), (l.id, l.unrestocked, "no_restock")])
        .filter(|(_, units, _)| *units > 0)
        .map(|(id, units, kind)| json!({"line_item_id": id, "quantity": units, "restock_type": kind}))
        .collect();
    if lines.is_empty() {
        return json!([]);
    }
    json!([{"id": order.id * 100, "order_id": order.id, "restock": true, "refund_line_items": lines}])
}

/// The whole order, as `orders/create`, `orders/updated`, `orders/cancelled` and
/// `orders/fulfilled` all carry it.
pub fn order(world: &World, order_id: u64) -> Result<Vec<u8>, WorldError> {
    let order = world.orders.get(&order_id).ok_or(WorldError::NoOrder(order_id))?;
    let units: u32 = order.lines.iter().map(|l| l.quantity).sum();
    let shipped: u32 = order.lines.iter().map(|l| l.fulfilled).sum();
    let cents = u64::from(units) * PRICE_CENTS;
    let total = format!("{}.{:02}", cents / 100, cents % 100);
    let number: u64 = order.name.trim_start_matches('#').parse().unwrap_or(0);
    let cancelled_at = order.cancelled.then(|| shop_time(order.updated_at_ms));
    let tags: Vec<&str> = order.tags.iter().map(String::as_str).collect();
    let body = json!({
        "id": order.id,
        "admin_graphql_api_id": format!("gid://shopify/Order/{}", order.id),
        "buyer_accepts_marketing": false,
        "cancel_reason": if order.cancelled { Value::from("customer") } else { Value::Null },
        "cancelled_at": cancelled_at,
        "closed_at": Value::Null,
        "confirmed": true,
        "contact_email": order.email,
        "created_at": shop_time(order.created_at_ms),
        "currency": "USD",
        "current_total_price": if order.cancelled { "0.00".to_string() } else { total.clone() },
        "email": order.email,
        "financial_status": if order.cancelled { "voided" } else { "paid" },
        "fulfillment_status": status_of(shipped, units),
        "name": order.name,
        "number": number.saturating_sub(1000),
        "order_number": number,
        "processed_at": shop_time(order.created_at_ms),
        "source_name": "web",
        "subtotal_price": total,
        "tags": tags.join(", "),
        "test": true,
        "total_price": total,
        "updated_at": shop_time(order.updated_at_ms),
        "customer": {
            "id": 900_000 + order.id,
            "admin_graphql_api_id": format!("gid://shopify/Customer/{}", 900_000 + order.id),
            "email": order.email,
            "first_name": "Dev",
            "last_name": "Customer",
            "state": "enabled",
            "tags": order.customer_tags.join(", "),
            "currency": "USD",
        },
        "line_items": order.lines.iter().map(|l| line_item(world, order, l)).collect::<Vec<_>>(),
        // One refund for the cancellation: its lines say which units went back on sale.
        "refunds": refunds(order),
    });
    Ok(serde_json::to_vec_pretty(&body).expect("json values serialize"))
}

/// `inventory_levels/update`: Shopify sends only `available` of the level.
pub fn level(inventory_item_id: u64, location_id: u64, level: &Level) -> Vec<u8> {
    let body = json!({
        "inventory_item_id": inventory_item_id,
        "location_id": location_id,
        "available": level.available,
        "updated_at": shop_time(level.updated_at_ms),
        "admin_graphql_api_id":
            format!("gid://shopify/InventoryLevel/{location_id}?inventory_item_id={inventory_item_id}"),
    });
    serde_json::to_vec_pretty(&body).expect("json values serialize")
}

fn variant(world: &World, v: &Variant, position: usize, updated_at: &str) -> Value {
    let policy = match v.policy {
        Policy::Deny => "deny",
        Policy::Continue => "continue",
    };
    json!({
        "admin_graphql_api_id": format!("gid://shopify/ProductVariant/{}", v.id),
        "barcode": Value::Null,
        "compare_at_price": Value::Null,
        "id": v.id,
        "inventory_item_id": v.inventory_item_id,
        "inventory_management": "shopify",
        "inventory_policy": policy,
        "inventory_quantity": world.available(v.id),
        "option1": v.options.first().map_or("Default Title", |(_, value)| value.as_str()),
        "option2": v.options.get(1).map(|(_, value)| value.clone()),
        "option3": v.options.get(2).map(|(_, value)| value.clone()),
        "position": position,
        "price": PRICE,
        "product_id": v.product_id,
        "sku": format!("DEV-{}", v.id),
        "taxable": true,
        "title": "Default Title",
        "updated_at": updated_at,
    })
}

/// `products/update` for a product and all its variants; `updated_at_ms` is when it changed.
pub fn product(world: &World, product_id: u64, updated_at_ms: i64) -> Result<Vec<u8>, WorldError> {
    let variants: Vec<&Variant> = world.variants.values().filter(|v| v.product_id == product_id).collect();
    // The dev shop keeps no product record: a product is the variants that name it.
    let first = variants.first().ok_or(WorldError::NoVariant(product_id))?;
    let at = shop_time(updated_at_ms);
    let body = json!({
        "admin_graphql_api_id": format!("gid://shopify/Product/{product_id}"),
        "body_html": format!("<p>{}</p>", first.title),
        "handle": first.title.to_lowercase().replace(' ', "-"),
        "id": product_id,
        "product_type": "",
        "published_scope": "web",
        "status": "active",
        "tags": "",
        "title": first.title,
        "updated_at": at,
        "vendor": "Dev Shop",
        "variants": variants.iter().enumerate().map(|(i, v)| variant(world, v, i + 1, &at)).collect::<Vec<_>>(),
        "options": if first.options.is_empty() {
            json!([{"name": "Title", "position": 1, "values": ["Default Title"]}])
        } else {
            json!(first.options.iter().enumerate().map(|(i, (name, _))| json!({"name": name, "position": i + 1,
                "values": variants.iter().filter_map(|v| v.options.get(i).map(|(_, value)| value.clone())).collect::<Vec<_>>()}))
                .collect::<Vec<_>>())
        },
        "images": [],
        "variant_gids": variants.iter().map(|v| json!({
            "admin_graphql_api_id": format!("gid://shopify/ProductVariant/{}", v.id),
            "updated_at": super::rfc3339(updated_at_ms),
        })).collect::<Vec<_>>(),
    });
    Ok(serde_json::to_vec_pretty(&body).expect("json values serialize"))
}

#[cfg(test)]
mod tests;
