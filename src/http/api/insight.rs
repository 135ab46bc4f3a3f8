//! `GET /api/variants/{id}/insight` (SPEC 10.1): the variant's demand and reorder advice, from
//! its daily record (what customers ordered per day, in stock and on backorder, so a stockout
//! hides nothing) and where its stock stands now.

use actix_web::{HttpResponse, web};
use serde_json::json;

use super::{ApiError, ShopSession, variants};
use crate::books::daily::{Charted, series_of};
use crate::books::key;
use crate::forecast::{Standing, advise};
use crate::ledger::eta::date_in;
use crate::state::AppState;

/// Days of history read at most: two years.
const HISTORY_DAYS: i64 = 730;
/// The lead time assumed when the merchant has set none, as SPEC 10.1's example.
const DEFAULT_LEAD_DAYS: u32 = 14;

pub async fn show(
    session: ShopSession,
    path: web::Path<u64>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (shop, variant) = (session.shop.as_str(), path.into_inner());
    let books = &state.books;
    let record = variants::managed(books, shop, variant).await?;
    let settings = books.get_or_default(shop, key::Settings).await?;
    let today = settings.today();
    // Up to yesterday: today is not over, and a half day would read as a slow one.
    let to = today.previous_day().unwrap_or(today);
    let since = record.daily_since_ms.map_or(today, |ms| date_in(settings.timezone.as_deref(), ms));
    let from = since.max(to.saturating_sub(time::Duration::days(HISTORY_DAYS - 1)));
    let charted = Charted { variant, backordered: record.header.backordered(), since };
    let days = if from <= to {
        series_of(books, shop, &[charted], from, to).await?.remove(&variant).unwrap_or_default()
    } else {
        Vec::new()
    };
    let s = &record.settings;
    let standing = Standing {
        demand: days.iter().map(|d| d.ordered as f64).collect(),
        ordered: days.iter().map(|d| d.ordered).sum(),
        cancelled: days.iter().map(|d| d.cancelled).sum(),
        lead_time_days: s.lead_time_days.unwrap_or(DEFAULT_LEAD_DAYS),
        lead_time_spread: None,
        service_level: settings.service_level(),
        available: record.header.stock,
        backordered: record.header.backordered(),
        incoming: s.supply.iter().map(|b| b.qty).sum(),
        today,
    };
    let advice = advise(&standing);
    let mut body = serde_json::to_value(&advice).map_err(|e| ApiError::Internal(e.to_string()))?;
    body["variant_id"] = json!(variant);
    body["lead_time_set"] = json!(s.lead_time_days.is_some());
    Ok(HttpResponse::Ok().json(body))
}
