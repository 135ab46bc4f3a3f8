//! What the file holds: table definitions, how rows are encoded, and the small helpers every
//! write transaction shares (expiring marks, id sequences).

use redb::{ReadableTable, Table, TableDefinition, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::Db;
use crate::store::{DeadLetterKind, StoreError};

/// Queued webhooks by sequence number: 8-byte big-endian due time (ms), then the encoded
/// envelope. A fresh entry is due when it was queued, a retry when its delay is over; one table
/// for both keeps "park for later" a single row replacement.
pub(super) const QUEUE: TableDefinition<u64, &[u8]> = TableDefinition::new("queue");

/// Dead letters by id: one JSON line of [`DeadMeta`], then the envelope bytes as queued (a
/// webhook) or nothing (an effect, which its metadata names).
pub(super) const DEAD: TableDefinition<u64, &[u8]> = TableDefinition::new("dead");

/// Dedupe marks (`wh:<delivery id>`, `ev:<event id>`) → expiry (ms).
pub(super) const SEEN: TableDefinition<&str, u64> = TableDefinition::new("seen");

/// The same marks ordered by expiry, so dropping expired ones is a range delete.
pub(super) const SEEN_BY_EXPIRY: TableDefinition<(u64, &str), ()> = TableDefinition::new("seen_by_expiry");

/// Processed marks: (shop, event key) → expiry (ms).
pub(super) const PROCESSED: TableDefinition<(&str, &str), u64> = TableDefinition::new("processed");

/// Processed marks ordered by expiry: (expiry, shop, event key).
pub(super) const PROCESSED_BY_EXPIRY: TableDefinition<(u64, &str, &str), ()> =
    TableDefinition::new("processed_by_expiry");

/// Processed events: (shop, topic) → count. The shop first, so one shop is one range.
pub(super) const COUNTS: TableDefinition<(&str, &str), u64> = TableDefinition::new("counts");

/// Id sequences and the schema version.
pub(super) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

const SCHEMA_KEY: &str = "schema";
const SCHEMA_VERSION: u64 = 1;

/// Next queue sequence number. Ids are never reused, so a late ack or retry of an entry that
/// was already settled cannot touch a newer entry.
pub(super) const QUEUE_SEQ: &str = "next_queue_id";
pub(super) const DEAD_SEQ: &str = "next_dead_id";

/// Creates every table (read transactions cannot open a table that was never created) and
/// checks the schema version.
pub(super) fn init(txn: &WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(QUEUE).db()?;
    txn.open_table(DEAD).db()?;
    txn.open_table(SEEN).db()?;
    txn.open_table(SEEN_BY_EXPIRY).db()?;
    txn.open_table(PROCESSED).db()?;
    txn.open_table(PROCESSED_BY_EXPIRY).db()?;
    txn.open_table(COUNTS).db()?;
    txn.open_table(super::gone::GONE).db()?;
    let mut meta = txn.open_table(META).db()?;
    let version = meta.get(SCHEMA_KEY).db()?.map(|v| v.value());
    match version {
        None => {
            meta.insert(SCHEMA_KEY, SCHEMA_VERSION).db()?;
        }
        Some(SCHEMA_VERSION) => {}
        Some(other) => {
            return Err(StoreError::Corrupt(format!(
                "embedded store schema version {other}; this build reads version {SCHEMA_VERSION}"
            )));
        }
    }
    Ok(())
}

/// Takes the next id of a sequence.
pub(super) fn next_id(txn: &WriteTransaction, sequence: &str) -> Result<u64, StoreError> {
    let mut meta = txn.open_table(META).db()?;
    let id = meta.get(sequence).db()?.map_or(1, |v| v.value());
    meta.insert(sequence, id + 1).db()?;
    Ok(id)
}

pub(super) fn queue_row(due_ms: u64, envelope: &[u8]) -> Vec<u8> {
    let mut row = Vec::with_capacity(8 + envelope.len());
    row.extend_from_slice(&due_ms.to_be_bytes());
    row.extend_from_slice(envelope);
    row
}

/// Splits a queue row into due time and envelope bytes; `None` for a row too short to hold one.
pub(super) fn split_queue_row(row: &[u8]) -> Option<(u64, &[u8])> {
    let (due, envelope) = row.split_first_chunk::<8>()?;
    Some((u64::from_be_bytes(*due), envelope))
}

/// The metadata line of a dead letter.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct DeadMeta {
    pub kind: DeadLetterKind,
    pub reason: String,
    pub failed_at_ms: u64,
    /// An effect's shop and stored mark. Absent in webhooks, and in effects written before
    /// effects had a form of their own (their envelope names both, see `store::dead`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<DeadEffect>,
}

/// The effect a dead letter stands for.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct DeadEffect {
    pub shop: String,
    /// The stored form of a `Mark`.
    pub mark: String,
}

pub(super) fn dead_record(meta: &DeadMeta, envelope: &[u8]) -> Vec<u8> {
    let mut out = serde_json::to_vec(meta).expect("dead-letter metadata serializes");
    out.push(b'\n');
    out.extend_from_slice(envelope);
    out
}

/// Splits a dead-letter record; the envelope bytes may themselves be undecodable (an entry
/// that was buried because it did not decode).
pub(super) fn split_dead_record(record: &[u8]) -> Result<(DeadMeta, &[u8]), StoreError> {
    let corrupt = |detail: String| StoreError::Corrupt(format!("dead-letter record: {detail}"));
    let split = record.iter().position(|b| *b == b'\n').ok_or_else(|| corrupt("no metadata line".into()))?;
    let meta = serde_json::from_slice(&record[..split]).map_err(|e| corrupt(e.to_string()))?;
    Ok((meta, &record[split + 1..]))
}

/// Whether a dedupe mark is live at `now`.
pub(super) fn seen(marks: &Table<&str, u64>, key: &str, now: u64) -> Result<bool, StoreError> {
    Ok(marks.get(key).db()?.is_some_and(|expiry| expiry.value() > now))
}

/// Sets a dedupe mark, keeping the expiry index in step.
pub(super) fn mark_seen(txn: &WriteTransaction, key: &str, expiry: u64) -> Result<(), StoreError> {
    let mut marks = txn.open_table(SEEN).db()?;
    let mut by_expiry = txn.open_table(SEEN_BY_EXPIRY).db()?;
    let old = marks.insert(key, expiry).db()?.map(|v| v.value());
    if let Some(old) = old {
        by_expiry.remove((old, key)).db()?;
    }
    by_expiry.insert((expiry, key), ()).db()?;
    Ok(())
}

/// Sets a processed mark, keeping the expiry index in step.
pub(super) fn mark_processed(txn: &WriteTransaction, shop: &str, key: &str, expiry: u64) -> Result<(), StoreError> {
    let mut marks = txn.open_table(PROCESSED).db()?;
    let mut by_expiry = txn.open_table(PROCESSED_BY_EXPIRY).db()?;
    let old = marks.insert((shop, key), expiry).db()?.map(|v| v.value());
    if let Some(old) = old {
        by_expiry.remove((old, shop, key)).db()?;
    }
    by_expiry.insert((expiry, shop, key), ()).db()?;
    Ok(())
}

/// Drops up to `limit` dedupe marks expired at `now`; returns how many.
pub(super) fn purge_seen(txn: &WriteTransaction, now: u64, limit: usize) -> Result<usize, StoreError> {
    let mut by_expiry = txn.open_table(SEEN_BY_EXPIRY).db()?;
    let mut expired = Vec::new();
    // Every key below (now + 1, "") expired at or before `now`.
    for item in by_expiry.extract_from_if(..(now.saturating_add(1), ""), |_, _| true).db()?.take(limit) {
        let (key, _) = item.db()?;
        let (expiry, mark) = key.value();
        expired.push((expiry, mark.to_string()));
    }
    drop(by_expiry);
    let mut marks = txn.open_table(SEEN).db()?;
    for (expiry, mark) in &expired {
        // Only the mark this index row stood for; a renewed mark has a newer index row.
        let current = marks.get(mark.as_str()).db()?.map(|v| v.value());
        if current == Some(*expiry) {
            marks.remove(mark.as_str()).db()?;
        }
    }
    Ok(expired.len())
}

/// Drops up to `limit` processed marks expired at `now`; returns how many.
pub(super) fn purge_processed(txn: &WriteTransaction, now: u64, limit: usize) -> Result<usize, StoreError> {
    let mut by_expiry = txn.open_table(PROCESSED_BY_EXPIRY).db()?;
    let mut expired = Vec::new();
    for item in by_expiry.extract_from_if(..(now.saturating_add(1), "", ""), |_, _| true).db()?.take(limit) {
        let (key, _) = item.db()?;
        let (expiry, shop, event) = key.value();
        expired.push((expiry, shop.to_string(), event.to_string()));
    }
    drop(by_expiry);
    let mut marks = txn.open_table(PROCESSED).db()?;
    for (expiry, shop, event) in &expired {
        let key = (shop.as_str(), event.as_str());
        let current = marks.get(key).db()?.map(|v| v.value());
        if current == Some(*expiry) {
            marks.remove(key).db()?;
        }
    }
    Ok(expired.len())
}
