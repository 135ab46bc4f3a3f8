//! `backorder reconcile [--shop S]` (`operator::reconcile`), against the store, or through the
//! running service that holds the embedded store.

use std::process::ExitCode;
use std::sync::Arc;

use super::Target;
use crate::state::AppState;

pub async fn run(shop: Option<String>) -> ExitCode {
    let target = match super::target().await {
        Ok(t) => t,
        Err(code) => return code,
    };
    let outcome = match target {
        Target::Store(store, settings) => {
            let state = AppState::new(store, Arc::new(*settings));
            crate::operator::reconcile::run(&state, shop).await
        }
        Target::Service(h) => {
            let query: Vec<(&str, String)> = shop.into_iter().map(|s| ("shop", s)).collect();
            super::ask(&h, reqwest::Method::POST, "/operator/reconcile", &query).await
        }
    };
    super::print(outcome)
}
