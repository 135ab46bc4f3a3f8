//! Unenrolment gives the store back (SPEC 9): the variant gets the policy it had before it was
//! enrolled and loses our date; the orders that waited on it lose our tags and holds (unless
//! another managed variant still keeps them waiting). The books stop managing it at once; the
//! lines of its book are cleared by a job, whose marks bring the orders' effects along.

use std::sync::Arc;

use super::jobs::Progress;
use crate::books::unmanage::{clear_lines, unmanage};
use crate::books::{BookError, Edit};
use crate::effects::AppliedVariantKey;
use crate::effects::desired::Restore;
use crate::state::AppState;

/// Lines cleared per commit.
const PAGE: usize = 500;

/// Stops managing `variant`, recording what its effects give back; `false`: it was not managed.
pub async fn unenrol(state: &AppState, shop: &str, variant: u64) -> Result<bool, BookError> {
    let Some(record) = state.books.get(shop, crate::books::key::Variant(variant)).await? else { return Ok(false) };
    // Before the variant leaves the books: its mark finds what to give back.
    let restore = Restore { policy: record.policy_before.clone(), product: record.product_id };
    state
        .books
        .update(shop, AppliedVariantKey(variant), |applied| {
            let mut applied = applied.unwrap_or_default();
            applied.restore = Some(restore.clone());
            Edit::put(applied, ())
        })
        .await?;
    Ok(unmanage(&state.books, shop, variant).await?.is_some())
}

/// The job that clears the unmanaged variant's book, a page at a time.
pub async fn clear_book(
    state: Arc<AppState>,
    progress: Progress,
    shop: String,
    variant: u64,
) -> Result<Option<serde_json::Value>, String> {
    let mut cleared = 0u64;
    loop {
        let n = clear_lines(&state.books, &shop, variant, PAGE).await.map_err(|e| e.to_string())?;
        cleared += n as u64;
        progress.set(cleared, cleared + u64::from(n == PAGE)).await.map_err(|e| e.to_string())?;
        if n < PAGE {
            break;
        }
    }
    Ok(Some(serde_json::json!({ "lines_cleared": cleared })))
}

/// "Remove everything" (SPEC 9): every managed variant unenrolled and its book cleared, one after
/// another, as one job whose progress counts the variants.
pub async fn unenrol_all(
    state: Arc<AppState>,
    progress: Progress,
    shop: String,
) -> Result<Option<serde_json::Value>, String> {
    let managed = state.books.get_or_default(&shop, crate::books::key::Variants).await.map_err(|e| e.to_string())?;
    let total = managed.len() as u64;
    progress.set(0, total).await.map_err(|e| e.to_string())?;
    let (mut unenrolled, mut cleared) = (0u64, 0u64);
    for (done, variant) in managed.into_iter().enumerate() {
        if unenrol(&state, &shop, variant).await.map_err(|e| e.to_string())? {
            unenrolled += 1;
        }
        loop {
            let n = clear_lines(&state.books, &shop, variant, PAGE).await.map_err(|e| e.to_string())?;
            cleared += n as u64;
            if n < PAGE {
                break;
            }
        }
        progress.set(done as u64 + 1, total).await.map_err(|e| e.to_string())?;
    }
    Ok(Some(serde_json::json!({ "variants_unenrolled": unenrolled, "lines_cleared": cleared })))
}
