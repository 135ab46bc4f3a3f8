use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

fn key(priority: i32, created: i64, order: u64) -> FillKey {
    FillKey { priority, created_at_ms: created, order_id: order, line_id: 1 }
}

/// Applies `changes` and a new stock to a book and checks it against [`attribute`].
struct Book {
    lines: BTreeMap<FillKey, u32>,
    header: Header,
}

impl Book {
    fn new() -> Self {
        Self { lines: BTreeMap::new(), header: Header::default() }
    }

    fn step(&mut self, edits: &[(FillKey, u32)], stock: i64) -> Vec<Moved> {
        let before: BTreeMap<FillKey, u32> = attribute(&self.lines, self.header.backlog()).0.into_iter().collect();
        let mut changes = Vec::new();
        for (k, q) in edits {
            let old = self.lines.get(k).copied().unwrap_or(0);
            if old == *q {
                continue;
            }
            if *q == 0 {
                self.lines.remove(k);
            } else {
                self.lines.insert(*k, *q);
            }
            changes.push(LineChange { key: *k, old, new: *q });
        }
        let (header, moved) = apply(&self.header, &changes, stock, &self.lines).expect("complete lines");
        self.header = header;

        let (expected, unattributed) = attribute(&self.lines, header.backlog());
        for (k, bo) in &expected {
            assert_eq!(header.backordered_of(k, self.lines[k]), *bo, "line {k:?} in {:?}", self.header);
        }
        assert_eq!(header.unattributed(), unattributed);
        assert_eq!(header.units, self.lines.values().map(|q| u64::from(*q)).sum::<u64>());
        let total: u64 = expected.iter().map(|(_, b)| u64::from(*b)).sum();
        assert_eq!(header.backordered(), total);

        // Exactly the lines whose backordered quantity differs are reported.
        let after: BTreeMap<FillKey, u32> = expected.into_iter().collect();
        let mut differ: Vec<FillKey> = before
            .keys()
            .chain(after.keys())
            .filter(|k| before.get(k).copied().unwrap_or(0) != after.get(k).copied().unwrap_or(0))
            .copied()
            .collect();
        differ.sort();
        differ.dedup();
        let reported: Vec<FillKey> = moved.iter().map(|m| m.key).collect();
        assert_eq!(reported, differ);
        for m in &moved {
            assert_eq!(m.old_backordered, before.get(&m.key).copied().unwrap_or(0));
            assert_eq!(m.new_backordered, after.get(&m.key).copied().unwrap_or(0));
        }
        moved
    }
}

#[test]
fn an_order_of_ten_with_four_in_stock_has_six_backordered() {
    let mut book = Book::new();
    let k = key(0, 1, 1);
    let moved = book.step(&[(k, 10)], 4 - 10);
    assert_eq!(book.header.backordered_of(&k, 10), 6);
    assert_eq!(moved, [Moved { key: k, old_backordered: 0, new_backordered: 6 }]);
}

#[test]
fn stock_arriving_fills_the_oldest_lines_first() {
    let mut book = Book::new();
    let (a, b, c) = (key(0, 1, 1), key(0, 2, 2), key(0, 3, 3));
    book.step(&[(a, 2), (b, 2), (c, 2)], -6);
    let moved = book.step(&[], -3);
    assert_eq!(book.header.backordered_of(&a, 2), 0);
    assert_eq!(book.header.backordered_of(&b, 2), 1);
    assert_eq!(book.header.backordered_of(&c, 2), 2);
    assert_eq!(moved.len(), 2, "only the two oldest lines changed");
}

#[test]
fn a_vip_placed_later_is_covered_before_earlier_ordinary_orders() {
    let mut book = Book::new();
    let (a, b) = (key(0, 1, 1), key(0, 2, 2));
    book.step(&[(a, 1), (b, 1)], 0);
    let vip = key(10, 3, 3);
    book.step(&[(vip, 1)], -1);
    assert_eq!(book.header.backordered_of(&vip, 1), 0);
    assert_eq!(book.header.backordered_of(&b, 1), 1);
}

#[test]
fn a_backlog_beyond_known_lines_is_unattributed() {
    let mut book = Book::new();
    book.step(&[(key(0, 1, 1), 2)], -5);
    assert_eq!(book.header.unattributed(), 3);
    assert_eq!(book.header.backordered(), 2);
}

fn edit() -> impl Strategy<Value = (FillKey, u32)> {
    (0..3i32, 0..6i64, 0..8u64, 0..6u32).prop_map(|(p, c, o, q)| (key(p * 5, c, o), q))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(crate::ledger::proptest_cases(2000)))]

    #[test]
    fn the_book_always_agrees_with_the_definition(
        steps in proptest::collection::vec((proptest::collection::vec(edit(), 0..4), -30i64..10), 1..25)
    ) {
        let mut book = Book::new();
        for (edits, stock) in steps {
            book.step(&edits, stock);
        }
    }
}
