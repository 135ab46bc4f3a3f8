//! `GET /api/variants/{id}`: a variant's settings and live state, with its queue.

use actix_web::{HttpResponse, web};

use super::{ApiError, ShopSession, queue};
use crate::books::{Books, key};
use crate::ledger::records::VariantRecord;
use crate::state::AppState;

pub async fn show(
    session: ShopSession,
    path: web::Path<u64>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    respond(&state, &session.shop, path.into_inner()).await
}

/// The variant's record, or 404 when backorder does not manage it.
pub async fn managed(books: &Books, shop: &str, variant: u64) -> Result<VariantRecord, ApiError> {
    books
        .get(shop, key::Variant(variant))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("variant {variant} is not managed by backorder")))
}

/// The variant's settings, live state and queue, as `GET` answers and `PUT` echoes.
pub async fn respond(state: &AppState, shop: &str, variant: u64) -> Result<HttpResponse, ApiError> {
    let record = managed(&state.books, shop, variant).await?;
    let header = record.header;

    let queue = queue::read(&state.books, shop, variant, &record, None).await?;
    let today = state.books.today(shop).await?;

    let settings = &record.settings;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "variant_id": variant,
        "enabled": settings.enabled,
        "discontinued": settings.discontinued,
        "cap": settings.cap,
        "cap_mode": settings.cap_mode,
        "lead_time_days": settings.lead_time_days,
        "handling_days": settings.handling_days,
        "supply": settings.supply,
        "inventory_item_id": record.inventory_item_id,
        "available": header.stock,
        "backordered_units": header.backordered(),
        "unattributed_units": header.unattributed(),
        "policy": settings.policy(header.backordered()),
        // The ETA a new order would get now (the storefront's and the metafield's).
        "eta": crate::ledger::eta::new_order_eta(&record, today).map(crate::ledger::eta::format),
        "queue": queue,
        // The order read of its enrolment (`GET /api/jobs/{id}`), and whether its stock is known.
        "onboarding": record.onboarding_job.map(|job| serde_json::json!({"job": job})),
        "levels_read": record.levels_read,
    })))
}
