//! Dead letters: burying a held entry, listing, and replaying into the queue.

use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata, WriteTransaction};

use super::index::Slot;
use super::tables::{self, DEAD, DEAD_SEQ, DeadMeta, QUEUE, QUEUE_SEQ};
use super::{Db, Inner};
use crate::store::{DeadLetter, DeadLetterKind, Envelope, EnvelopeMeta, StoreError, now_ms};

/// Dead letters moved per write transaction of a replay of all of them.
const REPLAY_BATCH: usize = 100;

impl Inner {
    /// Moves a held entry to the dead letters with `envelope` as its bytes. Returns false when
    /// nobody held the entry (settled already).
    pub(super) fn bury(&self, seq: u64, envelope: &[u8], reason: &str) -> Result<bool, StoreError> {
        let Some(lease) = self.index().unlease(seq) else {
            return Ok(false);
        };
        self.settle(seq, Slot::Leased(lease), || {
            let txn = self.write()?;
            if txn.open_table(QUEUE).db()?.remove(seq).db()?.is_none() {
                return Ok(false);
            }
            let id = tables::next_id(&txn, DEAD_SEQ)?;
            let meta = DeadMeta { kind: DeadLetterKind::Webhook, reason: reason.to_string(), failed_at_ms: now_ms() };
            txn.open_table(DEAD).db()?.insert(id, tables::dead_record(&meta, envelope).as_slice()).db()?;
            txn.commit().db()?;
            Ok(true)
        })
    }

    /// Adds a dead letter that never was a queue entry.
    pub(super) fn bury_new(&self, envelope: &[u8], kind: DeadLetterKind, reason: &str) -> Result<(), StoreError> {
        let txn = self.write()?;
        let id = tables::next_id(&txn, DEAD_SEQ)?;
        let meta = DeadMeta { kind, reason: reason.to_string(), failed_at_ms: now_ms() };
        txn.open_table(DEAD).db()?.insert(id, tables::dead_record(&meta, envelope).as_slice()).db()?;
        txn.commit().db()?;
        Ok(())
    }

    pub(super) fn dead_count(&self) -> Result<u64, StoreError> {
        let txn = self.db.begin_read().db()?;
        txn.open_table(DEAD).db()?.len().db()
    }

    pub(super) fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, StoreError> {
        let txn = self.db.begin_read().db()?;
        let dead = txn.open_table(DEAD).db()?;
        let mut out = Vec::new();
        for item in dead.iter().db()?.take(limit) {
            let (id, record) = item.db()?;
            let id = id.value();
            let (meta, bytes) = tables::split_dead_record(record.value())?;
            let envelope = Envelope::decode(bytes).unwrap_or_else(|_| placeholder(id, bytes, meta.failed_at_ms));
            out.push(DeadLetter {
                id: id.to_string(),
                kind: meta.kind,
                reason: meta.reason,
                failed_at_ms: meta.failed_at_ms,
                envelope,
            });
        }
        Ok(out)
    }

    pub(super) fn replay_one(&self, id: u64) -> Result<u64, StoreError> {
        let txn = self.write()?;
        let record = txn.open_table(DEAD).db()?.remove(id).db()?.map(|r| r.value().to_vec());
        let Some(record) = record else {
            return Ok(0);
        };
        let now = now_ms();
        let seq = requeue(&txn, &record, now)?;
        txn.commit().db()?;
        self.index().add(seq, now, now);
        self.notify.notify_waiters();
        Ok(1)
    }

    /// Replays every dead letter up to the newest one at the start, so entries that fail again
    /// while the replay runs are not replayed round and round.
    pub(super) fn replay_all(&self) -> Result<u64, StoreError> {
        let newest = {
            let txn = self.db.begin_read().db()?;
            let dead = txn.open_table(DEAD).db()?;
            dead.last().db()?.map(|(id, _)| id.value())
        };
        let Some(newest) = newest else {
            return Ok(0);
        };
        let mut replayed = 0;
        loop {
            let txn = self.write()?;
            let records = {
                let mut dead = txn.open_table(DEAD).db()?;
                dead.extract_from_if(..=newest, |_, _| true)
                    .db()?
                    .take(REPLAY_BATCH)
                    .map(|item| item.db().map(|(_, record)| record.value().to_vec()))
                    .collect::<Result<Vec<_>, _>>()?
            };
            if records.is_empty() {
                return Ok(replayed);
            }
            let now = now_ms();
            let seqs = records.iter().map(|record| requeue(&txn, record, now)).collect::<Result<Vec<_>, _>>()?;
            txn.commit().db()?;
            {
                let mut index = self.index();
                for &seq in &seqs {
                    index.add(seq, now, now);
                }
            }
            self.notify.notify_waiters();
            replayed += seqs.len() as u64;
            if records.len() < REPLAY_BATCH {
                return Ok(replayed);
            }
        }
    }
}

/// Appends a dead letter's envelope to the queue with a fresh attempt count.
fn requeue(txn: &WriteTransaction, record: &[u8], now: u64) -> Result<u64, StoreError> {
    let (_, bytes) = tables::split_dead_record(record)?;
    let payload = match Envelope::decode(bytes) {
        Ok(mut envelope) => {
            envelope.meta.attempts = 0;
            envelope.encode()
        }
        // Queued as it was: reading it dead-letters it again, with the reason.
        Err(_) => bytes.to_vec(),
    };
    let seq = tables::next_id(txn, QUEUE_SEQ)?;
    txn.open_table(QUEUE).db()?.insert(seq, tables::queue_row(now, &payload).as_slice()).db()?;
    Ok(seq)
}

/// Stands in for a dead letter whose envelope does not decode, keeping its raw bytes as the
/// body so nothing is lost and an operator can inspect it.
fn placeholder(id: u64, bytes: &[u8], failed_at_ms: u64) -> Envelope {
    Envelope {
        meta: EnvelopeMeta {
            topic: "unknown".into(),
            shop: String::new(),
            webhook_id: format!("undecodable:{id}"),
            event_id: None,
            api_version: None,
            triggered_at: None,
            received_at_ms: failed_at_ms,
            attempts: 0,
        },
        body: bytes.to_vec().into(),
    }
}
