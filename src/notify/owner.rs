//! What the shop owner is told: a reorder alert when a variant's backordered units reach the
//! shop's threshold, and a weekly digest of the backlog. Plain built-in texts (owner emails
//! carry no customer data), rendered here as pure functions and sent through the shop outbox.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::NotifyError;
use super::outbox;
use super::templates::Rendered;
use crate::books::queue::scan;
use crate::books::{Key, key};
use crate::ledger::records::VariantRecord;
use crate::shop::ShopSettings;
use crate::state::AppState;
use crate::store::{Record, now_ms};

const HOUR_MS: i64 = 3_600_000;
const WEEK_MS: i64 = 7 * 24 * HOUR_MS;

/// The HTML part of an owner email: the text's paragraphs, its line breaks kept.
fn html_of(text: &str) -> String {
    let paragraphs: Vec<Vec<String>> =
        text.split("\n\n").map(|p| p.split('\n').map(str::to_string).collect()).collect();
    crate::view::render("owner/message.html", minijinja::context! { paragraphs }).unwrap_or_else(|e| {
        tracing::error!(error = %e, "owner email: the HTML part does not render");
        String::new()
    })
}

/// Why a variant needs reordering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// Its inventory position fell to its reorder point (SPEC 10.1).
    ReorderPoint(u64),
    /// Its backlog reached the shop's fixed alert threshold.
    Threshold(u64),
}

/// The reorder alert for a variant that needs reordering.
pub fn reorder_alert(shop: &str, variant: u64, record: &VariantRecord, why: Why) -> Rendered {
    let backordered = record.header.backordered();
    let supply: Vec<String> = record
        .settings
        .supply
        .iter()
        .map(|b| {
            let from = if b.is_platform() { " (on Shopify)" } else { "" };
            if b.eta.is_empty() {
                format!("{} units, no date yet{from}", b.qty)
            } else {
                format!("{} units due {}{from}", b.qty, b.eta)
            }
        })
        .collect();
    let planned = if supply.is_empty() {
        "No incoming stock is planned yet.".to_string()
    } else {
        format!("Incoming stock planned: {}.", supply.join(", "))
    };
    let link = match record.product_id {
        Some(p) => format!("https://{shop}/admin/products/{p}/variants/{variant}"),
        None => format!("https://{shop}/admin/products"),
    };
    let reason = match why {
        Why::ReorderPoint(point) => format!(
            "Variant {variant} has {backordered} units on backorder, and what you have and expect has fallen to its reorder point of {point} units: \
             the demand of its lead time plus its safety stock."
        ),
        Why::Threshold(threshold) => format!(
            "Variant {variant} now has {backordered} units on backorder, at or above your alert threshold of {threshold}."
        ),
    };
    let text = format!("{reason}\n\nIt is time to reorder from your supplier. {planned}\n\n{link}\n");
    Rendered {
        subject: format!("Time to reorder: {backordered} units of variant {variant} on backorder"),
        html: html_of(&text),
        text,
    }
}

/// One variant's line in the digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestLine {
    pub variant: u64,
    pub units: u64,
    pub orders: usize,
    /// When the order waiting longest was placed.
    pub oldest_ms: Option<i64>,
    /// Waiting lines whose date has passed or was never set.
    pub at_risk: usize,
}

/// A variant to reorder now, in the digest: its inventory position is at or below its reorder
/// point (SPEC 10.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReorderLine {
    pub variant: u64,
    pub title: String,
    pub suggested: u64,
    pub order_by: Option<String>,
}

pub fn digest(shop: &str, lines: &[DigestLine], reorder: &[ReorderLine], now_ms: i64) -> Rendered {
    let units: u64 = lines.iter().map(|l| l.units).sum();
    let at_risk: usize = lines.iter().map(|l| l.at_risk).sum();
    let oldest = lines.iter().filter_map(|l| l.oldest_ms).min().map(|ms| (now_ms - ms).max(0) / (24 * HOUR_MS));
    let mut text = format!(
        "Your backorders this week: {units} units waiting across {} variants.{}{}\n\n",
        lines.len(),
        oldest.map(|d| format!(" The longest wait so far: {d} days.")).unwrap_or_default(),
        if at_risk > 0 {
            format!(" {at_risk} waiting lines have a promised date that has passed or was never set.")
        } else {
            String::new()
        },
    );
    for l in lines {
        text.push_str(&format!(
            "- variant {}: {} units for {} orders{}\n",
            l.variant,
            l.units,
            l.orders,
            if l.at_risk > 0 { format!(", {} lines at risk", l.at_risk) } else { String::new() }
        ));
    }
    if !reorder.is_empty() {
        text.push_str("\nReorder now (what you have and expect has fallen to the reorder point):\n");
        for r in reorder {
            let by = r.order_by.as_deref().map(|d| format!(", by {d}")).unwrap_or_default();
            text.push_str(&format!("- {} (variant {}): order {} units{by}\n", r.title, r.variant, r.suggested));
        }
    }
    text.push_str(&format!("\nThe whole backlog: https://{shop}/admin/apps\n"));
    Rendered { subject: format!("Backorder digest: {units} units waiting"), html: html_of(&text), text }
}

crate::record_key!(
    /// When the shop's timed jobs next come due.
    ScheduleKey => Schedule, Record::Schedule
);

/// A shop's timed jobs (`Record::Schedule`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Schedule {
    pub next_digest_ms: i64,
    pub next_reminders_ms: i64,
    pub digests: u32,
}

/// Runs the shop's timed jobs that are due: each claimed by one commit (so one instance does
/// it), then done: reminders look at every waiting order again (hourly), the digest goes to the
/// owner (weekly). Returns when the shop's next job is due (ms), for the dispatcher's index of
/// shops with work due; `None`: the shop has nothing timed (a settings change makes it due
/// again).
pub async fn run_due(state: &AppState, shop: &str, settings: &ShopSettings) -> Result<Option<u64>, NotifyError> {
    let now = now_ms() as i64;
    let reads = state.books.read(shop, &[ScheduleKey.record()]).await?;
    let stored = reads.get(ScheduleKey)?;
    let first = stored.is_none();
    let schedule = stored.unwrap_or_default();
    // A shop with nothing timed to do gets no record (a redacted shop must stay gone).
    if first && settings.owner_email.is_none() && !looks_again(settings) {
        return Ok(None);
    }
    let reminders = !first && looks_again(settings) && now >= schedule.next_reminders_ms;
    let digest_due = !first && now >= schedule.next_digest_ms;
    if !first && !reminders && !digest_due {
        return Ok(Some(next_job(&schedule, settings)));
    }
    let mut next = schedule.clone();
    if first || reminders {
        next.next_reminders_ms = now + HOUR_MS;
    }
    if first || digest_due {
        next.next_digest_ms = now + WEEK_MS;
    }
    if digest_due {
        next.digests += 1;
    }
    // The claim: of two instances that found the job due, one commit wins. The loser does not
    // know the winner's schedule: it looks again.
    if !state.books.commit(shop, reads.change().put(ScheduleKey, &next)).await? {
        return Ok(Some(now_ms()));
    }
    if reminders {
        mark_waiting(state, shop).await?;
    }
    if let (true, Some(owner)) = (digest_due, settings.owner_email.as_deref()) {
        let lines = backlog(state, shop).await?;
        let reorder = reorder_now(state, shop, settings).await?;
        if !lines.is_empty() || !reorder.is_empty() {
            let occasion = format!("digest-{}", next.digests);
            outbox::queue_for_owner(state, shop, &occasion, owner, digest(shop, &lines, &reorder, now)).await?;
        }
    }
    Ok(Some(next_job(&next, settings)))
}

/// Waiting orders are looked at again hourly while reminders or the consolation are on: both
/// come due with time, not with an event.
fn looks_again(settings: &ShopSettings) -> bool {
    settings.reminder_days.is_some() || settings.consolation.enabled
}

/// When the earliest job of `schedule` comes due: the digest always (it counts even without an
/// owner address), reminders while the shop has them on.
fn next_job(schedule: &Schedule, settings: &ShopSettings) -> u64 {
    let reminders = looks_again(settings).then_some(schedule.next_reminders_ms);
    let at = reminders.map_or(schedule.next_digest_ms, |r| r.min(schedule.next_digest_ms));
    u64::try_from(at).unwrap_or(0)
}

async fn managed(state: &AppState, shop: &str) -> Result<BTreeMap<u64, VariantRecord>, NotifyError> {
    Ok(crate::books::apply::managed_variants(&state.books, shop).await?)
}

/// Marks every waiting order, so each is looked at for a reminder that has come due.
async fn mark_waiting(state: &AppState, shop: &str) -> Result<(), NotifyError> {
    for (variant, record) in managed(state, shop).await? {
        crate::books::queue::mark_waiting(&state.books, shop, variant, &record).await?;
    }
    Ok(())
}

/// The variants whose inventory position is at or below their reorder point, once their
/// history is long enough to advise on.
async fn reorder_now(state: &AppState, shop: &str, settings: &ShopSettings) -> Result<Vec<ReorderLine>, NotifyError> {
    let mut out = Vec::new();
    for (variant, record) in managed(state, shop).await? {
        let standing = crate::books::daily::standing_of(&state.books, shop, variant, &record, settings).await?;
        let a = crate::forecast::advise(&standing);
        if a.history_days > crate::forecast::HOLDOUT_DAYS && a.inventory_position <= a.reorder_point as i64 {
            let title = record.title.clone().unwrap_or_else(|| format!("Variant {variant}"));
            out.push(ReorderLine { variant, title, suggested: a.suggested_order_qty, order_by: a.order_by });
        }
    }
    Ok(out)
}

async fn backlog(state: &AppState, shop: &str) -> Result<Vec<DigestLine>, NotifyError> {
    let books = &state.books;
    let today = state.books.today(shop).await?;
    let mut lines = Vec::new();
    for (variant, record) in managed(state, shop).await? {
        let queue = scan(books, shop, variant, &record, None).await?;
        if queue.is_empty() {
            continue;
        }
        let orders: BTreeSet<u64> = queue.iter().map(|e| e.order_id).collect();
        let at_risk = queue
            .iter()
            .filter(|e| e.eta.as_deref().and_then(crate::ledger::eta::parse).is_none_or(|d| d < today))
            .count();
        let oldest_ms = books.get(shop, key::Order(queue[0].order_id)).await?.map(|o| o.created_at_ms);
        lines.push(DigestLine {
            variant,
            units: record.header.backordered(),
            orders: orders.len(),
            oldest_ms,
            at_risk,
        });
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::outbox::human_date;

    #[test]
    fn the_digest_sums_the_backlog_and_names_the_longest_wait_and_the_dates_at_risk() {
        let lines = [
            DigestLine { variant: 1, units: 8, orders: 5, oldest_ms: Some(0), at_risk: 0 },
            DigestLine { variant: 2, units: 3, orders: 1, oldest_ms: Some(2 * 24 * HOUR_MS), at_risk: 2 },
        ];
        let reorder =
            [ReorderLine { variant: 3, title: "Tee - M".into(), suggested: 25, order_by: Some("2026-12-09".into()) }];
        let r = digest("s.myshopify.com", &lines, &reorder, 10 * 24 * HOUR_MS);
        assert_eq!(r.subject, "Backorder digest: 11 units waiting");
        assert!(r.text.contains("11 units waiting across 2 variants"), "{}", r.text);
        assert!(r.text.contains("longest wait so far: 10 days"), "{}", r.text);
        assert!(r.text.contains("2 waiting lines have a promised date"), "{}", r.text);
        assert!(r.text.contains("- variant 2: 3 units for 1 orders, 2 lines at risk"), "{}", r.text);
        assert!(
            r.text.contains("Reorder now") && r.text.contains("- Tee - M (variant 3): order 25 units, by 2026-12-09"),
            "{}",
            r.text
        );
    }

    #[test]
    fn the_next_job_is_the_digest_or_the_reminders_whichever_comes_first() {
        let schedule = Schedule { next_digest_ms: 5_000, next_reminders_ms: 2_000, digests: 0 };
        let off = ShopSettings::default();
        assert_eq!(next_job(&schedule, &off), 5_000, "reminders off: the digest");
        let on = ShopSettings { reminder_days: Some(3), ..ShopSettings::default() };
        assert_eq!(next_job(&schedule, &on), 2_000);
        let later = Schedule { next_reminders_ms: 9_000, ..schedule };
        assert_eq!(next_job(&later, &on), 5_000);
    }

    #[test]
    fn owner_email_html_is_escaped() {
        let r = digest("<b>.myshopify.com", &[], &[], 0);
        assert!(r.html.contains("&lt;b&gt;") && !r.html.contains("<b>"));
    }

    #[test]
    fn a_human_date_reads_as_month_day_year() {
        let d = time::Date::from_calendar_date(2026, time::Month::December, 12).unwrap();
        assert_eq!(human_date(d), "December 12, 2026");
    }
}
