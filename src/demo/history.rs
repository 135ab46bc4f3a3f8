//! The demo's store before and around the app: open orders the app never heard of, found at
//! enrolment (SPEC 9), and a webhook that never came, repaired by the drift pass.

use reqwest::Method;
use serde_json::json;

use super::scene::{Snapshot, snapshot};
use super::{DemoError, SHOP, Stage, show};
use crate::devshop::Policy;

/// A tote the merchant already sold on backorder by hand: 2 in stock, 5 open orders of one.
const STOCK: i64 = 2;
const ORDERS: usize = 5;

#[derive(Debug, Clone)]
pub struct Found {
    pub variant: u64,
    /// The orders placed before the app was installed, oldest first.
    pub orders: Vec<u64>,
    /// Orders the onboarding preview said would wait.
    pub preview_waiting: usize,
    pub snapshot: Snapshot,
}

#[derive(Debug, Clone)]
pub struct Repaired {
    /// The order whose webhooks never came.
    pub order: u64,
    /// Units the service saw backordered before the drift pass.
    pub backordered_before: u64,
    /// Orders and levels the pass booked from the platform.
    pub orders_added: usize,
    pub levels: usize,
    pub snapshot: Snapshot,
}

fn step(e: impl std::fmt::Display) -> DemoError {
    DemoError::Step(e.to_string())
}

/// The store's history, then the app installed after it, then the tote enrolled.
pub async fn found_at_enrolment(stage: &mut Stage) -> Result<Found, DemoError> {
    let (variant, orders) = stage
        .devshop
        .world(SHOP, |w| {
            let tote = w.add_variant("Canvas Tote", STOCK, Policy::Continue);
            let orders: Result<Vec<u64>, _> =
                (1..=ORDERS).map(|i| w.place_order(&format!("early{i}@example.com"), &[], &[(tote, 1)])).collect();
            orders.map(|o| (tote, o))
        })
        .map_err(step)?;
    stage.installed_now().await?;
    let preview = stage.api(Method::GET, &format!("/api/variants/{variant}/onboarding-preview"), None).await?;
    let preview_waiting = preview["orders"].as_array().map_or(0, Vec::len);
    stage.say(&format!(
        "0. A store with history: \"Canvas Tote\" has {STOCK} in stock and {ORDERS} open orders placed before the app was installed (no webhook ever told the app).\n   The onboarding preview: {preview_waiting} of them would wait, tagged and held; {} emailed (placed before install).",
        preview["orders"].as_array().into_iter().flatten().filter(|o| o["email"] == true).count()
    ));
    let shown = stage.api(Method::PUT, &format!("/api/variants/{variant}"), Some(json!({"enabled": true}))).await?;
    let job = shown["onboarding"]["job"].as_u64().ok_or_else(|| step("no onboarding job"))?;
    let summary = stage.job_done(job).await?;
    stage.settled().await?;
    let snapshot = snapshot(stage, variant).await?;
    stage.say(&format!(
        "   Enrolled: the onboarding job read {} open orders and booked them in fill order; the newest units wait.",
        summary["orders"]
    ));
    show::snapshot(stage, &snapshot);
    stage.say("");
    Ok(Found { variant, orders, preview_waiting, snapshot })
}

/// One more tote order whose webhooks (the order's and the level's) never came, and the drift
/// pass that finds it.
pub async fn repaired_by_drift(stage: &mut Stage, found: &Found) -> Result<Repaired, DemoError> {
    let variant = found.variant;
    let order = stage.devshop.world(SHOP, |w| w.place_order("lost@example.com", &[], &[(variant, 1)])).map_err(step)?;
    let before = stage.api(Method::GET, &format!("/api/variants/{variant}"), None).await?;
    let backordered_before = before["backordered_units"].as_u64().unwrap_or(0);
    let repair = crate::sync::drift::pass_now(&stage.app.state, SHOP).await.map_err(step)?;
    stage.settled().await?;
    let snapshot = snapshot(stage, variant).await?;
    let (orders_added, levels) = repair.map_or((0, 0), |r| (r.orders_added, r.levels));
    stage.say(&format!(
        "7. A lost webhook: one more tote order, but Shopify's webhooks for it never came (the app saw {backordered_before} units waiting).\n   The drift pass (every 15 minutes by itself) read the platform: {orders_added} order and {levels} level repaired."
    ));
    show::snapshot(stage, &snapshot);
    show::emails(stage, Some(&found.snapshot), &snapshot);
    stage.say("");
    Ok(Repaired { order, backordered_before, orders_added, levels, snapshot })
}
