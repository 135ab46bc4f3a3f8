//! The merchant's JSON API (SPEC 3.3), behind session tokens. Every handler reads the shop from
//! the verified token and nowhere else, so a token of one shop can never reach another's data.

mod enrol;
mod error;
mod session;
mod variants;

use actix_web::web;

pub use error::ApiError;
pub use session::ShopSession;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/variants/{variant_id}", web::get().to(variants::show))
        .route("/api/variants/{variant_id}", web::put().to(enrol::update));
}
