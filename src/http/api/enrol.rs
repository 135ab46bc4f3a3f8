//! `PUT /api/variants/{id}`: enrol a variant or change its settings. Every field is optional;
//! a bad one gets 422 naming it, and nothing changes.

use actix_web::{HttpResponse, web};
use serde_json::Value;

use super::{ApiError, ShopSession, variants};
use crate::books::apply::{Event, map_variant};
use crate::books::{Edit, key};
use crate::ledger::input::VariantInfo;
use crate::ledger::records::{SupplyBatch, VariantSettings};
use crate::platform::reads::variant_info;
use crate::state::AppState;
use crate::store::Mark;

/// Supply batches per variant: every ETA of its queue is matched against them (L7).
const MAX_BATCHES: usize = 100;
/// Variants one shop may manage: shop-wide passes (digests, reminders, reworks) visit each (L7).
const MAX_VARIANTS: usize = 10_000;

pub(super) fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::Invalid { field: field.into(), message: format!("{field} {message}") }
}

pub(super) fn whole(v: &Value, field: &str, max: u64) -> Result<u64, ApiError> {
    v.as_u64().filter(|n| *n <= max).ok_or_else(|| invalid(field, &format!("must be a whole number from 0 to {max}")))
}

/// Applies the body's fields to `settings`, or names the first bad one.
pub fn apply_body(body: &Value, settings: &mut VariantSettings) -> Result<(), ApiError> {
    let fields = body.as_object().ok_or_else(|| invalid("body", "must be a JSON object"))?;
    for (field, v) in fields {
        match field.as_str() {
            "enabled" => settings.enabled = v.as_bool().ok_or_else(|| invalid(field, "must be true or false"))?,
            "discontinued" => {
                settings.discontinued = v.as_bool().ok_or_else(|| invalid(field, "must be true or false"))?
            }
            "cap" => settings.cap = if v.is_null() { None } else { Some(whole(v, field, 1_000_000)?) },
            "cap_mode" => match v.as_str() {
                Some(mode @ ("fixed" | "supply")) => settings.cap_mode = mode.into(),
                _ => return Err(invalid(field, "must be \"fixed\" or \"supply\"")),
            },
            "lead_time_days" => {
                settings.lead_time_days = if v.is_null() { None } else { Some(whole(v, field, 365)? as u32) }
            }
            "handling_days" => settings.handling_days = whole(v, field, 60)? as u32,
            "supply" => {
                let batches = v.as_array().ok_or_else(|| invalid(field, "must be a list of {qty, eta}"))?;
                if batches.len() > MAX_BATCHES {
                    return Err(invalid(field, &format!("must hold at most {MAX_BATCHES} batches")));
                }
                let latest = crate::ledger::eta::latest_supply_date(crate::ledger::eta::today());
                let mut supply = Vec::new();
                for (i, b) in batches.iter().enumerate() {
                    let qty = b.get("qty").and_then(Value::as_u64).filter(|q| (1..=1_000_000).contains(q));
                    let qty =
                        qty.ok_or_else(|| invalid(&format!("supply[{i}].qty"), "must be a whole number from 1"))?;
                    let field = format!("supply[{i}].eta");
                    let eta = b.get("eta").and_then(Value::as_str).filter(|d| is_date(d));
                    let eta = eta.ok_or_else(|| invalid(&field, "must be a date like 2026-12-10"))?;
                    // A far date stands for "unknown": that is an empty plan (or a lead time).
                    if crate::ledger::eta::parse(eta).is_none_or(|d| d > latest) {
                        let latest = crate::ledger::eta::format(latest);
                        let message = format!("must be at most ten years ahead ({latest}); leave it out when unknown");
                        return Err(invalid(&field, &message));
                    }
                    supply.push(SupplyBatch { qty, eta: eta.into() });
                }
                supply.sort_by(|a, b| a.eta.cmp(&b.eta));
                settings.supply = supply;
            }
            // Read-only: what `GET` shows of the variant's live state. A client that sends back
            // what it read is not refused for it; changing them takes an event, not a setting.
            "variant_id" | "inventory_item_id" | "available" | "backordered_units" | "unattributed_units"
            | "policy" | "eta" | "queue" => {}
            _ => return Err(invalid(field, "is not a setting of a variant")),
        }
    }
    Ok(())
}

fn is_date(s: &str) -> bool {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    s.len() == 10 && time::Date::parse(s, format).is_ok()
}

/// The variant's inventory item as the platform knows it; `None` (logged) when the shop has no
/// install here or the platform cannot say right now.
async fn platform_info(state: &AppState, shop: &str, variant: u64) -> Option<VariantInfo> {
    let token = match crate::auth::tokens::access_token(state, shop).await {
        Ok(Some(token)) => token,
        Ok(None) => return None,
        Err(e) => {
            tracing::warn!(shop, error = %e, "enrol: no usable access token for the shop");
            return None;
        }
    };
    match variant_info(&state.platform, shop, &token, variant).await {
        Ok(info) => info,
        Err(e) => {
            tracing::warn!(shop, variant, error = %e, "enrol: cannot read the variant's inventory item; waiting for products/update");
            None
        }
    }
}

pub async fn update(
    session: ShopSession,
    path: web::Path<u64>,
    body: web::Json<Value>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let variant = path.into_inner();
    let shop = session.shop.as_str();
    let books = &state.books;
    // Validate before touching anything.
    apply_body(&body, &mut VariantSettings::default())?;
    // Twice at most: a variant unenrolled between its enrolment and its settings is enrolled
    // again once; a store that is out answers 503 through `?`.
    for _ in 0..2 {
        if books.get(shop, key::Variant(variant)).await?.is_none() {
            if books.get_or_default(shop, key::Variants).await?.len() >= MAX_VARIANTS {
                let message = format!("cannot be enrolled: the shop manages {MAX_VARIANTS} variants, the most allowed");
                return Err(invalid("variant_id", &message));
            }
            // Not managed yet: start its book, with its inventory item read from the platform
            // (or, if that read fails, from the next products/update).
            let info = platform_info(&state, shop, variant).await.unwrap_or(VariantInfo {
                variant_id: variant,
                product_id: 0,
                inventory_item_id: None,
                title: String::new(),
            });
            map_variant(books, &Event::unmarked(shop), &info, true).await?;
        }
        let updated = books
            .update(shop, key::Variant(variant), |record| {
                let Some(mut record) = record else { return Edit::Leave(false) };
                let plan = record.settings.supply.clone();
                // Validated above, so this applies.
                if apply_body(&body, &mut record.settings).is_err() {
                    return Edit::Leave(false);
                }
                // The same plan sent back (a client's read-modify-write) is no new plan.
                if record.settings.supply != plan {
                    // A new plan counts arrivals from now on.
                    record.settings.supply_mark = Some(crate::ledger::eta::stock_position(&record));
                }
                Edit::put(record, true).mark(Mark::Variant(variant))
            })
            .await?;
        if updated {
            return variants::respond(&state, shop, variant).await;
        }
    }
    Err(ApiError::Unavailable)
}
