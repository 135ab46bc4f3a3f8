//! The index of shops with work due, in the file: each shop's score (when its work is due, in
//! ms) and the same pairs ordered by score, so the shops due by a time are one range read. A
//! ledger commit that makes work touches the index in its own write transaction, so no crash
//! or race can separate the two.
//!
//! A file written before the index has no index tables: they are created at open, in the same
//! transaction that makes every shop due, so its shops and their marks are served.

use redb::{ReadableDatabase, ReadableTable, TableDefinition, TableHandle, WriteTransaction};

use super::{Db, Inner};
use crate::store::{Lane, StoreError};

/// Shop → its score.
pub(super) const DUE: TableDefinition<&str, u64> = TableDefinition::new("due");

/// (score, shop) for every row of [`DUE`].
pub(super) const DUE_BY_TIME: TableDefinition<(u64, &str), ()> = TableDefinition::new("due_by_time");

pub(super) fn init(txn: &WriteTransaction, now_ms: u64) -> Result<(), StoreError> {
    let new = !txn.list_tables().db()?.any(|t| t.name() == DUE.name());
    txn.open_table(DUE).db()?;
    txn.open_table(DUE_BY_TIME).db()?;
    if new {
        let mut shops = Vec::new();
        for row in txn.open_table(super::effects::SHOPS).db()?.iter().db()? {
            shops.push(row.db()?.0.value().to_string());
        }
        for shop in &shops {
            touch(txn, shop, now_ms)?;
        }
    }
    Ok(())
}

/// Sets the shop's score (`None`: takes it out), keeping the ordered copy in step.
fn put(txn: &WriteTransaction, shop: &str, score: Option<u64>) -> Result<(), StoreError> {
    let mut due = txn.open_table(DUE).db()?;
    let mut by_time = txn.open_table(DUE_BY_TIME).db()?;
    let old = match score {
        Some(score) => due.insert(shop, score).db()?,
        None => due.remove(shop).db()?,
    }
    .map(|v| v.value());
    if let Some(old) = old {
        by_time.remove((old, shop)).db()?;
    }
    if let Some(score) = score {
        by_time.insert((score, shop), ()).db()?;
    }
    Ok(())
}

fn score(txn: &WriteTransaction, shop: &str) -> Result<Option<u64>, StoreError> {
    Ok(txn.open_table(DUE).db()?.get(shop).db()?.map(|v| v.value()))
}

/// Makes the shop due at `at_ms` at the latest; one due by then already moves 1 ms earlier, so
/// the score always changes (the same rule as `due_set.lua`).
pub(super) fn touch(txn: &WriteTransaction, shop: &str, at_ms: u64) -> Result<(), StoreError> {
    let next = match score(txn, shop)? {
        Some(current) => at_ms.min(current.saturating_sub(1)),
        None => at_ms,
    };
    put(txn, shop, Some(next))
}

impl Inner {
    /// The shops of `lanes` due by `now_ms`. One table for all lanes: the lanes only tell
    /// instances apart, and the embedded store has one.
    pub(super) fn due_shops(
        &self,
        lanes: &[Lane],
        now_ms: u64,
        limit: usize,
    ) -> Result<Vec<(String, u64)>, StoreError> {
        let txn = self.db.begin_read().db()?;
        let by_time = txn.open_table(DUE_BY_TIME).db()?;
        let mut out = Vec::new();
        // Every key below (now + 1, "") is due at `now_ms` or before.
        for row in by_time.range(..(now_ms.saturating_add(1), "")).db()? {
            if out.len() >= limit {
                break;
            }
            let (key, _) = row.db()?;
            let (score, shop) = key.value();
            if lanes.contains(&crate::store::shard::lane_of(shop, self.shards)) {
                out.push((shop.to_string(), score));
            }
        }
        Ok(out)
    }

    pub(super) fn reschedule_due(&self, shop: &str, seen_ms: u64, next_ms: Option<u64>) -> Result<bool, StoreError> {
        let txn = self.write()?;
        if score(&txn, shop)? != Some(seen_ms) {
            return Ok(false);
        }
        put(&txn, shop, next_ms)?;
        txn.commit().db()?;
        Ok(true)
    }
}

/// Takes the shop out of the index (`shop/redact`), inside the caller's transaction.
pub(super) fn forget(txn: &WriteTransaction, shop: &str) -> Result<u64, StoreError> {
    let gone = score(txn, shop)?.is_some();
    put(txn, shop, None)?;
    Ok(u64::from(gone))
}
