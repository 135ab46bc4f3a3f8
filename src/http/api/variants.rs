//! `GET /api/variants/{id}`: a variant's settings and live state, with its queue.

use actix_web::{HttpResponse, web};

use super::{ApiError, ShopSession, queue};
use crate::ledger::records::{VariantRecord, decode};
use crate::state::AppState;
use crate::store::{Record, Store};

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(e.to_string())
}

pub async fn show(
    session: ShopSession,
    path: web::Path<u64>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    respond(&state, &session.shop, path.into_inner()).await
}

/// The variant's record, or 404 when backorder does not manage it.
pub async fn managed(store: &dyn Store, shop: &str, variant: u64) -> Result<VariantRecord, ApiError> {
    let bytes = store.ledger_get(shop, &[Record::Variant(variant)]).await?.remove(0);
    decode(bytes.as_deref())
        .map_err(internal)?
        .ok_or_else(|| ApiError::NotFound(format!("variant {variant} is not managed by backorder")))
}

/// The variant's settings, live state and queue, as `GET` answers and `PUT` echoes.
pub async fn respond(state: &AppState, shop: &str, variant: u64) -> Result<HttpResponse, ApiError> {
    let store = &state.store;
    let record = managed(store.as_ref(), shop, variant).await?;
    let header = record.header;

    let queue = queue::read(store.as_ref(), shop, variant, &record, None).await?;

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
        "eta": crate::notify::eta::new_order_eta(&record, crate::notify::eta::today()).map(crate::notify::eta::format),
        "queue": queue,
    })))
}
