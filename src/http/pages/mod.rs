//! The merchant's app (SPEC 11): pages rendered here from template files, inside the Shopify
//! admin's frame. A page is read with a session token in its URL (`session.rs`; without one, the
//! bounce page gets a fresh one); every write goes through the JSON API with `fetch`, to which
//! App Bridge adds a token. The stylesheet and the script are our own files, served here, so a
//! page needs nothing but App Bridge from outside.

mod activity;
mod assets;
mod bounce;
mod chart;
mod emails;
mod export;
mod history;
mod overview;
mod session;
mod settings;
mod summary;
mod variant;
mod variants;

use actix_web::HttpResponse;
use actix_web::http::Method;
use serde::Serialize;

use super::routes::{Access, Routes};
use crate::state::AppState;

pub use overview::overview_page;
pub use session::{PageSession, bounce_to, without_token};

/// Where a request without a valid session token is sent (`session::Bounce`).
pub const BOUNCE_PATH: &str = "/app/bounce";

pub(super) fn routes(r: &mut Routes<'_>) {
    r.route(Method::GET, BOUNCE_PATH, Access::Open, bounce::show)
        .route(Method::GET, "/app/assets/{name}", Access::Open, assets::serve)
        .route(Method::GET, "/app/variants", Access::PageToken, variants::list)
        .route(Method::GET, "/app/variants/{variant_id}", Access::PageToken, variant::show)
        .route(Method::GET, "/app/settings", Access::PageToken, settings::show)
        .route(Method::GET, "/app/emails", Access::PageToken, emails::show)
        .route(Method::GET, "/app/activity", Access::PageToken, activity::show)
        .route(Method::GET, "/app/backlog.csv", Access::PageToken, export::backlog);
}

/// One entry of the app's navigation.
#[derive(Debug, Serialize)]
struct NavLink {
    href: &'static str,
    label: &'static str,
    current: bool,
}

/// The pages of the app's navigation, in order: App Bridge shows them in the admin's side bar,
/// and each page repeats them as tabs for a browser without it.
const NAV: [(&str, &str); 5] = [
    ("/app", "Overview"),
    ("/app/variants", "Variants"),
    ("/app/emails", "Emails"),
    ("/app/settings", "Settings"),
    ("/app/activity", "Activity"),
];

/// What every page's layout needs.
#[derive(Debug, Serialize)]
struct Frame {
    api_key: String,
    bridge_url: String,
    shop: String,
    title: &'static str,
    nav: Vec<NavLink>,
    css: String,
    js: String,
}

impl Frame {
    fn new(state: &AppState, shop: &str, current: &'static str, title: &'static str) -> Self {
        Self {
            api_key: state.settings.shopify.api_key.clone(),
            bridge_url: state.settings.app.bridge_url.clone(),
            shop: shop.to_string(),
            title,
            nav: NAV.iter().map(|(href, label)| NavLink { href, label, current: *href == current }).collect(),
            css: assets::url("app.css"),
            js: assets::url("app.js"),
        }
    }
}

/// A rendered page with the headers every page carries: the admin (and in the demo, the dev
/// shop's admin) may frame it; the session token in its URL goes nowhere as a referrer; no cache
/// keeps one shop's page for another.
fn page(state: &AppState, shop: &str, template: &str, ctx: impl Serialize) -> HttpResponse {
    match crate::view::render(template, ctx) {
        Ok(body) => HttpResponse::Ok()
            .insert_header(("Content-Security-Policy", frame_ancestors(state, shop)))
            .insert_header(("Referrer-Policy", "no-referrer"))
            .insert_header(("Cache-Control", "no-store"))
            .content_type("text/html; charset=utf-8")
            .body(body),
        Err(e) => {
            tracing::error!(error = %e, "pages: a page does not render");
            HttpResponse::InternalServerError().content_type("text/plain; charset=utf-8").body("Something went wrong.")
        }
    }
}

/// A page for something this shop does not have: a 404 with the app's frame and a way back.
fn not_found(state: &AppState, shop: &str, text: &'static str) -> HttpResponse {
    let frame = Frame::new(state, shop, "", "Not found");
    let mut resp = page(state, shop, "pages/missing.html", serde_json::json!({"frame": frame, "text": text}));
    *resp.status_mut() = actix_web::http::StatusCode::NOT_FOUND;
    resp
}

/// The store could not be read: a short page saying to try again, the cause in the log only.
fn unavailable(e: &crate::books::BookError) -> HttpResponse {
    tracing::warn!(error = %e, "pages: the store could not be read");
    unavailable_page()
}

fn unavailable_page() -> HttpResponse {
    let body = crate::view::render(
        "install/error.html",
        minijinja::context! { title => "Temporarily unavailable", body => "Backorder could not read its records. Reload the page in a moment." },
    )
    .unwrap_or_default();
    HttpResponse::ServiceUnavailable()
        .insert_header(("Retry-After", "5"))
        .insert_header(("Cache-Control", "no-store"))
        .content_type("text/html; charset=utf-8")
        .body(body)
}

/// `frame-ancestors`: the shop's admin and Shopify's, plus the origin of the configured admin
/// base when it is another (the dev shop's admin, in the demo).
pub fn frame_ancestors(state: &AppState, shop: &str) -> String {
    let mut ancestors = vec![format!("https://{shop}"), "https://admin.shopify.com".to_string()];
    let base = state.settings.shopify.admin_base_url.replace("{shop}", shop);
    if let Ok(url) = url::Url::parse(&base) {
        let origin = url.origin().ascii_serialization();
        if url.origin().is_tuple() && !ancestors.contains(&origin) {
            ancestors.push(origin);
        }
    }
    format!("frame-ancestors {};", ancestors.join(" "))
}
