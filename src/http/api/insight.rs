//! `GET /api/variants/{id}/insight` (SPEC 10.1): the variant's demand and reorder advice, from
//! its daily record (what customers ordered per day, in stock and on backorder, so a stockout
//! hides nothing) and where its stock stands now.

use actix_web::{HttpResponse, web};
use serde_json::json;

use super::{ApiError, ShopSession, variants};
use crate::books::daily::standing_of;
use crate::books::key;
use crate::forecast::advise;
use crate::state::AppState;

pub async fn show(
    session: ShopSession,
    path: web::Path<u64>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (shop, variant) = (session.shop.as_str(), path.into_inner());
    let books = &state.books;
    let record = variants::managed(books, shop, variant).await?;
    let settings = books.get_or_default(shop, key::Settings).await?;
    let standing = standing_of(books, shop, variant, &record, &settings).await?;
    let advice = advise(&standing);
    let mut body = serde_json::to_value(&advice).map_err(|e| ApiError::Internal(e.to_string()))?;
    body["variant_id"] = json!(variant);
    body["lead_time_set"] = json!(record.settings.lead_time_days.is_some());
    Ok(HttpResponse::Ok().json(body))
}
