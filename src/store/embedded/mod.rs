//! Embedded backend: one redb file, `backorder.redb`, in the configured directory.
//!
//! - Every state change is one write transaction committed with immediate durability, so a
//!   crash at any point leaves all or nothing of an operation.
//! - redb locks the file, so this process is its only user. The queue lives in the file; which
//!   consumer holds which entry lives in memory ([`index`]) and is rebuilt at open, when every
//!   entry is ready again: whoever held it died with the previous process.
//! - redb calls block (a commit waits for fsync), so they run on tokio's blocking pool.
//!
//! Tables are described in [`tables`].

mod dead;
mod due;
mod effects;
mod forget;
mod gone;
mod index;
mod ledger;
mod ops;
mod tables;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use redb::Database;
use tokio::sync::Notify;

use self::index::Index;
use super::{Backend, BookStore, DeadLetter, Enqueued, Envelope, Queue, QueueEntry, QueueStats, StoreError, now_ms};

const FILE_NAME: &str = "backorder.redb";

/// Longest dedupe or processed-mark lifetime, the same cap as the Redis backend's.
const MAX_TTL_MS: u64 = 100 * 365 * 24 * 3600 * 1000;

/// Longest wait of one dequeue, so a huge `block` cannot overflow the deadline arithmetic.
const LONGEST_BLOCK: Duration = Duration::from_secs(24 * 3600);

pub struct EmbeddedStore {
    inner: Arc<Inner>,
}

struct Inner {
    db: Database,
    index: Mutex<Index>,
    /// Woken whenever an entry becomes available, or a retry is parked (a sleeping consumer
    /// may need to wake earlier for it).
    notify: Notify,
    /// (shop, name) → holder and expiry.
    leases: Mutex<std::collections::HashMap<(String, String), (String, std::time::Instant)>>,
}

impl Inner {
    fn index(&self) -> MutexGuard<'_, Index> {
        // Every index change is a few map operations that cannot leave it half done.
        self.index.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl EmbeddedStore {
    /// Opens the store in `dir`, creating the directory and the file when missing. Fails with
    /// [`StoreError::Unavailable`] when another process has the file open.
    pub async fn open(dir: &Path) -> Result<Self, StoreError> {
        let owned = dir.to_path_buf();
        let (db, mut index) = tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&owned).map_err(|e| {
                StoreError::Unavailable(format!("cannot create store directory {}: {e}", owned.display()))
            })?;
            ops::open(&owned.join(FILE_NAME))
        })
        .await
        .map_err(task_failed)??;
        let (queued, delayed) = index.counts(now_ms());
        tracing::info!(path = %dir.join(FILE_NAME).display(), queued, delayed, "embedded store open");
        Ok(Self {
            inner: Arc::new(Inner { db, index: Mutex::new(index), notify: Notify::new(), leases: Mutex::default() }),
        })
    }

    /// Runs `op` on the blocking pool. It runs to the end even if the caller stops waiting, so
    /// a commit and the index update after it are never separated.
    async fn run<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || op(&inner)).await.map_err(task_failed)?
    }

    /// Every row of every table, one line each (`table<TAB>key<TAB>value`): what the file
    /// holds now, for audits and tests.
    pub async fn dump(&self) -> Result<Vec<String>, StoreError> {
        self.run(Inner::dump).await
    }

    async fn fetch(&self, leased: Vec<(u64, u64)>) -> Result<Vec<QueueEntry>, StoreError> {
        if leased.is_empty() {
            return Ok(Vec::new());
        }
        self.run(move |inner| inner.fetch(leased)).await
    }
}

/// Converts redb's errors at the boundary; `.db()` reads better than a `map_err` on every call.
trait Db<T> {
    fn db(self) -> Result<T, StoreError>;
}

impl<T, E: Into<redb::Error>> Db<T> for Result<T, E> {
    fn db(self) -> Result<T, StoreError> {
        self.map_err(|e| db_error(e.into()))
    }
}

fn db_error(e: redb::Error) -> StoreError {
    match e {
        redb::Error::Corrupted(detail) => StoreError::Corrupt(format!("embedded store: {detail}")),
        e => StoreError::Unavailable(format!("embedded store: {e}")),
    }
}

fn task_failed(e: tokio::task::JoinError) -> StoreError {
    StoreError::Unavailable(format!("embedded store task failed: {e}"))
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn ttl_ms(d: Duration) -> u64 {
    millis(d).clamp(1, MAX_TTL_MS)
}

/// Entry ids are sequence numbers; anything else names no entry.
fn entry_seq(entry: &QueueEntry) -> Option<u64> {
    entry.id.parse().ok()
}

#[async_trait]
impl Backend for EmbeddedStore {
    fn backend(&self) -> &'static str {
        "embedded"
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.run(Inner::ping).await
    }
}

#[async_trait]
impl Queue for EmbeddedStore {
    async fn enqueue(&self, envelope: &Envelope, dedupe_ttl: Duration) -> Result<Enqueued, StoreError> {
        let envelope = envelope.clone();
        let ttl = ttl_ms(dedupe_ttl);
        self.run(move |inner| inner.enqueue(&envelope, ttl)).await
    }

    async fn dequeue(&self, consumer: &str, max: usize, block: Duration) -> Result<Vec<QueueEntry>, StoreError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let deadline = Instant::now() + block.min(LONGEST_BLOCK);
        loop {
            // Registered before looking, so an entry queued between the look and the wait still
            // wakes this consumer.
            let notified = self.inner.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();

            let (leased, next_due) = {
                let mut index = self.inner.index();
                (index.take(consumer, max, now_ms(), Instant::now()), index.next_due())
            };
            if !leased.is_empty() {
                let got = self.fetch(leased).await?;
                if !got.is_empty() {
                    return Ok(got);
                }
                // All of them were settled or dead-lettered meanwhile: look again.
                continue;
            }

            let now = Instant::now();
            if now >= deadline {
                return Ok(Vec::new());
            }
            let wake = match next_due {
                Some(due) => deadline.min(now + Duration::from_millis(due.saturating_sub(now_ms()))),
                None => deadline,
            };
            tokio::select! {
                () = &mut notified => {}
                () = tokio::time::sleep_until(wake.into()) => {}
            }
        }
    }

    async fn reclaim(&self, consumer: &str, min_idle: Duration, max: usize) -> Result<Vec<QueueEntry>, StoreError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let leased = self.inner.index().reclaim(consumer, min_idle, max, Instant::now());
        self.fetch(leased).await
    }

    async fn renew(&self, consumer: &str, entry: &QueueEntry) -> Result<bool, StoreError> {
        let Some(seq) = entry_seq(entry) else { return Ok(false) };
        Ok(self.inner.index().renew(seq, consumer, std::time::Instant::now()))
    }

    async fn ack(&self, entry: &QueueEntry) -> Result<(), StoreError> {
        let Some(seq) = entry_seq(entry) else {
            return Ok(());
        };
        self.run(move |inner| inner.ack(seq)).await
    }

    async fn retry_later(&self, entry: &QueueEntry, delay: Duration) -> Result<(), StoreError> {
        let Some(seq) = entry_seq(entry) else {
            return Ok(());
        };
        let mut envelope = entry.envelope.clone();
        envelope.meta.attempts = envelope.meta.attempts.saturating_add(1);
        let bytes = envelope.encode();
        let due = now_ms().saturating_add(millis(delay));
        if !self.run(move |inner| inner.retry(seq, &bytes, due)).await? {
            tracing::debug!(id = %entry.id, "retry of an entry that was already settled; nothing parked");
        }
        Ok(())
    }

    async fn dead_letter(&self, entry: &QueueEntry, reason: &str) -> Result<(), StoreError> {
        let Some(seq) = entry_seq(entry) else {
            return Ok(());
        };
        let bytes = entry.envelope.encode();
        let reason = reason.to_string();
        if !self.run(move |inner| inner.bury(seq, &bytes, &reason)).await? {
            tracing::debug!(id = %entry.id, "dead-letter of an entry that was already settled; nothing added");
        }
        Ok(())
    }

    async fn maintain(&self) -> Result<u64, StoreError> {
        self.run(Inner::maintain).await
    }

    async fn trim_dead_letters(&self, keep: u64, before_ms: u64) -> Result<u64, StoreError> {
        self.run(move |inner| inner.trim_dead(keep, before_ms)).await
    }

    async fn queue_stats(&self) -> Result<QueueStats, StoreError> {
        let (queued, delayed) = self.inner.index().counts(now_ms());
        let dead = self.run(Inner::dead_count).await?;
        Ok(QueueStats { queued, delayed, dead })
    }

    async fn bury_effect(&self, shop: &str, mark: crate::store::Mark, reason: &str) -> Result<(), StoreError> {
        let (shop, reason) = (shop.to_string(), reason.to_string());
        self.run(move |inner| inner.bury_effect(&shop, mark, &reason)).await
    }

    async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        self.run(move |inner| inner.dead_letters(limit)).await
    }

    async fn replay_dead_letters(&self, id: Option<&str>) -> Result<u64, StoreError> {
        match id {
            Some(id) => match id.parse::<u64>() {
                Ok(id) => self.run(move |inner| inner.replay_one(id)).await,
                Err(_) => Ok(0),
            },
            None => self.run(Inner::replay_all).await,
        }
    }

    async fn purge_dead_letters(&self, shop: &str, needle: &[u8]) -> Result<u64, StoreError> {
        let (shop, needle) = (shop.to_string(), needle.to_vec());
        self.run(move |inner| inner.purge_dead_letters(&shop, &needle)).await
    }
}

#[async_trait]
impl BookStore for EmbeddedStore {
    async fn commit_event(&self, shop: &str, event_key: &str, topic: &str, ttl: Duration) -> Result<bool, StoreError> {
        let (shop, event_key, topic) = (shop.to_string(), event_key.to_string(), topic.to_string());
        let ttl = ttl_ms(ttl);
        self.run(move |inner| inner.commit_event(&shop, &event_key, &topic, ttl)).await
    }

    async fn processed_counts(&self, shop: &str) -> Result<BTreeMap<String, u64>, StoreError> {
        let shop = shop.to_string();
        self.run(move |inner| inner.processed_counts(&shop)).await
    }

    async fn ledger_get(
        &self,
        shop: &str,
        records: &[crate::store::Record],
    ) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let (shop, records) = (shop.to_string(), records.to_vec());
        self.run(move |inner| inner.ledger_get(&shop, &records)).await
    }

    async fn ledger_levels(&self, shop: &str, item: u64) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let shop = shop.to_string();
        self.run(move |inner| inner.ledger_levels(&shop, item)).await
    }

    async fn ledger_lines(
        &self,
        shop: &str,
        variant: u64,
        around: Option<crate::ledger::FillKey>,
        reach: usize,
    ) -> Result<crate::store::LineRead, StoreError> {
        let shop = shop.to_string();
        self.run(move |inner| inner.ledger_lines(&shop, variant, around, reach)).await
    }

    async fn ledger_scan(
        &self,
        shop: &str,
        variant: u64,
        from: std::ops::Bound<crate::ledger::FillKey>,
        limit: usize,
    ) -> Result<Vec<(crate::ledger::FillKey, u32)>, StoreError> {
        let shop = shop.to_string();
        self.run(move |inner| inner.ledger_scan(&shop, variant, from, limit)).await
    }

    async fn ledger_commit(
        &self,
        shop: &str,
        commit: &crate::store::LedgerCommit,
    ) -> Result<crate::store::CommitOutcome, StoreError> {
        let (shop, commit) = (shop.to_string(), commit.clone());
        self.run(move |inner| inner.ledger_commit(&shop, &commit)).await
    }

    async fn dirty_settled(
        &self,
        shop: &str,
        settled_at_ms: u64,
        limit: usize,
    ) -> Result<Vec<crate::store::Settled>, StoreError> {
        let shop = shop.to_string();
        self.run(move |inner| inner.dirty_settled(&shop, settled_at_ms, limit)).await
    }

    async fn clear_dirty(&self, shop: &str, marks: &[crate::store::Settled]) -> Result<(), StoreError> {
        let (shop, marks) = (shop.to_string(), marks.to_vec());
        self.run(move |inner| inner.clear_dirty(&shop, &marks)).await
    }

    async fn shops(&self) -> Result<Vec<String>, StoreError> {
        self.run(move |inner| inner.shops()).await
    }

    async fn due_shops(&self, now_ms: u64, limit: usize) -> Result<Vec<(String, u64)>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        self.run(move |inner| inner.due_shops(now_ms, limit)).await
    }

    async fn reschedule_due(&self, shop: &str, seen_ms: u64, next_ms: Option<u64>) -> Result<bool, StoreError> {
        let shop = shop.to_string();
        self.run(move |inner| inner.reschedule_due(&shop, seen_ms, next_ms)).await
    }

    async fn try_lease(&self, shop: &str, name: &str, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        Ok(self.inner.try_lease(shop, name, holder, ttl))
    }

    async fn release_lease(&self, shop: &str, name: &str, holder: &str) -> Result<(), StoreError> {
        self.inner.release_lease(shop, name, holder);
        Ok(())
    }

    async fn forget_shop(&self, shop: &str) -> Result<u64, StoreError> {
        let shop = shop.to_string();
        self.run(move |inner| inner.forget_shop(&shop)).await
    }

    async fn keep_out(&self, shop: &str, ttl: Duration) -> Result<(), StoreError> {
        let (shop, ttl) = (shop.to_string(), ttl_ms(ttl));
        self.run(move |inner| inner.keep_out(&shop, ttl)).await
    }

    async fn kept_out(&self, shop: &str) -> Result<bool, StoreError> {
        let shop = shop.to_string();
        self.run(move |inner| inner.kept_out(&shop)).await
    }

    async fn ledger_dirty(&self, shop: &str) -> Result<crate::store::Dirty, StoreError> {
        let shop = shop.to_string();
        self.run(move |inner| inner.ledger_dirty(&shop)).await
    }
}
