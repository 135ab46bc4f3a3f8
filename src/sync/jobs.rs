//! Long jobs of a shop (an enrolment's order read, a reconcile): they run as tasks of the
//! process that started them and keep their state and progress in the shop's books, so any
//! instance answers `GET /api/jobs/{id}` and a merchant sees progress, not a spinner.
//!
//! A job that stops being heard from (its process died) is reported as failed after
//! [`SILENT`]: its work is idempotent, so starting it again, or the next drift pass, finishes it.

use std::collections::VecDeque;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use serde::{Deserialize, Serialize};

use crate::books::{BookError, Books, Change, Edit};
use crate::record_key;
use crate::state::AppState;
use crate::store::{Record, now_ms};

/// A running job that has not reported for this long is taken as interrupted.
pub const SILENT: u64 = 5 * 60 * 1000;
/// Errors kept per job: enough to act on, bounded for the record.
const MAX_ERRORS: usize = 20;
/// Jobs kept per shop; the oldest beyond this are forgotten.
const KEPT: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Running,
    Done,
    Failed,
}

/// A job as stored, and as `GET /api/jobs/{id}` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// `onboarding` (an enrolment's read of open orders) or `reconcile`.
    pub kind: String,
    pub state: JobState,
    pub done: u64,
    pub total: u64,
    pub errors: Vec<String>,
    pub started_ms: u64,
    /// When the job last reported.
    pub beat_ms: u64,
    #[serde(default)]
    pub finished_ms: Option<u64>,
    /// A short account of the outcome, for the merchant (what was found and repaired).
    #[serde(default)]
    pub summary: Option<serde_json::Value>,
}

impl Job {
    /// The job as it stands at `now`: a running job silent for too long has failed.
    pub fn as_of(mut self, now: u64) -> Self {
        if self.state == JobState::Running && now.saturating_sub(self.beat_ms) > SILENT {
            self.state = JobState::Failed;
            self.errors.push("interrupted: the service stopped while it ran; start it again".into());
        }
        self
    }
}

record_key!(
    /// One job of the shop.
    JobKey(u64) => Job, Record::Job
);
record_key!(
    /// The shop's latest job ids, oldest first.
    JobsKey => VecDeque<u64>, Record::Jobs
);

/// The running job's handle: reports progress and errors into its record.
#[derive(Clone)]
pub struct Progress {
    books: Books,
    shop: String,
    id: u64,
}

impl Progress {
    pub fn id(&self) -> u64 {
        self.id
    }

    /// `done` of `total` steps so far.
    pub async fn set(&self, done: u64, total: u64) -> Result<(), BookError> {
        self.edit(|job| {
            job.done = done;
            job.total = total.max(done);
        })
        .await
    }

    /// One step that failed while the job goes on (a variant that could not be enrolled).
    pub async fn error(&self, message: String) -> Result<(), BookError> {
        self.edit(|job| {
            // Kept short: a job over thousands of variants must not grow a record without end.
            if job.errors.len() < 100 {
                job.errors.push(message.clone());
            }
        })
        .await
    }

    async fn edit(&self, mut f: impl FnMut(&mut Job)) -> Result<(), BookError> {
        self.books
            .update(&self.shop, JobKey(self.id), |job| {
                let Some(mut job) = job else { return Edit::Leave(()) };
                f(&mut job);
                job.beat_ms = now_ms();
                Edit::put(job, ())
            })
            .await
    }

    async fn finish(&self, outcome: Result<Option<serde_json::Value>, String>) -> Result<(), BookError> {
        self.edit(|job| {
            job.finished_ms = Some(now_ms());
            match &outcome {
                Ok(summary) => {
                    job.state = JobState::Done;
                    job.done = job.done.max(job.total);
                    job.summary = summary.clone();
                }
                Err(message) => {
                    job.state = JobState::Failed;
                    if job.errors.len() < MAX_ERRORS {
                        job.errors.push(message.clone());
                    }
                }
            }
        })
        .await
    }
}

/// Records a new running job of `kind` and runs `work` as a task of its own; answers the job's
/// id at once. `work` answers a summary for the merchant, or why it failed. A panic in it fails
/// the job (and only the job).
pub async fn start<F, Fut>(state: Arc<AppState>, shop: &str, kind: &str, work: F) -> Result<u64, BookError>
where
    F: FnOnce(Arc<AppState>, Progress) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Option<serde_json::Value>, String>> + Send + 'static,
{
    // Ids stay below 2^53 so a browser reads them back exactly.
    let id = fastrand::u64(1..1 << 53);
    let now = now_ms();
    let job = Job {
        kind: kind.to_string(),
        state: JobState::Running,
        done: 0,
        total: 0,
        errors: Vec::new(),
        started_ms: now,
        beat_ms: now,
        finished_ms: None,
        summary: None,
    };
    let books = state.books.clone();
    books.commit(shop, Change::unchecked().put(JobKey(id), &job)).await?;
    let evicted = books
        .update(shop, JobsKey, |ids| {
            let mut ids = ids.unwrap_or_default();
            ids.push_back(id);
            let extra = ids.len().saturating_sub(KEPT);
            let evicted: Vec<u64> = ids.drain(..extra).collect();
            Edit::put(ids, evicted)
        })
        .await?;
    if !evicted.is_empty() {
        let change = evicted.iter().fold(Change::unchecked(), |c, old| c.remove(JobKey(*old)));
        books.commit(shop, change).await?;
    }
    let progress = Progress { books, shop: shop.to_string(), id };
    tokio::spawn(async move {
        let outcome = match AssertUnwindSafe(work(state, progress.clone())).catch_unwind().await {
            Ok(outcome) => outcome,
            Err(_) => Err("internal error: the job stopped unexpectedly".to_string()),
        };
        if let Err(e) = &outcome {
            tracing::warn!(shop = %progress.shop, job = progress.id, error = %e, "job failed");
        }
        if let Err(e) = progress.finish(outcome).await {
            tracing::warn!(shop = %progress.shop, job = progress.id, error = %e, "job: cannot record its end");
        }
    });
    Ok(id)
}

/// The shop's job `id` as it stands now; `None` when the shop has no such job.
pub async fn get(books: &Books, shop: &str, id: u64) -> Result<Option<Job>, BookError> {
    Ok(books.get(shop, JobKey(id)).await?.map(|job| job.as_of(now_ms())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn running(beat_ms: u64) -> Job {
        Job {
            kind: "reconcile".into(),
            state: JobState::Running,
            done: 3,
            total: 10,
            errors: vec![],
            started_ms: 0,
            beat_ms,
            finished_ms: None,
            summary: None,
        }
    }

    #[test]
    fn a_running_job_that_went_silent_reads_as_failed_and_says_why() {
        let job = running(1_000).as_of(1_000 + SILENT + 1);
        assert_eq!(job.state, JobState::Failed);
        assert!(job.errors[0].contains("interrupted"));
        assert_eq!(running(1_000).as_of(1_000 + SILENT).state, JobState::Running);
    }
}
