//! Dead letters: burying a held entry or a failed effect, listing, and replaying (a webhook into
//! the queue, an effect as a mark in its shop's ledger).

use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata, WriteTransaction};

use super::index::Slot;
use super::tables::{self, DEAD, DEAD_SEQ, DeadEffect, DeadMeta, QUEUE, QUEUE_SEQ};
use super::{Db, Inner};
use crate::store::{
    Buried, DeadLetter, DeadLetterKind, Envelope, EnvelopeMeta, LedgerCommit, Mark, StoreError, now_ms,
};

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
            let meta = DeadMeta {
                kind: DeadLetterKind::Webhook,
                reason: reason.to_string(),
                failed_at_ms: now_ms(),
                effect: None,
            };
            txn.open_table(DEAD).db()?.insert(id, tables::dead_record(&meta, envelope).as_slice()).db()?;
            txn.commit().db()?;
            Ok(true)
        })
    }

    /// Adds the dead letter of an effect: its shop and mark, no envelope.
    pub(super) fn bury_effect(&self, shop: &str, mark: Mark, reason: &str) -> Result<(), StoreError> {
        let txn = self.write()?;
        let id = tables::next_id(&txn, DEAD_SEQ)?;
        let meta = DeadMeta {
            kind: DeadLetterKind::Effect,
            reason: reason.to_string(),
            failed_at_ms: now_ms(),
            effect: Some(DeadEffect { shop: shop.to_string(), mark: mark.encode() }),
        };
        txn.open_table(DEAD).db()?.insert(id, tables::dead_record(&meta, &[]).as_slice()).db()?;
        txn.commit().db()?;
        Ok(())
    }

    /// Removes the oldest dead letters beyond `keep`, and those buried before `before_ms`.
    pub(super) fn trim_dead(&self, keep: u64, before_ms: u64) -> Result<u64, StoreError> {
        // The usual answer is "nothing": found by a read, with no write transaction to commit.
        {
            let txn = self.db.begin_read().db()?;
            let dead = txn.open_table(DEAD).db()?;
            let oldest_is_old = match dead.first().db()? {
                Some((_, record)) => {
                    tables::split_dead_record(record.value()).is_ok_and(|(meta, _)| meta.failed_at_ms < before_ms)
                }
                None => false,
            };
            if dead.len().db()? <= keep && !oldest_is_old {
                return Ok(0);
            }
        }
        let txn = self.write()?;
        let mut removed = 0;
        {
            let mut dead = txn.open_table(DEAD).db()?;
            let mut excess = dead.len().db()?.saturating_sub(keep);
            let mut gone = Vec::new();
            for item in dead.iter().db()? {
                let (id, record) = item.db()?;
                let old = tables::split_dead_record(record.value())
                    .map(|(meta, _)| meta.failed_at_ms < before_ms)
                    .unwrap_or(false);
                if excess == 0 && !old {
                    // Ids follow burial order: past the excess, the first one young enough ends it.
                    break;
                }
                excess = excess.saturating_sub(1);
                gone.push(id.value());
            }
            for id in gone {
                dead.remove(id).db()?;
                removed += 1;
            }
        }
        txn.commit().db()?;
        Ok(removed)
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
            let (meta, buried) = read(id, record.value())?;
            out.push(DeadLetter { id: id.to_string(), reason: meta.reason, failed_at_ms: meta.failed_at_ms, buried });
        }
        Ok(out)
    }

    pub(super) fn replay_one(&self, id: u64) -> Result<u64, StoreError> {
        let record = {
            let txn = self.db.begin_read().db()?;
            txn.open_table(DEAD).db()?.get(id).db()?.map(|r| r.value().to_vec())
        };
        match record {
            Some(record) => self.replay(vec![(id, record)]),
            None => Ok(0),
        }
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
            let batch = {
                let txn = self.db.begin_read().db()?;
                let dead = txn.open_table(DEAD).db()?;
                dead.range(..=newest)
                    .db()?
                    .take(REPLAY_BATCH)
                    .map(|item| item.db().map(|(id, record)| (id.value(), record.value().to_vec())))
                    .collect::<Result<Vec<_>, _>>()?
            };
            let full = batch.len() == REPLAY_BATCH;
            // Every row of the batch leaves the table (or had left it), so the next read moves on.
            replayed += self.replay(batch)?;
            if !full {
                return Ok(replayed);
            }
        }
    }

    /// Replays dead letters read a moment ago. Effects are marked first, each by an ordinary
    /// commit of the mark alone, so whatever a commit does for a mark it does here too; then,
    /// in one transaction, the dead letters go and the webhooks among them join the queue. A
    /// dead letter gone meanwhile (replayed by another call) counts for nothing; the mark set
    /// for it again is harmless.
    fn replay(&self, batch: Vec<(u64, Vec<u8>)>) -> Result<u64, StoreError> {
        for (id, record) in &batch {
            if let (_, Buried::Effect { shop, mark }) = read(*id, record)? {
                let commit = LedgerCommit { event: None, marks: vec![mark], ..LedgerCommit::default() };
                self.ledger_commit(&shop, &commit)?;
            }
        }
        let now = now_ms();
        let txn = self.write()?;
        let mut replayed = 0;
        let mut seqs = Vec::new();
        {
            let mut dead = txn.open_table(DEAD).db()?;
            for (id, record) in &batch {
                if dead.remove(*id).db()?.is_none() {
                    continue;
                }
                replayed += 1;
                if let (_, Buried::Webhook(envelope)) = read(*id, record)? {
                    let lane = crate::store::shard::lane_of(&envelope.meta.shop, self.shards);
                    seqs.push((requeue(&txn, record, now)?, lane));
                }
            }
        }
        txn.commit().db()?;
        if !seqs.is_empty() {
            let mut index = self.index();
            for &(seq, lane) in &seqs {
                index.add(seq, lane, now, now);
            }
            drop(index);
            self.notify.notify_waiters();
        }
        Ok(replayed)
    }
}

/// A dead-letter record as what it stands for: an envelope that does not decode is kept as a
/// placeholder webhook, an effect in the old form is read as the effect.
pub(super) fn read(id: u64, record: &[u8]) -> Result<(DeadMeta, Buried), StoreError> {
    let (mut meta, bytes) = tables::split_dead_record(record)?;
    let buried = match meta.effect.take() {
        Some(DeadEffect { shop, mark }) => Buried::Effect { shop, mark: Mark::parse(&mark)? },
        None => {
            Buried::from_envelope(Envelope::decode(bytes).unwrap_or_else(|_| placeholder(id, bytes, meta.failed_at_ms)))
        }
    };
    Ok((meta, buried))
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
