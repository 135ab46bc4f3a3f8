//! The shop's books: a typed layer between the pure rules (`crate::ledger`) and the bytes of
//! the store. Everything above reads and writes records through [`Books`]: typed keys instead
//! of bytes to decode, one bounded compare-and-set loop ([`Books::update`]) instead of one per
//! caller, and writes that are not events leave no processed mark.
//!
//! Also here: the ledger engine that applies events to the books (`apply`), the rework of the
//! books after a rules change (`rework`), and the read models of a variant's queue and an
//! order's standing (`queue`, `standing`).

pub mod apply;
pub mod daily;
mod error;
pub mod key;
mod lease;
pub mod log;
pub mod queue;
mod queue_cache;
mod reads;
pub mod rework;
pub mod standing;
pub mod unmanage;

use std::ops::Bound;
use std::time::Duration;

pub use crate::store::{Mark, Settled};
pub use error::BookError;
pub use key::Key;
pub use lease::Lease;
pub use reads::{Change, Reads, Stamp};

use crate::ledger::FillKey;
use crate::ledger::records::decode;
use crate::store::{BookStore, CommitOutcome, Dirty, EventMark, LedgerCommit, Record, SharedBookStore};

/// A read-modify-write that keeps conflicting gives up after this many tries: the caller's
/// own retry (the next pass, a webhook's redelivery, the client) takes it from there.
pub const MAX_TRIES: usize = 16;

/// What an update does with the value it read.
pub enum Edit<V, R> {
    /// Nothing to write; the update answers `R`.
    Leave(R),
    /// Write `value` (and leave `marks`), then answer `R`.
    Put { value: V, marks: Vec<Mark>, then: R },
}

impl<V, R> Edit<V, R> {
    pub fn put(value: V, then: R) -> Self {
        Edit::Put { value, marks: Vec::new(), then }
    }

    /// Adds a mark to a `Put` (a `Leave` is unchanged).
    pub fn mark(mut self, mark: Mark) -> Self {
        if let Edit::Put { marks, .. } = &mut self {
            marks.push(mark);
        }
        self
    }
}

/// The books of every shop, over the record half of the store.
#[derive(Clone)]
pub struct Books {
    store: SharedBookStore,
}

impl Books {
    pub fn new(store: SharedBookStore) -> Self {
        Self { store }
    }

    pub(crate) fn store(&self) -> &dyn BookStore {
        self.store.as_ref()
    }

    /// The value of one record (`None`: absent).
    pub async fn get<K: Key>(&self, shop: &str, key: K) -> Result<Option<K::Value>, BookError> {
        let bytes = self.store.ledger_get(shop, &[key.record()]).await?.pop().flatten();
        Ok(decode(bytes.as_deref())?)
    }

    /// The value of one record, or its default when absent.
    pub async fn get_or_default<K: Key>(&self, shop: &str, key: K) -> Result<K::Value, BookError>
    where
        K::Value: Default,
    {
        Ok(self.get(shop, key).await?.unwrap_or_default())
    }

    /// Today in the shop's time zone (its settings), the day every ETA counts from.
    pub async fn today(&self, shop: &str) -> Result<time::Date, BookError> {
        Ok(self.get_or_default(shop, key::Settings).await?.today())
    }

    /// Reads several records at once, remembering them for a checked [`Change`].
    pub async fn read<'a>(&'a self, shop: &'a str, records: &[Record]) -> Result<Reads<'a>, BookError> {
        let mut reads = Reads::new(self.store.as_ref(), shop);
        reads.load(records).await?;
        Ok(reads)
    }

    /// Commits a change. `false`: a record it was checked against had moved; nothing was written.
    pub async fn commit(&self, shop: &str, change: Change) -> Result<bool, BookError> {
        match self.store.ledger_commit(shop, &change.commit).await? {
            CommitOutcome::Gone => Err(BookError::Gone),
            outcome => Ok(outcome != CommitOutcome::Conflict),
        }
    }

    /// Reads `key`, lets `edit` decide, and writes the outcome only if the record is unchanged
    /// meanwhile; on a conflict, decides again from a fresh read, a bounded number of times.
    pub async fn update<K: Key, R>(
        &self,
        shop: &str,
        key: K,
        mut edit: impl FnMut(Option<K::Value>) -> Edit<K::Value, R>,
    ) -> Result<R, BookError> {
        for _ in 0..MAX_TRIES {
            let reads = self.read(shop, &[key.record()]).await?;
            let (change, then) = match edit(reads.get(key)?) {
                Edit::Leave(then) => return Ok(then),
                Edit::Put { value, marks, then } => {
                    (marks.into_iter().fold(reads.change().put(key, &value), Change::mark), then)
                }
            };
            if self.commit(shop, change).await? {
                return Ok(then);
            }
        }
        Err(BookError::Contended)
    }

    /// Leaves marks for the effects (a replayed effect, orders to look at again).
    pub async fn mark(&self, shop: &str, marks: impl IntoIterator<Item = Mark>) -> Result<(), BookError> {
        let commit = LedgerCommit { marks: marks.into_iter().collect(), ..LedgerCommit::default() };
        if !commit.marks.is_empty() {
            self.store.ledger_commit(shop, &commit).await?;
        }
        Ok(())
    }

    /// A page of a variant's book in fill order, from `from` on.
    pub async fn lines(
        &self,
        shop: &str,
        variant: u64,
        from: Bound<FillKey>,
        limit: usize,
    ) -> Result<Vec<(FillKey, u32)>, BookError> {
        Ok(self.store.ledger_scan(shop, variant, from, limit).await?)
    }

    /// Marks whose last change is at or before `settled_at_ms`, oldest first.
    pub async fn settled(&self, shop: &str, settled_at_ms: u64, limit: usize) -> Result<Vec<Settled>, BookError> {
        Ok(self.store.dirty_settled(shop, settled_at_ms, limit).await?)
    }

    /// Clears marks whose effects are done, unless they were set again since they were read.
    pub async fn clear(&self, shop: &str, done: &[Settled]) -> Result<(), BookError> {
        Ok(self.store.clear_dirty(shop, done).await?)
    }

    /// Records an event that changes no record (an uninstall, a redaction) as processed.
    /// `false`: it was processed before.
    pub async fn record_event(&self, shop: &str, event: &EventMark) -> Result<bool, BookError> {
        Ok(self.store.commit_event(shop, &event.key, &event.topic, event.ttl).await?)
    }

    /// Takes (or renews) the shop's lease `name` for `holder`; `false`: another holder has it.
    pub async fn try_lease(&self, shop: &str, name: &str, holder: &str, ttl: Duration) -> Result<bool, BookError> {
        Ok(self.store.try_lease(shop, name, holder, ttl).await?)
    }

    pub async fn release_lease(&self, shop: &str, name: &str, holder: &str) -> Result<(), BookError> {
        Ok(self.store.release_lease(shop, name, holder).await?)
    }

    /// Every shop with books, sorted: from its install or first commit until it is forgotten.
    pub async fn shops(&self) -> Result<Vec<String>, BookError> {
        Ok(self.store.shops().await?)
    }

    /// Shops of `lanes` with work due by `now_ms`, earliest first, at most `limit`, each with
    /// the score [`Books::reschedule`] compares (`BookStore::due_shops`).
    pub async fn due(
        &self,
        lanes: &[crate::store::Lane],
        now_ms: u64,
        limit: usize,
    ) -> Result<Vec<(String, u64)>, BookError> {
        Ok(self.store.due_shops(lanes, now_ms, limit).await?)
    }

    /// Puts a served shop back in the due index at `next_ms`, or takes it out with `None`,
    /// unless something made it due since it was read at `seen_ms` (`false` then).
    pub async fn reschedule(&self, shop: &str, seen_ms: u64, next_ms: Option<u64>) -> Result<bool, BookError> {
        Ok(self.store.reschedule_due(shop, seen_ms, next_ms).await?)
    }

    /// Deletes everything kept for the shop (`shop/redact`); other shops are untouched.
    /// Returns how many keys or rows went.
    pub async fn forget_shop(&self, shop: &str) -> Result<u64, BookError> {
        Ok(self.store.forget_shop(shop).await?)
    }

    /// Keeps the redacted shop out for `ttl`: nothing of it is written meanwhile (audit M6).
    pub async fn keep_out(&self, shop: &str, ttl: std::time::Duration) -> Result<(), BookError> {
        Ok(self.store.keep_out(shop, ttl).await?)
    }

    /// Whether the shop was redacted within the dedupe window.
    pub async fn kept_out(&self, shop: &str) -> Result<bool, BookError> {
        Ok(self.store.kept_out(shop).await?)
    }

    /// Everything marked and not yet reconciled (the demo and tests look at it).
    pub async fn dirty(&self, shop: &str) -> Result<Dirty, BookError> {
        Ok(self.store.ledger_dirty(shop).await?)
    }
}
