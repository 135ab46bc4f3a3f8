//! The overview (`GET /app`, once the shop is installed): the backlog in figures, what needs
//! the merchant now, and the most backordered variants. One batch read of the managed variants'
//! records, whatever the depth of their queues.

use std::collections::BTreeMap;

use actix_web::HttpResponse;
use serde::Serialize;

use super::summary::VariantRow;
use super::{Frame, chart, page, unavailable};
use crate::books::apply::managed_variants;
use crate::books::key;
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
    // The shop's settings, its drift repairs and the changes people undid, in one read.
    let records_read = [crate::store::Record::Settings, crate::store::Record::Drift, crate::store::Record::ByPeople];
    let reads = match state.books.read(shop, &records_read).await {
        Ok(reads) => reads,
        Err(e) => return unavailable(&e),
    };
    let settings = match reads.get(key::Settings) {
        Ok(settings) => settings.unwrap_or_default(),
        Err(e) => return unavailable(&e),
    };
    let series = match crate::http::api::board::days_of(state, shop, &settings, &records).await {
        Ok(series) => series,
        Err(e) => return unavailable(&e),
    };
    let chart = backlog_chart(&series);
    let board = crate::http::api::board::board_of(&records, &series, settings.today());
    let in_demand = InDemand::of(&board);
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
    match other_needs(state, shop, &settings, &reads).await {
        Ok(more) => needs.extend(more),
        Err(e) => return unavailable(&e),
    }
    let mut top: Vec<&VariantRow> = rows.iter().filter(|r| r.waiting > 0).collect();
    top.sort_by(|a, b| b.waiting.cmp(&a.waiting).then(a.id.cmp(&b.id)));
    top.truncate(TOP);
    let frame = Frame::new(state, shop, "/app", "Overview");
    page(
        state,
        shop,
        "pages/overview.html",
        serde_json::json!({"frame": frame, "totals": totals, "needs": needs, "top": top, "chart": chart,
                           "in_demand": in_demand}),
    )
}

/// The shop's units waiting at the end of each of the last 90 days (its calendar), summed over
/// the managed variants' daily records, from the first day one was kept.
fn backlog_chart(series: &BTreeMap<u64, Vec<crate::ledger::daily::SeriesDay>>) -> Option<chart::Chart> {
    let mut totals: BTreeMap<time::Date, u64> = BTreeMap::new();
    for day in series.values().flatten() {
        *totals.entry(day.day).or_default() += day.backordered;
    }
    let points: Vec<(time::Date, u64)> = totals.into_iter().collect();
    chart::backlog(&points)
}

/// The overview's "In demand" card: the product options and the variants customers ordered most
/// in 30 days (in stock and on backorder), the first few of the shop's board (`GET /api/insight`).
#[derive(Debug, Serialize)]
struct InDemand {
    options: Vec<DemandRow>,
    variants: Vec<DemandRow>,
}

#[derive(Debug, Serialize)]
struct DemandRow {
    label: String,
    href: Option<String>,
    demand_7: u64,
    demand_30: u64,
    waiting: u64,
}

impl InDemand {
    fn of(board: &crate::http::api::board::Board) -> Self {
        let rows = |rows: &[crate::http::api::board::Row]| -> Vec<DemandRow> {
            rows.iter()
                .filter(|r| r.demand_30 > 0)
                .take(TOP)
                .map(|r| DemandRow {
                    label: match (&r.option, &r.value, &r.title) {
                        (Some(o), Some(v), _) => format!("{o}: {v}"),
                        (_, _, Some(t)) => t.clone(),
                        _ => String::new(),
                    },
                    href: r.variant_id.map(|id| format!("/app/variants/{id}")),
                    demand_7: r.demand_7,
                    demand_30: r.demand_30,
                    waiting: r.backordered_units,
                })
                .collect()
        };
        Self { options: rows(&board.options_demand), variants: rows(&board.variants_demand) }
    }
}

/// What else needs the merchant: changes put aside, emails of theirs that failed, and this
/// week's repairs and changes by people (each a link to where it is told in full).
async fn other_needs(
    state: &AppState,
    shop: &str,
    settings: &crate::shop::ShopSettings,
    reads: &crate::books::Reads<'_>,
) -> Result<Vec<Need>, crate::books::BookError> {
    let mut needs = Vec::new();
    let plural = |n: usize, one: &str, many: &str| if n == 1 { one.to_string() } else { format!("{n} {many}") };
    match crate::http::api::dead_letters::of_shop(state, shop).await {
        Ok(dead) if !dead.is_empty() => needs.push(Need {
            text: format!(
                "{} could not be done and {} for you to put back",
                plural(dead.len(), "One change", "changes"),
                if dead.len() == 1 { "waits" } else { "wait" }
            ),
            href: "/app/activity#failed".into(),
        }),
        Ok(_) => {}
        Err(e) => tracing::warn!(shop, error = %e, "pages: the dead letters could not be read"),
    }
    if settings.supply_scope_missing.is_some() {
        needs.push(Need {
            text: "Incoming stock on your Shopify transfers is not read: the app needs your permission".into(),
            href: "/app/settings#supply-access".into(),
        });
    }
    for kind in settings.template_failures.keys() {
        needs.push(Need {
            text: format!("Your “{kind}” email failed when it was sent; customers got the built-in one"),
            href: format!("/app/emails?kind={kind}"),
        });
    }
    let week_ago = crate::store::now_ms().saturating_sub(7 * 24 * 3600 * 1000);
    let drift = reads.get(crate::sync::drift::DriftKey)?.unwrap_or_default();
    let repairs = drift.repairs.iter().filter(|r| r.at_ms >= week_ago).count();
    if repairs > 0 {
        needs.push(Need {
            text: format!(
                "The daily check put things right {} this week: webhooks were missed",
                plural(repairs, "once", "times")
            ),
            href: "/app/activity#repairs".into(),
        });
    }
    let people = reads.get(crate::effects::people::ByPeopleKey)?.unwrap_or_default();
    let undone = people.changes.iter().filter(|u| u.at_ms >= week_ago).count();
    if undone > 0 {
        needs.push(Need {
            text: format!("{} of the app's were undone by hand this week", plural(undone, "One change", "changes")),
            href: "/app/activity#people".into(),
        });
    }
    Ok(needs)
}
