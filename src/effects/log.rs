//! The effects' calls as the shop's activity log keeps them (`books::log`): one entry per order
//! or variant a call changed, gathered as a pass goes and written once at its end.

use std::sync::Mutex;

use serde_json::Value;

pub use crate::books::log::{Entry, append};
use crate::platform::ops::Operation;

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
