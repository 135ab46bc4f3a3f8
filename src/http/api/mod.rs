//! The merchant's JSON API (SPEC 3.3), behind session tokens. Every handler reads the shop from
//! the verified token and nowhere else, so a token of one shop can never reach another's data.

mod backorders;
mod enrol;
mod error;
mod preview;
mod queue;
mod session;
mod settings;
mod settings_body;
mod variants;

use actix_web::web;

pub use error::ApiError;
pub use session::ShopSession;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/settings", web::get().to(settings::show))
        .route("/api/settings", web::put().to(settings::update))
        .route("/api/backorders", web::get().to(backorders::list))
        .route("/api/variants/{variant_id}", web::get().to(variants::show))
        .route("/api/variants/{variant_id}/preview", web::get().to(preview::show))
        .route("/api/variants/{variant_id}", web::put().to(enrol::update));
}
