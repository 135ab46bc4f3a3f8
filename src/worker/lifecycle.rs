//! The shop's lifecycle webhooks: `app/uninstalled` drops its tokens at once (so no platform call
//! can go out for it any more, whatever still arrives) and keeps its ledger for a reinstall;
//! `shop/redact`, 48 hours later unless it was reinstalled, deletes everything of the shop.
//!
//! Neither the delivery's headers nor its replay are signed, so `app/uninstalled` drops the
//! tokens only once the platform itself refuses them: Shopify revokes the token before it sends
//! the webhook, so a token that still works means a replayed or forged delivery.

use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::HandlerError;
use super::router::Handled;
use crate::auth::install::{self, InstallError};
use crate::auth::oauth::OAuthError;
use crate::auth::tokens::{self, TokenError};
use crate::platform::PlatformError;
use crate::platform::ops::SHOP_ID;
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
/// replayed delivery must not undo a reinstall) or the platform still accepts them.
pub async fn uninstalled(state: &AppState, envelope: &Envelope) -> Result<(), HandlerError> {
    let shop = envelope.meta.shop.as_str();
    let books = &state.books;
    if let (Some(sealer), Some(triggered)) = (state.sealer.as_deref(), triggered_ms(envelope)) {
        // An install that cannot be opened is left to the platform check below.
        if let Ok(Some(current)) = install::load(books, sealer, shop).await
            && current.installed_at_ms > triggered
        {
            tracing::info!(shop, "app/uninstalled predates the current install; kept");
            return Ok(());
        }
    }
    if !token_refused(state, shop).await? {
        return Ok(());
    }
    install::delete(books, shop).await.map_err(transient)?;
    tracing::info!(shop, "uninstalled: tokens dropped, no more platform calls for the shop");
    Ok(())
}

/// Asks the platform, with the shop's stored token, whether it still takes it: `true` only
/// when it answers 401/403 (or refuses the refresh of an expiring token). A platform that
/// cannot answer now is retried; any other answer keeps the tokens.
async fn token_refused(state: &AppState, shop: &str) -> Result<bool, HandlerError> {
    let token = match tokens::access_token(state, shop).await {
        Ok(Some(token)) => token,
        Ok(None) => {
            // Nothing stored (or nothing this process can open): nothing to drop.
            tracing::info!(shop, "app/uninstalled: no usable install stored; nothing to drop");
            return Ok(false);
        }
        Err(TokenError::Refresh(OAuthError::Refused { status, .. })) => {
            tracing::info!(shop, status, "app/uninstalled: the platform refuses the refresh token");
            return Ok(true);
        }
        // Unreadable here for good (another key, damaged bytes): for a person to look at.
        Err(e @ TokenError::Install(InstallError::Sealed(_) | InstallError::Corrupt(_))) => {
            return Err(HandlerError::Permanent(format!("app/uninstalled: the stored install cannot be read: {e}")));
        }
        Err(e) => return Err(transient(e)),
    };
    match state.platform.call(shop, &token, &SHOP_ID, json!({})).await {
        Err(PlatformError::Denied(status)) => {
            tracing::info!(shop, status, "app/uninstalled: the platform refuses the token");
            Ok(true)
        }
        Ok(_) => {
            tracing::warn!(
                shop,
                "app/uninstalled, but the platform still accepts the shop's token (a replayed or forged delivery?); tokens kept"
            );
            Ok(false)
        }
        Err(e) if e.is_retryable() => Err(transient(e)),
        // Kept whole in the dead letters with the reason; `dlq replay` asks again.
        Err(e) => Err(HandlerError::Permanent(format!(
            "app/uninstalled: cannot tell whether the platform still accepts the token: {e}"
        ))),
    }
}

/// Deletes every key and record of the shop. Not recorded as processed: that mark would be a
/// record of the shop again; a redelivery deletes nothing more.
pub async fn redact_shop(state: &AppState, envelope: &Envelope) -> Result<Handled, HandlerError> {
    let shop = envelope.meta.shop.as_str();
    // First the tombstone, for the dedupe window: a webhook of the shop still queued or waiting
    // to retry, or an effect in flight, then finds its writes refused (M6).
    let window = std::time::Duration::from_secs(state.settings.queue.dedupe_hours.saturating_mul(3600));
    state.books.keep_out(shop, window).await.map_err(transient)?;
    let removed = state.books.forget_shop(shop).await.map_err(transient)?;
    state.mailer.forget_shop(shop).await.map_err(|e| transient(format!("outbox files: {e}")))?;
    tracing::info!(shop, removed, "shop/redact: every record of the shop deleted");
    Ok(Handled::Done)
}
