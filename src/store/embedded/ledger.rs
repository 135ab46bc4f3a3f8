//! The ledger's records and lines in the file. Every key starts with the shop, so one shop is
//! one range and shops never see each other's rows.

use std::ops::Bound;

use redb::{ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};

use super::tables::{self, COUNTS, PROCESSED};
use super::{Db, Inner, now_ms};
use crate::ledger::FillKey;
use crate::store::{CommitOutcome, Dirty, LedgerCommit, LineRead, Record, StoreError};

/// (shop, record name) → the record's bytes.
pub(super) const LEDGER_RECORDS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("ledger_records");

/// (shop, inventory item, location) for every stored level record, so an item's levels are one
/// range read.
pub(super) const LEDGER_LEVELS: TableDefinition<(&str, u64, u64), ()> = TableDefinition::new("ledger_levels");

/// (shop, variant, encoded fill key) → open quantity. The key encoding sorts like the fill order.
pub(super) const LEDGER_LINES: TableDefinition<(&str, u64, &[u8]), u32> = TableDefinition::new("ledger_lines");

/// (shop, `o:<order>` | `v:<variant>`) → time (ms) of the last change of its derived state:
/// effects to reconcile once it has settled.
pub(super) const LEDGER_DIRTY: TableDefinition<(&str, &str), u64> = TableDefinition::new("effects_pending");

/// Above every 28-byte key: the inclusive end of a variant's lines.
const LAST_KEY: [u8; FillKey::ENCODED_LEN] = [0xff; FillKey::ENCODED_LEN];

pub(super) fn init(txn: &WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(LEDGER_RECORDS).db()?;
    txn.open_table(LEDGER_LEVELS).db()?;
    txn.open_table(LEDGER_LINES).db()?;
    txn.open_table(LEDGER_DIRTY).db()?;
    Ok(())
}

fn decode_key(bytes: &[u8]) -> Result<FillKey, StoreError> {
    FillKey::decode(bytes).ok_or_else(|| StoreError::Corrupt("ledger line key of the wrong length".into()))
}

impl Inner {
    pub(super) fn ledger_get(&self, shop: &str, records: &[Record]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let txn = self.db.begin_read().db()?;
        let table = txn.open_table(LEDGER_RECORDS).db()?;
        records.iter().map(|r| Ok(table.get((shop, r.name().as_str())).db()?.map(|v| v.value().to_vec()))).collect()
    }

    pub(super) fn ledger_levels(&self, shop: &str, item: u64) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let txn = self.db.begin_read().db()?;
        let index = txn.open_table(LEDGER_LEVELS).db()?;
        let records = txn.open_table(LEDGER_RECORDS).db()?;
        let mut out = Vec::new();
        for row in index.range((shop, item, 0)..=(shop, item, u64::MAX)).db()? {
            let (key, _) = row.db()?;
            let location = key.value().2;
            let name = Record::Level { item, location }.name();
            if let Some(value) = records.get((shop, name.as_str())).db()? {
                out.push((location, value.value().to_vec()));
            }
        }
        Ok(out)
    }

    pub(super) fn ledger_scan(
        &self,
        shop: &str,
        variant: u64,
        from: Bound<FillKey>,
        count: usize,
    ) -> Result<Vec<(FillKey, u32)>, StoreError> {
        let txn = self.db.begin_read().db()?;
        let table = txn.open_table(LEDGER_LINES).db()?;
        let from_bytes = match from {
            Bound::Included(k) | Bound::Excluded(k) => k.encode().to_vec(),
            Bound::Unbounded => Vec::new(),
        };
        let start: (&str, u64, &[u8]) = (shop, variant, &from_bytes);
        let last: (&str, u64, &[u8]) = (shop, variant, &LAST_KEY);
        let mut out = Vec::new();
        for row in table.range(start..=last).db()? {
            let (key, qty) = row.db()?;
            let key = decode_key(key.value().2)?;
            if matches!(from, Bound::Excluded(k) if k == key) {
                continue;
            }
            if out.len() == count {
                break;
            }
            out.push((key, qty.value()));
        }
        Ok(out)
    }

    pub(super) fn ledger_lines(
        &self,
        shop: &str,
        variant: u64,
        around: Option<FillKey>,
        reach: usize,
    ) -> Result<LineRead, StoreError> {
        let txn = self.db.begin_read().db()?;
        let table = txn.open_table(LEDGER_LINES).db()?;
        let first: (&str, u64, &[u8]) = (shop, variant, &[]);
        let around_bytes = around.map(|k| k.encode());
        let split: (&str, u64, &[u8]) = match &around_bytes {
            Some(bytes) => (shop, variant, bytes.as_slice()),
            None => (shop, variant, &LAST_KEY),
        };
        let mut before = Vec::new();
        let backwards =
            if around.is_some() { table.range(first..split).db()? } else { table.range(first..=split).db()? };
        for row in backwards.rev().take(reach) {
            let (key, qty) = row.db()?;
            before.push((decode_key(key.value().2)?, qty.value()));
        }
        let mut after = Vec::new();
        if around.is_some() {
            let last: (&str, u64, &[u8]) = (shop, variant, &LAST_KEY);
            for row in table.range(split..=last).db()?.take(reach) {
                let (key, qty) = row.db()?;
                after.push((decode_key(key.value().2)?, qty.value()));
            }
        }
        Ok(LineRead::assemble(before, after, around.is_some(), reach))
    }

    pub(super) fn ledger_commit(&self, shop: &str, commit: &LedgerCommit) -> Result<CommitOutcome, StoreError> {
        let now = now_ms();
        let txn = self.write()?;
        if let Some(event) = &commit.event {
            let done =
                txn.open_table(PROCESSED).db()?.get((shop, event.key.as_str())).db()?.is_some_and(|e| e.value() > now);
            if done {
                return Ok(CommitOutcome::AlreadyProcessed);
            }
        }
        if super::gone::kept_out_in(&txn, shop, now)? {
            if !commit.revive {
                return Ok(CommitOutcome::Gone);
            }
            super::gone::lift(&txn, shop)?;
        }
        {
            let mut records = txn.open_table(LEDGER_RECORDS).db()?;
            for (record, expected) in &commit.expect {
                let current = records.get((shop, record.name().as_str())).db()?.map(|v| v.value().to_vec());
                if current != *expected {
                    // Dropping the transaction without committing writes nothing.
                    return Ok(CommitOutcome::Conflict);
                }
            }
            let mut levels = txn.open_table(LEDGER_LEVELS).db()?;
            for (record, value) in &commit.writes {
                let name = record.name();
                match value {
                    Some(bytes) => {
                        records.insert((shop, name.as_str()), bytes.as_slice()).db()?;
                    }
                    None => {
                        records.remove((shop, name.as_str())).db()?;
                    }
                }
                if let Record::Level { item, location } = record {
                    if value.is_some() {
                        levels.insert((shop, *item, *location), ()).db()?;
                    } else {
                        levels.remove((shop, *item, *location)).db()?;
                    }
                }
            }
            let mut lines = txn.open_table(LEDGER_LINES).db()?;
            for line in &commit.lines {
                let key = line.key.encode();
                if line.qty == 0 {
                    lines.remove((shop, line.variant, key.as_slice())).db()?;
                } else {
                    lines.insert((shop, line.variant, key.as_slice()), line.qty).db()?;
                }
            }
            let mut dirty = txn.open_table(LEDGER_DIRTY).db()?;
            for mark in commit.dirty_marks() {
                dirty.insert((shop, mark.as_str()), now).db()?;
            }
            if let Some(event) = &commit.event {
                let ttl = u64::try_from(event.ttl.as_millis()).unwrap_or(u64::MAX);
                tables::mark_processed(&txn, shop, &event.key, now.saturating_add(ttl))?;
                let mut counts = txn.open_table(COUNTS).db()?;
                let count = counts.get((shop, event.topic.as_str())).db()?.map_or(0, |c| c.value());
                counts.insert((shop, event.topic.as_str()), count.saturating_add(1)).db()?;
            }
        }
        // A shop with a ledger (or an install, which is a ledger record) is swept from now on.
        super::effects::remember_shop(&txn, shop)?;
        // In the same transaction as the marks: no crash or race separates them.
        if commit.makes_due() {
            super::due::touch(&txn, shop, now)?;
        }
        txn.commit().db()?;
        Ok(CommitOutcome::Applied)
    }

    pub(super) fn ledger_dirty(&self, shop: &str) -> Result<Dirty, StoreError> {
        let txn = self.db.begin_read().db()?;
        let table = txn.open_table(LEDGER_DIRTY).db()?;
        let mut marks = Vec::new();
        for row in table.range((shop, "")..).db()? {
            let (key, _) = row.db()?;
            let (owner, mark) = key.value();
            if owner != shop {
                break;
            }
            marks.push(mark.to_string());
        }
        Dirty::from_marks(marks.iter().map(String::as_str))
    }
}
