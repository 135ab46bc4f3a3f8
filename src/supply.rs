//! Expected supply kept in step with the platform (SPEC 10.2): a variant's platform batches are
//! read again at its enrolment, by every drift pass, on the transfer and shipment webhooks (which
//! are only hints: their payloads name their own line items, and arrive in no order), and by the
//! effects before they measure an arrival. Each read replaces the platform batches with what the
//! platform says now, so a webhook delivered three times, or late, changes nothing more.
//!
//! The reads need optional scopes. A shop that has not granted them keeps its merchant batches;
//! the refusal is noted for the merchant, and never backs the shop's other work off.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::books::{BookError, Edit, key};
use crate::ledger::supply::{lots, merge};
use crate::platform::PlatformError;
use crate::platform::supply::{expected, incoming, items_of};
use crate::secret::Secret;
use crate::state::AppState;
use crate::store::Mark;

/// Why expected supply could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SupplyError {
    #[error("{0} is not installed (no access token): nothing can be read from the platform")]
    NotInstalled(String),
    #[error("the shop's install cannot be read: {0}")]
    Install(String),
    #[error(transparent)]
    Books(#[from] BookError),
    #[error(transparent)]
    Platform(#[from] PlatformError),
}

/// What a read came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// The platform batches are the platform's now; whether they changed.
    Done { changed: bool },
    /// The shop has not granted the scope the read needs (noted for the merchant).
    NoScope,
    /// Not managed, or its inventory item is unknown yet.
    NotManaged,
}

/// Reads `variant`'s expected supply from the platform and keeps it as its platform batches.
pub async fn refresh(state: &AppState, shop: &str, token: &Secret, variant: u64) -> Result<Read, SupplyError> {
    let books = &state.books;
    let Some(record) = books.get(shop, key::Variant(variant)).await? else { return Ok(Read::NotManaged) };
    let Some(item) = record.inventory_item_id else { return Ok(Read::NotManaged) };
    let rules = books.get_or_default(shop, key::Rules).await?;
    let zone = books.get_or_default(shop, key::Settings).await?.timezone;
    let known = crate::ledger::supply::known_shipments(&record.settings);
    let platform = &state.platform;
    let read = async {
        let found = expected(platform, shop, token, variant, item, &known, zone.as_deref()).await?;
        let incoming = incoming(platform, shop, token, item, |l| rules.counts(l)).await?;
        Ok::<_, PlatformError>((found, incoming))
    };
    let (found, incoming) = match read.await {
        Ok(read) => read,
        Err(PlatformError::MissingScope { scope, .. }) => {
            note_scope(state, shop, Some(scope)).await?;
            return Ok(Read::NoScope);
        }
        Err(e) => return Err(e.into()),
    };
    note_scope(state, shop, None).await?;
    let lots = lots(&found.transfers, &found.finished, |l| rules.counts(l));
    let today = crate::ledger::eta::today(zone.as_deref());
    let changed = books
        .update(shop, key::Variant(variant), |record| {
            let Some(mut record) = record else { return Edit::Leave(false) };
            let before = record.settings.clone();
            let merged = merge(&mut record.settings, &lots, Some(incoming));
            if record.settings == before {
                return Edit::Leave(false);
            }
            if merged.received > 0 {
                for promised in crate::ledger::supply::received_dates(&before, &record.settings) {
                    record.note_arrival(&promised, today);
                }
            }
            Edit::put(record, true).mark(Mark::Variant(variant))
        })
        .await?;
    Ok(Read::Done { changed })
}

/// As [`refresh`], where supply is one part of a larger piece of work (an enrolment, a drift
/// pass): a failure is logged and left to the next pass.
pub async fn refresh_or_log(state: &AppState, shop: &str, token: &Secret, variant: u64) {
    if let Err(e) = refresh(state, shop, token, variant).await {
        tracing::warn!(shop, variant, error = %e, "expected supply could not be read; the next drift pass reads it again");
    }
}

/// Keeps (or clears) the scope the merchant is asked to grant; written only when it changes.
async fn note_scope(state: &AppState, shop: &str, scope: Option<String>) -> Result<(), SupplyError> {
    state
        .books
        .update(shop, key::Settings, |settings| {
            let mut settings = settings.unwrap_or_default();
            if settings.supply_scope_missing == scope {
                return Edit::Leave(());
            }
            if let Some(scope) = &scope {
                tracing::info!(
                    shop,
                    scope,
                    "expected supply needs a scope the shop has not granted; merchant batches only"
                );
            }
            settings.supply_scope_missing = scope.clone();
            Edit::put(settings, ())
        })
        .await?;
    Ok(())
}

/// The transfer or shipment a supply webhook names: its GID, and for a shipment its transfer's.
pub fn hinted(topic: &str, body: &Value) -> Vec<String> {
    let kind = if topic.starts_with("inventory_shipments/") { "InventoryShipment" } else { "InventoryTransfer" };
    let own = body["admin_graphql_api_id"]
        .as_str()
        .filter(|id| id.starts_with("gid://shopify/"))
        .map(String::from)
        .or_else(|| body["id"].as_u64().map(|id| format!("gid://shopify/{kind}/{id}")));
    let transfer = body["inventory_transfer_id"].as_u64().map(|id| format!("gid://shopify/InventoryTransfer/{id}"));
    own.into_iter().chain(transfer).collect()
}

/// A supply webhook: the managed variants whose items the named transfer or shipment carries
/// (or, once it is deleted, whose batches came from it) read their supply again.
pub async fn on_hint(state: &AppState, shop: &str, ids: &[String]) -> Result<usize, SupplyError> {
    let token = crate::auth::tokens::access_token(state, shop)
        .await
        .map_err(|e| SupplyError::Install(e.to_string()))?
        .ok_or_else(|| SupplyError::NotInstalled(shop.to_string()))?;
    let mut items = BTreeSet::new();
    for id in ids {
        match items_of(&state.platform, shop, &token, id).await {
            Ok(found) => items.extend(found),
            Err(PlatformError::MissingScope { scope, .. }) => {
                note_scope(state, shop, Some(scope)).await?;
                return Ok(0);
            }
            Err(e) => return Err(e.into()),
        }
    }
    let books = &state.books;
    let mut variants = BTreeSet::new();
    for item in items {
        variants.extend(books.get_or_default(shop, key::Item(item)).await?.variants);
    }
    if variants.is_empty() {
        // Gone from the platform (a deleted shipment): the variants that had a batch of it.
        let managed = crate::books::apply::managed_variants(books, shop).await?;
        variants.extend(
            managed
                .iter()
                .filter(|(_, r)| r.settings.supply.iter().any(|b| b.id.as_ref().is_some_and(|b| ids.contains(b))))
                .map(|(v, _)| *v),
        );
    }
    for variant in &variants {
        refresh(state, shop, &token, *variant).await?;
    }
    Ok(variants.len())
}
