//! The one integration-test binary. Each test gets its own key prefix or store directory, so the
//! whole suite runs in parallel against shared Redis servers started by the harness.

#[macro_use]
mod support;

mod api;
mod api_shop;
mod app_toml;
mod browser;
mod cli;
mod conformance;
mod containment;
mod crash;
mod crash_effects;
mod dead_effects;
mod demo;
mod devshop_sender;
mod drift;
mod due_index;
mod effects;
mod effects_once;
mod email;
mod enrolments;
mod forget_store;
mod hostile;
mod install;
mod intake;
mod isolation;
mod layers;
mod lease;
mod ledger_backends;
mod ledger_http;
mod ledger_model;
mod ledger_scenarios;
mod ledger_store;
mod limits;
mod oauth;
mod onboarding;
mod onboarding_bulk;
mod pages;
mod paging;
mod platform;
mod platform_cost;
mod platform_schema;
mod privacy;
mod privacy_customers;
mod proxy;
mod queue;
mod raw_records;
mod reconcile;
mod redacted;
mod refresh;
mod replayed_shop;
mod shops_index;
mod status;
mod time_zone;
mod uninstall;
