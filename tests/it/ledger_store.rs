//! The ledger's storage contract, run unchanged against the embedded store, a standalone Redis
//! and a local 3-node Redis Cluster.

use std::ops::Bound::{Excluded, Included, Unbounded};
use std::time::Duration;

use backorder::ledger::FillKey;
use backorder::store::{CommitOutcome, EventMark, LedgerCommit, LineWrite, Mark, Record, SharedStore};

const SHOP: &str = "ledger.myshopify.com";
const OTHER: &str = "other.myshopify.com";

fn key(n: u64) -> FillKey {
    FillKey { priority: 0, created_at_ms: n as i64, order_id: n, line_id: n * 10 }
}

fn commit(event: &str) -> LedgerCommit {
    LedgerCommit {
        event: Some(EventMark { key: event.into(), topic: "orders/create".into(), ttl: Duration::from_secs(3600) }),
        ..LedgerCommit::default()
    }
}

fn line(variant: u64, n: u64, old: u32, qty: u32) -> LineWrite {
    LineWrite { variant, key: key(n), old, qty }
}

async fn records_read_back_what_a_commit_wrote(store: SharedStore) {
    let records =
        [Record::Rules, Record::Order(1), Record::Level { item: 7, location: 2 }, Record::Variant(3), Record::Item(7)];
    let mut c = commit("ev:1");
    c.writes = records.iter().enumerate().map(|(i, r)| (*r, Some(format!("value-{i}").into_bytes()))).collect();
    assert_eq!(store.ledger_commit(SHOP, &c).await.unwrap(), CommitOutcome::Applied);
    let got = store.ledger_get(SHOP, &records).await.unwrap();
    for (i, value) in got.iter().enumerate() {
        assert_eq!(value.as_deref(), Some(format!("value-{i}").as_bytes()));
    }
    assert_eq!(store.ledger_get(SHOP, &[Record::Order(2)]).await.unwrap(), [None]);
}

async fn a_record_written_as_none_is_deleted(store: SharedStore) {
    let mut c = commit("ev:1");
    c.writes = vec![(Record::Order(1), Some(b"x".to_vec()))];
    store.ledger_commit(SHOP, &c).await.unwrap();
    let mut c = commit("ev:2");
    c.expect = vec![(Record::Order(1), Some(b"x".to_vec()))];
    c.writes = vec![(Record::Order(1), None)];
    assert_eq!(store.ledger_commit(SHOP, &c).await.unwrap(), CommitOutcome::Applied);
    assert_eq!(store.ledger_get(SHOP, &[Record::Order(1)]).await.unwrap(), [None]);
}

async fn a_stale_expectation_changes_nothing(store: SharedStore) {
    let mut first = commit("ev:1");
    first.writes = vec![(Record::Variant(3), Some(b"v1".to_vec()))];
    first.lines = vec![line(3, 1, 0, 2)];
    store.ledger_commit(SHOP, &first).await.unwrap();

    for expect in [Some(b"v0".to_vec()), None] {
        let mut stale = commit("ev:2");
        stale.expect = vec![(Record::Variant(3), expect)];
        stale.writes = vec![(Record::Variant(3), Some(b"v2".to_vec())), (Record::Order(9), Some(b"o".to_vec()))];
        stale.lines = vec![line(3, 2, 0, 5)];
        stale.marks = vec![Mark::Order(9)];
        assert_eq!(store.ledger_commit(SHOP, &stale).await.unwrap(), CommitOutcome::Conflict);
    }
    let got = store.ledger_get(SHOP, &[Record::Variant(3), Record::Order(9)]).await.unwrap();
    assert_eq!(got, [Some(b"v1".to_vec()), None]);
    let lines = store.ledger_lines(SHOP, 3, None, 10).await.unwrap();
    assert_eq!(lines.lines, [(key(1), 2)]);
    assert!(store.ledger_dirty(SHOP).await.unwrap().orders.is_empty());
    // The refused event was not marked processed: it can still commit after a fresh decision.
    let mut retry = commit("ev:2");
    retry.expect = vec![(Record::Variant(3), Some(b"v1".to_vec()))];
    assert_eq!(store.ledger_commit(SHOP, &retry).await.unwrap(), CommitOutcome::Applied);
}

async fn an_event_commits_once(store: SharedStore) {
    let mut c = commit("ev:1");
    c.writes = vec![(Record::Order(1), Some(b"first".to_vec()))];
    assert_eq!(store.ledger_commit(SHOP, &c).await.unwrap(), CommitOutcome::Applied);
    c.writes = vec![(Record::Order(1), Some(b"second".to_vec()))];
    assert_eq!(store.ledger_commit(SHOP, &c).await.unwrap(), CommitOutcome::AlreadyProcessed);
    assert_eq!(store.ledger_get(SHOP, &[Record::Order(1)]).await.unwrap(), [Some(b"first".to_vec())]);
    assert_eq!(store.processed_counts(SHOP).await.unwrap().get("orders/create"), Some(&1));
}

async fn lines_read_around_a_point_say_how_far_they_are_complete(store: SharedStore) {
    let mut c = commit("ev:1");
    c.lines = (1..=10).map(|n| line(3, n, 0, n as u32)).collect();
    store.ledger_commit(SHOP, &c).await.unwrap();

    let read = store.ledger_lines(SHOP, 3, Some(key(5)), 3).await.unwrap();
    assert_eq!(read.lines, (2..=7).map(|n| (key(n), n as u32)).collect::<Vec<_>>());
    assert_eq!((read.low, read.high), (Included(key(2)), Included(key(7))));

    let all = store.ledger_lines(SHOP, 3, Some(key(5)), 100).await.unwrap();
    assert_eq!(all.lines.len(), 10);
    assert_eq!((all.low, all.high), (Unbounded, Unbounded));

    let tail = store.ledger_lines(SHOP, 3, None, 2).await.unwrap();
    assert_eq!(tail.lines, [(key(9), 9), (key(10), 10)]);
    assert_eq!((tail.low, tail.high), (Included(key(9)), Unbounded));

    // A point between lines: the read starts at the first line after it.
    let between = FillKey { line_id: 1, ..key(4) };
    let read = store.ledger_lines(SHOP, 3, Some(between), 1).await.unwrap();
    assert_eq!(read.lines, [(key(3), 3), (key(4), 4)]);
}

async fn a_scan_pages_forward_through_one_book(store: SharedStore) {
    let mut c = commit("ev:1");
    c.lines = (1..=10).map(|n| line(3, n, 0, n as u32)).chain([line(4, 1, 0, 7)]).collect();
    store.ledger_commit(SHOP, &c).await.unwrap();
    let first = store.ledger_scan(SHOP, 3, Unbounded, 4).await.unwrap();
    assert_eq!(first, (1..=4).map(|n| (key(n), n as u32)).collect::<Vec<_>>());
    let next = store.ledger_scan(SHOP, 3, Excluded(key(4)), 4).await.unwrap();
    assert_eq!(next, (5..=8).map(|n| (key(n), n as u32)).collect::<Vec<_>>());
    let from = store.ledger_scan(SHOP, 3, Included(key(9)), 100).await.unwrap();
    assert_eq!(from, [(key(9), 9), (key(10), 10)], "the book of variant 4 is not part of the scan");
    // A point between lines starts at the next line.
    let between = FillKey { line_id: 1, ..key(4) };
    assert_eq!(store.ledger_scan(SHOP, 3, Included(between), 1).await.unwrap(), [(key(4), 4)]);
    assert!(store.ledger_scan(SHOP, 3, Excluded(key(10)), 5).await.unwrap().is_empty());
    assert!(store.ledger_scan(OTHER, 3, Unbounded, 5).await.unwrap().is_empty());
}

async fn lines_change_and_disappear(store: SharedStore) {
    let mut c = commit("ev:1");
    c.lines = vec![line(3, 1, 0, 2), line(3, 2, 0, 1), line(4, 1, 0, 9)];
    store.ledger_commit(SHOP, &c).await.unwrap();
    let mut c = commit("ev:2");
    c.lines = vec![line(3, 1, 2, 5), line(3, 2, 1, 0)];
    store.ledger_commit(SHOP, &c).await.unwrap();
    assert_eq!(store.ledger_lines(SHOP, 3, None, 10).await.unwrap().lines, [(key(1), 5)]);
    assert_eq!(store.ledger_lines(SHOP, 4, None, 10).await.unwrap().lines, [(key(1), 9)]);
    let empty = store.ledger_lines(SHOP, 5, None, 10).await.unwrap();
    assert!(empty.lines.is_empty());
    assert_eq!((empty.low, empty.high), (Unbounded, Unbounded));
}

async fn levels_of_an_item_list_by_location(store: SharedStore) {
    let mut c = commit("ev:1");
    c.writes = vec![
        (Record::Level { item: 7, location: 2 }, Some(b"b".to_vec())),
        (Record::Level { item: 7, location: 1 }, Some(b"a".to_vec())),
        (Record::Level { item: 70, location: 1 }, Some(b"other item".to_vec())),
    ];
    store.ledger_commit(SHOP, &c).await.unwrap();
    let levels = store.ledger_levels(SHOP, 7).await.unwrap();
    assert_eq!(levels, [(1, b"a".to_vec()), (2, b"b".to_vec())]);
}

async fn dirty_marks_accumulate_without_repeats(store: SharedStore) {
    let mut c = commit("ev:1");
    c.marks = vec![Mark::Order(1), Mark::Order(2)];
    c.marks.extend([Mark::Variant(3)]);
    store.ledger_commit(SHOP, &c).await.unwrap();
    let mut c = commit("ev:2");
    c.marks = vec![Mark::Order(2), Mark::Order(5)];
    store.ledger_commit(SHOP, &c).await.unwrap();
    let dirty = store.ledger_dirty(SHOP).await.unwrap();
    let mut orders = dirty.orders.clone();
    orders.sort();
    assert_eq!(orders, [1, 2, 5]);
    assert_eq!(dirty.variants, [3]);
}

async fn settled_marks_clear_only_if_unchanged_since_they_were_read(store: SharedStore) {
    let mut c = commit("ev:1");
    c.marks = vec![Mark::Order(1), Mark::Order(2)];
    store.ledger_commit(SHOP, &c).await.unwrap();
    let now = backorder::store::now_ms();
    let settled = store.dirty_settled(SHOP, now, 10).await.unwrap();
    assert_eq!(settled.iter().map(|s| s.mark).collect::<Vec<_>>(), [Mark::Order(1), Mark::Order(2)]);
    assert!(settled.iter().all(|s| s.changed_at_ms <= now));
    assert!(store.dirty_settled(SHOP, settled[0].changed_at_ms - 1, 10).await.unwrap().is_empty(), "not settled yet");

    // Order 2 changes again after the read: its mark must survive the clear.
    let mut again = commit("ev:2");
    again.marks = vec![Mark::Order(2)];
    eventually_later(settled[1].changed_at_ms).await;
    store.ledger_commit(SHOP, &again).await.unwrap();
    store.clear_dirty(SHOP, &settled).await.unwrap();
    assert_eq!(store.ledger_dirty(SHOP).await.unwrap().orders, [2]);
    assert!(store.ledger_dirty(OTHER).await.unwrap().orders.is_empty());
}

/// Waits until the clock has moved past `ms`, so a new change gets a later time.
async fn eventually_later(ms: u64) {
    crate::support::eventually("the clock to move on", || async { (backorder::store::now_ms() > ms).then_some(()) })
        .await;
}

/// A setting saved, a claim, an email recorded as sent: writes that are not webhook events leave
/// no processed mark (so the same write twice applies twice) and count as no processed event.
async fn a_write_that_is_not_an_event_leaves_no_processed_mark(store: SharedStore) {
    let write = |value: &[u8]| LedgerCommit {
        event: None,
        writes: vec![(Record::Settings, Some(value.to_vec()))],
        marks: vec![Mark::ShopMail],
        ..LedgerCommit::default()
    };
    assert_eq!(store.ledger_commit(SHOP, &write(b"a")).await.unwrap(), CommitOutcome::Applied);
    assert_eq!(store.ledger_commit(SHOP, &write(b"b")).await.unwrap(), CommitOutcome::Applied, "no mark stopped it");
    assert_eq!(store.ledger_get(SHOP, &[Record::Settings]).await.unwrap(), [Some(b"b".to_vec())]);
    assert!(store.processed_counts(SHOP).await.unwrap().is_empty(), "nothing counted as processed");
    assert!(store.ledger_dirty(SHOP).await.unwrap().shop_mail, "its dirty marks are kept all the same");
    // An event still counts, once.
    assert_eq!(store.ledger_commit(SHOP, &commit("ev:1")).await.unwrap(), CommitOutcome::Applied);
    assert_eq!(store.ledger_commit(SHOP, &commit("ev:1")).await.unwrap(), CommitOutcome::AlreadyProcessed);
    let counts = store.processed_counts(SHOP).await.unwrap();
    assert_eq!(counts.into_iter().collect::<Vec<_>>(), [("orders/create".to_string(), 1)]);
}

async fn a_lease_has_one_holder_at_a_time(store: SharedStore) {
    let ttl = Duration::from_secs(30);
    assert!(store.try_lease(SHOP, "effects", "a", ttl).await.unwrap());
    assert!(store.try_lease(SHOP, "effects", "a", ttl).await.unwrap(), "the holder renews");
    assert!(!store.try_lease(SHOP, "effects", "b", ttl).await.unwrap());
    assert!(store.try_lease(OTHER, "effects", "b", ttl).await.unwrap(), "another shop's lease is another lease");
    store.release_lease(SHOP, "effects", "b").await.unwrap();
    assert!(!store.try_lease(SHOP, "effects", "b", ttl).await.unwrap(), "only the holder releases");
    store.release_lease(SHOP, "effects", "a").await.unwrap();
    assert!(store.try_lease(SHOP, "effects", "b", ttl).await.unwrap());
}

async fn shops_never_see_each_others_ledger(store: SharedStore) {
    let mut c = commit("ev:1");
    c.writes = vec![(Record::Order(1), Some(b"a".to_vec()))];
    c.lines = vec![line(3, 1, 0, 2)];
    c.marks = vec![Mark::Order(1)];
    store.ledger_commit(SHOP, &c).await.unwrap();
    assert_eq!(store.ledger_get(OTHER, &[Record::Order(1)]).await.unwrap(), [None]);
    assert!(store.ledger_lines(OTHER, 3, None, 10).await.unwrap().lines.is_empty());
    assert!(store.ledger_dirty(OTHER).await.unwrap().orders.is_empty());
    // The same event key in another shop is another event.
    assert_eq!(store.ledger_commit(OTHER, &c).await.unwrap(), CommitOutcome::Applied);
}

on_every_backend!(
    records_read_back_what_a_commit_wrote,
    a_record_written_as_none_is_deleted,
    a_stale_expectation_changes_nothing,
    an_event_commits_once,
    lines_read_around_a_point_say_how_far_they_are_complete,
    lines_change_and_disappear,
    a_scan_pages_forward_through_one_book,
    levels_of_an_item_list_by_location,
    dirty_marks_accumulate_without_repeats,
    shops_never_see_each_others_ledger,
    settled_marks_clear_only_if_unchanged_since_they_were_read,
    a_lease_has_one_holder_at_a_time,
    a_write_that_is_not_an_event_leaves_no_processed_mark,
);
