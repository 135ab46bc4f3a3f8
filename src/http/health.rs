//! Liveness, readiness and metrics.

use actix_web::{HttpResponse, web};

use crate::state::AppState;

/// Alive while every background task of the process can run: a sweeper or a queue worker that
/// keeps failing makes the process useless although it still answers HTTP.
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let down = state.liveness.down();
    if down.is_empty() {
        HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
    } else {
        HttpResponse::ServiceUnavailable().json(serde_json::json!({ "status": "degraded", "tasks_down": down }))
    }
}

/// Ready when the store answers: without it no webhook can be acknowledged.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match state.queue.ping().await {
        Ok(()) => HttpResponse::Ok().json(serde_json::json!({ "status": "ready", "store": state.queue.backend() })),
        Err(e) => {
            tracing::warn!(error = %e, "not ready: store unreachable");
            HttpResponse::ServiceUnavailable().json(serde_json::json!({ "status": "store unreachable" }))
        }
    }
}

pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    // A scrape still answers when the store is down; the queue gauges then keep their last value.
    let stats = state.queue.queue_stats().await.ok();
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(state.metrics.render(stats))
}
