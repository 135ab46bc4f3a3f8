//! The rework of the books after a change of the shop's rules (priority map, counted locations)
//! as a job with progress (`GET /api/jobs/{id}`). It is started by the settings change, and a
//! rework cut short (a restart, a store outage) is taken up again by the shop's next drift
//! pass, or when the merchant opens the settings: nobody has to look for it to finish.

use std::sync::Arc;

use tokio::sync::watch;

use super::jobs::{self, Progress};
use crate::books::rework::{self as books_rework, Rework, rework_shop};
use crate::books::{BookError, Edit, key};
use crate::shop::PendingRework;
use crate::state::AppState;

/// Starts the shop's pending rework as a job unless this process runs it already; its id.
pub async fn resume(state: Arc<AppState>, shop: &str) -> Result<Option<u64>, BookError> {
    let pending = state.books.get_or_default(shop, key::Settings).await?.rework;
    if pending.is_none() || !state.claim_rework(shop) {
        return Ok(None);
    }
    let owned = shop.to_string();
    let started = jobs::start(state.clone(), shop, "rework", move |state, progress| async move {
        let outcome = until_done(&state, &owned, &progress).await;
        state.release_rework(&owned);
        outcome.map_err(|e| e.to_string())
    })
    .await;
    let id = match started {
        Ok(id) => id,
        Err(e) => {
            state.release_rework(shop);
            return Err(e);
        }
    };
    // The job's id with the pending rework, for `GET /api/settings`.
    state
        .books
        .update(shop, key::Settings, |settings| match settings {
            Some(mut settings) if settings.rework.is_some() => {
                settings.rework = settings.rework.map(|r| PendingRework { job: Some(id), ..r });
                Edit::put(settings, ())
            }
            _ => Edit::Leave(()),
        })
        .await?;
    Ok(Some(id))
}

/// Reworks until no rework is pending (a rules change made meanwhile gets its own pass).
async fn until_done(state: &AppState, shop: &str, job: &Progress) -> Result<Option<serde_json::Value>, BookError> {
    let (mut changed, mut checked) = (0, 0);
    loop {
        let Some(pending) = state.books.get_or_default(shop, key::Settings).await?.rework else {
            return Ok(Some(serde_json::json!({"changed": changed, "checked": checked})));
        };
        let rework = Rework { rekey: pending.rekey, recount: pending.recount };
        tracing::info!(shop, revision = pending.revision, ?rework, "settings: reworking the books");
        // Progress flows from the rework's callback to the job record, written as it goes.
        let (tx, mut rx) = watch::channel(books_rework::Progress::default());
        let work = async {
            let done = rework_shop(&state.books, shop, pending.revision, rework, |p| {
                state.set_rework_progress(shop, p);
                let _ = tx.send(p);
            })
            .await;
            drop(tx);
            done
        };
        let report = async {
            while rx.changed().await.is_ok() {
                let p = *rx.borrow_and_update();
                let _ = job.set(p.done, p.total).await;
            }
        };
        let (done, ()) = tokio::join!(work, report);
        let done = done?;
        (changed, checked) = (changed + done.changed, checked + done.total);
        tracing::info!(shop, changed = done.changed, checked = done.total, "settings: books reworked");
        // Clear the mark only if no newer change arrived while this pass ran (its job id may
        // have been noted meanwhile: the revision tells); a newer one is the next round's.
        state
            .books
            .update(shop, key::Settings, |settings| match settings {
                Some(mut settings) if settings.rework.map(|r| r.revision) == Some(pending.revision) => {
                    settings.rework = None;
                    Edit::put(settings, ())
                }
                _ => Edit::Leave(()),
            })
            .await?;
    }
}
