//! What the app did lately for a shop, for the merchant's activity page: the platform changes
//! it made (tags, holds, selling policies, storefront dates) and the emails it sent. Kept as one
//! short record per shop, newest last: an effects pass writes its changes once at its end
//! (`effects::log` turns its calls into entries), an email its line once sent. It is an account
//! for people, not a ledger: a crash between a call and the record leaves a line out, never a
//! change undone. It names orders and variants by id only (no customer's name or address), and
//! goes with the shop (`shop/redact`).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::{BookError, Books, Edit};
use crate::record_key;
use crate::store::Record;

/// Entries kept: a few days of a busy shop's changes is what a merchant scrolls through.
pub const KEPT: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub at_ms: u64,
    /// The platform operation (`TagsAdd`, …), or `email:{kind}` for an email sent.
    pub what: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant_id: Option<u64>,
    /// The change in a few words (`backorder`, `2 units`, `DENY`), if it has any.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityLog {
    pub entries: VecDeque<Entry>,
}

record_key!(
    /// The shop's activity log.
    LogKey => ActivityLog, Record::Log
);

/// Appends `entries` to the shop's log, keeping the newest [`KEPT`].
pub async fn append(books: &Books, shop: &str, entries: Vec<Entry>) -> Result<(), BookError> {
    if entries.is_empty() {
        return Ok(());
    }
    books
        .update(shop, LogKey, |log| {
            let mut log = log.unwrap_or_default();
            log.entries.extend(entries.iter().cloned());
            while log.entries.len() > KEPT {
                log.entries.pop_front();
            }
            Edit::put(log, ())
        })
        .await
}
