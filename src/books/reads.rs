//! Reads that remember what they saw, and changes checked against them: the one shape of every
//! write to the books. A change names the records its decision read; if any of them moved
//! since, nothing is written and the caller decides again from fresh reads.

use std::collections::BTreeMap;

use super::{BookError, Key};
use crate::ledger::records::{decode, encode};
use crate::store::{BookStore, EventMark, LedgerCommit, Mark, Record};

/// Records of one shop as read, by name, with their bytes (`None`: absent).
pub struct Reads<'a> {
    store: &'a dyn BookStore,
    shop: &'a str,
    seen: BTreeMap<Record, Option<Vec<u8>>>,
}

impl<'a> Reads<'a> {
    pub(crate) fn new(store: &'a dyn BookStore, shop: &'a str) -> Self {
        Self { store, shop, seen: BTreeMap::new() }
    }

    /// Reads the records not read yet, in one round trip.
    pub async fn load(&mut self, records: &[Record]) -> Result<(), BookError> {
        let missing: Vec<Record> = records.iter().filter(|r| !self.seen.contains_key(r)).copied().collect();
        if missing.is_empty() {
            return Ok(());
        }
        let values = self.store.ledger_get(self.shop, &missing).await?;
        self.seen.extend(missing.into_iter().zip(values));
        Ok(())
    }

    /// The value read for `key` (`None`: absent, or not loaded).
    pub fn get<K: Key>(&self, key: K) -> Result<Option<K::Value>, BookError> {
        Ok(decode(self.seen.get(&key.record()).and_then(|v| v.as_deref()))?)
    }

    /// The record of `key` as read, for a change made later from another read.
    pub fn stamp<K: Key>(&self, key: K) -> Stamp {
        Stamp(self.seen.get(&key.record()).cloned().flatten())
    }

    /// A change that holds only if every record read here is still as it was.
    pub fn change(&self) -> Change {
        let expect = self.seen.iter().map(|(r, v)| (*r, v.clone())).collect();
        Change { commit: LedgerCommit { expect, ..LedgerCommit::default() } }
    }

    /// The ledger engine's commit for `event`, checked against these reads.
    pub(crate) fn commit(self, event: Option<EventMark>) -> LedgerCommit {
        LedgerCommit { event, expect: self.seen.into_iter().collect(), ..LedgerCommit::default() }
    }
}

/// A record exactly as it was read (bytes, not a decoded value: re-encoding a value read from
/// an older layout would not match what is stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp(Option<Vec<u8>>);

impl Stamp {
    /// The stamp of a record that is not there.
    pub fn absent() -> Self {
        Stamp(None)
    }
}

/// Writes and marks committed together, or not at all. Built from [`Reads::change`] (checked)
/// or [`Change::unchecked`] (a write whose decision read nothing).
#[derive(Debug, Default)]
pub struct Change {
    pub(crate) commit: LedgerCommit,
}

impl Change {
    /// A change that depends on nothing read before: it always applies.
    pub fn unchecked() -> Self {
        Self::default()
    }

    /// Holds only if `key` is still stored as `stamp` says.
    pub fn expect<K: Key>(mut self, key: K, stamp: Stamp) -> Self {
        self.commit.expect.push((key.record(), stamp.0));
        self
    }

    pub fn put<K: Key>(mut self, key: K, value: &K::Value) -> Self {
        self.commit.writes.push((key.record(), Some(encode(value))));
        self
    }

    pub fn remove<K: Key>(mut self, key: K) -> Self {
        self.commit.writes.push((key.record(), None));
        self
    }

    /// Sets a line of a variant's book outright (`old`: the quantity stored before, 0 when
    /// absent). Only for loading books in bulk (benchmarks, imports) and clearing the book of an
    /// unmanaged variant, which has no header to keep in step; events go through the ledger
    /// engine, which keeps the book's header in step with its lines.
    pub fn line(mut self, variant: u64, key: crate::ledger::FillKey, old: u32, qty: u32) -> Self {
        self.commit.lines.push(crate::store::LineWrite { variant, key, old, qty });
        self
    }

    /// Leaves work for the effects: platform state to reconcile, an outbox to deliver.
    pub fn mark(mut self, mark: Mark) -> Self {
        self.commit.marks.push(mark);
        self
    }

    /// A new install: the one change that lands for a shop redacted within the dedupe window,
    /// and lifts its tombstone.
    pub fn revive(mut self) -> Self {
        self.commit.revive = true;
        self
    }

    pub fn is_empty(&self) -> bool {
        self.commit.writes.is_empty() && self.commit.marks.is_empty()
    }
}
