//! What the app did lately for a shop, for the merchant's activity page: the platform changes
//! it made (tags, holds, selling policies, storefront dates) and the emails it sent. Kept as one
//! short record per shop, newest last: a pass writes its changes once at its end, an email its
//! line once sent. It is an account for people, not a ledger: a crash between a call and the
//! record leaves a line out, never a change undone. It names orders and variants by id only (no
//! customer's name or address), and goes with the shop (`shop/redact`).

use std::collections::VecDeque;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::books::{BookError, Books, Edit};
use crate::platform::ops::Operation;
use crate::record_key;
use crate::store::Record;

/// Entries kept: a few days of a busy shop's changes is what a merchant scrolls through.
pub const KEPT: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub at_ms: u64,
    /// The platform operation (`tagsAdd`, …), or `email:{kind}` for an email sent.
    pub what: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant_id: Option<u64>,
    /// The change in a few words (`backorder`, `2 units`, `DENY`), if it has any.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityLog {
    pub entries: VecDeque<Entry>,
}

record_key!(
    /// The shop's activity log.
    LogKey => ActivityLog, Record::Log
);

/// The numeric id at the end of a GID (`gid://shopify/Order/42` → 42).
fn id_of(gid: &str) -> Option<u64> {
    gid.rsplit('/').next()?.parse().ok()
}

/// A successful call as the log keeps it: one entry per order or variant it changed. `order`:
/// the order a fulfillment-order call was about (its variables name the fulfillment order).
pub fn entries(op: &Operation, vars: &Value, order: Option<u64>, at_ms: u64) -> Vec<Entry> {
    let blank = || Entry { at_ms, what: op.name.to_string(), order_id: order, variant_id: None, detail: String::new() };
    let list = |key: &str| vars[key].as_array().cloned().unwrap_or_default();
    match op.name {
        "TagsAdd" | "TagsRemove" => {
            let tags: Vec<String> = list("tags").iter().filter_map(|t| t.as_str().map(str::to_string)).collect();
            let order_id = vars["id"].as_str().and_then(id_of).or(order);
            vec![Entry { order_id, detail: tags.join(", "), ..blank() }]
        }
        "FulfillmentOrderHold" => {
            let items = vars["hold"]["fulfillmentOrderLineItems"].as_array().cloned().unwrap_or_default();
            let units: u64 = items.iter().filter_map(|i| i["quantity"].as_u64()).sum();
            vec![Entry { detail: format!("{units} units"), ..blank() }]
        }
        "VariantsPolicy" => list("variants")
            .iter()
            .map(|v| Entry {
                variant_id: v["id"].as_str().and_then(id_of),
                detail: v["inventoryPolicy"].as_str().unwrap_or_default().to_string(),
                ..blank()
            })
            .collect(),
        "EtaMetafields" | "EtaMetafieldsDelete" => list("metafields")
            .iter()
            .map(|m| Entry {
                variant_id: m["ownerId"].as_str().and_then(id_of),
                detail: m["value"].as_str().unwrap_or_default().to_string(),
                ..blank()
            })
            .collect(),
        _ => vec![blank()],
    }
}

/// A pass's entries, gathered as its calls go through and written once at its end.
#[derive(Debug, Default)]
pub struct Gathered(Mutex<Vec<Entry>>);

impl Gathered {
    pub fn push(&self, entry: Entry) {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(entry);
    }

    pub fn take(&self) -> Vec<Entry> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
    }
}

/// Appends `entries` to the shop's log, keeping the newest [`KEPT`].
pub async fn append(books: &Books, shop: &str, entries: Vec<Entry>) -> Result<(), BookError> {
    if entries.is_empty() {
        return Ok(());
    }
    books
        .update(shop, LogKey, |log| {
            let mut log = log.unwrap_or_default();
            log.entries.extend(entries.iter().cloned());
            while log.entries.len() > KEPT {
                log.entries.pop_front();
            }
            Edit::put(log, ())
        })
        .await
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::platform::ops::{ETA_METAFIELDS, FULFILLMENT_ORDER_HOLD, TAGS_ADD, VARIANTS_POLICY};

    #[test]
    fn a_call_is_kept_by_what_it_changed_and_where() {
        let tags = entries(&TAGS_ADD, &json!({"id": "gid://shopify/Order/42", "tags": ["backorder"]}), None, 7);
        assert_eq!((tags[0].order_id, tags[0].detail.as_str(), tags[0].at_ms), (Some(42), "backorder", 7));
        let items = json!([{"id": "a", "quantity": 2}, {"id": "b", "quantity": 1}]);
        let vars = json!({"id": "gid://shopify/FulfillmentOrder/9", "hold": {"fulfillmentOrderLineItems": items}});
        let hold = entries(&FULFILLMENT_ORDER_HOLD, &vars, Some(42), 1);
        assert_eq!((hold[0].order_id, hold[0].detail.as_str()), (Some(42), "3 units"));
        let metafields = json!([{"ownerId": "gid://shopify/ProductVariant/5", "value": "2026-12-24"},
                                {"ownerId": "gid://shopify/ProductVariant/6", "value": "2027-01-02"}]);
        let dates = entries(&ETA_METAFIELDS, &json!({"metafields": metafields}), None, 1);
        assert_eq!(dates.len(), 2, "one entry per variant");
        assert_eq!((dates[1].variant_id, dates[1].detail.as_str()), (Some(6), "2027-01-02"));
        let policy = json!({"productId": "p", "variants": [{"id": "gid://shopify/ProductVariant/5", "inventoryPolicy": "DENY"}]});
        let policies = entries(&VARIANTS_POLICY, &policy, None, 1);
        assert_eq!((policies[0].variant_id, policies[0].detail.as_str()), (Some(5), "DENY"));
    }
}
