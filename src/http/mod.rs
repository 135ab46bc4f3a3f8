//! HTTP routes. Handlers stay thin: they translate between HTTP and the modules that do the work.

pub mod api;
mod client;
mod deadline;
mod health;
pub mod install;
mod operator;
pub mod pages;
mod proxy;
mod request_id;
pub mod routes;
mod status;

use actix_web::http::Method;
use actix_web::web;

use crate::webhook::intake;
use routes::{Access, Routes};

pub fn routes(cfg: &mut web::ServiceConfig) {
    register(&mut Routes::new(cfg, &mut Vec::new()));
}

/// Every route, through the one recorder ([`routes::table`] reads them back).
fn register(r: &mut Routes<'_>) {
    r.route(Method::POST, "/webhooks", Access::Webhook, intake::receive)
        .route(Method::GET, "/healthz", Access::Open, health::healthz)
        .route(Method::GET, "/readyz", Access::Open, health::readyz)
        .route(Method::GET, "/metrics", Access::Open, health::metrics);
    api::routes(r);
    status::routes(r);
    proxy::routes(r);
    install::routes(r);
    pages::routes(r);
    operator::routes(r);
}

pub use deadline::BodyDeadline;
pub use request_id::RequestId;
