//! `GET /app/emails?kind=…`: the customer emails, one kind at a time, as a form of its three
//! parts (the merchant's template, or the built-in one to start from), a live preview rendered
//! by `POST /api/templates/{kind}/preview` with a real waiting order, a "send me a test" button
//! (`POST /api/templates/{kind}/test`), and a save through `PUT /api/settings`, whose checks
//! put each error next to its part.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::{Frame, PageSession, page, unavailable};
use crate::books::key;
use crate::shop::TEMPLATE_KINDS;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub(super) struct Query {
    kind: Option<String>,
}

#[derive(Debug, Serialize)]
struct KindLink {
    kind: &'static str,
    label: &'static str,
    href: String,
    current: bool,
}

/// What each kind is called on the page, and when it goes out.
fn label(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "backordered" => ("Waiting", "when an order first has units on backorder"),
        "eta_changed" => ("Date moved", "when a waiting line's date moves later by more than your threshold"),
        "ready" => ("Ready", "when every unit an order waited for has arrived"),
        "reminder" => ("Reminder", "every few days while an order still waits, if you turned reminders on"),
        _ => (
            "Consolation",
            "once, with a discount code, when an order has waited or its date slipped as long as your consolation settings say",
        ),
    }
}

pub(super) async fn show(session: PageSession, query: web::Query<Query>, state: web::Data<AppState>) -> HttpResponse {
    let shop = &session.shop;
    let kind = query.kind.as_deref().and_then(|k| TEMPLATE_KINDS.iter().find(|t| **t == k)).copied();
    let kind = kind.unwrap_or(TEMPLATE_KINDS[0]);
    let settings = match state.books.get_or_default(shop, key::Settings).await {
        Ok(settings) => settings,
        Err(e) => return unavailable(&e),
    };
    let custom = settings.templates.get(kind).cloned();
    let Some(template) = custom.clone().or_else(|| crate::notify::templates::builtin(kind)) else {
        return super::not_found(&state, shop, "There is no such email.");
    };
    let failure = settings.template_failures.get(kind).map(|f| format!("{} (at {})", f.reason, f.at));
    let kinds: Vec<KindLink> = TEMPLATE_KINDS
        .iter()
        .map(|k| KindLink { kind: k, label: label(k).0, href: format!("/app/emails?kind={k}"), current: *k == kind })
        .collect();
    let frame = Frame::new(&state, shop, "/app/emails", "Emails");
    let ctx = serde_json::json!({
        "frame": frame, "kinds": kinds, "kind": kind, "when": label(kind).1, "template": template,
        "custom": custom.is_some(), "failure": failure, "owner_email": settings.owner_email,
    });
    page(&state, shop, "pages/emails.html", ctx)
}
