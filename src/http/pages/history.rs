//! The activity page's account of what happened, in the merchant's words: the app's changes on
//! the platform and the emails it sent (`effects::log`), what drift repair put right, what
//! people undid by hand, and the shop's jobs. Orders are named as the admin names them, variants
//! by their titles, each read once per page.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::books::log::Entry;
use crate::books::{BookError, Books, key};
use crate::effects::people::{Undone, What};
use crate::store::Record;
use crate::sync::drift::Repair;

/// Names of the orders and variants a page mentions.
#[derive(Debug, Default)]
pub(super) struct Names {
    orders: BTreeMap<u64, String>,
    variants: BTreeMap<u64, String>,
}

impl Names {
    /// Reads the names of `orders` and `variants` in one round trip.
    pub async fn read(
        books: &Books,
        shop: &str,
        orders: BTreeSet<u64>,
        variants: BTreeSet<u64>,
    ) -> Result<Self, BookError> {
        let records: Vec<Record> =
            orders.iter().map(|o| Record::Order(*o)).chain(variants.iter().map(|v| Record::Variant(*v))).collect();
        let reads = books.read(shop, &records).await?;
        let mut names = Names::default();
        for id in orders {
            if let Some(order) = reads.get(key::Order(id))? {
                names.orders.insert(id, order.name);
            }
        }
        for id in variants {
            if let Some(title) = reads.get(key::Variant(id))?.and_then(|v| v.title) {
                names.variants.insert(id, title);
            }
        }
        Ok(names)
    }

    pub fn order(&self, id: u64) -> String {
        self.orders.get(&id).cloned().unwrap_or_else(|| format!("order {id}"))
    }

    fn variant(&self, id: u64) -> String {
        self.variants.get(&id).cloned().unwrap_or_else(|| format!("variant {id}"))
    }
}

/// One line of the account.
#[derive(Debug, Serialize)]
pub(super) struct Row {
    pub when: String,
    pub text: String,
}

/// An entry of the log in words.
pub(super) fn describe(entry: &Entry, names: &Names) -> String {
    let order = entry.order_id.map(|o| names.order(o)).unwrap_or_else(|| "an order".into());
    let variant = entry.variant_id.map(|v| names.variant(v)).unwrap_or_else(|| "a variant".into());
    let detail = &entry.detail;
    match entry.what.as_str() {
        "TagsAdd" => format!("Tagged {order} “{detail}”"),
        "TagsRemove" => format!("Took the tag “{detail}” off {order}"),
        "FulfillmentOrderHold" => format!("Held {detail} of {order} until they arrive"),
        "FulfillmentOrderReleaseHold" => format!("Released the hold on {order}"),
        "VariantsPolicy" if detail == "CONTINUE" => format!("{variant}: keeps selling when out of stock"),
        "VariantsPolicy" => format!("{variant}: stops selling when out of stock"),
        "EtaMetafields" => format!("{variant}: the storefront shows {detail} as its date"),
        "EtaMetafieldsDelete" => format!("{variant}: its date taken off the storefront"),
        email => {
            let kind = email.strip_prefix("email:").unwrap_or(email);
            let what = match kind {
                "backordered" => "its units are on backorder",
                "eta_changed" => "its date moved",
                "ready" => "its units arrived",
                "reminder" => "a reminder that it waits",
                "consolation" => "a discount code for waiting",
                other => other,
            };
            match entry.order_id {
                Some(_) => format!("Emailed the customer of {order}: {what}"),
                None => format!("Emailed you: {what}"),
            }
        }
    }
}

/// What a drift repair pass put right, in words.
pub(super) fn repaired(r: &Repair) -> String {
    let mut parts = Vec::new();
    let mut count = |n: usize, one: &str, many: &str| {
        if n > 0 {
            parts.push(format!("{n} {}", if n == 1 { one } else { many }));
        }
    };
    count(r.levels, "stock level", "stock levels");
    count(r.orders_added, "order missed", "orders missed");
    count(r.orders_updated, "order out of date", "orders out of date");
    count(r.orders_closed, "order closed meanwhile", "orders closed meanwhile");
    format!("Found and put right: {}", parts.join(", "))
}

/// What a person undid by hand, in words.
pub(super) fn undone(u: &Undone, names: &Names) -> String {
    let order = u.order_id.map(|o| names.order(o)).unwrap_or_else(|| "an order".into());
    let variant = u.variant_id.map(|v| names.variant(v)).unwrap_or_else(|| "a variant".into());
    let text = match &u.what {
        What::HoldReleased => format!("Someone released the hold on {order}"),
        What::TagRemoved { tag } => format!("Someone took the tag “{tag}” off {order}"),
        What::PolicyChanged { to } => format!("Someone set {variant} to {} by hand", to.to_lowercase()),
    };
    if u.reapplied {
        format!("{text}; its lines had changed since, so the app applied what they now call for")
    } else {
        text
    }
}

/// The orders and variants a page's entries name.
pub(super) fn named(log: &[Entry], people: &[Undone]) -> (BTreeSet<u64>, BTreeSet<u64>) {
    let orders = log.iter().filter_map(|e| e.order_id).chain(people.iter().filter_map(|u| u.order_id)).collect();
    let variants = log.iter().filter_map(|e| e.variant_id).chain(people.iter().filter_map(|u| u.variant_id)).collect();
    (orders, variants)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_entry_reads_as_a_sentence_with_the_orders_name() {
        let mut names = Names::default();
        names.orders.insert(42, "#1042".into());
        names.variants.insert(5, "Tee - Red".into());
        let entry = |what: &str, order: Option<u64>, variant: Option<u64>, detail: &str| Entry {
            at_ms: 0,
            what: what.into(),
            order_id: order,
            variant_id: variant,
            detail: detail.into(),
        };
        assert_eq!(describe(&entry("TagsAdd", Some(42), None, "backorder"), &names), "Tagged #1042 “backorder”");
        assert_eq!(
            describe(&entry("VariantsPolicy", None, Some(5), "DENY"), &names),
            "Tee - Red: stops selling when out of stock"
        );
        assert_eq!(
            describe(&entry("email:ready", Some(42), None, ""), &names),
            "Emailed the customer of #1042: its units arrived"
        );
        assert_eq!(describe(&entry("TagsAdd", Some(7), None, "x"), &names), "Tagged order 7 “x”");
    }
}
