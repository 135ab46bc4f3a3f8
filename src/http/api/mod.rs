//! The merchant's JSON API (SPEC 3.3), behind session tokens. Every handler reads the shop from
//! the verified token and nowhere else, so a token of one shop can never reach another's data.

pub(crate) mod backorders;
pub(crate) mod board;
pub(crate) mod dead_letters;
mod enrol;
mod enrolments;
mod error;
mod insight;
mod jobs;
mod onboarding;
mod plan_preview;
mod preview;
mod priority;
pub(crate) mod queue;
mod session;
mod settings;
mod settings_body;
mod templates;
mod variants;

use actix_web::http::Method;
use actix_web::web;

use super::routes::{Access, Routes};

pub use error::ApiError;
pub use session::ShopSession;

/// The largest settings body: every email template at its largest, with room for the rest.
const SETTINGS_BODY: usize = 1024 * 1024;
/// The largest priority body: one small field.
const PRIORITY_BODY: usize = 4 * 1024;
/// The largest template body: its three parts at their largest.
const TEMPLATE_BODY: usize = 256 * 1024;
/// The largest body of a variant's settings: a supply plan of a few hundred batches.
const VARIANT_BODY: usize = 64 * 1024;
/// The largest bulk enrolment: 10,000 ids of 20 digits, and a variant body.
const ENROLMENTS_BODY: usize = 256 * 1024 + VARIANT_BODY;

/// JSON bodies up to `limit` bytes; anything else is a 4xx in the API's own shape, naming the body.
fn json_body(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default().limit(limit).error_handler(move |e, _| {
        use actix_web::error::JsonPayloadError;
        let message = match e {
            JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
                return ApiError::TooLarge(limit).into();
            }
            JsonPayloadError::ContentType => "must be sent as application/json".to_string(),
            other => format!("must be JSON: {other}"),
        };
        ApiError::Invalid { field: "body".into(), message: format!("body {message}") }.into()
    })
}

pub(super) fn routes(r: &mut Routes<'_>) {
    use Method as M;
    let token = Access::SessionToken;
    r.resource(
        "/api/settings",
        token,
        &[M::GET, M::PUT],
        web::resource("/api/settings")
            .app_data(json_body(SETTINGS_BODY))
            .route(web::get().to(settings::show))
            .route(web::put().to(settings::update)),
    )
    .route(M::GET, "/api/backorders", token, backorders::list)
    .resource(
        "/api/enrolments",
        token,
        &[M::POST, M::DELETE],
        web::resource("/api/enrolments")
            .app_data(json_body(ENROLMENTS_BODY))
            .route(web::post().to(enrolments::create))
            .route(web::delete().to(enrolments::remove_all)),
    )
    .resource(
        "/api/templates/{kind}/preview",
        token,
        &[M::POST],
        web::resource("/api/templates/{kind}/preview")
            .app_data(json_body(TEMPLATE_BODY))
            .route(web::post().to(templates::preview)),
    )
    .resource(
        "/api/templates/{kind}/test",
        token,
        &[M::POST],
        web::resource("/api/templates/{kind}/test")
            .app_data(json_body(TEMPLATE_BODY))
            .route(web::post().to(templates::send_test)),
    )
    .resource(
        "/api/orders/{order_id}/priority",
        token,
        &[M::PUT],
        web::resource("/api/orders/{order_id}/priority")
            .app_data(json_body(PRIORITY_BODY))
            .route(web::put().to(priority::update)),
    )
    .route(M::GET, "/api/jobs/{id}", token, jobs::show)
    .route(M::POST, "/api/dead-letters/{id}/replay", token, dead_letters::replay)
    .route(M::POST, "/api/reconcile", token, jobs::reconcile)
    .route(M::GET, "/api/variants/{variant_id}/preview", token, preview::show)
    .resource(
        "/api/variants/{variant_id}/plan-preview",
        token,
        &[M::POST],
        web::resource("/api/variants/{variant_id}/plan-preview")
            .app_data(json_body(VARIANT_BODY))
            .route(web::post().to(plan_preview::show)),
    )
    .route(M::GET, "/api/variants/{variant_id}/onboarding-preview", token, onboarding::show)
    .route(M::GET, "/api/variants/{variant_id}/insight", token, insight::show)
    .route(M::GET, "/api/insight", token, board::show)
    .resource(
        "/api/variants/{variant_id}",
        token,
        &[M::GET, M::PUT, M::DELETE],
        web::resource("/api/variants/{variant_id}")
            .app_data(json_body(VARIANT_BODY))
            .route(web::get().to(variants::show))
            .route(web::put().to(enrol::update))
            .route(web::delete().to(enrol::remove)),
    );
}
