//! `GET /app/settings`: the shop's settings as a form. The form is sent to `PUT /api/settings`
//! with `fetch` (App Bridge adds the session token), so the page validates exactly as the API
//! does, and an error comes back naming its field, shown next to it. The counted locations are
//! picked from the shop's locations as Shopify has them now (one read, 102 points).

use std::fmt::Write;

use actix_web::{HttpResponse, web};
use serde::Serialize;

use super::{Frame, PageSession, page, unavailable};
use crate::books::key;
use crate::state::AppState;

/// The values the form starts from, as text for its fields.
#[derive(Debug, Serialize)]
struct Values {
    backordered_tag: String,
    ready_tag: String,
    holds: bool,
    priority_tags: String,
    eta_change_threshold_days: u32,
    reminder_days: String,
    alert_threshold_units: String,
    owner_email: String,
    settle_ms: String,
    timezone: String,
    service_level: String,
    consolation_enabled: bool,
    consolation_free_shipping: bool,
    consolation_before_install: bool,
    consolation_after_days: u32,
    consolation_slip_days: u32,
    consolation_value: u32,
    consolation_expires_days: u32,
}

/// How long the page waits for the shop's locations.
const PLATFORM_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// A location the merchant can tick, and whether its stock counts now.
#[derive(Debug, Serialize)]
struct LocationChoice {
    id: u64,
    name: String,
    counted: bool,
}

/// The shop's locations to pick from, or why there are none to show (the setting then stays
/// as it is: the form does not send it).
async fn locations(
    state: &AppState,
    shop: &str,
    counted: Option<&std::collections::BTreeSet<u64>>,
) -> Result<Vec<LocationChoice>, &'static str> {
    let token = match crate::auth::tokens::access_token(state, shop).await {
        Ok(Some(token)) => token,
        _ => return Err("Your locations cannot be read: the app has no working access to the shop."),
    };
    // A page waits a moment for the platform, not through its retries: the rest of the
    // settings are worth showing at once.
    let read = crate::platform::reads::locations(&state.platform, shop, &token);
    let found = match tokio::time::timeout(PLATFORM_WAIT, read).await {
        Ok(Ok(found)) => found,
        Ok(Err(e)) => {
            tracing::warn!(shop, error = %e, "pages: the shop's locations could not be read");
            return Err("Your locations could not be read from Shopify just now. Reload the page to try again.");
        }
        Err(_) => {
            tracing::warn!(shop, "pages: the shop's locations took too long to read");
            return Err("Your locations could not be read from Shopify just now. Reload the page to try again.");
        }
    };
    let counts = |id: u64| counted.is_none_or(|set| set.contains(&id));
    let mut choices: Vec<LocationChoice> =
        found.iter().map(|(id, name)| LocationChoice { id: *id, name: name.clone(), counted: counts(*id) }).collect();
    // A counted location Shopify no longer lists stays visible, so it can be taken out.
    for id in counted.into_iter().flatten().filter(|id| !found.iter().any(|(f, _)| f == *id)) {
        choices.push(LocationChoice { id: *id, name: format!("Location {id} (no longer on Shopify)"), counted: true });
    }
    Ok(choices)
}

pub(super) async fn show(session: PageSession, state: web::Data<AppState>) -> HttpResponse {
    let shop = &session.shop;
    let reads = match state.books.read(shop, &[crate::store::Record::Rules, crate::store::Record::Settings]).await {
        Ok(reads) => reads,
        Err(e) => return unavailable(&e),
    };
    let (rules, settings) = match (reads.get(key::Rules), reads.get(key::Settings)) {
        (Ok(rules), Ok(settings)) => (rules.unwrap_or_default(), settings.unwrap_or_default()),
        (Err(e), _) | (_, Err(e)) => return unavailable(&e),
    };
    let mut priority_tags = String::new();
    for (tag, priority) in &rules.priority_tags {
        let _ = writeln!(priority_tags, "{tag} = {priority}");
    }
    let text = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
    let values = Values {
        backordered_tag: settings.tags.backordered.clone(),
        ready_tag: settings.tags.ready.clone(),
        holds: settings.holds,
        priority_tags,
        eta_change_threshold_days: settings.eta_change_threshold_days,
        reminder_days: text(settings.reminder_days.map(u64::from)),
        alert_threshold_units: text(settings.alert_threshold_units),
        owner_email: settings.owner_email.clone().unwrap_or_default(),
        settle_ms: text(settings.settle_ms),
        timezone: settings.timezone.clone().unwrap_or_else(|| "Etc/UTC".into()),
        service_level: format!("{}", settings.service_level()),
        consolation_enabled: settings.consolation.enabled,
        consolation_free_shipping: settings.consolation.kind == crate::shop::ConsolationKind::FreeShipping,
        consolation_before_install: settings.consolation.before_install,
        consolation_after_days: settings.consolation.after_days,
        consolation_slip_days: settings.consolation.slip_days,
        consolation_value: settings.consolation.value,
        consolation_expires_days: settings.consolation.expires_days,
    };
    let (locations, locations_error) = match locations(&state, shop, rules.counted_locations.as_ref()).await {
        Ok(found) => (found, None),
        Err(why) => (Vec::new(), Some(why)),
    };
    let frame = Frame::new(&state, shop, "/app/settings", "Settings");
    let default_settle_ms = state.settings.ledger.settle_ms;
    page(
        &state,
        shop,
        "pages/settings.html",
        serde_json::json!({
            "frame": frame, "values": values, "default_settle_ms": default_settle_ms,
            "locations": locations, "locations_error": locations_error,
            "supply_scope_missing": settings.supply_scope_missing,
            "discount_scope_missing": settings.discount_scope_missing,
            "grant_scopes": crate::auth::scopes::OPTIONAL.join(","),
        }),
    )
}
