//! `GET /api/variants/{id}/preview?units=N`: which lines N arriving units would fill. Reads
//! only as much of the queue as N units can reach, and changes nothing.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::enrol::invalid;
use super::{ApiError, ShopSession, queue, variants};
use crate::ledger::preview::{Waiting, preview};
use crate::state::AppState;

/// Taken as text so a bad value gets the API's 422 naming the field, not a framework error.
#[derive(Debug, Deserialize)]
pub struct Query {
    units: Option<String>,
}

const MAX_UNITS: u64 = 1_000_000;

pub async fn show(
    session: ShopSession,
    path: web::Path<u64>,
    query: web::Query<Query>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let units = query
        .units
        .as_deref()
        .and_then(|u| u.parse::<u64>().ok())
        .filter(|u| *u <= MAX_UNITS)
        .ok_or_else(|| invalid("units", &format!("must be a whole number from 0 to {MAX_UNITS}")))?;
    let variant = path.into_inner();
    let books = &state.books;
    let record = variants::managed(books, &session.shop, variant).await?;
    let header = record.header;
    // Units first go to unattributed backlog, so the queue needs reading only that far past it.
    let reach = units.saturating_sub(header.unattributed());
    let lines = queue::read(books, &session.shop, variant, &record, Some(reach)).await?;
    let waiting: Vec<Waiting<queue::QueuedLine>> =
        lines.into_iter().map(|l| Waiting { backordered: l.backordered, line: l }).collect();
    let p = preview(units, header.unattributed(), header.backordered(), &waiting);
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "variant_id": variant,
        "units": units,
        "fills": p.fills,
        "unattributed_filled": p.unattributed_filled,
        "still_backordered": p.still_backordered,
        "left_in_stock": p.left_in_stock,
    })))
}
