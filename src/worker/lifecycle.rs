//! The shop's lifecycle webhooks: `app/uninstalled` drops its tokens at once (so no platform call
//! can go out for it any more, whatever still arrives) and keeps its ledger for a reinstall;
//! `shop/redact`, 48 hours later unless it was reinstalled, deletes everything of the shop.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::HandlerError;
use super::router::Handled;
use crate::auth::install;
use crate::state::AppState;
use crate::store::Envelope;

fn transient(e: impl std::fmt::Display) -> HandlerError {
    HandlerError::Transient(e.to_string())
}

/// When the platform says the event happened, in ms.
fn triggered_ms(envelope: &Envelope) -> Option<i64> {
    let at = OffsetDateTime::parse(envelope.meta.triggered_at.as_deref()?, &Rfc3339).ok()?;
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()
}

/// Drops the tokens, unless the install stored now came after the uninstall (a late or
/// replayed delivery must not undo a reinstall).
pub async fn uninstalled(state: &AppState, envelope: &Envelope) -> Result<(), HandlerError> {
    let shop = envelope.meta.shop.as_str();
    let store = state.store.as_ref();
    if let (Some(sealer), Some(triggered)) = (state.sealer.as_deref(), triggered_ms(envelope)) {
        // An install that cannot be opened is dropped all the same.
        if let Ok(Some(current)) = install::load(store, sealer, shop).await
            && current.installed_at_ms > triggered
        {
            tracing::info!(shop, "app/uninstalled predates the current install; kept");
            return Ok(());
        }
    }
    install::delete(store, shop).await.map_err(transient)?;
    tracing::info!(shop, "uninstalled: tokens dropped, no more platform calls for the shop");
    Ok(())
}

/// Deletes every key and record of the shop. Not recorded as processed: that mark would be a
/// record of the shop again; a redelivery deletes nothing more.
pub async fn redact_shop(state: &AppState, envelope: &Envelope) -> Result<Handled, HandlerError> {
    let shop = envelope.meta.shop.as_str();
    let removed = state.store.forget_shop(shop).await.map_err(transient)?;
    tracing::info!(shop, removed, "shop/redact: every record of the shop deleted");
    Ok(Handled::Done)
}
