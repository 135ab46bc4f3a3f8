//! The flash sale the demo plays, act by act, and what each act leaves behind.

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::json;

use super::{DemoError, SHOP, Stage, show};
use crate::devshop::{Policy, World};
use crate::store::Record;

/// Units per order of the sale: 43 units over 30 orders against 5 in stock.
const SALE: [u32; 30] = [1, 2, 1, 1, 3, 1, 2, 1, 1, 1, 2, 1, 1, 4, 1, 1, 2, 1, 1, 1, 1, 3, 1, 1, 2, 1, 1, 1, 2, 1];
/// The 23rd order is a VIP's: it is covered ahead of earlier ordinary orders.
const VIP_INDEX: usize = 22;
const STOCK: i64 = 5;
/// 43 units sold against 5 in stock leave 38 backordered: the cap is reached by the last order.
const CAP: u64 = 38;
const RESTOCK: i64 = 12;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueLine {
    pub order_id: u64,
    pub order_name: String,
    pub backordered: u32,
    pub position: u64,
    pub eta: Option<String>,
}

/// One variant as the merchant and the platform see it after an act.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub policy: Policy,
    pub available: i64,
    pub backordered_units: u64,
    pub queue: Vec<QueueLine>,
    /// Order → its tags on the platform (orders of this variant only).
    pub tags: BTreeMap<u64, Vec<String>>,
    /// Order → units held on the platform.
    pub held: BTreeMap<u64, u32>,
    /// Order → its name (`#1001`).
    pub names: BTreeMap<u64, String>,
    /// The variant's `$app.backorder_eta` metafield on the platform.
    pub eta_metafield: Option<String>,
    /// Emails handed over so far to this variant's customers: (order, occasion) → the address
    /// and the ETAs it told.
    pub emails: BTreeMap<(u64, String), Emailed>,
}

/// An email's address and the ETAs it told (none for `ready`).
pub type Emailed = (String, Vec<Option<String>>);

#[derive(Debug, Clone)]
pub struct Outcome {
    pub variant: u64,
    pub orders: Vec<u64>,
    pub vip_order: u64,
    pub after_sale: Snapshot,
    /// The shop refused an order once the cap was reached.
    pub refused_at_cap: bool,
    pub after_restock: Snapshot,
    /// The backordered and the in-stock order that were cancelled.
    pub cancelled: (u64, u64),
    pub after_cancellations: Snapshot,
    pub partial_order: u64,
    pub partial: Snapshot,
    /// Units of the partial order the warehouse may ship now.
    pub partial_fulfillable: u32,
    pub webhooks_sent: usize,
    /// Stock on its way on a transfer, delayed, then received (SPEC 10.2).
    pub shipped: super::transfer::Shipped,
    /// Open orders found at enrolment, and a lost webhook repaired by the drift pass.
    pub found: super::history::Found,
    pub repaired: super::history::Repaired,
    /// A batch pushed back: its customers' consolation codes, then the reorder advice.
    pub advised: super::insight::Advised,
    /// Admin API calls the service made, by operation.
    pub platform_calls: BTreeMap<String, usize>,
}

fn step(e: impl std::fmt::Display) -> DemoError {
    DemoError::Step(e.to_string())
}

pub(super) async fn snapshot(stage: &Stage, variant: u64) -> Result<Snapshot, DemoError> {
    let shown = stage.api(Method::GET, &format!("/api/variants/{variant}"), None).await?;
    let queue = shown["queue"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|q| QueueLine {
            order_id: q["order_id"].as_u64().unwrap_or(0),
            order_name: q["order_name"].as_str().unwrap_or_default().to_string(),
            backordered: q["backordered"].as_u64().unwrap_or(0) as u32,
            position: q["position"].as_u64().unwrap_or(0),
            eta: q["eta"].as_str().map(String::from),
        })
        .collect();
    let (policy, tags, held, names, eta_metafield, addresses) = stage.devshop.world(SHOP, |w: &mut World| {
        let mut addresses = BTreeMap::new();
        let mut tags = BTreeMap::new();
        let mut held = BTreeMap::new();
        let mut names = BTreeMap::new();
        for o in w.orders.values().filter(|o| o.lines.iter().any(|l| l.variant_id == variant)) {
            names.insert(o.id, o.name.clone());
            addresses.insert(o.id, o.email.clone());
            tags.insert(o.id, o.tags.iter().cloned().collect::<Vec<_>>());
            let units: u32 = o.holds.iter().flat_map(|h| h.quantities.values()).sum();
            if units > 0 {
                held.insert(o.id, units);
            }
        }
        let v = &w.variants[&variant];
        let eta = v.metafields.get(&("$app".to_string(), "backorder_eta".to_string())).map(|(_, value)| value.clone());
        (v.policy, tags, held, names, eta, addresses)
    });
    let mut emails = BTreeMap::new();
    let ids: Vec<u64> = addresses.keys().copied().collect();
    let records: Vec<Record> = ids.iter().map(|id| Record::Mail(*id)).collect();
    let mail = stage.app.state.books.read(SHOP, &records).await.map_err(step)?;
    for id in &ids {
        let Some(state) = mail.get(crate::notify::MailKey(*id)).map_err(step)? else { continue };
        // Sent: decided and no longer waiting in the outbox.
        for occasion in state.decided.iter().filter(|o| state.outbox.iter().all(|w| &w.occasion != *o)) {
            let etas = if occasion == "ready" { vec![] } else { state.told.values().cloned().collect() };
            emails.insert((*id, occasion.clone()), (addresses[id].clone(), etas));
        }
    }
    Ok(Snapshot {
        policy,
        available: shown["available"].as_i64().unwrap_or(0),
        backordered_units: shown["backordered_units"].as_u64().unwrap_or(0),
        queue,
        tags,
        held,
        names,
        eta_metafield,
        emails,
    })
}

/// Creates a variant in the dev shop, tells the service about it and enrols it.
pub(crate) async fn new_variant(
    stage: &mut Stage,
    title: &str,
    stock: i64,
    settings: serde_json::Value,
) -> Result<u64, DemoError> {
    let variant = stage.devshop.world(SHOP, |w| w.add_variant(title, stock, Policy::Deny));
    stage.devshop.product_notify(&mut stage.sender, variant).map_err(step)?;
    stage.devshop.set_stock_notify(&mut stage.sender, variant, stock).map_err(step)?;
    stage.deliver(1).await?;
    stage.api(Method::PUT, &format!("/api/variants/{variant}"), Some(settings)).await?;
    stage.settled().await?;
    Ok(variant)
}

pub async fn play(stage: &mut Stage, seed: u64) -> Result<Outcome, DemoError> {
    stage.say("backorder demo: a flash sale on one machine (embedded store, dev shop on loopback)\n");
    let found = super::history::found_at_enrolment(stage).await?;
    stage.api(Method::PUT, "/api/settings", Some(json!({"priority_tags": {"VIP": 10}}))).await?;
    let today = time::OffsetDateTime::now_utc().date();
    let date = |days: i64| (today + time::Duration::days(days)).to_string();
    let settings = json!({"enabled": true, "cap": CAP, "lead_time_days": 14, "handling_days": 2,
                          "supply": [{"qty": RESTOCK, "eta": date(10)}, {"qty": 30, "eta": date(40)}]});
    let variant = new_variant(stage, "Trail Runner, size 9", STOCK, settings).await?;
    stage.say(&format!(
        "1. Enrolled \"Trail Runner, size 9\": {STOCK} in stock, cap {CAP} backordered units, VIP customers first.\n   The shop now sells it on backorder (inventory policy {}).\n",
        show::policy(stage.devshop.world(SHOP, |w| w.variants[&variant].policy))
    ));

    // Act 1: the sale.
    let mut orders = Vec::new();
    for (i, qty) in SALE.iter().enumerate() {
        let tags: &[&str] = if i == VIP_INDEX { &["VIP"] } else { &[] };
        let email = format!("customer{}@example.com", i + 1);
        let id = stage.devshop.place_order_notify(&mut stage.sender, &email, tags, &[(variant, *qty)]).map_err(step)?;
        orders.push(id);
    }
    let sent = stage.deliver(seed).await?;
    let after_sale = snapshot(stage, variant).await?;
    let late = stage.devshop.world(SHOP, |w| w.place_order("late@example.com", &[], &[(variant, 1)]));
    stage.say(&format!(
        "2. Flash sale: {} orders for {} units arrived as {sent} webhooks (duplicated, delayed, shuffled).",
        SALE.len(),
        SALE.iter().sum::<u32>()
    ));
    show::snapshot(stage, &after_sale);
    show::emails(stage, None, &after_sale);
    let vip = orders[VIP_INDEX];
    let vip_waits = after_sale.queue.iter().any(|q| q.order_id == vip);
    stage.say(&format!(
        "   The VIP's order {} came {}th but {}.",
        after_sale.names.get(&vip).cloned().unwrap_or_default(),
        VIP_INDEX + 1,
        if vip_waits { "still waits (!)" } else { "was covered from stock ahead of earlier orders" }
    ));
    stage.say(&format!(
        "   Cap reached: the shop stopped selling (policy {}); one more order was {}.\n",
        show::policy(after_sale.policy),
        if late.is_err() { "refused" } else { "accepted (!)" }
    ));

    // Act 2: the restock.
    let available = stage.devshop.world(SHOP, |w| w.available(variant));
    stage.devshop.set_stock_notify(&mut stage.sender, variant, available + RESTOCK).map_err(step)?;
    stage.deliver(seed + 1).await?;
    let after_restock = snapshot(stage, variant).await?;
    stage.say(&format!("3. {RESTOCK} units arrived: the oldest waiting orders are filled first."));
    show::snapshot(stage, &after_restock);
    show::emails(stage, Some(&after_sale), &after_restock);
    stage.say("");

    // Act 3: two cancellations.
    let backordered = after_restock.queue.last().map(|q| q.order_id).ok_or_else(|| step("nothing waits"))?;
    let in_stock = orders[0];
    stage.devshop.cancel_order_notify(&mut stage.sender, backordered, true).map_err(step)?;
    stage.devshop.cancel_order_notify(&mut stage.sender, in_stock, true).map_err(step)?;
    stage.deliver(seed + 2).await?;
    let after_cancellations = snapshot(stage, variant).await?;
    stage.say("4. Two cancellations: the last order in the queue (it frees nobody) and the first, in-stock order (its units go to the oldest waiting line).");
    show::snapshot(stage, &after_cancellations);
    show::emails(stage, Some(&after_restock), &after_cancellations);
    stage.say("");

    // Act 4: a partial order.
    let beanie = new_variant(stage, "Wool Beanie", 4, json!({"enabled": true})).await?;
    let partial_order = stage
        .devshop
        .place_order_notify(&mut stage.sender, "partial@example.com", &[], &[(beanie, 10)])
        .map_err(step)?;
    stage.deliver(seed + 3).await?;
    let partial = snapshot(stage, beanie).await?;
    let partial_fulfillable = stage.devshop.world(SHOP, |w| {
        let o = &w.orders[&partial_order];
        w.fulfillable(o, &o.lines[0])
    });
    stage.say(&format!(
        "5. A partial order: 10 \"Wool Beanie\" with 4 in stock. {} units held, {partial_fulfillable} ship now; tags {:?}.",
        partial.held.get(&partial_order).copied().unwrap_or(0),
        partial.tags.get(&partial_order).cloned().unwrap_or_default()
    ));
    show::emails(stage, None, &partial);
    stage.say("");

    let shipped = super::transfer::play(stage, seed + 4).await?;
    let repaired = super::history::repaired_by_drift(stage, &found).await?;
    let advised = super::insight::play(stage, variant, &after_cancellations).await?;
    let mut platform_calls = BTreeMap::new();
    for call in stage.devshop.calls(SHOP).iter().filter(|c| c.outcome == "ok") {
        *platform_calls.entry(call.operation.clone()).or_insert(0) += 1;
    }
    show::calls(stage, &platform_calls);
    Ok(Outcome {
        variant,
        vip_order: orders[VIP_INDEX],
        orders,
        after_sale,
        refused_at_cap: late.is_err(),
        after_restock,
        cancelled: (backordered, in_stock),
        after_cancellations,
        partial_order,
        partial,
        partial_fulfillable,
        webhooks_sent: sent,
        shipped,
        found,
        repaired,
        advised,
        platform_calls,
    })
}
