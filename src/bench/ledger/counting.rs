//! A store that counts what the engine asks of it: calls per kind (each one round trip on Redis;
//! a line read is one pipelined round trip of two range reads), lines read, records and lines
//! written, conflicts. Per event, these say whether the work depends on the depth. It also
//! counts every read of each shop's data and the calls on the due index, which say what an idle
//! shop costs the effects dispatcher.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;

use crate::ledger::FillKey;
use crate::store::{
    Backend, BookStore, CommitOutcome, DeadLetter, Dirty, Enqueued, Envelope, Lane, LedgerCommit, LineRead, Queue,
    QueueEntry, QueueStats, Record, SharedStore, StoreError,
};

#[derive(Debug, Default)]
pub struct Counts {
    pub gets: AtomicU64,
    pub records_read: AtomicU64,
    pub line_reads: AtomicU64,
    pub lines_read: AtomicU64,
    pub level_reads: AtomicU64,
    pub commits: AtomicU64,
    pub conflicts: AtomicU64,
    pub lines_written: AtomicU64,
    /// `due_shops` calls: one per dispatcher sweep.
    pub due_reads: AtomicU64,
    /// `reschedule_due` calls.
    pub due_writes: AtomicU64,
}

/// The counts at one moment, to diff.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub gets: u64,
    pub records_read: u64,
    pub line_reads: u64,
    pub lines_read: u64,
    pub level_reads: u64,
    pub commits: u64,
    pub conflicts: u64,
    pub lines_written: u64,
}

impl Snapshot {
    pub fn since(&self, earlier: &Snapshot) -> Snapshot {
        Snapshot {
            gets: self.gets - earlier.gets,
            records_read: self.records_read - earlier.records_read,
            line_reads: self.line_reads - earlier.line_reads,
            lines_read: self.lines_read - earlier.lines_read,
            level_reads: self.level_reads - earlier.level_reads,
            commits: self.commits - earlier.commits,
            conflicts: self.conflicts - earlier.conflicts,
            lines_written: self.lines_written - earlier.lines_written,
        }
    }

    /// Store calls, each one round trip to Redis.
    pub fn round_trips(&self) -> u64 {
        self.gets + self.line_reads + self.level_reads + self.commits
    }
}

pub struct Counting {
    inner: SharedStore,
    pub counts: Counts,
    /// Reads of each shop's data (records, levels, lines, dirty marks, counts), by shop.
    shop_reads: Mutex<BTreeMap<String, u64>>,
}

impl Counting {
    pub fn new(inner: SharedStore) -> Self {
        Self { inner, counts: Counts::default(), shop_reads: Mutex::default() }
    }

    /// Every read of `shop`'s data so far, of any kind.
    pub fn reads_of(&self, shop: &str) -> u64 {
        self.shop_reads.lock().unwrap_or_else(PoisonError::into_inner).get(shop).copied().unwrap_or(0)
    }

    fn read(&self, shop: &str) {
        *self.shop_reads.lock().unwrap_or_else(PoisonError::into_inner).entry(shop.to_string()).or_default() += 1;
    }

    pub fn snapshot(&self) -> Snapshot {
        let c = &self.counts;
        Snapshot {
            gets: c.gets.load(Relaxed),
            records_read: c.records_read.load(Relaxed),
            line_reads: c.line_reads.load(Relaxed),
            lines_read: c.lines_read.load(Relaxed),
            level_reads: c.level_reads.load(Relaxed),
            commits: c.commits.load(Relaxed),
            conflicts: c.conflicts.load(Relaxed),
            lines_written: c.lines_written.load(Relaxed),
        }
    }
}

#[async_trait]
impl Backend for Counting {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
}

#[async_trait]
impl Queue for Counting {
    async fn purge_dead_letters(&self, shop: &str, needle: &[u8]) -> Result<u64, StoreError> {
        self.inner.purge_dead_letters(shop, needle).await
    }

    async fn renew(&self, consumer: &str, entry: &QueueEntry) -> Result<bool, StoreError> {
        self.inner.renew(consumer, entry).await
    }

    async fn trim_dead_letters(&self, keep: u64, before_ms: u64) -> Result<u64, StoreError> {
        self.inner.trim_dead_letters(keep, before_ms).await
    }

    async fn enqueue(&self, envelope: &Envelope, dedupe_ttl: Duration) -> Result<Enqueued, StoreError> {
        self.inner.enqueue(envelope, dedupe_ttl).await
    }

    fn shards(&self) -> u16 {
        self.inner.shards()
    }

    async fn dequeue(
        &self,
        consumer: &str,
        lane: Lane,
        max: usize,
        block: Duration,
    ) -> Result<Vec<QueueEntry>, StoreError> {
        self.inner.dequeue(consumer, lane, max, block).await
    }

    async fn reclaim(
        &self,
        consumer: &str,
        lane: Lane,
        min_idle: Duration,
        max: usize,
    ) -> Result<Vec<QueueEntry>, StoreError> {
        self.inner.reclaim(consumer, lane, min_idle, max).await
    }

    async fn legacy_waiting(&self) -> Result<bool, StoreError> {
        self.inner.legacy_waiting().await
    }

    async fn own_lane(&self, lane: Lane, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        self.inner.own_lane(lane, holder, ttl).await
    }

    async fn disown_lane(&self, lane: Lane, holder: &str) -> Result<(), StoreError> {
        self.inner.disown_lane(lane, holder).await
    }

    async fn heartbeat(&self, instance: &str, ttl: Duration) -> Result<u32, StoreError> {
        self.inner.heartbeat(instance, ttl).await
    }

    async fn depart(&self, instance: &str) -> Result<(), StoreError> {
        self.inner.depart(instance).await
    }

    async fn ack(&self, entry: &QueueEntry) -> Result<(), StoreError> {
        self.inner.ack(entry).await
    }

    async fn retry_later(&self, entry: &QueueEntry, delay: Duration) -> Result<(), StoreError> {
        self.inner.retry_later(entry, delay).await
    }

    async fn dead_letter(&self, entry: &QueueEntry, reason: &str) -> Result<(), StoreError> {
        self.inner.dead_letter(entry, reason).await
    }

    async fn bury_effect(&self, shop: &str, mark: crate::store::Mark, reason: &str) -> Result<(), StoreError> {
        self.inner.bury_effect(shop, mark, reason).await
    }

    async fn maintain(&self, lanes: &[Lane]) -> Result<u64, StoreError> {
        self.inner.maintain(lanes).await
    }

    async fn queue_stats(&self) -> Result<QueueStats, StoreError> {
        self.inner.queue_stats().await
    }

    async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, StoreError> {
        self.inner.dead_letters(limit).await
    }

    async fn replay_dead_letters(&self, id: Option<&str>) -> Result<u64, StoreError> {
        self.inner.replay_dead_letters(id).await
    }
}

#[async_trait]
impl BookStore for Counting {
    async fn forget_shop(&self, shop: &str) -> Result<u64, StoreError> {
        self.inner.forget_shop(shop).await
    }

    async fn keep_out(&self, shop: &str, ttl: Duration) -> Result<(), StoreError> {
        self.inner.keep_out(shop, ttl).await
    }

    async fn kept_out(&self, shop: &str) -> Result<bool, StoreError> {
        self.inner.kept_out(shop).await
    }

    async fn commit_event(&self, shop: &str, event_key: &str, topic: &str, ttl: Duration) -> Result<bool, StoreError> {
        self.inner.commit_event(shop, event_key, topic, ttl).await
    }

    async fn processed_counts(&self, shop: &str) -> Result<BTreeMap<String, u64>, StoreError> {
        self.read(shop);
        self.inner.processed_counts(shop).await
    }

    async fn ledger_get(&self, shop: &str, records: &[Record]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        self.read(shop);
        self.counts.gets.fetch_add(1, Relaxed);
        self.counts.records_read.fetch_add(records.len() as u64, Relaxed);
        self.inner.ledger_get(shop, records).await
    }

    async fn ledger_levels(&self, shop: &str, item: u64) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        self.read(shop);
        self.counts.level_reads.fetch_add(1, Relaxed);
        self.inner.ledger_levels(shop, item).await
    }

    async fn ledger_scan(
        &self,
        shop: &str,
        variant: u64,
        from: std::ops::Bound<FillKey>,
        limit: usize,
    ) -> Result<Vec<(FillKey, u32)>, StoreError> {
        self.read(shop);
        let lines = self.inner.ledger_scan(shop, variant, from, limit).await?;
        self.counts.line_reads.fetch_add(1, Relaxed);
        self.counts.lines_read.fetch_add(lines.len() as u64, Relaxed);
        Ok(lines)
    }

    async fn dirty_settled(
        &self,
        shop: &str,
        settled_at_ms: u64,
        limit: usize,
    ) -> Result<Vec<crate::store::Settled>, StoreError> {
        self.read(shop);
        self.inner.dirty_settled(shop, settled_at_ms, limit).await
    }

    async fn clear_dirty(&self, shop: &str, marks: &[crate::store::Settled]) -> Result<(), StoreError> {
        self.inner.clear_dirty(shop, marks).await
    }

    async fn shops(&self) -> Result<Vec<String>, StoreError> {
        self.inner.shops().await
    }

    async fn due_shops(&self, lanes: &[Lane], now_ms: u64, limit: usize) -> Result<Vec<(String, u64)>, StoreError> {
        self.counts.due_reads.fetch_add(1, Relaxed);
        self.inner.due_shops(lanes, now_ms, limit).await
    }

    async fn reschedule_due(&self, shop: &str, seen_ms: u64, next_ms: Option<u64>) -> Result<bool, StoreError> {
        self.counts.due_writes.fetch_add(1, Relaxed);
        self.inner.reschedule_due(shop, seen_ms, next_ms).await
    }

    async fn try_lease(&self, shop: &str, name: &str, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        self.inner.try_lease(shop, name, holder, ttl).await
    }

    async fn release_lease(&self, shop: &str, name: &str, holder: &str) -> Result<(), StoreError> {
        self.inner.release_lease(shop, name, holder).await
    }

    async fn ledger_lines(
        &self,
        shop: &str,
        variant: u64,
        around: Option<FillKey>,
        reach: usize,
    ) -> Result<LineRead, StoreError> {
        self.read(shop);
        let read = self.inner.ledger_lines(shop, variant, around, reach).await?;
        self.counts.line_reads.fetch_add(1, Relaxed);
        self.counts.lines_read.fetch_add(read.lines.len() as u64, Relaxed);
        Ok(read)
    }

    async fn ledger_commit(&self, shop: &str, commit: &LedgerCommit) -> Result<CommitOutcome, StoreError> {
        let outcome = self.inner.ledger_commit(shop, commit).await?;
        self.counts.commits.fetch_add(1, Relaxed);
        match outcome {
            CommitOutcome::Conflict => self.counts.conflicts.fetch_add(1, Relaxed),
            _ => self.counts.lines_written.fetch_add(commit.lines.len() as u64, Relaxed),
        };
        Ok(outcome)
    }

    async fn ledger_dirty(&self, shop: &str) -> Result<Dirty, StoreError> {
        self.read(shop);
        self.inner.ledger_dirty(shop).await
    }
}
