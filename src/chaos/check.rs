//! What must hold once everything is delivered and one drift pass has run: the ledger shows the
//! dev shop's truth, the dev shop shows what the ledger says, and nothing was sent twice.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::devshop::{DevShop, Policy};

/// The mismatches of one shop; empty when all holds. `shown` is `GET /api/variants/{id}` per
/// variant.
pub fn shop(devshop: &DevShop, shop: &str, shown: &BTreeMap<u64, Value>) -> Vec<String> {
    let mut wrong = Vec::new();
    devshop.world(shop, |w| {
        // Backordered units per (order, line), from the truth of every variant.
        let mut waiting: BTreeMap<(u64, u64), u32> = BTreeMap::new();
        for (&variant, api) in shown {
            let truth = w.backordered(variant);
            let want: Vec<(u64, u64, u64)> =
                truth.iter().filter(|(.., b)| *b > 0).map(|(order, line, b)| (*order, *line, u64::from(*b))).collect();
            let got: Vec<(u64, u64, u64)> = api["queue"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|q| {
                    let n = |k: &str| q[k].as_u64().unwrap_or(0);
                    (n("order_id"), n("line_item_id"), n("backordered"))
                })
                .collect();
            if want != got {
                wrong.push(format!("{shop} variant {variant}: the queue is {got:?}, the truth {want:?}"));
            }
            if api["available"].as_i64() != Some(w.available(variant)) {
                wrong.push(format!(
                    "{shop} variant {variant}: available {} in the ledger, {} on the platform",
                    api["available"],
                    w.available(variant)
                ));
            }
            let units: u64 = want.iter().map(|(_, _, b)| b).sum();
            if api["backordered_units"].as_u64() != Some(units) {
                wrong.push(format!(
                    "{shop} variant {variant}: {} backordered units, {units} waiting",
                    api["backordered_units"]
                ));
            }
            let v = &w.variants[&variant];
            if v.policy != Policy::Continue {
                wrong.push(format!("{shop} variant {variant}: policy {:?}, the ledger sells on", v.policy));
            }
            let date = v.metafields.get(&("$app".to_string(), "backorder_eta".to_string())).map(|(_, d)| d.as_str());
            if let Some(eta) = api["eta"].as_str()
                && date != Some(eta)
            {
                wrong.push(format!("{shop} variant {variant}: the date shown is {date:?}, the ledger's {eta}"));
            }
            for (order, line, b) in truth {
                if b > 0 {
                    waiting.insert((order, line), b);
                }
            }
        }
        for order in w.orders.values().filter(|o| !o.cancelled) {
            let waits = waiting.keys().any(|(o, _)| *o == order.id);
            if order.tags.contains("backorder") != waits {
                wrong.push(format!("{shop} order {}: tags {:?}, waiting: {waits}", order.id, order.tags));
            }
            for line in &order.lines {
                let held: u32 = order.holds.iter().filter_map(|h| h.quantities.get(&line.id)).sum();
                let want = waiting.get(&(order.id, line.id)).copied().unwrap_or(0);
                if held != want {
                    wrong
                        .push(format!("{shop} order {} line {}: {held} units held, {want} waiting", order.id, line.id));
                }
            }
        }
        for noop in &w.noops {
            wrong.push(format!("{shop}: a change sent whose effect was there already: {noop}"));
        }
    });
    wrong
}

/// Emails by `Message-ID`: one each, but for the window the README names (a message the server
/// took just before the process died, sent again under the same id), at most once per order.
pub fn emails(ids: &[String]) -> (usize, Vec<String>) {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for id in ids {
        *counts.entry(id.as_str()).or_default() += 1;
    }
    let mut again_by_order: BTreeMap<String, usize> = BTreeMap::new();
    let mut wrong = Vec::new();
    for (id, n) in &counts {
        if id.is_empty() {
            wrong.push(format!("{n} message(s) without a Message-ID"));
            continue;
        }
        // `<occasion.order.shop-hash@host>`: the order, and whose (ids repeat across shops).
        let order = id.trim_matches(['<', '>']).split_once('.').map_or("", |(_, rest)| rest).to_string();
        if *n > 2 {
            wrong.push(format!("email {id} sent {n} times"));
        } else if *n == 2 {
            *again_by_order.entry(order).or_default() += 1;
        }
    }
    for (order, n) in &again_by_order {
        if *n > 1 {
            wrong.push(format!("order {order}: {n} emails sent twice"));
        }
    }
    let repeated = again_by_order.values().sum();
    (repeated, wrong)
}
