//! What `serve` and `config check` say about the values: every problem at once, each naming its
//! environment variable, and the settings that are valid but surprising in production.

use std::net::SocketAddr;

use super::{ConfigError, Settings, decode_key, redact_url};
use crate::mail::MailerError;
use crate::store::StoreUrl;

impl Settings {
    /// Every problem with the values, each naming its environment variable. `serve` needs all of
    /// them fixed, secrets included.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.shopify.api_key.trim().is_empty() {
            problems.push(missing("BACKORDER__SHOPIFY__API_KEY", "the app's API key"));
        }
        match &self.shopify.api_secret {
            None => problems.push(missing("BACKORDER__SHOPIFY__API_SECRET", "the app's API secret")),
            Some(s) if s.expose().is_empty() => {
                problems.push(missing("BACKORDER__SHOPIFY__API_SECRET", "the app's API secret"))
            }
            Some(_) => {}
        }
        match &self.security.encryption_key {
            None => problems.push(missing(
                "BACKORDER__SECURITY__ENCRYPTION_KEY",
                "base64 of 32 random bytes (head -c 32 /dev/urandom | base64)",
            )),
            Some(key) => {
                if let Err(why) = decode_key(key) {
                    problems.push(format!("BACKORDER__SECURITY__ENCRYPTION_KEY: {why}"));
                }
            }
        }
        if let Some(Err(why)) = self.security.previous_encryption_key.as_ref().map(decode_key) {
            problems.push(format!("BACKORDER__SECURITY__PREVIOUS_ENCRYPTION_KEY: {why}"));
        }
        if self.server.bind.parse::<SocketAddr>().is_err() {
            problems
                .push(format!("BACKORDER__SERVER__BIND: `{}` is not an address like 127.0.0.1:8080", self.server.bind));
        }
        if !is_http_url(&self.app.url) {
            problems.push(format!("BACKORDER__APP__URL: `{}` is not an http(s) URL", self.app.url));
        }
        if !is_http_url(&self.app.bridge_url) {
            problems.push(format!("BACKORDER__APP__BRIDGE_URL: `{}` is not an http(s) URL", self.app.bridge_url));
        }
        if !is_http_url(&self.shopify.admin_base_url.replace("{shop}", "shop.myshopify.com")) {
            problems.push(format!(
                "BACKORDER__SHOPIFY__ADMIN_BASE_URL: `{}` is not an http(s) URL",
                self.shopify.admin_base_url
            ));
        }
        if let Err(e) = StoreUrl::parse(&self.store.url) {
            problems.push(format!("BACKORDER__STORE__URL: {e}"));
        }
        match self.email.mailer() {
            Err(MailerError::Url(why)) => problems.push(format!("BACKORDER__EMAIL__SMTP_URL: {why}")),
            Err(MailerError::From(why)) => {
                problems.push(format!("BACKORDER__EMAIL__FROM: `{}` is not an email address ({why})", self.email.from))
            }
            Ok(_) => {}
        }
        if self.store.prefix.is_empty() || self.store.prefix.contains(['{', '}', ' ']) {
            problems.push("BACKORDER__STORE__PREFIX: must be non-empty, without braces or spaces".into());
        }
        for (name, value) in [
            ("BACKORDER__QUEUE__BATCH", self.queue.batch as u64),
            ("BACKORDER__QUEUE__BLOCK_MS", self.queue.block_ms),
            ("BACKORDER__QUEUE__RECLAIM_IDLE_MS", self.queue.reclaim_idle_ms),
            ("BACKORDER__QUEUE__MAX_ATTEMPTS", u64::from(self.queue.max_attempts)),
            ("BACKORDER__QUEUE__DEDUPE_HOURS", self.queue.dedupe_hours),
            ("BACKORDER__QUEUE__DEAD_LETTERS_MAX", self.queue.dead_letters_max),
            ("BACKORDER__QUEUE__DEAD_LETTERS_DAYS", self.queue.dead_letters_days),
            ("BACKORDER__PLATFORM__TIMEOUT_MS", self.platform.timeout_ms),
            ("BACKORDER__PLATFORM__CONNECT_TIMEOUT_MS", self.platform.connect_timeout_ms),
            ("BACKORDER__PLATFORM__MAX_ATTEMPTS", u64::from(self.platform.max_attempts)),
            ("BACKORDER__PLATFORM__RETRY_BASE_MS", self.platform.retry_base_ms),
            ("BACKORDER__LIMITS__STATUS_CACHE_MS", self.limits.status_cache_ms),
            ("BACKORDER__EMAIL__OUTBOX_KEEP_DAYS", self.email.outbox_keep_days),
        ] {
            if value == 0 {
                problems.push(format!("{name}: must be greater than 0"));
            }
        }
        if !(1..=crate::store::shard::MAX_SHARDS).contains(&self.queue.shards) {
            problems.push(format!("BACKORDER__QUEUE__SHARDS: must be from 1 to {}", crate::store::shard::MAX_SHARDS));
        }
        if self.queue.lease_ms < 400 {
            problems.push("BACKORDER__QUEUE__LEASE_MS: must be at least 400".into());
        }
        if !(1..60).contains(&self.platform.pool_idle_secs) {
            problems.push("BACKORDER__PLATFORM__POOL_IDLE_SECS: must be from 1 to 59".into());
        }
        if !self.email.smtp_url.is_empty() && !self.email.smtp_url.starts_with("smtp") {
            problems.push(format!(
                "BACKORDER__EMAIL__SMTP_URL: `{}` should look like smtp://host:port",
                redact_url(&self.email.smtp_url)
            ));
        }
        let header = &self.limits.client_ip_header;
        if !header.is_empty() && actix_web::http::header::HeaderName::from_bytes(header.as_bytes()).is_err() {
            problems.push(format!("BACKORDER__LIMITS__CLIENT_IP_HEADER: `{header}` is not a header name"));
        }
        if !matches!(self.log.format.as_str(), "json" | "pretty") {
            problems.push(format!("BACKORDER__LOG__FORMAT: `{}` is neither json nor pretty", self.log.format));
        }
        problems
    }

    /// Settings that are valid but surprising in production, said at `serve` and by
    /// `config check` (M6): the service runs, and does not do what a merchant expects.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.email.smtp_url.is_empty() {
            out.push(format!(
                "BACKORDER__EMAIL__SMTP_URL is not set: emails are written as .eml files to `{}` and never reach customers",
                self.email.outbox_dir
            ));
        }
        out
    }

    /// Fails with every problem at once, so an operator fixes them in one go.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let problems = self.problems();
        if problems.is_empty() { Ok(()) } else { Err(ConfigError::Invalid(problems)) }
    }
}

fn missing(var: &str, what: &str) -> String {
    format!("{var} is missing: set it to {what}")
}

fn is_http_url(s: &str) -> bool {
    url::Url::parse(s).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}
