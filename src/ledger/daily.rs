//! The daily record of a variant (SPEC 10.1): per calendar day of the shop, the units ordered,
//! cancelled and received, and the units backordered at the day's end. The backlog chart of the
//! merchant app and the demand insight both read it; the ledger writes it in the same commit as
//! the change it counts, so it is exact under retries and duplicates.
//!
//! A record holds one calendar month of one variant, so that an event reads and writes a small
//! record (at most 31 days) whatever the length of the history. Days on which nothing happened
//! are absent: the reader carries the backlog across them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::Date;

/// One day of one variant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Day {
    /// Units ordered (in stock and on backorder: demand a stockout does not hide).
    #[serde(default, skip_serializing_if = "is_zero", rename = "o")]
    pub ordered: u64,
    /// Units given back by cancellations, restocked returns and edits that removed them.
    #[serde(default, skip_serializing_if = "is_zero", rename = "c")]
    pub cancelled: u64,
    /// Units the counted stock rose by (receipts; a restock on a cancellation raises it too).
    #[serde(default, skip_serializing_if = "is_zero", rename = "r")]
    pub received: u64,
    /// Units backordered before the day's first change to the book, and after its last one.
    /// `None` when no change moved the book that day.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "b")]
    pub backlog: Option<(u64, u64)>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The stored record: the days of one month of one variant, by day of the month.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Month {
    pub days: BTreeMap<u8, Day>,
}

/// A month as stored in record names: `year * 100 + month` (`202612`).
pub fn month_of(day: Date) -> u32 {
    (day.year().max(0) as u32) * 100 + u32::from(u8::from(day.month()))
}

/// The day of `month` numbered `of_month`, if there is one.
pub fn day_of(month: u32, of_month: u8) -> Option<Date> {
    let m = time::Month::try_from((month % 100) as u8).ok()?;
    Date::from_calendar_date((month / 100) as i32, m, of_month).ok()
}

/// What one commit adds to a variant's day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tally {
    /// Units taken from `available` for good (`OrderLine::taken`) moved by this much: up is
    /// ordered, down is cancelled.
    Taken(i64),
    Received(u64),
    /// The book's backordered units before and after the commit.
    Backlog {
        before: u64,
        after: u64,
    },
}

impl Day {
    pub fn add(&mut self, tally: Tally) {
        match tally {
            Tally::Taken(n) if n > 0 => self.ordered = self.ordered.saturating_add(n.unsigned_abs()),
            Tally::Taken(n) => self.cancelled = self.cancelled.saturating_add(n.unsigned_abs()),
            Tally::Received(n) => self.received = self.received.saturating_add(n),
            Tally::Backlog { before, after } => {
                let opening = self.backlog.map_or(before, |(opening, _)| opening);
                self.backlog = Some((opening, after));
            }
        }
    }
}

/// One variant's days over a span, oldest first, each with its backlog at the day's end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesDay {
    pub day: Date,
    pub ordered: u64,
    pub cancelled: u64,
    pub received: u64,
    pub backordered: u64,
}

/// The days `from..=to` of a variant whose book now holds `backlog_now` backordered units, from
/// its stored months. The backlog is carried back from now: a day's end is the opening of the
/// next day that moved the book, or the same as the next day's end when nothing moved it.
pub fn series(months: &BTreeMap<u32, Month>, from: Date, to: Date, backlog_now: u64) -> Vec<SeriesDay> {
    let stored = |d: Date| months.get(&month_of(d)).and_then(|m| m.days.get(&d.day())).copied();
    // Days after `to` moved the backlog too: walk them back first, stored ones only (an event
    // may carry any date, so the calendar between is not walked).
    let mut carry = backlog_now;
    for (month, m) in months.iter().rev() {
        for (d, entry) in m.days.iter().rev() {
            if let (Some(day), Some((opening, _))) = (day_of(*month, *d), entry.backlog)
                && day > to
            {
                carry = opening;
            }
        }
    }
    let mut out = Vec::new();
    let mut day = to;
    while day >= from {
        let entry = stored(day).unwrap_or_default();
        if let Some((_, closing)) = entry.backlog {
            carry = closing;
        }
        out.push(SeriesDay {
            day,
            ordered: entry.ordered,
            cancelled: entry.cancelled,
            received: entry.received,
            backordered: carry,
        });
        if let Some((opening, _)) = entry.backlog {
            carry = opening;
        }
        match day.previous_day() {
            Some(previous) => day = previous,
            None => break,
        }
    }
    out.reverse();
    out
}

/// The months a span of days touches, oldest first.
pub fn months_between(from: Date, to: Date) -> Vec<u32> {
    let mut out = Vec::new();
    let mut day = from;
    while day <= to {
        let month = month_of(day);
        if out.last() != Some(&month) {
            out.push(month);
        }
        match day.next_day() {
            Some(next) => day = next,
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests;
