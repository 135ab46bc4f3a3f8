//! `GET /app/variants/{id}?after=…`: one managed variant: its figures, its settings as a form
//! (sent to `PUT /api/variants/{id}`, each refused field's message next to it), and its queue
//! with positions and ETAs a page at a time from the front (`after`: the cursor of the page
//! before), so the page costs the same at any depth.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::summary::VariantRow;
use super::{Frame, PageSession, page, unavailable};
use crate::books::key;
use crate::books::queue::scan_page;
use crate::http::api::backorders::Cursor;
use crate::state::AppState;

/// Waiting lines shown per page of the queue.
const FRONT: usize = 25;

#[derive(Debug, Deserialize)]
pub(super) struct Query {
    after: Option<String>,
}

#[derive(Debug, Serialize)]
struct Values {
    enabled: bool,
    discontinued: bool,
    cap: String,
    supply_cap: bool,
    lead_time_days: String,
    handling_days: u32,
    /// One `qty date` per line.
    supply: String,
}

#[derive(Debug, Serialize)]
struct Line {
    position: u64,
    order_name: String,
    units: u32,
    eta: String,
}

pub(super) async fn show(
    session: PageSession,
    path: web::Path<u64>,
    query: web::Query<Query>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let (shop, id) = (&session.shop, path.into_inner());
    // A cursor of another variant, or none this page gave, starts at the front.
    let after = query.after.as_deref().and_then(Cursor::parse).filter(|c| c.variant == id).and_then(|c| c.after);
    let record = match state.books.get(shop, key::Variant(id)).await {
        Ok(Some(record)) => record,
        Ok(None) => return super::not_found(&state, shop, "This variant is not managed by Backorder."),
        Err(e) => return unavailable(&e),
    };
    let (mut front, more) = match scan_page(&state.books, shop, id, &record, after, FRONT).await {
        Ok(page) => page,
        Err(e) => return unavailable(&e),
    };
    if crate::http::api::queue::name_orders(&state.books, shop, &mut front).await.is_err() {
        tracing::warn!(shop, variant = id, "pages: the queue's order names could not be read");
    }
    let queue: Vec<Line> = front
        .into_iter()
        .map(|l| Line {
            position: l.position,
            order_name: if l.order_name.is_empty() { format!("Order {}", l.order_id) } else { l.order_name },
            units: l.backordered,
            eta: l.eta.unwrap_or_else(|| "not known yet".into()),
        })
        .collect();
    let s = &record.settings;
    let values = Values {
        enabled: s.enabled,
        discontinued: s.discontinued,
        cap: s.cap.map(|c| c.to_string()).unwrap_or_default(),
        supply_cap: s.cap_mode == "supply",
        lead_time_days: s.lead_time_days.map(|d| d.to_string()).unwrap_or_default(),
        handling_days: s.handling_days,
        supply: s.supply.iter().map(|b| format!("{} {}\n", b.qty, b.eta)).collect(),
    };
    let row = VariantRow::of(id, &record);
    let frame = Frame::new(&state, shop, "/app/variants", "Variant");
    let ctx = serde_json::json!({
        "frame": frame, "v": row, "values": values, "queue": queue,
        "next": more.map(|r| format!("/app/variants/{id}?after={}", Cursor { variant: id, after: Some(r) }.encode())),
        "paged": after.is_some(),
        "front": FRONT, "action": format!("/api/variants/{id}"),
    });
    page(&state, shop, "pages/variant.html", ctx)
}
