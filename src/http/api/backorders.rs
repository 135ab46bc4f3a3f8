//! `GET /api/backorders`: every open backordered line of the shop, by variant and queue order.

use actix_web::{HttpResponse, web};
use serde::Serialize;

use super::{ApiError, ShopSession, queue};
use crate::books::apply::managed_variants;
use crate::state::AppState;

#[derive(Debug, Serialize)]
struct Line {
    variant_id: u64,
    #[serde(flatten)]
    entry: queue::QueuedLine,
}

pub async fn list(session: ShopSession, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let (books, shop) = (&state.books, session.shop.as_str());
    let (mut lines, mut backordered, mut unattributed) = (Vec::new(), 0u64, 0u64);
    for (variant, record) in managed_variants(books, shop).await? {
        backordered += record.header.backordered();
        unattributed += record.header.unattributed();
        let queue = queue::read(books, shop, variant, &record, None).await?;
        lines.extend(queue.into_iter().map(|entry| Line { variant_id: variant, entry }));
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "backorders": lines,
        "backordered_units": backordered,
        "unattributed_units": unattributed,
    })))
}
