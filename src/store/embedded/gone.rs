//! Tombstones of redacted shops (`shop/redact`, audit M6): shop → until when (ms) no write of the
//! shop lands. A webhook still queued or retrying, or an effect in flight, finds its commit
//! refused and brings nothing of the shop back. Expired rows go at the next tombstone written
//! or the next maintenance that finds one expired.

use redb::{ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};

use super::{Db, Inner};
use crate::store::{StoreError, now_ms};

pub(super) const GONE: TableDefinition<&str, u64> = TableDefinition::new("gone");

/// Whether `shop` is kept out now, inside a write transaction.
pub(super) fn kept_out_in(txn: &WriteTransaction, shop: &str, now: u64) -> Result<bool, StoreError> {
    Ok(txn.open_table(GONE).db()?.get(shop).db()?.is_some_and(|until| until.value() > now))
}

/// Lifts the shop's tombstone (a new install).
pub(super) fn lift(txn: &WriteTransaction, shop: &str) -> Result<(), StoreError> {
    txn.open_table(GONE).db()?.remove(shop).db()?;
    Ok(())
}

/// Drops the tombstones whose time is over.
pub(super) fn purge(txn: &WriteTransaction, now: u64) -> Result<(), StoreError> {
    let mut gone = txn.open_table(GONE).db()?;
    let expired: Vec<String> = gone
        .iter()
        .db()?
        .filter_map(Result::ok)
        .filter(|(_, until)| until.value() <= now)
        .map(|(shop, _)| shop.value().to_string())
        .collect();
    for shop in expired {
        gone.remove(shop.as_str()).db()?;
    }
    Ok(())
}

impl Inner {
    pub(super) fn keep_out(&self, shop: &str, ttl_ms: u64) -> Result<(), StoreError> {
        let now = now_ms();
        let txn = self.write()?;
        purge(&txn, now)?;
        txn.open_table(GONE).db()?.insert(shop, now.saturating_add(ttl_ms)).db()?;
        txn.commit().db()?;
        Ok(())
    }

    pub(super) fn kept_out(&self, shop: &str) -> Result<bool, StoreError> {
        let txn = self.db.begin_read().db()?;
        let now = now_ms();
        Ok(txn.open_table(GONE).db()?.get(shop).db()?.is_some_and(|until| until.value() > now))
    }

    /// Whether a tombstone's time is over (maintenance then purges it).
    pub(super) fn any_gone_expired(&self, now: u64) -> Result<bool, StoreError> {
        let txn = self.db.begin_read().db()?;
        let table = txn.open_table(GONE).db()?;
        for row in table.iter().db()? {
            if row.db()?.1.value() <= now {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
