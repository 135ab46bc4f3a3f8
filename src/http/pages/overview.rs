//! The overview (`GET /app`, once the shop is installed): the backlog in figures, what needs
//! the merchant now, and the most backordered variants. One batch read of the managed variants'
//! records, whatever the depth of their queues.

use actix_web::HttpResponse;
use serde::Serialize;

use super::summary::VariantRow;
use super::{Frame, page, unavailable};
use crate::books::apply::managed_variants;
use crate::state::AppState;

/// Variants in the "most backordered" table.
const TOP: usize = 5;

#[derive(Debug, Default, Serialize)]
struct Totals {
    units: u64,
    managed: usize,
    waiting_variants: usize,
    capped: usize,
    selling: usize,
}

#[derive(Debug, Serialize)]
struct Need {
    text: String,
    href: String,
}

/// The overview of `shop`, whose session the caller verified.
pub async fn overview_page(state: &AppState, shop: &str) -> HttpResponse {
    let records = match managed_variants(&state.books, shop).await {
        Ok(records) => records,
        Err(e) => return unavailable(&e),
    };
    let rows: Vec<VariantRow> = records.iter().map(|(id, record)| VariantRow::of(*id, record)).collect();
    let totals = Totals {
        units: rows.iter().map(|r| r.waiting).sum(),
        managed: rows.len(),
        waiting_variants: rows.iter().filter(|r| r.waiting > 0).count(),
        capped: rows.iter().filter(|r| r.capped).count(),
        selling: rows.iter().filter(|r| r.selling).count(),
    };
    let mut needs = Vec::new();
    if totals.capped > 0 {
        let text = match totals.capped {
            1 => "1 variant reached its cap and stopped selling".to_string(),
            n => format!("{n} variants reached their cap and stopped selling"),
        };
        needs.push(Need { text, href: "/app/variants?filter=capped".into() });
    }
    let mut top: Vec<&VariantRow> = rows.iter().filter(|r| r.waiting > 0).collect();
    top.sort_by(|a, b| b.waiting.cmp(&a.waiting).then(a.id.cmp(&b.id)));
    top.truncate(TOP);
    let frame = Frame::new(state, shop, "/app", "Overview");
    page(
        state,
        shop,
        "pages/overview.html",
        serde_json::json!({"frame": frame, "totals": totals, "needs": needs, "top": top}),
    )
}
