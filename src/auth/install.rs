//! A shop's install: its Admin API access token (and, for expiring tokens, the refresh token),
//! sealed at rest, kept with the shop's ledger records so one shop's data is one unit (and
//! `shop/redact` removes it with the rest).

use serde::{Deserialize, Serialize};

use super::seal::{SealError, Sealer};
use crate::ledger::records::{decode, encode};
use crate::secret::Secret;
use crate::store::{CommitOutcome, LedgerCommit, Record, Store, StoreError};

/// What the store holds: tokens sealed, never plain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct StoredInstall {
    access_token: String,
    refresh_token: Option<String>,
    expires_at_ms: Option<i64>,
    scopes: Vec<String>,
    installed_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Install {
    pub access_token: Secret,
    pub refresh_token: Option<Secret>,
    pub expires_at_ms: Option<i64>,
    pub scopes: Vec<String>,
    pub installed_at_ms: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the stored install cannot be opened: {0}")]
    Sealed(#[from] SealError),
    #[error("the stored install is unreadable: {0}")]
    Corrupt(String),
}

/// Stores `install` for `shop`, replacing any earlier one.
pub async fn save(store: &dyn Store, sealer: &Sealer, shop: &str, install: &Install) -> Result<(), InstallError> {
    commit(store, shop, vec![], Some(seal(sealer, install))).await.map(|_| ())
}

/// Replaces the install only if the store still holds `expected` (the bytes it was read as):
/// `false` when it changed meanwhile (refreshed elsewhere, or dropped by an uninstall, which
/// a refresh must never undo). The new pair replaces the old in one commit.
pub async fn replace(
    store: &dyn Store,
    sealer: &Sealer,
    shop: &str,
    expected: Vec<u8>,
    install: &Install,
) -> Result<bool, InstallError> {
    commit(store, shop, vec![(Record::Install, Some(expected))], Some(seal(sealer, install))).await
}

/// Drops the shop's tokens (app/uninstalled); the rest of its data stays.
pub async fn delete(store: &dyn Store, shop: &str) -> Result<(), InstallError> {
    commit(store, shop, vec![], None).await.map(|_| ())
}

fn seal(sealer: &Sealer, install: &Install) -> Vec<u8> {
    encode(&StoredInstall {
        access_token: sealer.seal(&install.access_token),
        refresh_token: install.refresh_token.as_ref().map(|t| sealer.seal(t)),
        expires_at_ms: install.expires_at_ms,
        scopes: install.scopes.clone(),
        installed_at_ms: install.installed_at_ms,
    })
}

async fn commit(
    store: &dyn Store,
    shop: &str,
    expect: Vec<(Record, Option<Vec<u8>>)>,
    value: Option<Vec<u8>>,
) -> Result<bool, InstallError> {
    let commit =
        LedgerCommit { event: None, expect, writes: vec![(Record::Install, value)], ..LedgerCommit::default() };
    match store.ledger_commit(shop, &commit).await? {
        CommitOutcome::Applied | CommitOutcome::AlreadyProcessed => Ok(true),
        CommitOutcome::Conflict => Ok(false),
    }
}

/// The shop's install, if it has one.
pub async fn load(store: &dyn Store, sealer: &Sealer, shop: &str) -> Result<Option<Install>, InstallError> {
    Ok(load_raw(store, sealer, shop).await?.map(|(install, _)| install))
}

/// The shop's install and the bytes it is stored as (for [`replace`]).
pub async fn load_raw(
    store: &dyn Store,
    sealer: &Sealer,
    shop: &str,
) -> Result<Option<(Install, Vec<u8>)>, InstallError> {
    let Some(bytes) = store.ledger_get(shop, &[Record::Install]).await?.remove(0) else {
        return Ok(None);
    };
    let stored = decode::<StoredInstall>(Some(&bytes)).map_err(|e| InstallError::Corrupt(e.to_string()))?;
    let Some(stored) = stored else { return Ok(None) };
    let (access_token, stale) = sealer.open(&stored.access_token)?;
    let refresh_token = stored.refresh_token.as_deref().map(|t| sealer.open(t)).transpose()?;
    let install = Install {
        access_token,
        refresh_token: refresh_token.map(|(t, _)| t),
        expires_at_ms: stored.expires_at_ms,
        scopes: stored.scopes,
        installed_at_ms: stored.installed_at_ms,
    };
    if stale {
        // Sealed under the previous key: re-seal under the current one, so the previous key
        // can be retired once every shop has been read. Checked, so it never revives an
        // install dropped meanwhile.
        replace(store, sealer, shop, bytes, &install).await?;
        return Box::pin(load_raw(store, sealer, shop)).await;
    }
    Ok(Some((install, bytes)))
}
