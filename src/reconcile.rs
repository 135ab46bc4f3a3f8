//! `backorder reconcile`: compares the ledger with the platform and repairs the drift.
//!
//! Webhooks can be lost for good (an app that was down longer than Shopify retries, a removed
//! subscription). The platform's current state is the truth: every level of a managed item, every
//! open order with a managed variant, and every order the ledger still holds open. Each
//! difference goes through the same ledger engine as a webhook (with a version that sorts after
//! webhooks of the same second), so a repair is atomic, idempotent and converges with webhooks
//! arriving meanwhile.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::books::apply::{Event, apply_level, apply_order};
use crate::books::key;
use crate::books::rework::orders_in_books;
use crate::ledger::input::OrderState;
use crate::ledger::records::{RecordError, VariantRecord};
use crate::platform::PlatformError;
use crate::platform::reads::{item_levels, open_orders, order_state};
use crate::state::AppState;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("{0} is not installed (no access token): nothing can be read from the platform")]
    NotInstalled(String),
    #[error("the shop's install cannot be read: {0}")]
    Install(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error(transparent)]
    Platform(#[from] PlatformError),
    #[error("the ledger refused a repair: {0}")]
    Ledger(#[from] crate::books::BookError),
}

/// What a run found and repaired.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    pub variants: usize,
    pub levels_checked: usize,
    pub levels_repaired: usize,
    pub orders_checked: usize,
    /// Open orders the ledger had never seen.
    pub orders_added: usize,
    /// Orders the ledger had an older state of.
    pub orders_updated: usize,
    /// Orders the ledger held open that the platform has cancelled, closed or fulfilled.
    pub orders_closed: usize,
    /// Backlog no known order explained, before and after (drift the ledger could not see).
    pub unattributed_before: u64,
    pub unattributed_after: u64,
}

fn event<'a>(shop: &'a str, key: String) -> Event<'a> {
    Event::new(shop, key, "reconcile", Duration::from_secs(48 * 3600))
}

async fn managed(state: &AppState, shop: &str) -> Result<BTreeMap<u64, VariantRecord>, ReconcileError> {
    Ok(crate::books::apply::managed_variants(&state.books, shop).await?)
}

/// Reconciles one shop; `progress` hears about each stage and every page of orders.
pub async fn reconcile_shop(
    state: &AppState,
    shop: &str,
    mut progress: impl FnMut(&str),
) -> Result<Report, ReconcileError> {
    let token = crate::auth::tokens::access_token(state, shop)
        .await
        .map_err(|e| ReconcileError::Install(e.to_string()))?
        .ok_or_else(|| ReconcileError::NotInstalled(shop.to_string()))?;
    let (client, token, books) = (&state.platform, &token, &state.books);
    let variants = managed(state, shop).await?;
    let mut report = Report {
        variants: variants.len(),
        unattributed_before: variants.values().map(|v| v.header.unattributed()).sum(),
        ..Report::default()
    };

    let items: BTreeSet<u64> = variants.values().filter_map(|v| v.inventory_item_id).collect();
    progress(&format!("levels: reading {} inventory items", items.len()));
    for item in items {
        for level in item_levels(client, shop, token, item).await? {
            report.levels_checked += 1;
            let stored = books.get(shop, key::Level { item, location: level.location_id }).await?;
            let stale = stored.is_none_or(|s| {
                s.version.updated_at_ms < level.version.updated_at_ms
                    || (s.version.updated_at_ms == level.version.updated_at_ms && s.available != level.available)
            });
            if stale {
                let key = format!(
                    "reconcile:level:{item}:{}:{}:{:?}",
                    level.location_id, level.version.updated_at_ms, level.available
                );
                apply_level(books, &event(shop, key), &level).await?;
                report.levels_repaired += 1;
            }
        }
    }

    let mut seen = BTreeSet::new();
    let mut after: Option<String> = None;
    loop {
        let (page, next) = open_orders(client, shop, token, after.as_deref()).await?;
        for order in
            page.iter().filter(|o| o.lines.iter().any(|l| l.variant_id.is_some_and(|v| variants.contains_key(&v))))
        {
            seen.insert(order.order_id);
            report.orders_checked += 1;
            match repair_order(state, shop, order).await? {
                Repair::Added => report.orders_added += 1,
                Repair::Updated => report.orders_updated += 1,
                Repair::None => {}
            }
        }
        progress(&format!("orders: {} open orders with managed variants checked", report.orders_checked));
        match next {
            Some(cursor) => after = Some(cursor),
            None => break,
        }
    }

    let held: Vec<u64> = variants.keys().copied().collect();
    let open_in_ledger = orders_in_books(books, shop, &held).await?;
    let gone: Vec<u64> = open_in_ledger.difference(&seen).copied().collect();
    progress(&format!("orders: {} orders the ledger holds open are not open on the platform", gone.len()));
    for id in gone {
        if let Some(order) = order_state(client, shop, token, id).await?
            && repair_order(state, shop, &order).await? != Repair::None
        {
            report.orders_closed += 1;
        }
    }
    report.unattributed_after = managed(state, shop).await?.values().map(|v| v.header.unattributed()).sum();
    Ok(report)
}

#[derive(Debug, PartialEq, Eq)]
enum Repair {
    None,
    Added,
    Updated,
}

async fn repair_order(state: &AppState, shop: &str, order: &OrderState) -> Result<Repair, ReconcileError> {
    let stored = state.books.get(shop, key::Order(order.order_id)).await?;
    let repair = match &stored {
        None => Repair::Added,
        Some(s) if s.version.updated_at_ms < order.version.updated_at_ms => Repair::Updated,
        Some(s) if s.version.updated_at_ms == order.version.updated_at_ms && s.lines != order.lines => Repair::Updated,
        Some(_) => return Ok(Repair::None),
    };
    let key = format!("reconcile:order:{}:{}:{:x}", order.order_id, order.version.updated_at_ms, order.version.digest);
    apply_order(&state.books, &event(shop, key), order).await?;
    Ok(repair)
}
