use proptest::prelude::*;
use time::macros::date;

use super::*;

/// Records backlog changes `(day offset, new backlog)` as the ledger would (each one a commit
/// that moved the book from the backlog before to the new one) and answers the true backlog at
/// each day's end alongside.
fn record(start: Date, changes: &[(u16, u64)]) -> (BTreeMap<u32, Month>, BTreeMap<Date, u64>, u64) {
    let mut months: BTreeMap<u32, Month> = BTreeMap::new();
    let mut truth = BTreeMap::new();
    let mut backlog = 0;
    let mut sorted = changes.to_vec();
    sorted.sort_by_key(|(d, _)| *d);
    for (offset, after) in sorted {
        let day = start + time::Duration::days(i64::from(offset));
        let entry = months.entry(month_of(day)).or_default().days.entry(day.day()).or_default();
        entry.add(Tally::Backlog { before: backlog, after });
        backlog = after;
        truth.insert(day, after);
    }
    (months, truth, backlog)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(crate::ledger::proptest_cases(256)))]

    /// The chart's backlog on each day is the backlog when that day ended, whichever days moved it.
    #[test]
    fn the_series_gives_each_days_closing_backlog(
        changes in proptest::collection::vec((0u16..120, 0u64..50), 0..40),
        window in (0u16..120, 0u16..120),
    ) {
        let start = date!(2026 - 10 - 20);
        let (months, truth, now) = record(start, &changes);
        let (a, b) = (window.0.min(window.1), window.0.max(window.1));
        let from = start + time::Duration::days(i64::from(a));
        let to = start + time::Duration::days(i64::from(b));
        let got = series(&months, from, to, now);
        prop_assert_eq!(got.len() as u16, b - a + 1);
        for d in &got {
            let expected = truth.range(..=d.day).next_back().map_or(0, |(_, v)| *v);
            prop_assert_eq!(d.backordered, expected, "on {}", d.day);
        }
    }

    /// A record of any content survives its stored form.
    #[test]
    fn a_month_reads_back_as_written(days in proptest::collection::btree_map(1u8..=31, (0u64..9, 0u64..9, 0u64..9, proptest::option::of((0u64..9, 0u64..9))), 0..31)) {
        let month = Month { days: days.into_iter().map(|(d, (o, c, r, b))| (d, Day { ordered: o, cancelled: c, received: r, backlog: b })).collect() };
        let bytes = serde_json::to_vec(&month).unwrap();
        prop_assert_eq!(serde_json::from_slice::<Month>(&bytes).unwrap(), month);
    }
}

#[test]
fn taken_up_is_ordered_and_down_is_cancelled() {
    let mut day = Day::default();
    day.add(Tally::Taken(3));
    day.add(Tally::Taken(-1));
    day.add(Tally::Received(5));
    assert_eq!((day.ordered, day.cancelled, day.received), (3, 1, 5));
}

#[test]
fn a_day_keeps_its_first_opening_and_its_last_closing() {
    let mut day = Day::default();
    day.add(Tally::Backlog { before: 2, after: 5 });
    day.add(Tally::Backlog { before: 5, after: 1 });
    assert_eq!(day.backlog, Some((2, 1)));
}

#[test]
fn months_run_from_one_year_into_the_next() {
    assert_eq!(months_between(date!(2026 - 11 - 30), date!(2027 - 01 - 01)), [202611, 202612, 202701]);
    assert_eq!(day_of(202602, 29), None);
    assert_eq!(day_of(202612, 31), Some(date!(2026 - 12 - 31)));
}

/// Records written with no day at all (nothing happened) still chart the backlog of now.
#[test]
fn a_variant_without_a_record_charts_its_current_backlog_every_day() {
    let got = series(&BTreeMap::new(), date!(2026 - 12 - 01), date!(2026 - 12 - 03), 7);
    assert!(got.iter().all(|d| d.backordered == 7 && d.ordered == 0));
}
