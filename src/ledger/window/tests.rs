use std::collections::BTreeMap;
use std::ops::Bound::{Included, Unbounded};

use proptest::prelude::*;

use super::*;
use crate::ledger::book::Lines;

fn key(p: i32, c: i64, o: u64) -> FillKey {
    FillKey { priority: p, created_at_ms: c, order_id: o, line_id: 1 }
}

/// What a store reads: up to `r` stored lines before the boundary and `r` from it on, with
/// bounds saying how far the read is complete; then the event's changes laid over it.
fn read_window(
    old_lines: &BTreeMap<FillKey, u32>,
    boundary: Option<FillKey>,
    r: usize,
    changes: &[LineChange],
) -> Window {
    let before: Vec<(FillKey, u32)> = {
        let mut v = Vec::new();
        let mut at = boundary;
        while v.len() < r {
            match old_lines.prev_before(at.as_ref()) {
                Some((k, q)) => {
                    v.push((k, q));
                    at = Some(k);
                }
                None => break,
            }
        }
        v
    };
    let mut from: Vec<(FillKey, u32)> = Vec::new();
    if let Some(b) = boundary {
        let mut next = old_lines.get(&b).map(|q| (b, *q));
        while let Some((k, q)) = next {
            if from.len() >= r {
                break;
            }
            from.push((k, q));
            next = old_lines.next_after(Some(&k));
        }
    }
    let low = if before.len() < r { Unbounded } else { Included(before.last().expect("r > 0").0) };
    let high = match (boundary, from.len() < r) {
        (None, _) | (_, true) => Unbounded,
        (Some(_), false) => Included(from.last().expect("r > 0").0),
    };
    let mut lines: BTreeMap<FillKey, u32> = before.into_iter().chain(from).collect();
    for c in changes {
        if c.new == 0 {
            lines.remove(&c.key);
        } else {
            lines.insert(c.key, c.new);
        }
    }
    Window::new(lines, low, high)
}

fn edit() -> impl Strategy<Value = (FillKey, u32)> {
    (0..3i32, 0..8i64, 0..10u64, 0..5u32).prop_map(|(p, c, o, q)| (key(p * 5, c, o), q))
}

type Step = (Vec<(FillKey, u32)>, i64);

fn steps() -> impl Strategy<Value = Vec<Step>> {
    proptest::collection::vec((proptest::collection::vec(edit(), 0..4), -25i64..8), 1..12)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(crate::ledger::proptest_cases(2000)))]

    /// Any window gives the full answer or says it is too narrow; a window of `reach` lines
    /// always suffices.
    #[test]
    fn a_window_agrees_with_the_whole_book_or_asks_for_more(history in steps(), radius in 1usize..6) {
        let mut lines: BTreeMap<FillKey, u32> = BTreeMap::new();
        let mut header = Header::default();
        for (edits, stock) in history {
            let old_lines = lines.clone();
            let mut changes: Vec<LineChange> = Vec::new();
            for (k, q) in edits {
                let old = lines.get(&k).copied().unwrap_or(0);
                if old == q || changes.iter().any(|c| c.key == k) {
                    continue;
                }
                if q == 0 { lines.remove(&k); } else { lines.insert(k, q); }
                changes.push(LineChange { key: k, old, new: q });
            }
            let full = book::apply(&header, &changes, stock, &lines).expect("complete");

            let narrow = read_window(&old_lines, header.boundary, radius, &changes);
            if let Some(result) = apply(&header, &changes, stock, &narrow) {
                prop_assert_eq!(&result, &full);
            }
            let wide = read_window(&old_lines, header.boundary, reach(&header, &changes, stock), &changes);
            prop_assert_eq!(apply(&header, &changes, stock, &wide), Some(full.clone()));
            header = full.0;
        }
    }
}

#[test]
fn a_removed_boundary_line_next_to_a_new_line_before_it() {
    let (gone, early, late) = (key(5, 7, 2), key(5, 0, 0), key(0, 0, 0));
    let mut lines = BTreeMap::from([(gone, 1)]);
    let (header, _) = book::apply(&Header::default(), &[LineChange { key: gone, old: 0, new: 1 }], -1, &lines).unwrap();
    let old_lines = lines.clone();
    lines.remove(&gone);
    lines.insert(early, 1);
    lines.insert(late, 2);
    let changes = [
        LineChange { key: gone, old: 1, new: 0 },
        LineChange { key: early, old: 0, new: 1 },
        LineChange { key: late, old: 0, new: 2 },
    ];
    let full = book::apply(&header, &changes, -3, &lines).unwrap();
    let narrow = read_window(&old_lines, header.boundary, 1, &changes);
    if let Some(result) = apply(&header, &changes, -3, &narrow) {
        assert_eq!(result, full);
    }
}
