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
use crate::ledger::eta::date_in;
use crate::state::AppState;

/// Rows of each ranking.
const TOP: usize = 100;

#[derive(Debug, Clone, Default, Serialize)]
struct Row {
    #[serde(skip_serializing_if = "Option::is_none")]
    variant_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    option: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    variants: Option<usize>,
    backordered_units: u64,
    demand_7: u64,
    demand_30: u64,
    demand_90: u64,
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

pub async fn show(session: ShopSession, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let shop = session.shop.as_str();
    let books = &state.books;
    let settings = books.get_or_default(shop, key::Settings).await?;
    let today = settings.today();
    let from = today.saturating_sub(time::Duration::days(89));
    let managed = crate::books::apply::managed_variants(books, shop).await?;
    let charted: Vec<Charted> = managed
        .iter()
        .map(|(id, r)| Charted {
            variant: *id,
            backordered: r.header.backordered(),
            since: r.daily_since_ms.map_or(today, |ms| date_in(settings.timezone.as_deref(), ms)),
        })
        .collect();
    let series = series_of(books, shop, &charted, from, today).await?;
    let mut variants = Vec::new();
    let mut options: BTreeMap<(String, String), Row> = BTreeMap::new();
    for (id, record) in &managed {
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
    Ok(HttpResponse::Ok().json(json!({
        "days": {"from": crate::ledger::eta::format(from), "to": crate::ledger::eta::format(today)},
        "variants": {"by_backordered": variants_waiting, "by_demand": variants_demand},
        "options": {"by_backordered": options_waiting, "by_demand": options_demand},
    })))
}
