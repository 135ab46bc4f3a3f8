//! backorder: sell out-of-stock variants on backorder without losing track of anyone.
#![forbid(unsafe_code)]

pub mod app;
pub mod auth;
pub mod backfill;
pub mod bench;
pub mod books;
pub mod chaos;
pub mod cli;
pub mod config;
pub mod demo;
pub mod derive;
pub mod devshop;
pub mod effects;
pub mod failpoint;
pub mod forecast;
pub mod http;
pub mod ledger;
pub mod limit;
pub mod mail;
pub mod metrics;
pub mod notify;
pub mod operator;
pub mod platform;
pub mod retry;
pub mod secret;
pub mod shop;
pub mod shopify;
pub mod state;
pub mod store;
pub mod supervise;
pub mod supply;
pub mod sync;
pub mod telemetry;
pub mod view;
pub mod webhook;
pub mod worker;

/// Installs the process-wide TLS crypto provider (ring) once. reqwest and redis are built without
/// a default provider, so every entry point calls this before building a client.
pub fn init_crypto() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race against another installer is fine: some provider is installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}
