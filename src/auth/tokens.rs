//! The one place a shop's access token comes from. Expiring offline tokens (60 minutes) are
//! refreshed ahead of their expiry, by one instance at a time per shop (a lease in the store):
//! the others wait for the new pair to appear in the store instead of spending the refresh
//! token a second time. The new pair replaces the old one in one checked commit, so a refresh
//! can neither lose a pair nor revive an install that `app/uninstalled` dropped meanwhile.

use std::time::{Duration, Instant};

use super::install::{self, Install, InstallError};
use super::oauth::{self, Grant, OAuthError};
use crate::books::BookError;
use crate::secret::Secret;
use crate::state::AppState;
use crate::store::now_ms;

/// Refresh when less than this is left, so no call goes out with a token about to lapse.
pub const REFRESH_AHEAD_MS: i64 = 5 * 60 * 1000;
/// The refresh lease outlives one attempt of a refresh (the client's timeout and a back-off);
/// it is renewed before each attempt, so a refresh that retries keeps it throughout (L3).
const LEASE: Duration = Duration::from_secs(30);
const LEASE_NAME: &str = "token-refresh";
/// How long a caller waits for another instance's refresh before giving up for now.
const WAIT: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(50);
/// Attempts of one refresh that fails for a passing reason (network, 5xx).
const ATTEMPTS: u32 = 4;

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("no encryption key is configured: tokens cannot be opened")]
    NoSealer,
    #[error(transparent)]
    Install(#[from] InstallError),
    #[error("the token refresh failed: {0}")]
    Refresh(#[from] OAuthError),
    #[error("another instance is refreshing the token and has not finished")]
    Busy,
}

impl From<BookError> for TokenError {
    fn from(e: BookError) -> Self {
        TokenError::Install(e.into())
    }
}

fn fresh(install: &Install, now: i64) -> bool {
    match (install.expires_at_ms, &install.refresh_token) {
        (Some(expires), Some(_)) => expires - now > REFRESH_AHEAD_MS,
        // Non-expiring (custom apps, legacy installs), or nothing to refresh with: as it is.
        _ => true,
    }
}

/// The shop's access token, refreshed first when it is about to expire; `None` when the shop
/// has no install (never installed, or uninstalled): then nothing may be sent for it.
pub async fn access_token(state: &AppState, shop: &str) -> Result<Option<Secret>, TokenError> {
    // Without a key no token can be opened here: as if not installed (`serve` refuses to
    // start that way; tools and benches may run so).
    let Some(sealer) = state.sealer.as_deref() else { return Ok(None) };
    let books = &state.books;
    let holder = format!("refresh-{:016x}", fastrand::u64(..));
    let deadline = Instant::now() + WAIT;
    loop {
        let Some((install, _)) = install::load_raw(books, sealer, shop).await? else { return Ok(None) };
        if fresh(&install, now_ms() as i64) {
            return Ok(Some(install.access_token));
        }
        if books.try_lease(shop, LEASE_NAME, &holder, LEASE).await? {
            let result = refresh_leased(state, shop, &holder).await;
            books.release_lease(shop, LEASE_NAME, &holder).await?;
            match result? {
                Some(token) => return Ok(Some(token)),
                // Changed under us (uninstalled, or replaced): look again.
                None => continue,
            }
        }
        if Instant::now() >= deadline {
            return Err(TokenError::Busy);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Refreshes under the lease. Reads again first: another instance may have refreshed between
/// our read and taking the lease. `None` when the stored install changed meanwhile.
async fn refresh_leased(state: &AppState, shop: &str, holder: &str) -> Result<Option<Secret>, TokenError> {
    let sealer = state.sealer.as_deref().ok_or(TokenError::NoSealer)?;
    let books = &state.books;
    let Some((current, bytes)) = install::load_raw(books, sealer, shop).await? else { return Ok(None) };
    if fresh(&current, now_ms() as i64) {
        return Ok(Some(current.access_token));
    }
    let Some(refresh_token) = current.refresh_token.clone() else { return Ok(Some(current.access_token)) };
    let mut attempt = 0;
    let mut renewed = loop {
        attempt += 1;
        // Renewed before each attempt; lost (it lapsed, another instance holds it now), the
        // refresh is theirs: look again instead of spending the same refresh token twice.
        if attempt > 1 && !books.try_lease(shop, LEASE_NAME, holder, LEASE).await? {
            return Ok(None);
        }
        match oauth::request(state, shop, Grant::Refresh(&refresh_token)).await {
            Ok(renewed) => break renewed,
            Err(e) if e.is_retryable() && attempt < ATTEMPTS => {
                tracing::debug!(shop, attempt, error = %e, "token refresh: retrying");
                tokio::time::sleep(crate::retry::backoff(attempt, 200, 2_000)).await;
            }
            Err(e) => {
                tracing::warn!(shop, attempt, error = %e, "token refresh failed");
                return Err(e.into());
            }
        }
    };
    renewed.installed_at_ms = current.installed_at_ms;
    if renewed.scopes.is_empty() {
        renewed.scopes = current.scopes.clone();
    }
    if renewed.refresh_token.is_none() {
        renewed.refresh_token = Some(refresh_token);
    }
    let token = renewed.access_token.clone();
    if install::replace(books, sealer, shop, bytes, &renewed).await? {
        tracing::info!(shop, "access token refreshed");
        Ok(Some(token))
    } else {
        Ok(None)
    }
}
