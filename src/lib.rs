//! backorder: sell out-of-stock variants on backorder without losing track of anyone.
#![forbid(unsafe_code)]

pub mod app;
pub mod bench;
pub mod cli;
pub mod config;
pub mod http;
pub mod metrics;
pub mod secret;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod webhook;
pub mod worker;
