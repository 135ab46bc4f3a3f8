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

mod book_store;
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
use super::{
    Backend, BookStore, DeadLetter, Enqueued, Envelope, Lane, Queue, QueueEntry, QueueStats, StoreError, now_ms,
};

const FILE_NAME: &str = "backorder.redb";

/// The lease table's "shop" for the lanes' ownership: no shop domain is empty-ish like this.
const LANES: &str = "#lanes";

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
    /// The number of intake shards (lanes of the in-memory index).
    shards: u16,
    /// Live instances → when their heartbeat lapses. One process has the file, so this is at
    /// most the one instance (or the few a test spawns in it).
    instances: Mutex<std::collections::HashMap<String, Instant>>,
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
        Self::open_with(dir, crate::store::shard::DEFAULT_SHARDS).await
    }

    /// Opens the store with `shards` lanes in its queue index.
    pub async fn open_with(dir: &Path, shards: u16) -> Result<Self, StoreError> {
        let owned = dir.to_path_buf();
        let shards = shards.clamp(1, crate::store::shard::MAX_SHARDS);
        let (db, mut index) = tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&owned).map_err(|e| {
                StoreError::Unavailable(format!("cannot create store directory {}: {e}", owned.display()))
            })?;
            ops::open(&owned.join(FILE_NAME), shards)
        })
        .await
        .map_err(task_failed)??;
        let (queued, delayed) = index.counts(now_ms());
        tracing::info!(path = %dir.join(FILE_NAME).display(), queued, delayed, "embedded store open");
        Ok(Self {
            inner: Arc::new(Inner {
                db,
                index: Mutex::new(index),
                notify: Notify::new(),
                leases: Mutex::default(),
                shards,
                instances: Mutex::default(),
            }),
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

    async fn fetch(&self, lane: Lane, leased: Vec<(u64, u64)>) -> Result<Vec<QueueEntry>, StoreError> {
        if leased.is_empty() {
            return Ok(Vec::new());
        }
        self.run(move |inner| inner.fetch(lane, leased)).await
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

    fn shards(&self) -> u16 {
        self.inner.shards
    }

    async fn dequeue(
        &self,
        consumer: &str,
        lane: Lane,
        max: usize,
        block: Duration,
    ) -> Result<Vec<QueueEntry>, StoreError> {
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
                (index.take(consumer, lane, max, now_ms(), Instant::now()), index.next_due())
            };
            if !leased.is_empty() {
                let got = self.fetch(lane, leased).await?;
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

    async fn reclaim(
        &self,
        consumer: &str,
        lane: Lane,
        min_idle: Duration,
        max: usize,
    ) -> Result<Vec<QueueEntry>, StoreError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let leased = self.inner.index().reclaim(consumer, lane, min_idle, max, Instant::now());
        self.fetch(lane, leased).await
    }

    /// The file has one queue table; its entries are in the lanes from the start.
    async fn legacy_waiting(&self) -> Result<bool, StoreError> {
        Ok(false)
    }

    async fn own_lane(&self, lane: Lane, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        Ok(self.inner.try_lease(LANES, &lane.label(), holder, ttl))
    }

    async fn disown_lane(&self, lane: Lane, holder: &str) -> Result<(), StoreError> {
        self.inner.release_lease(LANES, &lane.label(), holder);
        Ok(())
    }

    async fn heartbeat(&self, instance: &str, ttl: Duration) -> Result<u32, StoreError> {
        let now = Instant::now();
        let mut live = self.inner.instances.lock().unwrap_or_else(PoisonError::into_inner);
        live.retain(|_, until| *until > now);
        live.insert(instance.to_string(), now + ttl);
        Ok(live.len() as u32)
    }

    async fn depart(&self, instance: &str) -> Result<(), StoreError> {
        self.inner.instances.lock().unwrap_or_else(PoisonError::into_inner).remove(instance);
        Ok(())
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

    /// One index for every lane: retries of all lanes fall due together.
    async fn maintain(&self, _lanes: &[Lane]) -> Result<u64, StoreError> {
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
