//! The blocking half of every operation: redb transactions plus the index updates that must
//! follow them. Runs on tokio's blocking pool; the index lock is never held across a redb call,
//! so a thread waiting for the writer lock cannot block one that holds it.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use redb::{Database, DatabaseError, Durability, ReadableDatabase, ReadableTable, WriteTransaction};

use super::index::{Index, Slot};
use super::tables::{self, COUNTS, PROCESSED, PROCESSED_BY_EXPIRY, QUEUE, QUEUE_SEQ, SEEN, SEEN_BY_EXPIRY};
use super::{Db, Inner};
use crate::store::{Enqueued, Envelope, Lane, QueueEntry, StoreError, now_ms, shard};

/// How long an open waits for the lock of a handle that is closing (a store of this process
/// that was just dropped while a blocking task still held the database).
const LOCK_WAIT: Duration = Duration::from_secs(1);

/// Page cache; the working set is the backlog plus dedupe marks, far below redb's 1 GiB default.
const CACHE_BYTES: usize = 64 * 1024 * 1024;

/// Expired marks of each kind dropped per `maintain`, so one call stays one short transaction.
const PURGE_BATCH: usize = 10_000;

const UNDECODABLE: &str = "undecodable queue entry";

/// Opens (or creates) the file, creates the tables and rebuilds the index.
pub(super) fn open(path: &Path, shards: u16) -> Result<(Database, Index), StoreError> {
    let db = open_file(path)?;
    let txn = begin_write(&db)?;
    tables::init(&txn)?;
    super::ledger::init(&txn)?;
    super::effects::init(&txn)?;
    // After the shops table: a file written before the due index gets it here, filled.
    super::due::init(&txn, now_ms())?;
    txn.commit().db()?;
    let index = rebuild(&db, shards)?;
    Ok((db, index))
}

fn open_file(path: &Path) -> Result<Database, StoreError> {
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        match Database::builder().set_cache_size(CACHE_BYTES).create(path) {
            Ok(db) => return Ok(db),
            Err(DatabaseError::DatabaseAlreadyOpen) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(DatabaseError::DatabaseAlreadyOpen) => {
                return Err(StoreError::Unavailable(format!(
                    "{} is locked by another process (another backorder running on the same directory?)",
                    path.display()
                )));
            }
            Err(e) => {
                return Err(match redb::Error::from(e) {
                    redb::Error::Corrupted(detail) => StoreError::Corrupt(format!("{}: {detail}", path.display())),
                    e => StoreError::Unavailable(format!("cannot open {}: {e}", path.display())),
                });
            }
        }
    }
}

/// Every row is ready again after a restart, except retries still waiting out their delay.
fn rebuild(db: &Database, shards: u16) -> Result<Index, StoreError> {
    let now = now_ms();
    let mut index = Index::default();
    let txn = db.begin_read().db()?;
    let queue = txn.open_table(QUEUE).db()?;
    for item in queue.iter().db()? {
        let (seq, row) = item.db()?;
        // A row too short to hold a due time is due now; reading it dead-letters it (in lane
        // 0, as one whose envelope does not decode names no shop).
        let split = tables::split_queue_row(row.value());
        let due = split.map_or(0, |(due, _)| due);
        let lane = split
            .and_then(|(_, bytes)| Envelope::decode(bytes).ok())
            .map_or(Lane::Shard(0), |e| shard::lane_of(&e.meta.shop, shards));
        index.add(seq.value(), lane, due, now);
    }
    Ok(index)
}

fn begin_write(db: &Database) -> Result<WriteTransaction, StoreError> {
    let mut txn = db.begin_write().db()?;
    // The default today, set anyway: the whole design rests on a commit being on disk.
    txn.set_durability(Durability::Immediate).db()?;
    Ok(txn)
}

impl Inner {
    pub(super) fn write(&self) -> Result<WriteTransaction, StoreError> {
        begin_write(&self.db)
    }

    pub(super) fn ping(&self) -> Result<(), StoreError> {
        let txn = self.db.begin_read().db()?;
        txn.open_table(QUEUE).db()?;
        Ok(())
    }

    pub(super) fn enqueue(&self, envelope: &Envelope, ttl_ms: u64) -> Result<Enqueued, StoreError> {
        let now = now_ms();
        let expiry = now.saturating_add(ttl_ms);
        let delivery = format!("wh:{}", envelope.meta.webhook_id);
        let event = envelope.meta.event_id.as_ref().map(|id| format!("ev:{id}"));
        let txn = self.write()?;
        let (delivery_seen, event_seen) = {
            let marks = txn.open_table(SEEN).db()?;
            let event_seen = match &event {
                Some(event) => tables::seen(&marks, event, now)?,
                None => false,
            };
            (tables::seen(&marks, &delivery, now)?, event_seen)
        };
        if delivery_seen {
            // Nothing to write: the mark keeps its expiry, so repeated retries cannot stretch
            // the window forever. Dropping the transaction aborts it without an fsync.
            return Ok(Enqueued::Duplicate);
        }
        tables::mark_seen(&txn, &delivery, expiry)?;
        if event_seen {
            // Seen through the event id only: remember this delivery id too, so its own retries
            // stay duplicates even once the event mark is gone.
            txn.commit().db()?;
            return Ok(Enqueued::Duplicate);
        }
        if let Some(event) = &event {
            tables::mark_seen(&txn, event, expiry)?;
        }
        super::effects::remember_shop(&txn, &envelope.meta.shop)?;
        let seq = tables::next_id(&txn, QUEUE_SEQ)?;
        {
            let mut queue = txn.open_table(QUEUE).db()?;
            queue.insert(seq, tables::queue_row(now, &envelope.encode()).as_slice()).db()?;
        }
        txn.commit().db()?;
        self.index().add(seq, shard::lane_of(&envelope.meta.shop, self.shards), now, now);
        self.notify.notify_waiters();
        Ok(Enqueued::New)
    }

    /// Reads the entries just leased. An entry that does not decode is dead-lettered here, not
    /// handed out (no consumer could process it) and not dropped (it is a webhook we accepted).
    pub(super) fn fetch(&self, lane: Lane, leased: Vec<(u64, u64)>) -> Result<Vec<QueueEntry>, StoreError> {
        let rows = match self.read_rows(&leased) {
            Ok(rows) => rows,
            Err(e) => {
                // The consumer never sees these; back in line rather than waiting for a reclaim.
                let now = now_ms();
                let mut index = self.index();
                for &(seq, _) in &leased {
                    index.give_back(seq, now);
                }
                drop(index);
                self.notify.notify_waiters();
                return Err(e);
            }
        };
        let mut out = Vec::with_capacity(leased.len());
        for ((seq, deliveries), row) in leased.into_iter().zip(rows) {
            let Some(row) = row else {
                // Settled by someone else since it was leased.
                self.index().unlease(seq);
                continue;
            };
            match tables::split_queue_row(&row).map(|(_, bytes)| Envelope::decode(bytes)) {
                Some(Ok(envelope)) => out.push(QueueEntry { lane, id: seq.to_string(), envelope, deliveries }),
                _ => self.bury_undecodable(seq, &row),
            }
        }
        Ok(out)
    }

    fn read_rows(&self, leased: &[(u64, u64)]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let txn = self.db.begin_read().db()?;
        let queue = txn.open_table(QUEUE).db()?;
        leased.iter().map(|&(seq, _)| Ok(queue.get(seq).db()?.map(|row| row.value().to_vec()))).collect()
    }

    fn bury_undecodable(&self, seq: u64, row: &[u8]) {
        let bytes = tables::split_queue_row(row).map_or(row, |(_, bytes)| bytes);
        match self.bury(seq, bytes, UNDECODABLE) {
            Ok(_) => tracing::warn!(id = seq, "undecodable queue entry dead-lettered"),
            Err(e) => tracing::warn!(
                id = seq,
                error = %e,
                "could not dead-letter an undecodable queue entry; it will be re-claimed"
            ),
        }
    }

    /// Runs `change` on an entry already taken out of the index, and puts the entry back where
    /// it was if the change fails: the row is then unchanged in the file too.
    pub(super) fn settle<T>(
        &self,
        seq: u64,
        slot: Slot,
        change: impl FnOnce() -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let result = change();
        if result.is_err() {
            self.index().restore(seq, slot, now_ms());
            self.notify.notify_waiters();
        }
        result
    }

    pub(super) fn ack(&self, seq: u64) -> Result<(), StoreError> {
        let Some(slot) = self.index().remove(seq) else {
            return Ok(());
        };
        self.settle(seq, slot, || {
            let txn = self.write()?;
            txn.open_table(QUEUE).db()?.remove(seq).db()?;
            txn.commit().db()
        })
    }

    /// Replaces a held entry's row with `envelope` (its attempt count already raised), due at
    /// `due_ms`, under a new id: a late ack of the old id must not delete the retry. Returns
    /// false when nobody held the entry (settled already).
    pub(super) fn retry(&self, seq: u64, envelope: &[u8], due_ms: u64) -> Result<bool, StoreError> {
        let Some(lease) = self.index().unlease(seq) else {
            return Ok(false);
        };
        let lane = lease.lane;
        let parked = self.settle(seq, Slot::Leased(lease), || {
            let txn = self.write()?;
            let new_seq = tables::next_id(&txn, QUEUE_SEQ)?;
            {
                let mut queue = txn.open_table(QUEUE).db()?;
                if queue.remove(seq).db()?.is_none() {
                    return Ok(None);
                }
                queue.insert(new_seq, tables::queue_row(due_ms, envelope).as_slice()).db()?;
            }
            txn.commit().db()?;
            Ok(Some(new_seq))
        })?;
        let Some(new_seq) = parked else {
            return Ok(false);
        };
        self.index().park(new_seq, lane, due_ms);
        // A consumer asleep until a later due time must look again.
        self.notify.notify_waiters();
        Ok(true)
    }

    /// Drops expired marks; returns how many retries became due since the last call.
    pub(super) fn maintain(&self) -> Result<u64, StoreError> {
        let now = now_ms();
        // Checked on a snapshot first, so a quiet store does not queue for the writer lock.
        if self.anything_expired(now)? || self.any_gone_expired(now)? {
            let txn = self.write()?;
            tables::purge_seen(&txn, now, PURGE_BATCH)?;
            tables::purge_processed(&txn, now, PURGE_BATCH)?;
            super::gone::purge(&txn, now)?;
            txn.commit().db()?;
        }
        Ok(self.index().take_became_due(now_ms()))
    }

    fn anything_expired(&self, now: u64) -> Result<bool, StoreError> {
        let txn = self.db.begin_read().db()?;
        let seen = txn.open_table(SEEN_BY_EXPIRY).db()?.first().db()?.is_some_and(|(key, _)| key.value().0 <= now);
        let processed =
            txn.open_table(PROCESSED_BY_EXPIRY).db()?.first().db()?.is_some_and(|(key, _)| key.value().0 <= now);
        Ok(seen || processed)
    }

    pub(super) fn commit_event(
        &self,
        shop: &str,
        event_key: &str,
        topic: &str,
        ttl_ms: u64,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        let txn = self.write()?;
        let done = txn.open_table(PROCESSED).db()?.get((shop, event_key)).db()?.is_some_and(|e| e.value() > now);
        if done || super::gone::kept_out_in(&txn, shop, now)? {
            return Ok(false);
        }
        tables::mark_processed(&txn, shop, event_key, now.saturating_add(ttl_ms))?;
        {
            let mut counts = txn.open_table(COUNTS).db()?;
            let count = counts.get((shop, topic)).db()?.map_or(0, |c| c.value());
            counts.insert((shop, topic), count.saturating_add(1)).db()?;
        }
        txn.commit().db()?;
        Ok(true)
    }

    pub(super) fn processed_counts(&self, shop: &str) -> Result<BTreeMap<String, u64>, StoreError> {
        let txn = self.db.begin_read().db()?;
        let counts = txn.open_table(COUNTS).db()?;
        let mut out = BTreeMap::new();
        for item in counts.range((shop, "")..).db()? {
            let (key, count) = item.db()?;
            let (owner, topic) = key.value();
            if owner != shop {
                break;
            }
            out.insert(topic.to_string(), count.value());
        }
        Ok(out)
    }
}
