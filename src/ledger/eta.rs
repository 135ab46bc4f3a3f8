//! ETAs (SPEC 6): a backordered unit's place in the queue matched against the supply batches,
//! pure arithmetic over plain data.
//!
//! Position 1 is the next unit to be filled. The remaining batches, in date order, cover the
//! positions cumulatively; the batch covering a line's last unit gives its date, plus the
//! handling days. Beyond all supply: today + lead time + handling, or no date (the merchant will
//! confirm). Arriving stock consumes the earliest batches: measured, not guessed, by the
//! variant's supply position `S` = available + the units its orders' lines have taken from
//! `available` for good (`current_quantity` plus units refunded without restock). An order, a
//! fulfillment, a cancellation with or without restock, a restocked return, an order edit and a
//! move between counted locations leave `S` unchanged; only arriving stock raises it.

use time::Date;

use crate::ledger::records::{SUPPLY_RULE, SupplyBatch, VariantRecord};

const DATE: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

pub fn parse(d: &str) -> Option<Date> {
    Date::parse(d, DATE).ok()
}

pub fn format(d: Date) -> String {
    d.format(DATE).unwrap_or_default()
}

/// The ETA of the unit at `position` (1 = filled next). A date the calendar cannot hold (a
/// supply date near the year 9999 plus handling days) is no date: "the merchant will confirm",
/// never a panic in the middle of every shop's effects.
pub fn eta_at(
    position: u64,
    supply: &[SupplyBatch],
    lead_time_days: Option<u32>,
    handling_days: u32,
    today: Date,
) -> Option<Date> {
    let handling = time::Duration::days(i64::from(handling_days));
    let lead = || today.checked_add(time::Duration::days(i64::from(lead_time_days?)));
    let mut covered = 0u64;
    for batch in supply {
        covered += batch.qty;
        if position <= covered {
            // A platform batch without a date (a transfer not shipped yet, a shipment without
            // tracking, incoming units of a purchase order) takes the lead time.
            let date = if batch.eta.is_empty() { lead() } else { parse(&batch.eta) };
            return date?.checked_add(handling);
        }
    }
    lead()?.checked_add(handling)
}

/// The supply batch (index in date order) that covers `position`; `None` beyond all supply.
pub fn batch_of(supply: &[SupplyBatch], position: u64) -> Option<usize> {
    let mut covered = 0u64;
    supply.iter().position(|b| {
        covered += b.qty;
        position <= covered
    })
}

/// The ETA of a backordered line whose first unit is at `position`: its last unit decides.
pub fn line_eta(record: &VariantRecord, position: u64, backordered: u32, today: Date) -> Option<Date> {
    let last = position + u64::from(backordered.max(1)) - 1;
    let s = &record.settings;
    eta_at(last, &s.supply, s.lead_time_days, s.handling_days, today)
}

/// The ETA a new order would get (the storefront, the `backorder_eta` metafield).
pub fn new_order_eta(record: &VariantRecord, today: Date) -> Option<Date> {
    let s = &record.settings;
    eta_at(record.header.backordered() + 1, &s.supply, s.lead_time_days, s.handling_days, today)
}

/// The variant's supply position `S`.
pub fn stock_position(record: &VariantRecord) -> i64 {
    record.header.stock.saturating_add(record.taken)
}

/// Consumes arrived stock from the earliest batches: whenever `S` exceeds its highest value
/// since the plan was set, the excess is taken from the front and the mark moves up. `S` comes
/// from the latest states only, so a late or repeated webhook never consumes twice. A mark an
/// older rule measured is measured again first (nothing consumed then); orders placed before
/// `now_ms` then count as already in the stock.
pub fn consume_arrivals(record: &mut VariantRecord, now_ms: i64) {
    if record.supply_rule < SUPPLY_RULE {
        record.supply_rule = SUPPLY_RULE;
        record.counted_since_ms = now_ms;
        record.settings.supply_mark = Some(stock_position(record));
        return;
    }
    let s = stock_position(record);
    let Some(mark) = record.settings.supply_mark else {
        record.settings.supply_mark = Some(s);
        return;
    };
    if s <= mark {
        return;
    }
    let mut excess = (s - mark) as u64;
    record.settings.supply_mark = Some(s);
    // The day it arrived, for its lateness: UTC here (the record does not know the shop's
    // zone), a day off at worst.
    let arrived = date_in(None, now_ms);
    let mut arrivals = Vec::new();
    // A platform batch is consumed by its own receipt only (`ledger::supply`), never by
    // inference (SPEC 6): its receipt raised the mark as it was read.
    for batch in record.settings.supply.iter_mut().filter(|b| !b.is_platform()) {
        let take = excess.min(batch.qty);
        batch.qty -= take;
        excess -= take;
        if batch.qty == 0 {
            arrivals.push(batch.eta.clone());
        }
        if excess == 0 {
            break;
        }
    }
    for promised in arrivals {
        record.note_arrival(&promised, arrived);
    }
    record.settings.supply.retain(|b| b.qty > 0);
}

/// The latest supply date a merchant may enter: beyond it a date means "unknown", which is what
/// an empty plan says without the risk of arithmetic at the end of the calendar.
pub fn latest_supply_date(today: Date) -> Date {
    today.replace_year(today.year() + 10).unwrap_or_else(|_| today.saturating_add(time::Duration::days(3652)))
}

/// The shop's today (SPEC 6: dates a customer sees are days in the shop's time zone).
pub fn today(zone: Option<&str>) -> Date {
    date_in(zone, time::OffsetDateTime::now_utc().unix_timestamp().saturating_mul(1000))
}

/// The calendar day at `unix_ms` in the IANA zone `zone` (`shop.ianaTimezone`). No zone, or one
/// the bundled time zone database does not know, is UTC: a date a day off at worst, never none.
pub fn date_in(zone: Option<&str>, unix_ms: i64) -> Date {
    let utc = || {
        let secs = unix_ms.div_euclid(1000);
        time::OffsetDateTime::from_unix_timestamp(secs).map_or(Date::MIN, |t| t.date())
    };
    let Some(tz) = zone.and_then(|z| jiff::tz::TimeZone::get(z).ok()) else { return utc() };
    let Ok(at) = jiff::Timestamp::from_millisecond(unix_ms) else { return utc() };
    let day = tz.to_datetime(at).date();
    time::Month::try_from(day.month() as u8)
        .ok()
        .and_then(|m| Date::from_calendar_date(i32::from(day.year()), m, day.day() as u8).ok())
        .unwrap_or_else(utc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn batch(qty: u64, eta: &str) -> SupplyBatch {
        SupplyBatch::merchant(qty, eta)
    }

    fn day(s: &str) -> Date {
        parse(s).unwrap()
    }

    #[test]
    fn a_day_is_the_shops_calendar_day_in_its_time_zone() {
        // 2026-12-02 11:30 UTC is already 2026-12-03 in Auckland (NZDT, UTC+13), and still
        // 2026-12-02 in Los Angeles and at an unknown zone (UTC).
        let at = 1_796_211_000_000;
        assert_eq!(date_in(None, at), day("2026-12-02"));
        assert_eq!(date_in(Some("Pacific/Auckland"), at), day("2026-12-03"));
        assert_eq!(date_in(Some("America/Los_Angeles"), at), day("2026-12-02"));
        assert_eq!(date_in(Some("Mars/Olympus_Mons"), at), day("2026-12-02"));
        // An hour earlier it is 00:30 in Auckland, the day before at 23:30.
        assert_eq!(date_in(Some("Pacific/Auckland"), at - 3_600_000), day("2026-12-02"));
    }

    proptest! {
        #[test]
        fn any_instant_and_zone_name_give_a_day_within_one_of_utc(ms in any::<i64>(), zone in ".{0,40}") {
            let utc = date_in(None, ms);
            let zoned = date_in(Some(&zone), ms);
            prop_assert!((zoned - utc).whole_days().abs() <= 1 || utc == Date::MIN);
        }
    }

    #[test]
    fn a_supply_date_at_the_end_of_the_calendar_gives_no_date_instead_of_a_panic() {
        let supply = [batch(1, "9999-12-31")];
        assert_eq!(eta_at(1, &supply, None, 1, day("2026-12-02")), None);
        assert_eq!(eta_at(1, &supply, None, 0, day("2026-12-02")), Some(day("9999-12-31")));
        assert_eq!(eta_at(2, &supply, Some(365), 60, day("9999-12-01")), None, "lead time past the calendar");
    }

    #[test]
    fn the_latest_supply_date_is_ten_years_ahead() {
        assert_eq!(latest_supply_date(day("2026-12-02")), day("2036-12-02"));
        assert_eq!(latest_supply_date(day("2028-02-29")), day("2038-02-28"));
        assert_eq!(latest_supply_date(day("9999-06-01")), day("9999-12-31"));
    }

    #[test]
    fn a_position_falls_in_the_batch_whose_cumulative_quantity_first_reaches_it() {
        let supply = [batch(2, "2026-12-10"), batch(3, "2026-12-20")];
        let of = |p| batch_of(&supply, p);
        assert_eq!((of(1), of(2), of(3), of(5), of(6)), (Some(0), Some(0), Some(1), Some(1), None));
        assert_eq!(batch_of(&[], 1), None);
    }

    #[test]
    fn positions_are_matched_against_cumulative_batches_plus_handling() {
        let supply = [batch(12, "2026-12-10"), batch(50, "2027-01-15")];
        let today = day("2026-11-29");
        assert_eq!(eta_at(1, &supply, Some(14), 2, today), Some(day("2026-12-12")));
        assert_eq!(eta_at(12, &supply, Some(14), 2, today), Some(day("2026-12-12")));
        assert_eq!(eta_at(13, &supply, Some(14), 2, today), Some(day("2027-01-17")));
        assert_eq!(eta_at(63, &supply, Some(14), 2, today), Some(day("2026-12-15")), "beyond supply: lead time");
        assert_eq!(eta_at(63, &supply, None, 2, today), None, "no lead time: to be confirmed");
    }

    fn current(taken: i64, stock: i64) -> VariantRecord {
        let mut r = VariantRecord { taken, supply_rule: SUPPLY_RULE, ..VariantRecord::default() };
        r.header.stock = stock;
        r
    }

    #[test]
    fn arriving_stock_consumes_the_earliest_batches_once() {
        let mut r = current(20, -20);
        r.settings.supply = vec![batch(12, "2026-12-10"), batch(50, "2027-01-15")];
        consume_arrivals(&mut r, 0);
        assert_eq!(r.settings.supply_mark, Some(0), "the plan starts at the current position");
        r.header.stock = -5; // 15 units received
        consume_arrivals(&mut r, 0);
        assert_eq!(r.settings.supply, [batch(47, "2027-01-15")]);
        consume_arrivals(&mut r, 0);
        assert_eq!(r.settings.supply, [batch(47, "2027-01-15")], "the same state consumes nothing again");
    }

    #[test]
    fn a_batch_used_up_keeps_how_late_it_came_and_its_lateness_spreads_the_lead_time() {
        let mut r = current(20, -20);
        r.settings.supply = vec![batch(5, "2026-12-01"), batch(5, "2026-12-04"), batch(50, "2027-01-15")];
        consume_arrivals(&mut r, 0);
        let dec_5 = 1_796_428_800_000; // 2026-12-05, midnight UTC
        r.header.stock = -12; // 8 received: the first batch used up, 3 of the second
        consume_arrivals(&mut r, dec_5);
        assert_eq!(r.lateness_days, [4], "4 days after its date");
        assert_eq!(r.lead_time_spread(), None, "one receipt shows no spread");
        r.header.stock = -10; // the second used up
        consume_arrivals(&mut r, dec_5);
        assert_eq!(r.lateness_days, [4, 1]);
        let spread = r.lead_time_spread().unwrap();
        assert!((spread - 2.121_320_343).abs() < 1e-6, "{spread}");
        for _ in 0..20 {
            r.note_arrival("2026-12-05", day("2026-12-05"));
        }
        assert_eq!(r.lateness_days.len(), crate::ledger::records::LATENESS_KEPT, "the latest only");
    }

    #[test]
    fn cancellations_and_restocked_returns_neither_consume_nor_make_a_later_arrival_count_short() {
        let mut r = current(20, -20);
        r.settings.supply = vec![batch(10, "2026-12-10"), batch(50, "2027-01-15")];
        consume_arrivals(&mut r, 0);
        // A cancellation of 3 without restock: refunded, not back on sale, still taken; the
        // stock stays. (The first rule's position, stock + open units + fulfilled, fell by 3
        // here, so the next 3 units to arrive would not have counted.)
        r.header.units = 17;
        consume_arrivals(&mut r, 0);
        // A restocked return of 2 shipped units: back on sale, no longer taken.
        r.taken = 18;
        r.header.stock = -18;
        consume_arrivals(&mut r, 0);
        assert_eq!(r.settings.supply, [batch(10, "2026-12-10"), batch(50, "2027-01-15")], "nothing consumed");
        // 4 units arrive: exactly 4 consumed.
        r.header.stock = -14;
        consume_arrivals(&mut r, 0);
        assert_eq!(r.settings.supply, [batch(6, "2026-12-10"), batch(50, "2027-01-15")]);
    }

    #[test]
    fn a_mark_of_the_first_rule_is_measured_again_and_consumes_nothing() {
        let mut r = VariantRecord::default();
        r.settings.supply = vec![batch(10, "2026-12-10")];
        r.settings.supply_mark = Some(-40);
        r.header.stock = -5;
        r.taken = 7;
        consume_arrivals(&mut r, 1_000);
        assert_eq!(
            (r.supply_rule, r.settings.supply_mark, r.counted_since_ms, r.settings.supply.len()),
            (SUPPLY_RULE, Some(2), 1_000, 1)
        );
    }

    proptest! {
        /// A line further back never gets an earlier ETA than a line ahead of it.
        #[test]
        fn later_positions_never_get_earlier_etas(
            qtys in prop::collection::vec(1u64..20, 0..5),
            a in 1u64..200, b in 1u64..200, lead in prop::option::of(0u32..60), handling in 0u32..10,
        ) {
            let mut supply: Vec<SupplyBatch> = qtys.iter().enumerate()
                .map(|(i, q)| batch(*q, &format!("2027-01-{:02}", i * 5 + 1))).collect();
            supply.sort_by(|x, y| x.eta.cmp(&y.eta));
            let today = day("2026-11-29");
            let (front, back) = (a.min(b), a.max(b));
            let (ef, eb) = (eta_at(front, &supply, lead, handling, today), eta_at(back, &supply, lead, handling, today));
            // Lead-time dates can fall before supply dates; the spec orders them by position only
            // within what supply covers, and a missing date sorts last.
            if let (Some(f), Some(b)) = (ef, eb) {
                let beyond = supply.iter().map(|s| s.qty).sum::<u64>() < back;
                if !beyond { prop_assert!(f <= b); }
            }
            if ef.is_none() { prop_assert!(eb.is_none()); }
        }

        /// Any date the format reads, any day counts the settings allow and any today: an ETA
        /// or none, never a panic.
        #[test]
        fn no_dates_or_day_counts_panic(
            year in 1i32..=9999, ordinal in 1u16..=365, today_year in 1i32..=9999,
            position in 0u64..u64::MAX, lead in prop::option::of(0u32..=u32::MAX), handling in 0u32..=u32::MAX,
        ) {
            let d = Date::from_ordinal_date(year, ordinal).unwrap();
            let today = Date::from_ordinal_date(today_year, ordinal).unwrap();
            let supply = [batch(1, &format(d))];
            let _ = eta_at(position, &supply, lead, handling, today);
            let _ = latest_supply_date(today);
        }
    }
}
