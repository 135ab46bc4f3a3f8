//! `POST /api/enrolments`: many variants enrolled at once (SPEC 3.3), as a job. The body names
//! them one way (`variant_ids`, `product_ids`, or `out_of_stock: true` for every variant at or
//! below zero available) and carries any field of the variant body, applied to each. It is
//! checked whole before the job starts: a bad field is a 422 naming it, and nothing changes.
//! One read of the open orders then serves every variant the job enrolled.

use std::collections::BTreeSet;

use actix_web::{HttpResponse, web};
use serde_json::{Map, Value, json};

use super::enrol::{apply_body, enrol_one, existing_orders, invalid, onboard, refuse_past_batches};
use super::{ApiError, ShopSession};
use crate::ledger::records::VariantSettings;
use crate::state::AppState;
use crate::sync::jobs::{self, Progress};
use crate::sync::onboard::{ExistingOrders, Started};

/// Variants or products one request may name.
const MAX_IDS: usize = 10_000;

/// Which variants a bulk enrolment takes.
#[derive(Debug, Clone)]
enum Target {
    Variants(Vec<u64>),
    Products(Vec<u64>),
    OutOfStock,
}

pub async fn create(
    session: ShopSession,
    body: web::Json<Value>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let mut fields: Map<String, Value> = match body.into_inner() {
        Value::Object(fields) => fields,
        _ => return Err(invalid("body", "must be a JSON object")),
    };
    let named: Vec<&str> =
        ["variant_ids", "product_ids", "out_of_stock"].into_iter().filter(|k| fields.contains_key(*k)).collect();
    let target = match named.as_slice() {
        ["variant_ids"] => Target::Variants(ids(&fields, "variant_ids")?),
        ["product_ids"] => Target::Products(ids(&fields, "product_ids")?),
        ["out_of_stock"] if fields["out_of_stock"] == true => Target::OutOfStock,
        ["out_of_stock"] => return Err(invalid("out_of_stock", "must be true")),
        _ => return Err(invalid("variant_ids", "or product_ids or out_of_stock: give exactly one")),
    };
    for key in named {
        fields.remove(key);
    }
    let settings = Value::Object(fields);
    apply_body(&settings, &mut VariantSettings::default())?;
    // A plan for many variants at once is a new plan for each: no date of it may have passed.
    let today = state.books.get_or_default(&session.shop, crate::books::key::Settings).await?.today();
    refuse_past_batches(&settings, &[], today)?;
    let choice = settings.get("existing_orders").map(existing_orders).transpose()?.unwrap_or_default();
    let shop = session.shop.clone();
    let app = state.clone();
    let id = jobs::start(state.into_inner(), &session.shop, "enrolment", move |_, progress| async move {
        enrol_many(&app, &shop, target, &settings, choice, &progress).await
    })
    .await?;
    Ok(HttpResponse::Accepted().json(json!({ "job": id })))
}

fn ids(fields: &Map<String, Value>, field: &str) -> Result<Vec<u64>, ApiError> {
    let list = fields[field].as_array().ok_or_else(|| invalid(field, "must be a list of numeric ids"))?;
    if list.is_empty() || list.len() > MAX_IDS {
        return Err(invalid(field, &format!("must hold from 1 to {MAX_IDS} ids")));
    }
    let mut ids: Vec<u64> = list
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_u64().filter(|n| *n > 0).ok_or_else(|| invalid(&format!("{field}[{i}]"), "must be a numeric id"))
        })
        .collect::<Result<_, _>>()?;
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// The job: finds the variants, enrols each (a failure is reported and the rest go on), then
/// starts one onboarding job for those newly enrolled.
async fn enrol_many(
    state: &web::Data<AppState>,
    shop: &str,
    target: Target,
    settings: &Value,
    choice: ExistingOrders,
    progress: &Progress,
) -> Result<Option<Value>, String> {
    let fail = |e: &dyn std::fmt::Display| e.to_string();
    let variants = match target {
        Target::Variants(ids) => ids,
        Target::Products(products) => search(state, shop, &catalogue_query(&products)).await?,
        Target::OutOfStock => search(state, shop, "inventory_quantity:<=0").await?,
    };
    let total = variants.len() as u64;
    progress.set(0, total).await.map_err(|e| fail(&e))?;
    let (mut enrolled, mut updated, mut new) = (0, 0, BTreeSet::new());
    for (n, variant) in variants.iter().enumerate() {
        match enrol_one(state, shop, *variant, settings).await {
            Ok(Some(started)) => {
                enrolled += 1;
                if started != Started::NotInstalled {
                    new.insert(*variant);
                }
            }
            Ok(None) => updated += 1,
            Err(e) => progress.error(format!("variant {variant}: {e}")).await.map_err(|e| fail(&e))?,
        }
        progress.set(n as u64 + 1, total).await.map_err(|e| fail(&e))?;
    }
    let onboarding =
        if new.is_empty() { None } else { Some(onboard(state, shop, new, choice).await.map_err(|e| fail(&e))?) };
    Ok(Some(json!({"found": total, "enrolled": enrolled, "updated": updated, "onboarding_job": onboarding})))
}

/// `product_ids:1,2,3`, Shopify's search term for the variants of those products.
fn catalogue_query(products: &[u64]) -> String {
    let list: Vec<String> = products.iter().map(u64::to_string).collect();
    format!("product_ids:{}", list.join(","))
}

async fn search(state: &AppState, shop: &str, query: &str) -> Result<Vec<u64>, String> {
    let token = crate::sync::reconcile::installed_token(state, shop).await.map_err(|e| e.to_string())?;
    crate::platform::reads::variant_ids(&state.platform, shop, &token, query).await.map_err(|e| e.to_string())
}

/// `DELETE /api/enrolments`: "remove everything" (SPEC 9): every managed variant unenrolled, its
/// policy from before given back, our tags, holds and dates taken off, as one job. 202 with it.
pub async fn remove_all(session: ShopSession, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let shop = session.shop.clone();
    let id = jobs::start(state.into_inner(), &session.shop, "removal", move |state, progress| {
        crate::sync::offboard::unenrol_all(state, progress, shop)
    })
    .await?;
    Ok(HttpResponse::Accepted().json(json!({ "job": id })))
}
