//! The daily record's days before enrolment (SPEC 10.1): what customers ordered of a variant
//! before the app managed it, read from the platform when it is enrolled, so its demand
//! insight starts with history instead of nothing.
//!
//! One shop-wide bulk operation reads every order since the first day the platform shows the
//! app (60 days back, or the insight's two years with `read_all_orders`), and serves every
//! variant of the enrolment at once. Each variant's days before its enrolment day are written
//! with its record marked `backfilled` in one checked commit, so a repeated or concurrent fill
//! never counts a day twice; the ledger writes the days from enrolment on.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use time::Date;

use crate::books::{Books, key};
use crate::ledger::daily::{Month, month_of};
use crate::ledger::eta::date_in;
use crate::platform::PlatformError;
use crate::platform::history::{self, History};
use crate::secret::Secret;
use crate::state::AppState;
use crate::store::{Record, now_ms};

/// Days of orders the platform shows an app without `read_all_orders`.
pub const WINDOW_DAYS: i64 = 60;
/// With `read_all_orders`: the insight's history.
pub const ALL_ORDERS_DAYS: i64 = 730;

crate::record_key!(
    /// The shop's last read of its order history for the daily record.
    BackfillKey => BackfillState, Record::Backfill
);

/// What the last history read did (`Record::Backfill`): counts and days, nothing of customers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BackfillState {
    /// When it ran (ms).
    pub read_at_ms: Option<i64>,
    /// The first day it read (`YYYY-MM-DD`, the shop's).
    pub since: Option<String>,
    /// Orders it read, and the variants whose days it filled.
    pub orders_variants: u64,
    pub variants_filled: u64,
    /// Why the last read failed, if it did (the next enrolment tries again).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    #[error(transparent)]
    Books(#[from] crate::books::BookError),
    #[error(transparent)]
    Platform(#[from] PlatformError),
    #[error(transparent)]
    Record(#[from] crate::ledger::records::RecordError),
}

/// As [`fill`], where the history is one part of a larger job (an enrolment): a failure is
/// logged and kept for the merchant's view, and the job goes on.
pub async fn fill_or_log(state: &AppState, shop: &str, token: &Secret, variants: &BTreeSet<u64>) {
    if let Err(e) = fill(state, shop, token, variants).await {
        tracing::warn!(shop, error = %e, "backfill: the order history could not be read; the next enrolment tries again");
        let failed =
            BackfillState { read_at_ms: Some(now_ms() as i64), failed: Some(e.to_string()), ..Default::default() };
        if let Err(e) = state.books.update(shop, BackfillKey, |_| crate::books::Edit::put(failed.clone(), ())).await {
            tracing::warn!(shop, error = %e, "backfill: its failure was not recorded");
        }
    }
}

/// Fills the days before enrolment of those of `variants` not filled yet, from one read of the
/// shop's orders. Returns how many variants it filled.
pub async fn fill(
    state: &AppState,
    shop: &str,
    token: &Secret,
    variants: &BTreeSet<u64>,
) -> Result<usize, BackfillError> {
    let books = &state.books;
    let mut wanted = Vec::new();
    for variant in variants {
        if let Some(record) = books.get(shop, key::Variant(*variant)).await?
            && !record.backfilled
            && record.daily_since_ms.is_some()
        {
            wanted.push(*variant);
        }
    }
    if wanted.is_empty() {
        return Ok(0);
    }
    let zone = books.get_or_default(shop, key::Settings).await?.timezone;
    let scopes = match state.sealer.as_deref() {
        Some(sealer) => crate::auth::install::load(books, sealer, shop).await.ok().flatten().map(|i| i.scopes),
        None => None,
    };
    let all = scopes.is_some_and(|s| s.iter().any(|s| s == "read_all_orders"));
    let today = crate::ledger::eta::today(zone.as_deref());
    let since = today.saturating_sub(time::Duration::days(if all { ALL_ORDERS_DAYS } else { WINDOW_DAYS } - 1));
    let history = history::read(&state.platform, shop, token, since, zone.as_deref()).await?;
    let mut filled = 0u64;
    for variant in wanted {
        if write(books, shop, variant, since, zone.as_deref(), &history).await? {
            filled += 1;
        }
    }
    let done = BackfillState {
        read_at_ms: Some(now_ms() as i64),
        since: Some(since.to_string()),
        orders_variants: history.len() as u64,
        variants_filled: filled,
        failed: None,
    };
    books.update(shop, BackfillKey, |_| crate::books::Edit::put(done.clone(), ())).await?;
    tracing::info!(shop, since = %since, filled, "backfill: the days before enrolment read from the order history");
    Ok(filled as usize)
}

/// Writes `variant`'s days from `since` to the day before its enrolment and marks it filled,
/// in one checked commit (tried again on a conflict). `false`: filled before, or gone.
async fn write(
    books: &Books,
    shop: &str,
    variant: u64,
    since: Date,
    zone: Option<&str>,
    history: &History,
) -> Result<bool, BackfillError> {
    for _ in 0..crate::books::MAX_TRIES {
        let Some(record) = books.get(shop, key::Variant(variant)).await? else { return Ok(false) };
        let Some(enrolled_ms) = record.daily_since_ms.filter(|_| !record.backfilled) else { return Ok(false) };
        let enrolled = date_in(zone, enrolled_ms);
        let days: BTreeMap<Date, history::Tally> = history
            .get(&variant)
            .map(|d| d.range(since..enrolled).map(|(d, t)| (*d, *t)).collect())
            .unwrap_or_default();
        let months: BTreeSet<u32> = days.keys().map(|d| month_of(*d)).collect();
        let mut records = vec![Record::Variant(variant)];
        records.extend(months.iter().map(|m| Record::Daily { variant, month: *m }));
        let reads = books.read(shop, &records).await?;
        let mut change = reads.change();
        let mut stored: BTreeMap<u32, Month> = BTreeMap::new();
        for m in &months {
            stored.insert(*m, reads.get(key::Daily { variant, month: *m })?.unwrap_or_default());
        }
        for (day, tally) in &days {
            let month = stored.entry(month_of(*day)).or_default();
            let entry = month.days.entry(day.day()).or_default();
            entry.ordered = entry.ordered.saturating_add(tally.ordered);
            entry.cancelled = entry.cancelled.saturating_add(tally.cancelled);
        }
        for (m, month) in &stored {
            change = change.put(key::Daily { variant, month: *m }, month);
        }
        let Some(mut record) = reads.get(key::Variant(variant))? else { return Ok(false) };
        record.backfilled = true;
        // A variant that sold in the window starts its record at the first day read: days
        // without orders there are zeros. One that did not stays unknown before enrolment (a
        // product just launched has no history, not a history of zeros), so the fixed alert
        // threshold stands in until its own record is long enough.
        if !days.is_empty() {
            let first = since.midnight().assume_offset(offset_of(zone, since)).unix_timestamp() * 1000;
            record.daily_since_ms = Some(enrolled_ms.min(first));
        }
        change = change.put(key::Variant(variant), &record);
        if books.commit(shop, change).await? {
            return Ok(true);
        }
    }
    Err(crate::books::BookError::Contended.into())
}

/// The zone's offset at the start of `day` (UTC when unknown).
fn offset_of(zone: Option<&str>, day: Date) -> time::UtcOffset {
    let Some(tz) = zone.and_then(|z| jiff::tz::TimeZone::get(z).ok()) else { return time::UtcOffset::UTC };
    let Ok(civil) = jiff::civil::Date::new(day.year() as i16, u8::from(day.month()) as i8, day.day() as i8) else {
        return time::UtcOffset::UTC;
    };
    let seconds = civil.to_zoned_datetime(tz).map(|z| z.offset().seconds()).unwrap_or(0);
    time::UtcOffset::from_whole_seconds(seconds).unwrap_or(time::UtcOffset::UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shop_without_a_history_read_reads_as_never_read() {
        let none: BackfillState = serde_json::from_str("{}").unwrap();
        assert_eq!(none, BackfillState::default());
        assert!(!serde_json::to_string(&none).unwrap().contains("failed"));
    }

    #[test]
    fn a_day_starts_at_the_shops_midnight() {
        let day = crate::ledger::eta::parse("2026-07-01").unwrap();
        assert_eq!(offset_of(Some("America/New_York"), day).whole_hours(), -4);
        assert_eq!(offset_of(None, day), time::UtcOffset::UTC);
    }
}
