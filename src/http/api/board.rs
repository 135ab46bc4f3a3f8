//! `GET /api/insight` (SPEC 10.1): what is in demand across the shop. Managed variants and their
//! product options (size, colour, …) ranked by units waiting and by demand over 7, 30 and 90 days
//! (units ordered, in stock and on backorder, from the daily record; today included).

use std::collections::BTreeMap;

use actix_web::HttpResponse;
use actix_web::web;
use serde::Serialize;
use serde_json::json;

use super::{ApiError, ShopSession};
use crate::books::daily::{Charted, series_of};
use crate::books::key;
use crate::state::AppState;

/// Rows of each ranking.
const TOP: usize = 100;

#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Row {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub option: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variants: Option<usize>,
    pub backordered_units: u64,
    pub demand_7: u64,
    pub demand_30: u64,
    pub demand_90: u64,
}

impl Row {
    fn add(&mut self, other: &Row) {
        self.backordered_units += other.backordered_units;
        self.demand_7 += other.demand_7;
        self.demand_30 += other.demand_30;
        self.demand_90 += other.demand_90;
        self.variants = Some(self.variants.unwrap_or(0) + 1);
    }
}

/// The two rankings of `rows`: by units waiting, then by demand over 30 days (each breaking the
/// other's ties, then the 7 days).
fn ranked(rows: &[Row]) -> (Vec<Row>, Vec<Row>) {
    let mut waiting = rows.to_vec();
    waiting.sort_by(|a, b| {
        (b.backordered_units, b.demand_30, b.demand_7).cmp(&(a.backordered_units, a.demand_30, a.demand_7))
    });
    let mut demand = rows.to_vec();
    demand.sort_by(|a, b| {
        (b.demand_30, b.demand_7, b.backordered_units).cmp(&(a.demand_30, a.demand_7, a.backordered_units))
    });
    waiting.truncate(TOP);
    demand.truncate(TOP);
    (waiting, demand)
}

/// The shop's board: each ranking of variants and of options.
#[derive(Debug, Serialize)]
pub(crate) struct Board {
    pub variants_waiting: Vec<Row>,
    pub variants_demand: Vec<Row>,
    pub options_waiting: Vec<Row>,
    pub options_demand: Vec<Row>,
}

/// The board of `managed` from their daily `series` (90 days to `today`, as the overview's
/// chart reads them too).
pub(crate) fn board_of(
    managed: &BTreeMap<u64, crate::ledger::records::VariantRecord>,
    series: &BTreeMap<u64, Vec<crate::ledger::daily::SeriesDay>>,
    today: time::Date,
) -> Board {
    let mut variants = Vec::new();
    let mut options: BTreeMap<(String, String), Row> = BTreeMap::new();
    for (id, record) in managed {
        let days = series.get(id).map(Vec::as_slice).unwrap_or_default();
        let since = |n: i64| {
            let first = today.saturating_sub(time::Duration::days(n - 1));
            days.iter().filter(|d| d.day >= first).map(|d| d.ordered).sum::<u64>()
        };
        let row = Row {
            variant_id: Some(*id),
            title: Some(record.title.clone().unwrap_or_else(|| format!("Variant {id}"))),
            backordered_units: record.header.backordered(),
            demand_7: since(7),
            demand_30: since(30),
            demand_90: since(90),
            ..Row::default()
        };
        for (name, value) in &record.options {
            let entry = options.entry((name.clone(), value.clone())).or_insert_with(|| Row {
                option: Some(name.clone()),
                value: Some(value.clone()),
                ..Row::default()
            });
            entry.add(&row);
        }
        variants.push(row);
    }
    let options: Vec<Row> = options.into_values().collect();
    let (variants_waiting, variants_demand) = ranked(&variants);
    let (options_waiting, options_demand) = ranked(&options);
    Board { variants_waiting, variants_demand, options_waiting, options_demand }
}

/// The managed variants' days from 89 days before `today`, as the board and the chart read them.
pub(crate) async fn days_of(
    state: &AppState,
    shop: &str,
    settings: &crate::shop::ShopSettings,
    managed: &BTreeMap<u64, crate::ledger::records::VariantRecord>,
) -> Result<BTreeMap<u64, Vec<crate::ledger::daily::SeriesDay>>, crate::books::BookError> {
    let today = settings.today();
    let charted: Vec<Charted> = managed.iter().map(|(id, r)| Charted::of(*id, r, settings)).collect();
    series_of(&state.books, shop, &charted, today.saturating_sub(time::Duration::days(DAYS - 1)), today).await
}

/// Days the board (and the overview's chart) covers, today included.
pub(crate) const DAYS: i64 = 90;

pub async fn show(session: ShopSession, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let shop = session.shop.as_str();
    let settings = state.books.get_or_default(shop, key::Settings).await?;
    let managed = crate::books::apply::managed_variants(&state.books, shop).await?;
    let series = days_of(&state, shop, &settings, &managed).await?;
    let today = settings.today();
    let board = board_of(&managed, &series, today);
    let from = today.saturating_sub(time::Duration::days(DAYS - 1));
    Ok(HttpResponse::Ok().json(json!({
        "days": {"from": crate::ledger::eta::format(from), "to": crate::ledger::eta::format(today)},
        "variants": {"by_backordered": board.variants_waiting, "by_demand": board.variants_demand},
        "options": {"by_backordered": board.options_waiting, "by_demand": board.options_demand},
    })))
}
