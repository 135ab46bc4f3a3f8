//! What customers ordered before a variant was enrolled (SPEC 10.1): every order of the shop
//! since a day, read in one shop-wide bulk operation (never one per variant), tallied per
//! variant and day of the shop's time zone, for the daily record's days before enrolment.
//! Shopify shows an app 60 days of orders, or all of them with `read_all_orders`.

use std::collections::BTreeMap;

use serde_json::Value;
use time::Date;

use super::ops::BULK_ORDER_HISTORY;
use super::{AdminClient, PlatformError, bulk};
use crate::ledger::eta::date_in;
use crate::ledger::input::timestamp_ms;
use crate::secret::Secret;

/// Units ordered and given back, per variant and day.
pub type History = BTreeMap<u64, BTreeMap<Date, Tally>>;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub ordered: u64,
    pub cancelled: u64,
}

/// Every order created on or after `since`, tallied.
pub async fn read(
    client: &AdminClient,
    shop: &str,
    token: &Secret,
    since: Date,
    zone: Option<&str>,
) -> Result<History, PlatformError> {
    let query = BULK_ORDER_HISTORY.document.replace("{SINCE}", &since.to_string());
    let body = bulk::run(client, shop, token, &query).await?;
    let orders = bulk::join(&body, BULK_ORDER_HISTORY.name, &mut |_| {})?;
    Ok(tally(&orders, zone))
}

fn id_of(kind: &str, v: &Value) -> Option<u64> {
    v.as_str()?.strip_prefix("gid://shopify/")?.strip_prefix(kind)?.strip_prefix('/')?.parse().ok()
}

/// The orders' line items per variant and day: `quantity` ordered on the day the order was
/// created; a cancelled order's units given back on the day it was cancelled, and units an
/// edit or refund removed since (`quantity` − `currentQuantity`) on its creation day. Lines of
/// no variant (a custom item) and orders without a readable date are left out.
pub fn tally(orders: &[Value], zone: Option<&str>) -> History {
    let mut out = History::new();
    for order in orders {
        let day = |field: &'static str| {
            order[field].as_str().and_then(|t| timestamp_ms("createdAt", t).ok()).map(|ms| date_in(zone, ms))
        };
        let Some(created) = day("createdAt") else { continue };
        let cancelled = day("cancelledAt");
        for item in order["lineItems"]["nodes"].as_array().into_iter().flatten() {
            let Some(variant) = id_of("ProductVariant", &item["variant"]["id"]) else { continue };
            let quantity = item["quantity"].as_u64().unwrap_or(0);
            let current = item["currentQuantity"].as_u64().unwrap_or(quantity).min(quantity);
            let days = out.entry(variant).or_default();
            days.entry(created).or_default().ordered += quantity;
            match cancelled {
                Some(on) => days.entry(on).or_default().cancelled += quantity,
                None if current < quantity => days.entry(created).or_default().cancelled += quantity - current,
                None => {}
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn order(created: &str, cancelled: Option<&str>, items: Value) -> Value {
        json!({"id": "gid://shopify/Order/1", "createdAt": created, "cancelledAt": cancelled, "lineItems": {"nodes": items}})
    }

    fn day(s: &str) -> Date {
        crate::ledger::eta::parse(s).unwrap()
    }

    #[test]
    fn units_count_on_the_shops_day_and_cancellations_on_theirs() {
        let item = |variant: u64, q: u64, current: u64| json!({"quantity": q, "currentQuantity": current, "variant": {"id": format!("gid://shopify/ProductVariant/{variant}")}});
        let orders = [
            // 02:00 UTC on the 2nd is still the 1st in New York.
            order("2026-11-02T02:00:00Z", None, json!([item(7, 3, 2), item(8, 1, 1)])),
            order("2026-11-03T12:00:00Z", Some("2026-11-05T12:00:00Z"), json!([item(7, 2, 0)])),
            order("2026-11-03T12:00:00Z", None, json!([{"quantity": 5, "variant": null}])),
        ];
        let h = tally(&orders, Some("America/New_York"));
        assert_eq!(h[&7][&day("2026-11-01")], Tally { ordered: 3, cancelled: 1 });
        assert_eq!(h[&7][&day("2026-11-03")], Tally { ordered: 2, cancelled: 0 });
        assert_eq!(h[&7][&day("2026-11-05")], Tally { ordered: 0, cancelled: 2 });
        assert_eq!(h[&8].len(), 1);
        assert_eq!(h.len(), 2, "a custom item counts for no variant");
    }

    proptest! {
        /// Whatever the reply holds, tallying it never panics.
        #[test]
        fn no_order_shape_panics_the_tally(q in any::<i64>(), c in any::<i64>(), created in ".{0,30}") {
            let o = json!({"createdAt": created, "lineItems": {"nodes": [{"quantity": q, "currentQuantity": c,
                "variant": {"id": "gid://shopify/ProductVariant/1"}}]}});
            let _ = tally(&[o], None);
        }
    }
}
