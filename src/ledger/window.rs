//! A part of a variant's lines, read around the boundary, standing in for all of them.
//!
//! A store that cannot walk its lines inside the atomic step (Redis: the rules run in Rust, the
//! write is one script) reads the lines around the boundary first, lets [`book::apply`] run on
//! that window, and reads a wider one when the walk ran off an edge. Because the boundary moves
//! one line per unit at most, the first window is almost always wide enough: the work stays
//! proportional to the change, not to the depth of the queue.
//!
//! [`book::apply`]: super::book::apply

use std::cell::Cell;
use std::collections::BTreeMap;
use std::ops::Bound::{self, Excluded, Included, Unbounded};

use super::book::{Header, LineChange, Lines};
use super::{FillKey, Moved, book};

/// Lines known to be complete between `low` and `high`; changes of the event already applied.
#[derive(Debug, Clone)]
pub struct Window {
    pub lines: BTreeMap<FillKey, u32>,
    /// Every line at or above this (exclusive with `Excluded`) is in `lines`.
    pub low: Bound<FillKey>,
    /// Every line up to this is in `lines`.
    pub high: Bound<FillKey>,
    missed: Cell<bool>,
}

impl Window {
    pub fn new(lines: BTreeMap<FillKey, u32>, low: Bound<FillKey>, high: Bound<FillKey>) -> Self {
        Self { lines, low, high, missed: Cell::new(false) }
    }

    fn covers(&self, key: &FillKey) -> bool {
        let above_low = match &self.low {
            Unbounded => true,
            Included(l) => key >= l,
            Excluded(l) => key > l,
        };
        let below_high = match &self.high {
            Unbounded => true,
            Included(h) => key <= h,
            Excluded(h) => key < h,
        };
        above_low && below_high
    }

    /// Whether `key` (`None`: beyond the far end, as `edge` says) lies where the window is
    /// complete.
    fn starts_inside(&self, key: Option<&FillKey>, edge: &Bound<FillKey>) -> bool {
        match key {
            Some(k) => self.covers(k),
            None => matches!(edge, Unbounded),
        }
    }

    /// The answer of the full line set, or a miss when it could depend on lines outside the
    /// window: the walk started outside it, or left it.
    fn checked(
        &self,
        start_ok: bool,
        found: Option<(FillKey, u32)>,
        far_edge: &Bound<FillKey>,
    ) -> Option<(FillKey, u32)> {
        let trusted = start_ok
            && match &found {
                Some((k, _)) => self.covers(k),
                None => matches!(far_edge, Unbounded),
            };
        if !trusted {
            self.missed.set(true);
            return None;
        }
        found
    }
}

impl Lines for Window {
    fn next_after(&self, key: Option<&FillKey>) -> Option<(FillKey, u32)> {
        let start_ok = self.starts_inside(key, &self.low);
        self.checked(start_ok, self.lines.next_after(key), &self.high)
    }

    fn prev_before(&self, key: Option<&FillKey>) -> Option<(FillKey, u32)> {
        let start_ok = self.starts_inside(key, &self.high);
        self.checked(start_ok, self.lines.prev_before(key), &self.low)
    }

    fn qty(&self, key: &FillKey) -> Option<u32> {
        if !self.covers(key) {
            self.missed.set(true);
        }
        self.lines.get(key).copied()
    }
}

/// [`book::apply`] on a window: `None` when the window was too narrow to be sure (read a wider
/// one and try again).
pub fn apply(old: &Header, changes: &[LineChange], stock: i64, window: &Window) -> Option<(Header, Vec<Moved>)> {
    window.missed.set(false);
    let result = book::apply(old, changes, stock, window)?;
    (!window.missed.get()).then_some(result)
}

/// How many lines on each side of the boundary a first read should take: one per unit the
/// boundary can move, plus the boundary line and its neighbour.
pub fn reach(old: &Header, changes: &[LineChange], stock: i64) -> usize {
    let moved_units: u64 = changes.iter().map(|c| u64::from(c.old.abs_diff(c.new))).sum();
    let stock_change = old.stock.abs_diff(stock);
    usize::try_from(moved_units + stock_change).unwrap_or(usize::MAX).saturating_add(2)
}

#[cfg(test)]
mod tests;
