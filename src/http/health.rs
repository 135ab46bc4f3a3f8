//! Liveness, readiness and metrics.

use actix_web::{HttpResponse, web};

use crate::state::AppState;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// Ready when the store answers: without it no webhook can be acknowledged.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match state.store.ping().await {
        Ok(()) => HttpResponse::Ok().json(serde_json::json!({ "status": "ready", "store": state.store.backend() })),
        Err(e) => {
            tracing::warn!(error = %e, "not ready: store unreachable");
            HttpResponse::ServiceUnavailable().json(serde_json::json!({ "status": "store unreachable" }))
        }
    }
}

pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    // A scrape still answers when the store is down; the queue gauges then keep their last value.
    let stats = state.store.queue_stats().await.ok();
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(state.metrics.render(stats))
}
