//! `PUT /api/variants/{id}`: enrol a variant or change its settings. Every field is optional;
//! a bad one gets 422 naming it, and nothing changes.

use actix_web::{HttpResponse, web};
use serde_json::Value;

use super::{ApiError, ShopSession, variants};
use crate::books::{Edit, key};
use crate::ledger::records::{SupplyBatch, VariantSettings, sort_supply};
use crate::state::AppState;
use crate::store::Mark;
use crate::sync::jobs;
use crate::sync::onboard::{EmailExisting, ExistingOrders, Started, onboard_orders, start_book};

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
            "supply" => apply_supply(v, settings)?,
            // Read-only: what `GET` shows of the variant's live state. A client that sends back
            // what it read is not refused for it; changing them takes an event, not a setting.
            "variant_id" | "inventory_item_id" | "available" | "backordered_units" | "unattributed_units"
            | "policy" | "eta" | "queue" | "onboarding" | "levels_read" => {}
            // Read by the enrolment itself (`existing_orders`), not a lasting setting.
            "existing_orders" => {
                existing_orders(v)?;
            }
            _ => return Err(invalid(field, "is not a setting of a variant")),
        }
    }
    Ok(())
}

/// `supply`: the merchant's batches, replaced by those sent; the platform's, matched by id, of
/// which only the merchant's date override is read (SPEC 10.2).
fn apply_supply(v: &Value, settings: &mut VariantSettings) -> Result<(), ApiError> {
    let batches = v.as_array().ok_or_else(|| invalid("supply", "must be a list of {qty, eta}"))?;
    if batches.len() > MAX_BATCHES {
        return Err(invalid("supply", &format!("must hold at most {MAX_BATCHES} batches")));
    }
    let mut supply = Vec::new();
    let mut overrides = std::collections::BTreeMap::new();
    for (i, b) in batches.iter().enumerate() {
        let platform = b.get("source").and_then(Value::as_str) == Some("platform");
        if platform || b.get("id").is_some_and(|id| !id.is_null()) {
            let id = b.get("id").and_then(Value::as_str);
            let id = id.ok_or_else(|| invalid(&format!("supply[{i}].id"), "must name the platform's batch"))?;
            if let Some(o) = b.get("eta_override") {
                let date = if o.is_null() { None } else { Some(supply_date(o, &format!("supply[{i}].eta_override"))?) };
                overrides.insert(id.to_string(), date);
            }
            continue;
        }
        let qty = b.get("qty").and_then(Value::as_u64).filter(|q| (1..=1_000_000).contains(q));
        let qty = qty.ok_or_else(|| invalid(&format!("supply[{i}].qty"), "must be a whole number from 1"))?;
        let eta = supply_date(b.get("eta").unwrap_or(&Value::Null), &format!("supply[{i}].eta"))?;
        supply.push(SupplyBatch::merchant(qty, &eta));
    }
    // A platform batch gone since the page was read has no date to override: nothing to do.
    for b in settings.supply.iter_mut().filter(|b| b.is_platform()) {
        if let Some(o) = b.id.as_ref().and_then(|id| overrides.get(id)) {
            b.eta_override = o.clone();
            b.eta = o.clone().or_else(|| b.platform_eta.clone()).unwrap_or_default();
        }
    }
    settings.supply.retain(SupplyBatch::is_platform);
    settings.supply.extend(supply);
    sort_supply(&mut settings.supply);
    Ok(())
}

/// A supply date: a day, at most ten years ahead.
fn supply_date(v: &Value, field: &str) -> Result<String, ApiError> {
    // Ten years ahead: the shop's time zone cannot move that bound by a day that matters.
    let latest = crate::ledger::eta::latest_supply_date(crate::ledger::eta::today(None));
    let eta = v.as_str().filter(|d| is_date(d)).ok_or_else(|| invalid(field, "must be a date like 2026-12-10"))?;
    // A far date stands for "unknown": that is an empty plan (or a lead time).
    if crate::ledger::eta::parse(eta).is_none_or(|d| d > latest) {
        let latest = crate::ledger::eta::format(latest);
        return Err(invalid(field, &format!("must be at most ten years ahead ({latest}); leave it out when unknown")));
    }
    Ok(eta.to_string())
}

/// The merchant's own batches: a change of them is a new plan, whose arrivals count from then.
pub fn merchant_plan(supply: &[SupplyBatch]) -> Vec<&SupplyBatch> {
    supply.iter().filter(|b| !b.is_platform()).collect()
}

/// `existing_orders` of an enrolment: `{"tag": bool, "hold": bool, "email": "after_install" |
/// "all" | "none"}`, each field optional (SPEC 9's defaults otherwise).
pub fn existing_orders(v: &Value) -> Result<ExistingOrders, ApiError> {
    let mut choice = ExistingOrders::default();
    let fields = v.as_object().ok_or_else(|| invalid("existing_orders", "must be an object of tag, hold and email"))?;
    for (field, v) in fields {
        let name = format!("existing_orders.{field}");
        match field.as_str() {
            "tag" => choice.tag = v.as_bool().ok_or_else(|| invalid(&name, "must be true or false"))?,
            "hold" => choice.hold = v.as_bool().ok_or_else(|| invalid(&name, "must be true or false"))?,
            "email" => {
                choice.email = serde_json::from_value::<EmailExisting>(v.clone())
                    .map_err(|_| invalid(&name, "must be \"after_install\", \"all\" or \"none\""))?
            }
            _ => return Err(invalid(&name, "is not a choice for existing orders (tag, hold, email)")),
        }
    }
    Ok(choice)
}

/// Refuses a supply batch dated before the shop's `today` unless the variant's plan `kept`
/// holds it already: a date that has passed tells no customer anything true, but a plan read
/// back unchanged (an overdue batch among them) must be accepted as it was read.
pub fn refuse_past_batches(body: &Value, kept: &[SupplyBatch], today: time::Date) -> Result<(), ApiError> {
    let Some(batches) = body.get("supply").and_then(Value::as_array) else { return Ok(()) };
    for (i, b) in batches.iter().enumerate() {
        let past = |d: &str| crate::ledger::eta::parse(d).is_some_and(|d| d < today);
        let refuse = |field: &str| {
            let today = crate::ledger::eta::format(today);
            Err(invalid(&format!("supply[{i}].{field}"), &format!("has passed: give today ({today}) or later")))
        };
        if let Some(id) = b.get("id").and_then(Value::as_str) {
            // A platform batch: only its override is the merchant's to give.
            let Some(o) = b.get("eta_override").and_then(Value::as_str) else { continue };
            if past(o) && !kept.iter().any(|k| k.id.as_deref() == Some(id) && k.eta_override.as_deref() == Some(o)) {
                return refuse("eta_override");
            }
            continue;
        }
        let (qty, eta) = (b.get("qty").and_then(Value::as_u64), b.get("eta").and_then(Value::as_str));
        let (Some(qty), Some(eta)) = (qty, eta) else { continue };
        if past(eta) && !kept.iter().any(|k| !k.is_platform() && k.qty == qty && k.eta == eta) {
            return refuse("eta");
        }
    }
    Ok(())
}

fn is_date(s: &str) -> bool {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    s.len() == 10 && time::Date::parse(s, format).is_ok()
}

pub async fn update(
    session: ShopSession,
    path: web::Path<u64>,
    body: web::Json<Value>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let variant = path.into_inner();
    let shop = session.shop.as_str();
    // Validate before touching anything.
    apply_body(&body, &mut VariantSettings::default())?;
    let kept = state.books.get(shop, key::Variant(variant)).await?.map(|r| r.settings.supply).unwrap_or_default();
    refuse_past_batches(&body, &kept, state.books.get_or_default(shop, key::Settings).await?.today())?;
    let choice = body.get("existing_orders").map(existing_orders).transpose()?.unwrap_or_default();
    let started = enrol_one(&state, shop, variant, &body).await?;
    if started.is_some_and(|s| s != Started::NotInstalled) {
        onboard(&state, shop, [variant].into(), choice).await?;
    }
    variants::respond(&state, shop, variant).await
}

/// Enrols `variant` (its book started from the platform) or changes its settings with `body`,
/// already validated. `Some`: how a new book was started; `None`: it was managed already.
pub(super) async fn enrol_one(
    state: &AppState,
    shop: &str,
    variant: u64,
    body: &Value,
) -> Result<Option<Started>, ApiError> {
    let books = &state.books;
    let mut started = None;
    // Twice at most: a variant unenrolled between its enrolment and its settings is enrolled
    // again once; a store that is out answers 503 through `?`.
    for _ in 0..2 {
        if books.get(shop, key::Variant(variant)).await?.is_none() {
            if books.get_or_default(shop, key::Variants).await?.len() >= MAX_VARIANTS {
                let message = format!("cannot be enrolled: the shop manages {MAX_VARIANTS} variants, the most allowed");
                return Err(invalid("variant_id", &message));
            }
            // Not managed yet: start its book from the platform (item, policy, levels), before
            // answering, so the storefront never answers from a guess.
            started = match start_book(state, shop, variant).await? {
                Some(started) => Some(started),
                None => return Err(invalid("variant_id", "is not a variant of this shop")),
            };
        }
        let updated = books
            .update(shop, key::Variant(variant), |record| {
                let Some(mut record) = record else { return Edit::Leave(false) };
                let plan = record.settings.supply.clone();
                // Validated above, so this applies.
                if apply_body(body, &mut record.settings).is_err() {
                    return Edit::Leave(false);
                }
                // The same plan sent back (a client's read-modify-write) is no new plan, nor is
                // a date given to a platform batch (whose receipts moved the mark already).
                if merchant_plan(&record.settings.supply) != merchant_plan(&plan) {
                    // A new plan counts arrivals from now on.
                    if record.supply_rule < crate::ledger::records::SUPPLY_RULE {
                        record.supply_rule = crate::ledger::records::SUPPLY_RULE;
                        record.counted_since_ms = crate::store::now_ms() as i64;
                    }
                    record.settings.supply_mark = Some(crate::ledger::eta::stock_position(&record));
                }
                Edit::put(record, true).mark(Mark::Variant(variant))
            })
            .await?;
        if updated {
            return Ok(started);
        }
    }
    Err(ApiError::Unavailable)
}

/// Starts the job that books the orders already open for newly enrolled variants, and keeps its
/// id on each (`GET` shows it). Its id.
pub(super) async fn onboard(
    state: &web::Data<AppState>,
    shop: &str,
    variants: std::collections::BTreeSet<u64>,
    choice: ExistingOrders,
) -> Result<u64, ApiError> {
    let owned = shop.to_string();
    let each = variants.clone();
    let job = jobs::start(state.clone().into_inner(), shop, "onboarding", move |state, progress| {
        onboard_orders(state, progress, owned, variants, choice)
    })
    .await?;
    for variant in each {
        state
            .books
            .update(shop, key::Variant(variant), |record| match record {
                Some(mut record) => {
                    record.onboarding_job = Some(job);
                    Edit::put(record, ())
                }
                None => Edit::Leave(()),
            })
            .await?;
    }
    Ok(job)
}

/// `DELETE /api/variants/{id}`: unenrols the variant (SPEC 9). It stops being managed at once
/// (`GET` answers 404, the storefront shows no badge); its policy from before enrolment comes
/// back, our date, tags and holds go, through the effects; a job clears its book. 202 with the job.
pub async fn remove(
    session: ShopSession,
    path: web::Path<u64>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let variant = path.into_inner();
    let shop = session.shop.clone();
    if !crate::sync::offboard::unenrol(&state, &shop, variant).await? {
        return Err(ApiError::NotFound(format!("variant {variant} is not managed by backorder")));
    }
    let owned = shop.clone();
    let job = jobs::start(state.into_inner(), &shop, "unenrolment", move |state, progress| {
        crate::sync::offboard::clear_book(state, progress, owned, variant)
    })
    .await?;
    Ok(HttpResponse::Accepted().json(serde_json::json!({ "job": job })))
}
