//! A shop's install: its Admin API access token (and, for expiring tokens, the refresh token),
//! sealed at rest, kept with the shop's ledger records so one shop's data is one unit (and
//! `shop/redact` removes it with the rest).

use serde::{Deserialize, Serialize};

use crate::books::{BookError, Books, Change, Stamp};
use crate::secret::Secret;
use crate::secret::seal::{SealError, Sealer};
use crate::store::Record;

crate::record_key!(
    /// The shop's install: its tokens, sealed.
    InstallKey => StoredInstall, Record::Install
);

/// What the store holds: tokens sealed, never plain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredInstall {
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
    #[error("the store is unavailable: {0}")]
    Store(String),
    #[error("the stored install cannot be opened: {0}")]
    Sealed(#[from] SealError),
    #[error("the stored install is unreadable: {0}")]
    Corrupt(String),
}

impl From<BookError> for InstallError {
    fn from(e: BookError) -> Self {
        match e {
            BookError::Corrupt(why) => InstallError::Corrupt(why),
            other => InstallError::Store(other.to_string()),
        }
    }
}

/// Stores `install` for `shop`, replacing any earlier one.
pub async fn save(books: &Books, sealer: &Sealer, shop: &str, install: &Install) -> Result<(), InstallError> {
    // A new install: it also lifts the tombstone of a shop redacted within the dedupe window.
    books.commit(shop, Change::unchecked().put(InstallKey, &seal(sealer, shop, install)).revive()).await?;
    Ok(())
}

/// Replaces the install only if the store still holds `expected` (the bytes it was read as):
/// `false` when it changed meanwhile (refreshed elsewhere, or dropped by an uninstall, which
/// a refresh must never undo). The new pair replaces the old in one commit.
pub async fn replace(
    books: &Books,
    sealer: &Sealer,
    shop: &str,
    expected: Stamp,
    install: &Install,
) -> Result<bool, InstallError> {
    let change = Change::unchecked().expect(InstallKey, expected).put(InstallKey, &seal(sealer, shop, install));
    Ok(books.commit(shop, change).await?)
}

/// Drops the shop's tokens (app/uninstalled); the rest of its data stays.
pub async fn delete(books: &Books, shop: &str) -> Result<(), InstallError> {
    books.commit(shop, Change::unchecked().remove(InstallKey)).await?;
    Ok(())
}

/// When the shop installed the app (ms), if it has an install record: no token is opened.
pub async fn installed_at_ms(books: &Books, shop: &str) -> Result<Option<i64>, BookError> {
    Ok(books.get(shop, InstallKey).await?.map(|i| i.installed_at_ms))
}

/// Whether the shop has an install record (tokens that may or may not still work).
pub async fn exists(books: &Books, shop: &str) -> Result<bool, BookError> {
    Ok(books.read(shop, &[Record::Install]).await?.stamp(InstallKey) != Stamp::absent())
}

/// Where a sealed token belongs: it opens for that shop and field only (audit L6).
fn context(shop: &str, field: &str) -> String {
    format!("{shop}\0{field}")
}

fn seal(sealer: &Sealer, shop: &str, install: &Install) -> StoredInstall {
    StoredInstall {
        access_token: sealer.seal(&install.access_token, &context(shop, "access_token")),
        refresh_token: install.refresh_token.as_ref().map(|t| sealer.seal(t, &context(shop, "refresh_token"))),
        expires_at_ms: install.expires_at_ms,
        scopes: install.scopes.clone(),
        installed_at_ms: install.installed_at_ms,
    }
}

/// The shop's install, if it has one.
pub async fn load(books: &Books, sealer: &Sealer, shop: &str) -> Result<Option<Install>, InstallError> {
    Ok(load_raw(books, sealer, shop).await?.map(|(install, _)| install))
}

/// The shop's install and the bytes it is stored as (for [`replace`]).
pub async fn load_raw(books: &Books, sealer: &Sealer, shop: &str) -> Result<Option<(Install, Stamp)>, InstallError> {
    let reads = books.read(shop, &[Record::Install]).await?;
    let Some(stored) = reads.get(InstallKey)? else { return Ok(None) };
    let stamp = reads.stamp(InstallKey);
    let (access_token, stale) = sealer.open(&stored.access_token, &context(shop, "access_token"))?;
    let refresh_token =
        stored.refresh_token.as_deref().map(|t| sealer.open(t, &context(shop, "refresh_token"))).transpose()?;
    let stale = stale || refresh_token.as_ref().is_some_and(|(_, stale)| *stale);
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
        replace(books, sealer, shop, stamp, &install).await?;
        return Box::pin(load_raw(books, sealer, shop)).await;
    }
    Ok(Some((install, stamp)))
}
