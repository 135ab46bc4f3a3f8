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
use crate::ledger::rules::{OrderRecord, ShopRules};
use crate::state::AppState;
use crate::store::Record;

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

/// A batch the platform expects (SPEC 10.2), as the variant page shows it.
#[derive(Debug, Serialize)]
struct PlatformBatch {
    /// The platform's id, which a date override is sent with.
    id: String,
    name: String,
    qty: u64,
    /// The platform's date; empty when it has none.
    platform_eta: String,
    /// The merchant's date in its place; empty when none.
    eta_override: String,
    /// Incoming units on no transfer (a purchase order's): flagged for the merchant.
    unexplained: bool,
    /// Its place in the list, for its field's id.
    index: usize,
}

impl PlatformBatch {
    fn of((index, b): (usize, &crate::ledger::records::SupplyBatch)) -> Self {
        let unexplained = b.id.as_deref() == Some(crate::ledger::records::INCOMING);
        Self {
            id: b.id.clone().unwrap_or_default(),
            name: b.name.clone().unwrap_or_else(|| "A shipment".into()),
            qty: b.qty,
            platform_eta: b.platform_eta.clone().unwrap_or_default(),
            eta_override: b.eta_override.clone().unwrap_or_default(),
            unexplained,
            index,
        }
    }
}

#[derive(Debug, Serialize)]
struct Line {
    position: u64,
    order_name: String,
    units: u32,
    eta: String,
    /// `PUT` here moves the order ahead (or gives it back its tags' class).
    priority_action: String,
    /// The merchant gave the order its class by hand.
    by_hand: bool,
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
    let (front, more) = match scan_page(&state.books, shop, id, &record, after, FRONT).await {
        Ok(page) => page,
        Err(e) => return unavailable(&e),
    };
    let (orders, rules) = match orders_of(&state, shop, &front).await {
        Ok(read) => read,
        Err(e) => return unavailable(&e),
    };
    // "Fill first" gives a class above every class the shop's tags give and every one in this
    // queue: the order goes to the front, and the stock that comes goes to it first.
    let tags_top = rules.priority_tags.values().copied().max().unwrap_or(0).max(0);
    let front_class = front.iter().map(|l| l.key.priority).max().unwrap_or(0).max(tags_top).saturating_add(1);
    let queue: Vec<Line> = front
        .into_iter()
        .map(|l| {
            let order = orders.get(&l.order_id);
            Line {
                position: l.position,
                order_name: order
                    .map(|o| o.name.clone())
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| format!("Order {}", l.order_id)),
                units: l.backordered,
                priority_action: format!("/api/orders/{}/priority", l.order_id),
                by_hand: order.is_some_and(|o| o.priority_override.is_some()),
                eta: l.eta.unwrap_or_else(|| "not known yet".into()),
            }
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
        // The merchant's own batches; the platform's are listed apart, with their dates.
        supply: s.supply.iter().filter(|b| !b.is_platform()).map(|b| format!("{} {}\n", b.qty, b.eta)).collect(),
    };
    let platform: Vec<PlatformBatch> =
        s.supply.iter().filter(|b| b.is_platform()).enumerate().map(PlatformBatch::of).collect();
    let scope_missing = state.books.get_or_default(shop, key::Settings).await.ok().and_then(|s| s.supply_scope_missing);
    let advice = match advice_of(&state, shop, id, &record).await {
        Ok(advice) => advice,
        Err(e) => return unavailable(&e),
    };
    let row = VariantRow::of(id, &record);
    let frame = Frame::new(&state, shop, "/app/variants", "Variant");
    let ctx = serde_json::json!({
        "frame": frame, "v": row, "values": values, "queue": queue, "front_class": front_class,
        "advice": advice,
        "unexplained": platform.iter().any(|b| b.unexplained), "platform": platform, "scope_missing": scope_missing,
        "next": more.map(|r| format!("/app/variants/{id}?after={}", Cursor { variant: id, after: Some(r) }.encode())),
        "paged": after.is_some(),
        "front": FRONT, "action": format!("/api/variants/{id}"),
    });
    page(&state, shop, "pages/variant.html", ctx)
}

/// The reorder advice (SPEC 10.1) as the page words it.
#[derive(Debug, Serialize)]
struct AdviceText {
    demand: String,
    reorder_point: String,
    suggested: String,
    order_by: String,
    cover: String,
    /// What it rests on: the history, the method, the lead time and the service level.
    basis: String,
}

async fn advice_of(
    state: &AppState,
    shop: &str,
    variant: u64,
    record: &crate::ledger::records::VariantRecord,
) -> Result<AdviceText, crate::books::BookError> {
    let settings = state.books.get_or_default(shop, key::Settings).await?;
    let standing = crate::books::daily::standing_of(&state.books, shop, variant, record, &settings).await?;
    let a = crate::forecast::advise(&standing);
    let lead =
        if record.settings.lead_time_days.is_some() { "its lead time" } else { "an assumed lead time (set one below)" };
    Ok(AdviceText {
        demand: format!("{:.1} a day", a.demand_per_day),
        reorder_point: format!("{} units", a.reorder_point),
        suggested: format!("{} units", a.suggested_order_qty),
        order_by: a.order_by.unwrap_or_else(|| "no demand expected".into()),
        cover: a.days_of_cover.map_or_else(|| "no demand expected".into(), |d| format!("{d} days")),
        basis: format!(
            "From {} days of orders ({}), {lead} of {} days and a {:.0} % service level.",
            a.history_days,
            a.method.name(),
            a.lead_time_days,
            a.service_level * 100.0
        ),
    })
}

/// The orders of a page of the queue, by id, and the shop's rules, in one read.
async fn orders_of(
    state: &AppState,
    shop: &str,
    lines: &[crate::books::queue::QueuedLine],
) -> Result<(std::collections::HashMap<u64, OrderRecord>, ShopRules), crate::books::BookError> {
    let mut records: Vec<Record> = lines.iter().map(|l| Record::Order(l.order_id)).collect();
    records.push(Record::Rules);
    let reads = state.books.read(shop, &records).await?;
    let mut orders = std::collections::HashMap::new();
    for l in lines {
        if let Some(order) = reads.get(key::Order(l.order_id))? {
            orders.insert(l.order_id, order);
        }
    }
    Ok((orders, reads.get(key::Rules)?.unwrap_or_default()))
}
