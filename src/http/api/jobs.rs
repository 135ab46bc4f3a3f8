//! `GET /api/jobs/{id}` and `POST /api/reconcile`: the shop's long jobs, with their progress.
//! A job is stored under its shop, so another shop's id is simply not found.

use actix_web::{HttpResponse, web};
use serde_json::json;

use super::{ApiError, ShopSession};
use crate::state::AppState;
use crate::sync::jobs::{self, Job};
use crate::sync::reconcile::{self, Scope};

pub async fn show(
    session: ShopSession,
    path: web::Path<u64>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let job = jobs::get(&state.books, &session.shop, id).await?;
    let job = job.ok_or_else(|| ApiError::NotFound(format!("job {id} is not a job of this shop")))?;
    Ok(HttpResponse::Ok().json(view(id, &job)))
}

/// A job as the API shows it (SPEC 3.3), with its kind and outcome besides.
pub fn view(id: u64, job: &Job) -> serde_json::Value {
    json!({
        "id": id,
        "kind": job.kind,
        "state": job.state,
        "done": job.done,
        "total": job.total,
        "errors": job.errors,
        "summary": job.summary,
    })
}

/// Starts a full reconcile of the shop now; 202 with the job.
pub async fn reconcile(session: ShopSession, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let shop = session.shop.clone();
    let id = jobs::start(state.into_inner(), &session.shop, "reconcile", move |state, progress| async move {
        let report = reconcile::run(&state, &shop, Scope::Full, |_| {}, Some(&progress)).await;
        let report = report.map_err(|e| e.to_string())?;
        Ok(Some(serde_json::to_value(&report).unwrap_or_default()))
    })
    .await?;
    Ok(HttpResponse::Accepted().json(json!({ "job": id })))
}
