//! HTTP routes. Handlers stay thin: they translate between HTTP and the modules that do the work.

pub mod api;
mod client;
mod deadline;
mod health;
pub mod install;
mod operator;
mod proxy;
mod request_id;
mod status;

use actix_web::web;

use crate::webhook::intake;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/webhooks", web::post().to(intake::receive))
        .route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/metrics", web::get().to(health::metrics))
        .configure(api::routes)
        .configure(status::routes)
        .configure(proxy::routes)
        .configure(install::routes)
        .configure(operator::routes);
}

pub use deadline::BodyDeadline;
pub use request_id::RequestId;
