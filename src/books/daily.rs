//! The daily record (SPEC 10.1) kept by the ledger engine: the months an event's tallies fall
//! in are read with the records the event reads anyway (no extra round trip), and written in the
//! event's own commit, so a tally is counted once however often the event comes.

use std::collections::{BTreeMap, BTreeSet};

use time::Date;

use super::{BookError, Books, Reads, key};
use crate::ledger::Header;
use crate::ledger::daily::{Month, SeriesDay, Tally, month_of, months_between, series};
use crate::ledger::eta::date_in;
use crate::ledger::records::encode;
use crate::ledger::rules::ShopRules;
use crate::store::{LedgerCommit, Record};

/// The tallies of one commit, over the months it read.
pub(crate) struct Diary {
    zone: Option<String>,
    today: Date,
    months: BTreeMap<(u64, u32), Month>,
    read: BTreeSet<(u64, u32)>,
    touched: BTreeSet<(u64, u32)>,
}

impl Diary {
    pub fn new(rules: &ShopRules) -> Self {
        let zone = rules.timezone.clone();
        let today = date_in(zone.as_deref(), crate::store::now_ms() as i64);
        Self { zone, today, months: BTreeMap::new(), read: BTreeSet::new(), touched: BTreeSet::new() }
    }

    /// The shop's calendar day at `at_ms`.
    pub fn day(&self, at_ms: i64) -> Date {
        date_in(self.zone.as_deref(), at_ms)
    }

    /// The records a commit about `variants` reads to tally on the days of `at_ms` (and today,
    /// when the backlog moves).
    pub fn records(&self, variants: &[u64], at_ms: &[i64]) -> Vec<Record> {
        let mut months: BTreeSet<u32> = at_ms.iter().map(|ms| month_of(self.day(*ms))).collect();
        months.insert(month_of(self.today));
        variants.iter().flat_map(|v| months.iter().map(move |m| Record::Daily { variant: *v, month: *m })).collect()
    }

    /// Takes the months `records` named from what `reads` loaded.
    pub fn take(&mut self, reads: &Reads<'_>, records: &[Record]) -> Result<(), BookError> {
        for record in records {
            if let Record::Daily { variant, month } = *record {
                let stored = reads.get(key::Daily { variant, month })?.unwrap_or_default();
                self.months.insert((variant, month), stored);
                self.read.insert((variant, month));
            }
        }
        Ok(())
    }

    /// Counts `tally` on `day`. A month not read for this commit is left alone: writing it
    /// unchecked could lose another commit's tally (every caller reads the months it tallies).
    pub fn add(&mut self, variant: u64, day: Date, tally: Tally) {
        let at = (variant, month_of(day));
        if !self.read.contains(&at) {
            debug_assert!(false, "a tally on a month that was not read: {at:?}");
            return;
        }
        self.months.entry(at).or_default().days.entry(day.day()).or_default().add(tally);
        self.touched.insert(at);
    }

    /// Counts today's move of a book's backordered units, if it moved.
    pub fn backlog(&mut self, variant: u64, before: &Header, after: &Header) {
        let (before, after) = (before.backordered(), after.backordered());
        if before != after {
            self.add(variant, self.today, Tally::Backlog { before, after });
        }
    }

    /// Writes the months that changed into `commit` (which already expects them as read).
    pub fn write_into(self, commit: &mut LedgerCommit) {
        for (variant, month) in self.touched {
            let value = &self.months[&(variant, month)];
            commit.writes.push((Record::Daily { variant, month }, Some(encode(value))));
        }
    }
}

/// A managed variant as the chart reads it: its id, the units its book holds backordered now,
/// and the shop's day its daily record started.
pub struct Charted {
    pub variant: u64,
    pub backordered: u64,
    pub since: Date,
}

impl Charted {
    /// `variant` as its record and the shop's settings say: its backlog now, and the shop day
    /// its daily record started (today when it has none yet).
    pub fn of(
        variant: u64,
        record: &crate::ledger::records::VariantRecord,
        settings: &crate::shop::ShopSettings,
    ) -> Self {
        let since =
            record.daily_since_ms.map_or_else(|| settings.today(), |ms| date_in(settings.timezone.as_deref(), ms));
        Self { variant, backordered: record.header.backordered(), since }
    }
}

/// The days of each variant from `from` (or the day its record started, if later) to `to`,
/// oldest first, read in one round trip: a month per record, so 90 days are 4 records a variant.
pub async fn series_of(
    books: &Books,
    shop: &str,
    variants: &[Charted],
    from: Date,
    to: Date,
) -> Result<BTreeMap<u64, Vec<SeriesDay>>, BookError> {
    // Months after `to` hold backlog moves that lead back to it.
    let today = date_in(None, crate::store::now_ms() as i64).next_day().unwrap_or(to);
    let months = months_between(from, to.max(today));
    let records: Vec<Record> = variants
        .iter()
        .flat_map(|c| months.iter().map(move |m| Record::Daily { variant: c.variant, month: *m }))
        .collect();
    let reads = books.read(shop, &records).await?;
    let mut out = BTreeMap::new();
    for c in variants {
        let mut stored = BTreeMap::new();
        for month in &months {
            if let Some(m) = reads.get(key::Daily { variant: c.variant, month: *month })? {
                stored.insert(*month, m);
            }
        }
        out.insert(c.variant, series(&stored, from.max(c.since), to, c.backordered));
    }
    Ok(out)
}

/// Days of history the advice reads at most: two years.
const HISTORY_DAYS: i64 = 730;
/// The lead time assumed when the merchant has set none (SPEC 10.1's example).
pub const DEFAULT_LEAD_DAYS: u32 = 14;

/// Where `variant` stands for its reorder advice (SPEC 10.1): what customers ordered each day of
/// its daily record, up to yesterday (a day not over would read as a slow one), and its stock,
/// backlog and remaining supply now.
pub async fn standing_of(
    books: &Books,
    shop: &str,
    variant: u64,
    record: &crate::ledger::records::VariantRecord,
    settings: &crate::shop::ShopSettings,
) -> Result<crate::forecast::Standing, BookError> {
    let today = settings.today();
    let to = today.previous_day().unwrap_or(today);
    let charted = Charted::of(variant, record, settings);
    let from = charted.since.max(to.saturating_sub(time::Duration::days(HISTORY_DAYS - 1)));
    let days = if from <= to {
        series_of(books, shop, &[charted], from, to).await?.remove(&variant).unwrap_or_default()
    } else {
        Vec::new()
    };
    let s = &record.settings;
    Ok(crate::forecast::Standing {
        demand: days.iter().map(|d| d.ordered as f64).collect(),
        ordered: days.iter().map(|d| d.ordered).sum(),
        cancelled: days.iter().map(|d| d.cancelled).sum(),
        lead_time_days: s.lead_time_days.unwrap_or(DEFAULT_LEAD_DAYS),
        lead_time_spread: record.lead_time_spread(),
        service_level: settings.service_level(),
        available: record.header.stock,
        backordered: record.header.backordered(),
        incoming: s.supply.iter().map(|b| b.qty).sum(),
        today,
    })
}
