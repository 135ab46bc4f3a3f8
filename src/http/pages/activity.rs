//! `GET /app/activity`: what went wrong and can be tried again: the shop's dead letters (a
//! webhook that could not be processed, a change the platform kept refusing), each with a
//! button that puts it back (`POST /api/dead-letters/{id}/replay`); then what the app did (its
//! changes on the platform, the emails it sent), its jobs with their progress, what drift repair
//! put right and what people undid by hand (`history`).

use actix_web::{HttpResponse, web};
use serde::Serialize;

use super::history::{self, Names, Row};
use super::{Frame, PageSession, page};
use crate::books::BookError;
use crate::books::log::LogKey;
use crate::effects::people::ByPeopleKey;
use crate::state::AppState;
use crate::store::{Buried, Mark, Record};
use crate::sync::drift::DriftKey;
use crate::sync::jobs::{JobKey, JobState, JobsKey};

/// Lines of the log shown, newest first.
const SHOWN: usize = 50;

#[derive(Debug, Serialize)]
struct JobRow {
    what: String,
    state: &'static str,
    done: u64,
    total: u64,
    when: String,
    errors: String,
}

#[derive(Debug, Serialize)]
struct Letter {
    id: String,
    kind: &'static str,
    what: String,
    when: String,
    reason: String,
    action: String,
}

/// What an effect was about, in the merchant's words: an order by its name (`#1004`) when the
/// books still hold it.
fn about(mark: &Mark, names: &Names) -> String {
    match mark {
        Mark::Order(id) => format!("Tags and holds of {}", names.order(*id)),
        Mark::Variant(id) => format!("Selling policy and date of variant {id}"),
        Mark::Mail(id) => format!("Email about {}", names.order(*id)),
        Mark::ShopMail => "An email to you".into(),
    }
}

/// A moment as the merchant reads it: the shop's date and time, with its zone's abbreviation
/// (SPEC 11: dates are the shop's). No zone, or one the database does not know, is UTC.
fn when_in(zone: Option<&str>, ms: u64) -> String {
    let tz = zone.and_then(|z| jiff::tz::TimeZone::get(z).ok()).unwrap_or(jiff::tz::TimeZone::UTC);
    let Ok(at) = jiff::Timestamp::from_millisecond(i64::try_from(ms).unwrap_or(i64::MAX)) else { return String::new() };
    at.to_zoned_datetime(tz).strftime("%Y-%m-%d %H:%M %Z").to_string()
}

pub(super) async fn show(session: PageSession, state: web::Data<AppState>) -> HttpResponse {
    let shop = &session.shop;
    let dead = match crate::http::api::dead_letters::of_shop(&state, shop).await {
        Ok(letters) => letters,
        Err(e) => {
            tracing::warn!(shop, error = %e, "pages: the dead letters could not be read");
            return super::unavailable_page();
        }
    };
    match account(&state, shop, &dead).await {
        Ok(ctx) => page(&state, shop, "pages/activity.html", ctx),
        Err(e) => super::unavailable(&e),
    }
}

/// Everything the page shows, read in a few round trips.
async fn account(
    state: &AppState,
    shop: &str,
    dead: &[crate::store::DeadLetter],
) -> Result<serde_json::Value, BookError> {
    let books = &state.books;
    let reads =
        books.read(shop, &[Record::Log, Record::Drift, Record::ByPeople, Record::Jobs, Record::Settings]).await?;
    let zone = reads.get(crate::books::key::Settings)?.unwrap_or_default().timezone;
    let when = |ms: u64| when_in(zone.as_deref(), ms);
    let log = reads.get(LogKey)?.unwrap_or_default();
    let drift = reads.get(DriftKey)?.unwrap_or_default();
    let people = reads.get(ByPeopleKey)?.unwrap_or_default();
    let job_ids = reads.get(JobsKey)?.unwrap_or_default();
    let recent: Vec<_> = log.entries.iter().rev().take(SHOWN).cloned().collect();
    let undone: Vec<_> = people.changes.iter().rev().cloned().collect();
    let (mut orders, variants) = history::named(&recent, &undone);
    orders.extend(dead.iter().filter_map(|d| match &d.buried {
        Buried::Effect { mark: Mark::Order(id) | Mark::Mail(id), .. } => Some(*id),
        _ => None,
    }));
    let names = Names::read(books, shop, orders, variants).await?;

    let letters: Vec<Letter> = dead
        .iter()
        .rev()
        .map(|d| {
            let (kind, what) = match &d.buried {
                Buried::Webhook(envelope) => ("Webhook", format!("{} from Shopify", envelope.meta.topic)),
                Buried::Effect { mark, .. } => ("Change", about(mark, &names)),
            };
            Letter {
                id: d.id.clone(),
                kind,
                what,
                when: when(d.failed_at_ms),
                reason: d.reason.clone(),
                action: format!("/api/dead-letters/{}/replay", d.id),
            }
        })
        .collect();
    let done: Vec<Row> =
        recent.iter().map(|e| Row { when: when(e.at_ms), text: history::describe(e, &names) }).collect();
    let repairs: Vec<Row> =
        drift.repairs.iter().rev().map(|r| Row { when: when(r.at_ms), text: history::repaired(r) }).collect();
    let by_people: Vec<Row> =
        undone.iter().map(|u| Row { when: when(u.at_ms), text: history::undone(u, &names) }).collect();
    let job_records: Vec<Record> = job_ids.iter().rev().map(|id| Record::Job(*id)).collect();
    let job_reads = books.read(shop, &job_records).await?;
    let now = crate::store::now_ms();
    let mut jobs = Vec::new();
    for id in job_ids.iter().rev() {
        if let Some(job) = job_reads.get(JobKey(*id))? {
            let job = job.as_of(now);
            jobs.push(JobRow {
                what: job_label(&job.kind),
                state: match job.state {
                    JobState::Running => "Running",
                    JobState::Done => "Done",
                    JobState::Failed => "Stopped",
                },
                done: job.done,
                total: job.total.max(job.done),
                when: when(job.started_ms),
                errors: job.errors.join("; "),
            });
        }
    }
    let frame = Frame::new(state, shop, "/app/activity", "Activity");
    Ok(serde_json::json!({
        "frame": frame, "letters": letters, "done": done, "jobs": jobs, "repairs": repairs, "people": by_people,
    }))
}

/// A job's kind in words.
fn job_label(kind: &str) -> String {
    match kind {
        "onboarding" => "Reading the orders open when variants were enrolled".into(),
        "enrolment" => "Enrolling variants".into(),
        "unenrolment" => "Unenrolling a variant".into(),
        "removal" => "Removing everything the app put on the store".into(),
        "reconcile" => "Checking the books against Shopify".into(),
        "rework" => "Re-ordering the queues after a settings change".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::when_in;

    #[test]
    fn a_moment_reads_in_the_shops_zone_with_its_abbreviation() {
        assert_eq!(when_in(Some("America/New_York"), 1_764_892_800_000), "2025-12-04 19:00 EST");
        assert_eq!(when_in(None, 1_764_892_800_000), "2025-12-05 00:00 UTC");
        assert_eq!(when_in(Some("Not/AZone"), 1_764_892_800_000), "2025-12-05 00:00 UTC");
    }
}
