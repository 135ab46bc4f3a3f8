//! `POST /api/variants/{id}/plan-preview`: what a change of the variant's settings (its supply
//! batches, lead time, handling days) would do to the ETAs of the lines waiting now, before it
//! is saved (SPEC 11). The body is the one `PUT /api/variants/{id}` takes, checked the same way;
//! nothing is written. The first 1,000 waiting lines are compared; the changes of the first 25
//! are listed by order.

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::enrol::{apply_body, refuse_past_batches};
use super::{ApiError, ShopSession, queue, variants};
use crate::books::key;
use crate::books::queue::{PAGE, scan_page};
use crate::ledger::eta;
use crate::state::AppState;

/// Changed lines listed by order.
const LISTED: usize = 25;

pub async fn show(
    session: ShopSession,
    path: web::Path<u64>,
    body: web::Json<Value>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (shop, variant) = (session.shop.as_str(), path.into_inner());
    let books = &state.books;
    let record = variants::managed(books, shop, variant).await?;
    let today = books.get_or_default(shop, key::Settings).await?.today();
    let mut changed = record.clone();
    apply_body(&body, &mut changed.settings)?;
    refuse_past_batches(&body, &record.settings.supply, today)?;
    if changed.settings.supply != record.settings.supply {
        // As a save would: a new plan counts arrivals from now on.
        changed.settings.supply_mark = Some(eta::stock_position(&record));
    }
    let (lines, _) = scan_page(books, shop, variant, &record, None, PAGE).await?;
    let (mut earlier, mut later, mut same) = (0u64, 0u64, 0u64);
    let mut moved = Vec::new();
    for l in &lines {
        let before = eta::line_eta(&record, l.position, l.backordered, today);
        let after = eta::line_eta(&changed, l.position, l.backordered, today);
        match (before, after) {
            (b, a) if b == a => same += 1,
            (Some(b), Some(a)) if a < b => earlier += 1,
            (None, Some(_)) => earlier += 1,
            _ => later += 1,
        }
        if before != after && moved.len() < LISTED {
            moved.push((l.clone(), before, after));
        }
    }
    let mut named: Vec<_> = moved.iter().map(|(l, ..)| l.clone()).collect();
    queue::name_orders(books, shop, &mut named).await?;
    let changes: Vec<Value> = named
        .iter()
        .zip(&moved)
        .map(|(l, (_, before, after))| {
            json!({
                "order_id": l.order_id, "order_name": l.order_name, "position": l.position,
                "from": before.map(eta::format), "to": after.map(eta::format),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "variant_id": variant,
        "lines": lines.len(),
        "earlier": earlier,
        "later": later,
        "same": same,
        "changes": changes,
        "new_order_eta": eta::new_order_eta(&changed, today).map(eta::format),
    })))
}
