//! `GET /api/backorders`: every open backordered line of the shop, by variant and queue order.

use std::collections::BTreeSet;

use actix_web::{HttpResponse, web};
use serde::Serialize;

use super::{ApiError, ShopSession, queue};
use crate::ledger::records::{VariantRecord, decode};
use crate::state::AppState;
use crate::store::Record;

#[derive(Debug, Serialize)]
struct Line {
    variant_id: u64,
    #[serde(flatten)]
    entry: queue::QueueEntry,
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(e.to_string())
}

pub async fn list(session: ShopSession, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let (store, shop) = (state.store.as_ref(), session.shop.as_str());
    let managed = store.ledger_get(shop, &[Record::Variants]).await?.remove(0);
    let variants: Vec<u64> =
        decode::<BTreeSet<u64>>(managed.as_deref()).map_err(internal)?.unwrap_or_default().into_iter().collect();
    let records = store.ledger_get(shop, &variants.iter().map(|v| Record::Variant(*v)).collect::<Vec<_>>()).await?;
    let (mut lines, mut backordered, mut unattributed) = (Vec::new(), 0u64, 0u64);
    for (variant, bytes) in variants.iter().zip(records) {
        let Some(record) = decode::<VariantRecord>(bytes.as_deref()).map_err(internal)? else { continue };
        backordered += record.header.backordered();
        unattributed += record.header.unattributed();
        let queue = queue::read(store, shop, *variant, &record, None).await?;
        lines.extend(queue.into_iter().map(|entry| Line { variant_id: *variant, entry }));
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "backorders": lines,
        "backordered_units": backordered,
        "unattributed_units": unattributed,
    })))
}
