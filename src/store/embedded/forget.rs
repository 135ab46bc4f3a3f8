//! `shop/redact` in the file: every row whose key starts with the shop (ledger, marks, counts,
//! dirty marks), the shop in the shops table and the due index, its dead letters and its
//! leases, in one write transaction. Also a dump of every table, so an audit (or a test) can see what the file holds
//! without reading freed pages.

use redb::{ReadableDatabase, ReadableTable, TableDefinition, TableHandle, WriteTransaction};

use super::due::{self, DUE, DUE_BY_TIME};
use super::effects::SHOPS;
use super::ledger::{LEDGER_DIRTY, LEDGER_LEVELS, LEDGER_LINES, LEDGER_RECORDS};
use super::tables::{COUNTS, DEAD, META, PROCESSED, PROCESSED_BY_EXPIRY, QUEUE, SEEN, SEEN_BY_EXPIRY};
use super::{Db, Inner};
use crate::store::StoreError;

/// Removes the rows of a `(shop, name)`-keyed table of numbers; returns them.
fn forget_named(
    txn: &WriteTransaction,
    def: TableDefinition<(&str, &str), u64>,
    shop: &str,
) -> Result<Vec<(String, u64)>, StoreError> {
    let mut table = txn.open_table(def).db()?;
    let mut rows = Vec::new();
    for row in table.range((shop, "")..).db()? {
        let (key, value) = row.db()?;
        let (owner, name) = key.value();
        if owner != shop {
            break;
        }
        rows.push((name.to_string(), value.value()));
    }
    for (name, _) in &rows {
        table.remove((shop, name.as_str())).db()?;
    }
    Ok(rows)
}

/// The shop's dead letters (only those whose body holds `needle`, when given).
fn forget_dead_letters(txn: &redb::WriteTransaction, shop: &str, needle: Option<&[u8]>) -> Result<u64, StoreError> {
    let mut dead = txn.open_table(DEAD).db()?;
    let mut theirs = Vec::new();
    for row in dead.iter().db()? {
        let (id, record) = row.db()?;
        // A record that does not read names no shop: it stays for an operator to look at.
        let buried = super::dead::read(id.value(), record.value()).ok().map(|(_, buried)| buried);
        if buried.is_some_and(|b| crate::store::dead::belongs(&b, shop, needle)) {
            theirs.push(id.value());
        }
    }
    for id in &theirs {
        dead.remove(*id).db()?;
    }
    Ok(theirs.len() as u64)
}

impl Inner {
    pub(super) fn purge_dead_letters(&self, shop: &str, needle: &[u8]) -> Result<u64, StoreError> {
        let txn = self.write()?;
        let removed = forget_dead_letters(&txn, shop, Some(needle))?;
        txn.commit().db()?;
        Ok(removed)
    }

    pub(super) fn forget_shop(&self, shop: &str) -> Result<u64, StoreError> {
        let txn = self.write()?;
        let mut removed = 0u64;
        {
            let mut records = txn.open_table(LEDGER_RECORDS).db()?;
            let mut names = Vec::new();
            for row in records.range((shop, "")..).db()? {
                let (key, _) = row.db()?;
                let (owner, name) = key.value();
                if owner != shop {
                    break;
                }
                names.push(name.to_string());
            }
            for name in &names {
                records.remove((shop, name.as_str())).db()?;
            }
            removed += names.len() as u64;
        }
        {
            let mut levels = txn.open_table(LEDGER_LEVELS).db()?;
            let mut keys = Vec::new();
            for row in levels.range((shop, 0, 0)..=(shop, u64::MAX, u64::MAX)).db()? {
                let (key, _) = row.db()?;
                let (_, item, location) = key.value();
                keys.push((item, location));
            }
            for (item, location) in &keys {
                levels.remove((shop, *item, *location)).db()?;
            }
            removed += keys.len() as u64;
        }
        {
            let mut lines = txn.open_table(LEDGER_LINES).db()?;
            let mut keys = Vec::new();
            let start: (&str, u64, &[u8]) = (shop, 0, &[]);
            for row in lines.range(start..).db()? {
                let (key, _) = row.db()?;
                let (owner, variant, fill) = key.value();
                if owner != shop {
                    break;
                }
                keys.push((variant, fill.to_vec()));
            }
            for (variant, fill) in &keys {
                lines.remove((shop, *variant, fill.as_slice())).db()?;
            }
            removed += keys.len() as u64;
        }
        removed += forget_named(&txn, LEDGER_DIRTY, shop)?.len() as u64;
        removed += forget_named(&txn, COUNTS, shop)?.len() as u64;
        let marks = forget_named(&txn, PROCESSED, shop)?;
        {
            let mut by_expiry = txn.open_table(PROCESSED_BY_EXPIRY).db()?;
            for (event, expiry) in &marks {
                by_expiry.remove((*expiry, shop, event.as_str())).db()?;
            }
        }
        removed += marks.len() as u64;
        removed += u64::from(txn.open_table(SHOPS).db()?.remove(shop).db()?.is_some());
        removed += due::forget(&txn, shop)?;
        removed += forget_dead_letters(&txn, shop, None)?;
        txn.commit().db()?;
        self.leases.lock().unwrap_or_else(std::sync::PoisonError::into_inner).retain(|(owner, _), _| owner != shop);
        Ok(removed)
    }

    /// One line per row of every table: `table<TAB>key<TAB>value`, byte values as lossy text.
    /// Fails if the file holds a table this build does not know, so a dump is never partial.
    pub(super) fn dump(&self) -> Result<Vec<String>, StoreError> {
        let txn = self.db.begin_read().db()?;
        let mut out = Vec::new();
        macro_rules! rows {
            ($def:expr, $show:expr) => {{
                let table = txn.open_table($def).db()?;
                for row in table.iter().db()? {
                    let (k, v) = row.db()?;
                    out.push(format!("{}\t{:?}\t{}", $def.name(), k.value(), $show(v.value())));
                }
            }};
        }
        let bytes = |v: &[u8]| String::from_utf8_lossy(v).into_owned();
        let debug = |v: &dyn std::fmt::Debug| format!("{v:?}");
        rows!(QUEUE, bytes);
        rows!(DEAD, bytes);
        rows!(SEEN, |v: u64| debug(&v));
        rows!(SEEN_BY_EXPIRY, |v: ()| debug(&v));
        rows!(PROCESSED, |v: u64| debug(&v));
        rows!(PROCESSED_BY_EXPIRY, |v: ()| debug(&v));
        rows!(COUNTS, |v: u64| debug(&v));
        rows!(META, |v: u64| debug(&v));
        rows!(LEDGER_RECORDS, bytes);
        rows!(LEDGER_LEVELS, |v: ()| debug(&v));
        rows!(LEDGER_LINES, |v: u32| debug(&v));
        rows!(LEDGER_DIRTY, |v: u64| debug(&v));
        rows!(SHOPS, |v: ()| debug(&v));
        rows!(DUE, |v: u64| debug(&v));
        rows!(DUE_BY_TIME, |v: ()| debug(&v));
        rows!(super::gone::GONE, |v: u64| debug(&v));
        let known = [
            QUEUE.name(),
            DEAD.name(),
            SEEN.name(),
            SEEN_BY_EXPIRY.name(),
            PROCESSED.name(),
            PROCESSED_BY_EXPIRY.name(),
            COUNTS.name(),
            META.name(),
            LEDGER_RECORDS.name(),
            LEDGER_LEVELS.name(),
            LEDGER_LINES.name(),
            LEDGER_DIRTY.name(),
            SHOPS.name(),
            DUE.name(),
            DUE_BY_TIME.name(),
            super::gone::GONE.name(),
        ];
        for table in txn.list_tables().db()? {
            if !known.contains(&table.name()) {
                return Err(StoreError::Corrupt(format!("dump: unknown table {}", table.name())));
            }
        }
        Ok(out)
    }
}
