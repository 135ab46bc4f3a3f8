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

use super::jobs::Progress;
use crate::books::apply::{Event, apply_level, apply_order};
use crate::books::key;
use crate::books::rework::orders_in_books;
use crate::ledger::input::OrderState;
use crate::ledger::records::{RecordError, VariantRecord};
use crate::platform::PlatformError;
use crate::platform::reads::{item_levels, order_state, orders_page};
use crate::secret::Secret;
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
    /// Variants whose expected supply from the platform changed.
    pub supply_changed: usize,
}

fn event<'a>(shop: &'a str, key: String) -> Event<'a> {
    Event::new(shop, key, "reconcile", Duration::from_secs(48 * 3600))
}

async fn managed(state: &AppState, shop: &str) -> Result<BTreeMap<u64, VariantRecord>, ReconcileError> {
    Ok(crate::books::apply::managed_variants(&state.books, shop).await?)
}

/// Which orders a run reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every open order, and every order the ledger holds open (`backorder reconcile`, a
    /// reinstall, the first drift pass).
    Full,
    /// Orders updated at or after this time (ms), whatever their status: the drift pass, which
    /// reads what changed since its last run with an overlap.
    UpdatedSince(i64),
}

/// The shop's access token; an error when it has no install here or the token cannot be used.
pub async fn installed_token(state: &AppState, shop: &str) -> Result<Secret, ReconcileError> {
    crate::auth::tokens::access_token(state, shop)
        .await
        .map_err(|e| ReconcileError::Install(e.to_string()))?
        .ok_or_else(|| ReconcileError::NotInstalled(shop.to_string()))
}

/// Expected supply read again (SPEC 10.2) for the variants it can matter to: out of stock, or
/// with platform batches still to arrive. A shop without the scopes is noted once and left to
/// its merchant batches; a failed read waits for the next pass.
async fn supply(
    state: &AppState,
    shop: &str,
    token: &Secret,
    variants: &BTreeMap<u64, VariantRecord>,
    report: &mut Report,
) {
    use crate::supply::{Read, refresh};
    let matters = |v: &VariantRecord| v.header.stock <= 0 || v.settings.supply.iter().any(|b| b.is_platform());
    for (id, _) in variants.iter().filter(|(_, v)| matters(v)) {
        match refresh(state, shop, token, *id).await {
            Ok(Read::NoScope) => return,
            Ok(Read::Done { changed: true }) => report.supply_changed += 1,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(shop, variant = id, error = %e, "drift: expected supply could not be read; the next pass reads it again");
                return;
            }
        }
    }
}

/// Reconciles one shop in full; `progress` hears about each stage and every page of orders.
pub async fn reconcile_shop(
    state: &AppState,
    shop: &str,
    progress: impl FnMut(&str),
) -> Result<Report, ReconcileError> {
    run(state, shop, Scope::Full, progress, None).await
}

/// Reconciles one shop over `scope`; `progress` hears about each stage, and `job` (when it
/// runs as one) gets its progress in pages.
pub async fn run(
    state: &AppState,
    shop: &str,
    scope: Scope,
    mut progress: impl FnMut(&str),
    job: Option<&Progress>,
) -> Result<Report, ReconcileError> {
    let token = installed_token(state, shop).await?;
    let (client, token, books) = (&state.platform, &token, &state.books);
    super::zone::refresh_or_log(state, shop, token).await;
    let variants = managed(state, shop).await?;
    let mut report = Report {
        variants: variants.len(),
        unattributed_before: variants.values().map(|v| v.header.unattributed()).sum(),
        ..Report::default()
    };

    let items: BTreeSet<u64> = variants.values().filter_map(|v| v.inventory_item_id).collect();
    progress(&format!("levels: reading {} inventory items", items.len()));
    let mut steps = 0u64;
    let total_items = items.len() as u64;
    for item in items {
        let (checked, repaired) = repair_levels(state, shop, token, item).await?;
        report.levels_checked += checked;
        report.levels_repaired += repaired;
        steps += 1;
        if let Some(job) = job {
            job.set(steps, total_items + 1).await?;
        }
    }

    supply(state, shop, token, &variants, &mut report).await;

    let query = match scope {
        Scope::Full => "status:open".to_string(),
        Scope::UpdatedSince(ms) => format!("updated_at:>='{}'", crate::ledger::input::admin_time(ms)),
    };
    let mut seen = BTreeSet::new();
    let mut after: Option<String> = None;
    loop {
        let (page, next) = orders_page(client, shop, token, &query, after.as_deref()).await?;
        for order in
            page.iter().filter(|o| o.lines.iter().any(|l| l.variant_id.is_some_and(|v| variants.contains_key(&v))))
        {
            seen.insert(order.order_id);
            report.orders_checked += 1;
            match repair_order(state, shop, order).await? {
                Repair::Added => report.orders_added += 1,
                Repair::Updated if order.lines.iter().all(|l| l.open_qty == 0) => report.orders_closed += 1,
                Repair::Updated => report.orders_updated += 1,
                Repair::None => {}
            }
        }
        progress(&format!("orders: {} orders with managed variants checked", report.orders_checked));
        steps += 1;
        if let Some(job) = job {
            job.set(steps, steps + u64::from(next.is_some())).await?;
        }
        match next {
            Some(cursor) => after = Some(cursor),
            None => break,
        }
    }

    if scope == Scope::Full {
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
    }
    report.unattributed_after = managed(state, shop).await?.values().map(|v| v.header.unattributed()).sum();
    Ok(report)
}

/// Reads the item's levels from the platform and books those the ledger has an older (or no)
/// state of; answers how many were read and how many repaired.
pub async fn repair_levels(
    state: &AppState,
    shop: &str,
    token: &Secret,
    item: u64,
) -> Result<(usize, usize), ReconcileError> {
    let (mut checked, mut repaired) = (0, 0);
    for level in item_levels(&state.platform, shop, token, item).await? {
        checked += 1;
        let stored = state.books.get(shop, key::Level { item, location: level.location_id }).await?;
        let stale = stored.is_none_or(|s| {
            s.version.updated_at_ms < level.version.updated_at_ms
                || (s.version.updated_at_ms == level.version.updated_at_ms && s.available != level.available)
        });
        if stale {
            let key = format!(
                "reconcile:level:{item}:{}:{}:{:?}",
                level.location_id, level.version.updated_at_ms, level.available
            );
            apply_level(&state.books, &event(shop, key), &level).await?;
            repaired += 1;
        }
    }
    Ok((checked, repaired))
}

#[derive(Debug, PartialEq, Eq)]
pub enum Repair {
    None,
    Added,
    Updated,
}

/// Books the platform's state of an order when the ledger has an older one (or none).
pub async fn repair_order(state: &AppState, shop: &str, order: &OrderState) -> Result<Repair, ReconcileError> {
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
