//! Which lines `N` arriving units would fill (SPEC 3.3 `preview`), without changing anything.
//!
//! Arriving units lower the backlog `B`, and the backordered units are always the last `B` in
//! fill order, so units go to the front of the queue first. Backlog no known line accounts for
//! (unattributed) sits ahead of every known backordered unit in that arithmetic: while `B`
//! exceeds the open units, every line stays fully backordered. So that part is filled first.

use serde::Serialize;

/// A backordered line in queue order: its backordered units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waiting<T> {
    pub line: T,
    pub backordered: u32,
}

/// What the units would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Preview<T> {
    /// Units that would go to backlog the ledger cannot attribute to a known order.
    pub unattributed_filled: u64,
    /// Lines that would receive units, front first, with how many.
    pub fills: Vec<Fill<T>>,
    /// Units left in stock once every backordered unit is covered.
    pub left_in_stock: u64,
    /// Backordered units still waiting afterwards.
    pub still_backordered: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fill<T> {
    #[serde(flatten)]
    pub line: T,
    /// Units this line would receive.
    pub units: u32,
    /// The line would have no backordered unit left.
    pub covered: bool,
}

/// `queue` holds the waiting lines in fill order from the front; it may stop early once it
/// holds `units` backordered units (nothing past that point can be filled). `backordered` is
/// the variant's total backordered units.
pub fn preview<T: Clone>(units: u64, unattributed: u64, backordered: u64, queue: &[Waiting<T>]) -> Preview<T> {
    let unattributed_filled = units.min(unattributed);
    let mut left = units - unattributed_filled;
    let mut fills = Vec::new();
    for w in queue {
        if left == 0 {
            break;
        }
        let take = left.min(u64::from(w.backordered));
        left -= take;
        fills.push(Fill { line: w.line.clone(), units: take as u32, covered: take == u64::from(w.backordered) });
    }
    let filled: u64 = fills.iter().map(|f| u64::from(f.units)).sum();
    let still_backordered = backordered - filled;
    // Units only stay in stock once the whole backlog is covered; a queue cut short by the
    // caller still holds units beyond `left`.
    let left_in_stock = if still_backordered == 0 { left } else { 0 };
    Preview { unattributed_filled, fills, left_in_stock, still_backordered }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn waiting(b: &[u32]) -> Vec<Waiting<usize>> {
        b.iter().enumerate().map(|(i, b)| Waiting { line: i, backordered: *b }).collect()
    }

    #[test]
    fn units_fill_the_front_of_the_queue_first() {
        let p = preview(4, 0, 6, &waiting(&[3, 2, 1]));
        assert_eq!(p.fills, [Fill { line: 0, units: 3, covered: true }, Fill { line: 1, units: 1, covered: false }]);
        assert_eq!((p.still_backordered, p.left_in_stock), (2, 0));
    }

    #[test]
    fn unattributed_backlog_takes_units_before_known_lines() {
        let p = preview(3, 2, 5, &waiting(&[5]));
        assert_eq!(p.unattributed_filled, 2);
        assert_eq!(p.fills, [Fill { line: 0, units: 1, covered: false }]);
    }

    #[test]
    fn units_beyond_the_backlog_stay_in_stock() {
        let p = preview(10, 1, 3, &waiting(&[2, 1]));
        assert_eq!((p.unattributed_filled, p.still_backordered, p.left_in_stock), (1, 0, 6));
        assert!(p.fills.iter().all(|f| f.covered));
    }

    proptest! {
        /// Every arriving unit is accounted for exactly once, and lines fill strictly in order.
        #[test]
        fn every_unit_goes_somewhere_once(units in 0u64..60, unattributed in 0u64..10, b in prop::collection::vec(1u32..8, 0..10)) {
            let total: u64 = b.iter().map(|x| u64::from(*x)).sum();
            let p = preview(units, unattributed, total, &waiting(&b));
            let filled: u64 = p.fills.iter().map(|f| u64::from(f.units)).sum();
            prop_assert_eq!(p.unattributed_filled + filled + p.left_in_stock, units);
            prop_assert_eq!(p.still_backordered, total - filled);
            for (i, f) in p.fills.iter().enumerate() {
                prop_assert_eq!(f.line, i);
                if i + 1 < p.fills.len() { prop_assert!(f.covered); }
            }
        }
    }
}
