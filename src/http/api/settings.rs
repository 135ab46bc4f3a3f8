//! `GET/PUT /api/settings`: the shop's settings. A change of the priority map or the counted
//! locations also reworks the existing books (re-keys orders, recounts stock) in a background
//! job whose progress `GET` shows.

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::{ApiError, ShopSession, settings_body};
use crate::books::rework::Rework;
use crate::books::{Reads, key};
use crate::ledger::rules::ShopRules;
use crate::shop::{PendingRework, ShopSettings};
use crate::state::AppState;
use crate::store::Record;

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
    let rework = settings.rework.map(|r| match state.rework_progress(shop) {
        Some(p) => json!({"state": "running", "done": p.done, "total": p.total, "job": r.job}),
        None => json!({"state": "pending", "job": r.job}),
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
        // Expected supply from transfers waits for this scope (SPEC 10.2); null when granted.
        "supply_scope_missing": settings.supply_scope_missing,
        "discount_scope_missing": settings.discount_scope_missing,
        "service_level": settings.service_level(),
        "consolation": settings.consolation,
    })
}

pub async fn show(session: ShopSession, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let stored = load(&state, &session.shop).await?;
    if stored.settings.rework.is_some() {
        // A rework cut short (a restart, a store outage) resumes when the merchant looks (and
        // at the shop's next drift pass).
        crate::sync::rework::resume(state.clone().into_inner(), &session.shop).await?;
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
            let before =
                settings.rework.unwrap_or(PendingRework { revision: 0, rekey: false, recount: false, job: None });
            settings.rework = Some(PendingRework {
                revision: settings.rules_revision,
                rekey: before.rekey || rework.rekey,
                recount: before.recount || rework.recount,
                job: None,
            });
        }
        let change = stored.reads.change().put(key::Rules, &rules).put(key::Settings, &settings);
        if state.books.commit(shop, change).await? {
            if settings.rework.is_some() {
                crate::sync::rework::resume(state.clone().into_inner(), shop).await?;
            }
            return Ok(HttpResponse::Ok().json(view(&state, shop, &rules, &settings)));
        }
    }
    Err(ApiError::Unavailable)
}
