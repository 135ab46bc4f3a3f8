//! Attribution of one variant's backlog to its open lines (SPEC 4), kept up to date in time that
//! depends on the size of a change, never on the depth of the queue.
//!
//! The backordered units are the last `B` units in fill order, so the queue splits at one unit:
//! the first backordered one. [`Header`] remembers the line holding that unit (the *boundary*) and
//! how many units lie in lines before it. A line before the boundary is covered, a line after it is
//! fully backordered, and the boundary line is split. An event moves the boundary only by as many
//! lines as it moves units, so [`apply`] walks just those lines.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::FillKey;

/// What a variant's book stores besides its lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Open units over all lines.
    pub units: u64,
    /// Sum of `available` over the counted locations.
    pub stock: i64,
    /// The line holding the first backordered unit; `None` when no unit is backordered.
    pub boundary: Option<FillKey>,
    /// Open units in lines before the boundary (all units when there is no boundary).
    pub before: u64,
}

impl Header {
    /// `B = max(0, -stock)`.
    pub fn backlog(&self) -> u64 {
        if self.stock < 0 { self.stock.unsigned_abs() } else { 0 }
    }

    /// Units that stock covers: the first `units - B` in fill order.
    pub fn covered(&self) -> u64 {
        self.units.saturating_sub(self.backlog())
    }

    /// Backordered units in all lines.
    pub fn backordered(&self) -> u64 {
        self.units - self.covered()
    }

    /// Backlog no known line accounts for: orders the ledger has not seen (drift).
    pub fn unattributed(&self) -> u64 {
        self.backlog().saturating_sub(self.units)
    }

    /// Backordered units of the line at `key` holding `qty` open units.
    pub fn backordered_of(&self, key: &FillKey, qty: u32) -> u32 {
        match &self.boundary {
            None => 0,
            Some(b) if key < b => 0,
            Some(b) if key == b => (self.before + u64::from(qty) - self.covered()) as u32,
            Some(_) => qty,
        }
    }
}

/// Ordered access to a variant's lines *after* the change being applied.
pub trait Lines {
    /// The first line after `key` (the first line of all when `None`).
    fn next_after(&self, key: Option<&FillKey>) -> Option<(FillKey, u32)>;
    /// The last line before `key` (the last line of all when `None`).
    fn prev_before(&self, key: Option<&FillKey>) -> Option<(FillKey, u32)>;
    fn qty(&self, key: &FillKey) -> Option<u32>;
}

impl Lines for BTreeMap<FillKey, u32> {
    fn next_after(&self, key: Option<&FillKey>) -> Option<(FillKey, u32)> {
        use std::ops::Bound::{Excluded, Unbounded};
        let lower = key.map_or(Unbounded, Excluded);
        self.range((lower, Unbounded)).next().map(|(k, q)| (*k, *q))
    }

    fn prev_before(&self, key: Option<&FillKey>) -> Option<(FillKey, u32)> {
        use std::ops::Bound::{Excluded, Unbounded};
        let upper = key.map_or(Unbounded, Excluded);
        self.range((Unbounded, upper)).next_back().map(|(k, q)| (*k, *q))
    }

    fn qty(&self, key: &FillKey) -> Option<u32> {
        self.get(key).copied()
    }
}

/// A line's open quantity before and after an event (0 = absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineChange {
    pub key: FillKey,
    pub old: u32,
    pub new: u32,
}

/// A line whose backordered quantity changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Moved {
    pub key: FillKey,
    pub old_backordered: u32,
    pub new_backordered: u32,
}

/// The header after `changes` and the new `stock`, and every line whose backordered quantity
/// changed. `lines` must already reflect the changes. `None` when `lines` lacks a line the header
/// says exists: a partial view that is too narrow, or corrupt data.
pub fn apply(old: &Header, changes: &[LineChange], stock: i64, lines: &impl Lines) -> Option<(Header, Vec<Moved>)> {
    let mut new = Header { stock, ..*old };
    let mut candidates: Vec<FillKey> = Vec::new();
    // Lines are counted in `before` relative to the old boundary; a removed boundary line is
    // replaced afterwards by its successor, which has nothing between them to count.
    for c in changes {
        new.units = (new.units + u64::from(c.new)) - u64::from(c.old);
        if old.boundary.is_none_or(|b| c.key < b) {
            new.before = (new.before + u64::from(c.new)) - u64::from(c.old);
        }
        candidates.push(c.key);
    }
    if let Some(b) = old.boundary {
        candidates.push(b);
        if lines.qty(&b).is_none() {
            new.boundary = lines.next_after(Some(&b)).map(|(k, _)| k);
        }
    }

    let covered = new.covered();
    while new.before > covered {
        let (key, qty) = lines.prev_before(new.boundary.as_ref())?;
        new.boundary = Some(key);
        new.before = new.before.checked_sub(u64::from(qty))?;
        candidates.push(key);
    }
    while let Some(b) = new.boundary {
        let qty = u64::from(lines.qty(&b)?);
        if new.before + qty > covered {
            break;
        }
        candidates.push(b);
        new.before += qty;
        new.boundary = lines.next_after(Some(&b)).map(|(k, _)| k);
    }
    if let Some(b) = new.boundary {
        candidates.push(b);
    } else if new.before != new.units {
        return None;
    }

    candidates.sort();
    candidates.dedup();
    // A changed line's quantities come from the change itself: it may lie far from the boundary,
    // outside a partial view of the lines.
    let quantities =
        |key: &FillKey| match (changes.iter().find(|c| c.key == *key), changes.iter().rfind(|c| c.key == *key)) {
            (Some(first), Some(last)) => (first.old, last.new),
            _ => {
                let q = lines.qty(key).unwrap_or(0);
                (q, q)
            }
        };
    let moved = candidates
        .into_iter()
        .filter_map(|key| {
            let (old_qty, new_qty) = quantities(&key);
            let before = old.backordered_of(&key, old_qty);
            let after = new.backordered_of(&key, new_qty);
            (before != after).then_some(Moved { key, old_backordered: before, new_backordered: after })
        })
        .collect();
    Some((new, moved))
}

/// The definition of SPEC 4 computed directly over every line: backordered quantity per line,
/// in fill order, and the unattributed rest. The book must always agree with it.
pub fn attribute(lines: &BTreeMap<FillKey, u32>, backlog: u64) -> (Vec<(FillKey, u32)>, u64) {
    let units: u64 = lines.values().map(|q| u64::from(*q)).sum();
    let covered = units.saturating_sub(backlog);
    let mut seen = 0u64;
    let out = lines
        .iter()
        .map(|(k, q)| {
            let start = seen;
            seen += u64::from(*q);
            let backordered = seen.saturating_sub(covered.max(start)).min(u64::from(*q));
            (*k, backordered as u32)
        })
        .collect();
    (out, backlog.saturating_sub(units))
}

#[cfg(test)]
mod tests;
