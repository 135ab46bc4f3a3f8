//! Webhook bodies in Shopify's shape (REST payloads of 2026-10), built from plain values so
//! tests can describe histories compactly.

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The fixed instant test histories count from (seconds since the epoch).
pub const BASE: i64 = 1_795_000_000;

/// A point in a test history: seconds after a fixed instant, rendered with a shop offset as
/// Shopify does (`-05:00`).
pub fn timestamp(t: i64) -> String {
    let base = OffsetDateTime::from_unix_timestamp(BASE + t).expect("valid instant");
    let offset = time::UtcOffset::from_hms(-5, 0, 0).expect("valid offset");
    base.to_offset(offset).format(&Rfc3339).expect("formats")
}

/// The point in a test history of a dev shop time (ms since the epoch), to the second.
pub fn since_base(ms: i64) -> i64 {
    ms.div_euclid(1000) - BASE
}

/// `X-Shopify-Triggered-At` for the `nth` change within second `t`, nanosecond precision as
/// Shopify sends it.
pub fn triggered_at(t: i64, nth: u32) -> String {
    let at = OffsetDateTime::from_unix_timestamp(BASE + t).expect("valid instant")
        + time::Duration::nanoseconds(i64::from(nth % 1_000_000) * 1000);
    at.format(&Rfc3339).expect("formats")
}

#[derive(Debug, Clone, Default)]
pub struct Line {
    pub line_id: u64,
    pub variant_id: u64,
    pub quantity: u32,
    /// Units still to ship.
    pub fulfillable: u32,
    /// Units refunded and put back on sale (a restocked cancellation or return).
    pub restocked: u32,
    /// Units refunded without going back on sale.
    pub unrestocked: u32,
}

impl Line {
    /// The line's refunds as Shopify lists them, one refund line per kind of restock.
    fn refund_lines(&self) -> Vec<Value> {
        [(self.restocked, "cancel"), (self.unrestocked, "no_restock")]
            .into_iter()
            .filter(|(units, _)| *units > 0)
            .map(|(units, kind)| json!({"line_item_id": self.line_id, "quantity": units, "restock_type": kind}))
            .collect()
    }
}

#[derive(Debug, Clone)]
pub struct Order {
    pub id: u64,
    pub created_at: i64,
    pub updated_at: i64,
    pub tags: Vec<String>,
    pub cancelled: bool,
    pub lines: Vec<Line>,
}

impl Order {
    pub fn name(&self) -> String {
        format!("#{}", 1000 + self.id)
    }

    pub fn body(&self) -> Vec<u8> {
        let line_items: Vec<Value> = self
            .lines
            .iter()
            .map(|l| {
                json!({
                    "id": l.line_id,
                    "admin_graphql_api_id": format!("gid://shopify/LineItem/{}", l.line_id),
                    "current_quantity": l.quantity - l.restocked - l.unrestocked,
                    "fulfillable_quantity": if self.cancelled { 0 } else { l.fulfillable },
                    "fulfillment_status": if l.fulfillable == 0 { Value::from("fulfilled") } else if l.fulfillable < l.quantity { "partial".into() } else { Value::Null },
                    "name": format!("Trail Runner - {}", l.variant_id),
                    "price": "89.00",
                    "product_id": 7_000_000 + l.variant_id,
                    "quantity": l.quantity,
                    "requires_shipping": true,
                    "sku": format!("TR-{}", l.variant_id),
                    "title": "Trail Runner",
                    "variant_id": l.variant_id,
                    "variant_title": format!("Size {}", l.variant_id),
                    "vendor": "Northwind",
                })
            })
            .collect();
        serde_json::to_vec_pretty(&json!({
            "id": self.id,
            "admin_graphql_api_id": format!("gid://shopify/Order/{}", self.id),
            "cancel_reason": if self.cancelled { Value::from("customer") } else { Value::Null },
            "cancelled_at": if self.cancelled { Value::from(timestamp(self.updated_at)) } else { Value::Null },
            "closed_at": Value::Null,
            "confirmed": true,
            "contact_email": format!("buyer{}@example.com", self.id),
            "created_at": timestamp(self.created_at),
            "currency": "USD",
            "email": format!("buyer{}@example.com", self.id),
            "financial_status": "paid",
            "name": self.name(),
            "order_number": 1000 + self.id,
            "tags": "",
            "updated_at": timestamp(self.updated_at),
            "customer": {
                // The dev shop's customer of the order (`devshop::discounts::customer_of`).
                "id": 900_000 + self.id,
                "email": format!("buyer{}@example.com", self.id),
                "first_name": "Sam",
                "last_name": format!("Buyer{}", self.id),
                "tags": self.tags.join(", "),
            },
            "line_items": line_items,
            "refunds": [{"refund_line_items": self.lines.iter().flat_map(Line::refund_lines).collect::<Vec<_>>()}],
        }))
        .expect("json")
    }
}

/// An `inventory_levels/update` body.
pub fn level_body(inventory_item_id: u64, location_id: u64, available: i64, updated_at: i64) -> Vec<u8> {
    serde_json::to_vec_pretty(&json!({
        "inventory_item_id": inventory_item_id,
        "location_id": location_id,
        "available": available,
        "updated_at": timestamp(updated_at),
        "admin_graphql_api_id": format!("gid://shopify/InventoryLevel/{location_id}?inventory_item_id={inventory_item_id}"),
    }))
    .expect("json")
}
