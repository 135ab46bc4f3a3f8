//! `GET /api/variants/{id}`: a variant's settings and live state, with its queue.

use actix_web::{HttpResponse, web};
use serde::Serialize;

use super::{ApiError, ShopSession};
use crate::ledger::records::{VariantRecord, decode};
use crate::ledger::rules::OrderRecord;
use crate::state::AppState;
use crate::store::Record;

#[derive(Debug, Serialize)]
struct QueueEntry {
    order_id: u64,
    order_name: String,
    line_item_id: u64,
    backordered: u32,
    /// Backordered units ahead of and including this line's first one (1 = filled next).
    position: u64,
    eta: Option<String>,
}

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

/// The variant's settings, live state and queue, as `GET` answers and `PUT` echoes.
pub async fn respond(state: &AppState, shop: &str, variant: u64) -> Result<HttpResponse, ApiError> {
    let store = &state.store;
    let bytes = store.ledger_get(shop, &[Record::Variant(variant)]).await?.remove(0);
    let record: VariantRecord = decode(bytes.as_deref())
        .map_err(internal)?
        .ok_or_else(|| ApiError::NotFound(format!("variant {variant} is not managed by backorder")))?;
    let header = record.header;

    // The queue is the boundary line and every line after it.
    let mut queue = Vec::new();
    if let Some(boundary) = header.boundary {
        let read = store.ledger_lines(shop, variant, Some(boundary), usize::MAX).await?;
        let mut ahead = 0u64;
        for (key, qty) in read.lines.into_iter().filter(|(k, _)| *k >= boundary) {
            let backordered = header.backordered_of(&key, qty);
            if backordered == 0 {
                continue;
            }
            queue.push(QueueEntry {
                order_id: key.order_id,
                order_name: String::new(),
                line_item_id: key.line_id,
                backordered,
                position: ahead + 1,
                eta: None,
            });
            ahead += u64::from(backordered);
        }
    }
    let orders: Vec<Record> = queue.iter().map(|q| Record::Order(q.order_id)).collect();
    let records = store.ledger_get(shop, &orders).await?;
    for (entry, bytes) in queue.iter_mut().zip(records) {
        let order: Option<OrderRecord> = decode(bytes.as_deref()).map_err(internal)?;
        entry.order_name = order.map(|o| o.name).unwrap_or_default();
    }

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
        "queue": queue,
    })))
}
