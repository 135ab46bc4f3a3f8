//! HTTP routes. Handlers stay thin: they translate between HTTP and the modules that do the work.

pub mod api;
mod health;
pub mod install;
mod request_id;

use actix_web::web;

use crate::webhook::intake;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/webhooks", web::post().to(intake::receive))
        .route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/metrics", web::get().to(health::metrics))
        .configure(api::routes)
        .configure(install::routes);
}

pub use request_id::RequestId;
