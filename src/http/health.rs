//! Liveness, readiness and metrics.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

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

pub async fn metrics(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if let Some(token) = &state.settings.security.metrics_token {
        let given = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let expected = format!("Bearer {}", token.expose());
        if !bool::from(subtle::ConstantTimeEq::ct_eq(given.as_bytes(), expected.as_bytes())) {
            return HttpResponse::Unauthorized()
                .insert_header((header::WWW_AUTHENTICATE, "Bearer"))
                .json(serde_json::json!({ "error": "metrics need the configured bearer token" }));
        }
    }
    // A scrape still answers when the store is down; the queue gauges then keep their last value.
    let stats = state.queue.queue_stats().await.ok();
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(state.metrics.render(stats))
}
