//! `GET /app/variants?filter=…`: the managed variants, filtered by what they are doing (waiting,
//! capped, disabled, discontinued), each with its figures. One batch read of their records.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::summary::VariantRow;
use super::{Frame, PageSession, page, unavailable};
use crate::books::apply::managed_variants;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub(super) struct Query {
    filter: Option<String>,
    /// Words to search the catalogue for, on the platform.
    q: Option<String>,
}

/// A variant the catalogue search found, and whether it is managed already.
#[derive(Debug, Serialize)]
struct Found {
    #[serde(flatten)]
    variant: crate::platform::search::Found,
    managed: bool,
}

/// The catalogue search's results, or why there are none.
async fn search(
    state: &AppState,
    shop: &str,
    words: &str,
    managed: &std::collections::BTreeSet<u64>,
) -> Result<Vec<Found>, &'static str> {
    let token = match crate::auth::tokens::access_token(state, shop).await {
        Ok(Some(token)) => token,
        Ok(None) | Err(_) => {
            return Err("The catalogue cannot be searched: the app has no working access to the shop.");
        }
    };
    match crate::platform::search::variants(&state.platform, shop, &token, words).await {
        Ok(found) => Ok(found
            .into_iter()
            .map(|variant| Found { managed: managed.contains(&variant.variant_id), variant })
            .collect()),
        Err(e) => {
            tracing::warn!(shop, error = %e, "pages: the catalogue search failed");
            Err("The catalogue could not be searched just now. Try again in a moment.")
        }
    }
}

/// Whether a row passes a filter.
type Passes = fn(&VariantRow) -> bool;

/// Filter, label, and whether a row passes it.
const FILTERS: [(&str, &str, Passes); 5] = [
    ("all", "All", |_| true),
    ("waiting", "Waiting", |r| r.waiting > 0),
    ("capped", "Cap reached", |r| r.capped),
    ("disabled", "Disabled", |r| r.status == "Disabled"),
    ("discontinued", "Discontinued", |r| r.status == "Discontinued"),
];

#[derive(Debug, Serialize)]
struct Filter {
    label: &'static str,
    href: String,
    count: usize,
    current: bool,
}

pub(super) async fn list(session: PageSession, query: web::Query<Query>, state: web::Data<AppState>) -> HttpResponse {
    let shop = &session.shop;
    let records = match managed_variants(&state.books, shop).await {
        Ok(records) => records,
        Err(e) => return unavailable(&e),
    };
    let all: Vec<VariantRow> = records.iter().map(|(id, record)| VariantRow::of(*id, record)).collect();
    // An unknown filter shows everything rather than an error: it came from a link.
    let current = FILTERS.iter().position(|(name, ..)| Some(*name) == query.filter.as_deref()).unwrap_or(0);
    let filters: Vec<Filter> = FILTERS
        .iter()
        .enumerate()
        .map(|(i, (name, label, passes))| Filter {
            label,
            href: format!("/app/variants?filter={name}"),
            count: all.iter().filter(|r| passes(r)).count(),
            current: i == current,
        })
        .collect();
    let rows: Vec<VariantRow> = all.into_iter().filter(|r| FILTERS[current].2(r)).collect();
    let words = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let (found, search_error) = match words {
        Some(words) => {
            let ids = records.keys().copied().collect();
            match search(&state, shop, words, &ids).await {
                Ok(found) => (Some(found), None),
                Err(why) => (None, Some(why)),
            }
        }
        None => (None, None),
    };
    let frame = Frame::new(&state, shop, "/app/variants", "Variants");
    page(
        &state,
        shop,
        "pages/variants.html",
        serde_json::json!({
            "frame": frame, "filters": filters, "rows": rows, "managed": records.len(),
            "q": words.unwrap_or_default(), "found": found, "search_error": search_error,
        }),
    )
}
