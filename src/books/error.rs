//! The one error of the books: callers map it once (the worker to transient or permanent, HTTP
//! to 503 or 500), never by looking into store or record details.

use crate::ledger::records::RecordError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum BookError {
    /// The store did not answer: worth trying again later.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A stored record or mark cannot be read: trying again reads the same bytes.
    #[error("stored record is unreadable: {0}")]
    Corrupt(String),
    /// A variant's book disagrees with its lines: only a repair (reconcile) can help.
    #[error("the book of variant {variant} is inconsistent with its lines")]
    Inconsistent { variant: u64 },
    /// Concurrent changes kept winning the compare-and-set: worth trying again later.
    #[error("kept conflicting with concurrent changes")]
    Contended,
    /// The shop was redacted (`shop/redact`): nothing of it is written any more.
    #[error("the shop's data was erased (shop/redact); nothing of it is kept")]
    Gone,
}

impl BookError {
    /// Whether a later try can succeed (the store comes back, the contention passes).
    pub fn is_transient(&self) -> bool {
        !matches!(self, BookError::Corrupt(_) | BookError::Inconsistent { .. } | BookError::Gone)
    }
}

impl From<StoreError> for BookError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Corrupt(why) => BookError::Corrupt(why),
            other => BookError::Unavailable(other.to_string()),
        }
    }
}

impl From<RecordError> for BookError {
    fn from(e: RecordError) -> Self {
        BookError::Corrupt(e.to_string())
    }
}
