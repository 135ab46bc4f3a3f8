//! What the effects need from the file: settled dirty marks, their checked removal, the shops
//! to sweep, and leases. One process owns the file, so a lease lives in memory.

use std::time::{Duration, Instant};

use redb::{ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};

use super::{Db, Inner};
use crate::store::{Mark, Settled, StoreError};

/// Every shop that is installed or has a ledger, until `shop/redact` (see `Store::shops`).
pub(super) const SHOPS: TableDefinition<&str, ()> = TableDefinition::new("shops");

pub(super) fn init(txn: &WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(SHOPS).db()?;
    Ok(())
}

pub(super) fn remember_shop(txn: &WriteTransaction, shop: &str) -> Result<(), StoreError> {
    let mut shops = txn.open_table(SHOPS).db()?;
    if shops.get(shop).db()?.is_none() {
        shops.insert(shop, ()).db()?;
    }
    Ok(())
}

impl Inner {
    pub(super) fn dirty_settled(
        &self,
        shop: &str,
        settled_at_ms: u64,
        limit: usize,
    ) -> Result<Vec<Settled>, StoreError> {
        let txn = self.db.begin_read().db()?;
        let table = txn.open_table(super::ledger::LEDGER_DIRTY).db()?;
        let mut marks = Vec::new();
        for row in table.range((shop, "")..).db()? {
            let (key, at) = row.db()?;
            let (owner, mark) = key.value();
            if owner != shop {
                break;
            }
            if at.value() <= settled_at_ms {
                marks.push((at.value(), mark.to_string()));
            }
        }
        marks.sort();
        marks.truncate(limit);
        marks.into_iter().map(|(at, mark)| Ok(Settled { mark: Mark::parse(&mark)?, changed_at_ms: at })).collect()
    }

    pub(super) fn clear_dirty(&self, shop: &str, marks: &[Settled]) -> Result<(), StoreError> {
        let txn = self.write()?;
        {
            let mut table = txn.open_table(super::ledger::LEDGER_DIRTY).db()?;
            for settled in marks {
                let mark = settled.mark.encode();
                let current = table.get((shop, mark.as_str())).db()?.map(|v| v.value());
                if current == Some(settled.changed_at_ms) {
                    table.remove((shop, mark.as_str())).db()?;
                }
            }
        }
        txn.commit().db()?;
        Ok(())
    }

    pub(super) fn shops(&self) -> Result<Vec<String>, StoreError> {
        let txn = self.db.begin_read().db()?;
        let table = txn.open_table(SHOPS).db()?;
        let mut shops = Vec::new();
        for row in table.iter().db()? {
            shops.push(row.db()?.0.value().to_string());
        }
        Ok(shops)
    }

    pub(super) fn try_lease(&self, shop: &str, name: &str, holder: &str, ttl: Duration) -> bool {
        let mut leases = self.leases.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        let key = (shop.to_string(), name.to_string());
        match leases.get(&key) {
            Some((other, until)) if other != holder && *until > now => false,
            _ => {
                leases.insert(key, (holder.to_string(), now + ttl));
                true
            }
        }
    }

    pub(super) fn release_lease(&self, shop: &str, name: &str, holder: &str) {
        let mut leases = self.leases.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = (shop.to_string(), name.to_string());
        if leases.get(&key).is_some_and(|(h, _)| h == holder) {
            leases.remove(&key);
        }
    }
}
