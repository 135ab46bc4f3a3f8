//! `GET/PUT /api/settings`: the shop's settings. A change of the priority map or the counted
//! locations also reworks the existing books (re-keys orders, recounts stock) in a background
//! job whose progress `GET` shows.

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::{ApiError, ShopSession, settings_body};
use crate::books::rework::{Rework, rework_shop};
use crate::books::{Reads, key};
use crate::ledger::rules::ShopRules;
use crate::shop::{PendingRework, ShopSettings};
use crate::state::AppState;
use crate::store::Record;

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(e.to_string())
}

struct Stored<'a> {
    rules: ShopRules,
    settings: ShopSettings,
    /// What they were read from: a change commits only if both are still so.
    reads: Reads<'a>,
}

async fn load<'a>(state: &'a AppState, shop: &'a str) -> Result<Stored<'a>, ApiError> {
    let reads = state.books.read(shop, &[Record::Rules, Record::Settings]).await?;
    let rules = reads.get(key::Rules)?.unwrap_or_default();
    let settings = reads.get(key::Settings)?.unwrap_or_default();
    Ok(Stored { rules, settings, reads })
}

fn view(state: &AppState, shop: &str, rules: &ShopRules, settings: &ShopSettings) -> Value {
    let rework = settings.rework.map(|_| match state.rework_progress(shop) {
        Some(p) => json!({"state": "running", "done": p.done, "total": p.total}),
        None => json!({"state": "pending"}),
    });
    json!({
        "priority_tags": rules.priority_tags,
        "counted_locations": rules.counted_locations,
        "tags": settings.tags,
        "holds": settings.holds,
        "settle_ms": settings.settle_ms.unwrap_or(state.settings.ledger.settle_ms),
        "eta_change_threshold_days": settings.eta_change_threshold_days,
        "reminder_days": settings.reminder_days,
        "alert_threshold_units": settings.alert_threshold_units,
        "owner_email": settings.owner_email,
        "templates": settings.templates,
        "template_failures": settings.template_failures,
        "rework": rework,
        // The shop's, read from the platform: the calendar ETAs count in.
        "timezone": settings.timezone.as_deref().unwrap_or("Etc/UTC"),
    })
}

pub async fn show(session: ShopSession, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let stored = load(&state, &session.shop).await?;
    if stored.settings.rework.is_some() {
        // A rework cut short (a restart, a store outage) resumes when the merchant looks.
        start_rework(state.clone(), session.shop.clone());
    }
    Ok(HttpResponse::Ok().json(view(&state, &session.shop, &stored.rules, &stored.settings)))
}

pub async fn update(
    session: ShopSession,
    body: web::Json<Value>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let shop = session.shop.as_str();
    // Validate before touching anything.
    settings_body::apply(&body, &mut ShopRules::default(), &mut ShopSettings::default())?;
    for _ in 0..16 {
        let stored = load(&state, shop).await?;
        let (mut rules, mut settings) = (stored.rules.clone(), stored.settings.clone());
        settings_body::apply(&body, &mut rules, &mut settings)?;
        let rework = Rework::between(&stored.rules, &rules);
        if !rework.is_empty() {
            settings.rules_revision += 1;
            let before = settings.rework.unwrap_or(PendingRework { revision: 0, rekey: false, recount: false });
            settings.rework = Some(PendingRework {
                revision: settings.rules_revision,
                rekey: before.rekey || rework.rekey,
                recount: before.recount || rework.recount,
            });
        }
        let change = stored.reads.change().put(key::Rules, &rules).put(key::Settings, &settings);
        if state.books.commit(shop, change).await? {
            if settings.rework.is_some() {
                start_rework(state.clone(), shop.to_string());
            }
            return Ok(HttpResponse::Ok().json(view(&state, shop, &rules, &settings)));
        }
    }
    Err(ApiError::Unavailable)
}

/// Runs the shop's pending rework in the background, once per process at a time, until no
/// rework is pending (a rules change made meanwhile gets its own pass).
fn start_rework(state: web::Data<AppState>, shop: String) {
    if !state.claim_rework(&shop) {
        return;
    }
    tokio::spawn(async move {
        if let Err(e) = rework_until_done(&state, &shop).await {
            tracing::warn!(shop = %shop, error = %e, "settings: rework of the books stopped; it resumes on the next settings request");
        }
        state.release_rework(&shop);
    });
}

async fn rework_until_done(state: &AppState, shop: &str) -> Result<(), ApiError> {
    loop {
        let stored = load(state, shop).await?;
        let Some(pending) = stored.settings.rework else { return Ok(()) };
        let rework = Rework { rekey: pending.rekey, recount: pending.recount };
        tracing::info!(shop, revision = pending.revision, ?rework, "settings: reworking the books");
        let done = rework_shop(&state.books, shop, pending.revision, rework, |p| {
            state.set_rework_progress(shop, p);
        })
        .await
        .map_err(internal)?;
        tracing::info!(shop, changed = done.changed, checked = done.total, "settings: books reworked");
        // Clear the mark only if no newer change arrived while this pass ran.
        let fresh = load(state, shop).await?;
        if fresh.settings.rework != Some(pending) {
            continue;
        }
        let settings = ShopSettings { rework: None, ..fresh.settings.clone() };
        state.books.commit(shop, fresh.reads.change().put(key::Settings, &settings)).await?;
    }
}
