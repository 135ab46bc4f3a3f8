//! The operator endpoints of a service on the embedded store: `backorder dlq …` and
//! `backorder reconcile …`, run by this process for a CLI that cannot open the store while it
//! runs (`operator::handoff`). Answered only to a loopback peer with the token this process made
//! at start; anyone else gets 404, as if they did not exist.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use crate::operator::{self, Outcome};
use crate::state::AppState;

pub(super) fn routes(r: &mut crate::http::routes::Routes<'_>) {
    use crate::http::routes::Access;
    use actix_web::http::Method;
    r.route(Method::GET, "/operator/dlq", Access::Operator, dlq_list)
        .route(Method::POST, "/operator/dlq/replay", Access::Operator, dlq_replay)
        .route(Method::POST, "/operator/reconcile", Access::Operator, reconcile);
}

fn allowed(req: &HttpRequest, state: &AppState) -> bool {
    let Some(token) = state.operator_token.get() else { return false };
    let loopback = req.peer_addr().is_some_and(|a| a.ip().is_loopback());
    let given =
        req.headers().get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    loopback
        && given.is_some_and(|g| bool::from(subtle::ConstantTimeEq::ct_eq(g.as_bytes(), token.expose().as_bytes())))
}

fn answer(outcome: Outcome) -> HttpResponse {
    HttpResponse::Ok().json(outcome)
}

fn hidden() -> HttpResponse {
    HttpResponse::NotFound().finish()
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    limit: Option<usize>,
}

async fn dlq_list(req: HttpRequest, q: web::Query<ListQuery>, state: web::Data<AppState>) -> HttpResponse {
    if !allowed(&req, &state) {
        return hidden();
    }
    answer(operator::dlq::list(state.queue.as_ref(), q.limit.unwrap_or(100).min(10_000)).await)
}

#[derive(Debug, Deserialize)]
pub struct ReplayQuery {
    id: Option<String>,
}

async fn dlq_replay(req: HttpRequest, q: web::Query<ReplayQuery>, state: web::Data<AppState>) -> HttpResponse {
    if !allowed(&req, &state) {
        return hidden();
    }
    answer(operator::dlq::replay(state.queue.as_ref(), q.id.as_deref()).await)
}

#[derive(Debug, Deserialize)]
pub struct ShopQuery {
    shop: Option<String>,
}

async fn reconcile(req: HttpRequest, q: web::Query<ShopQuery>, state: web::Data<AppState>) -> HttpResponse {
    if !allowed(&req, &state) {
        return hidden();
    }
    answer(operator::reconcile::run(&state, q.shop.clone()).await)
}
