//! Layered configuration (SPEC 3.2): the compiled-in `config/default.toml`, then the file named by
//! `BACKORDER_CONFIG`, then `BACKORDER__SECTION__KEY` environment variables.

use std::net::SocketAddr;

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::mail::{Mailer, MailerError};
use crate::secret::Secret;
use crate::store::StoreUrl;

const DEFAULTS: &str = include_str!("../config/default.toml");

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration: {0}")]
    Load(String),
    #[error("invalid configuration:\n{}", .0.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<String>),
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Settings {
    pub server: ServerSettings,
    pub app: AppSettings,
    pub shopify: ShopifySettings,
    pub platform: PlatformSettings,
    pub store: StoreSettings,
    pub queue: QueueSettings,
    pub email: EmailSettings,
    pub ledger: LedgerSettings,
    pub effects: EffectsSettings,
    pub reconcile: ReconcileSettings,
    pub security: SecuritySettings,
    pub limits: LimitSettings,
    pub log: LogSettings,
}

/// Drift repair (SPEC 9).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ReconcileSettings {
    /// How often each installed shop is compared with the platform and repaired; 0: never.
    pub interval_secs: u64,
    /// Drift passes of different shops running at the same time in this process.
    pub shops_in_flight: usize,
    /// A shop with more open orders than this many pages of `OpenOrders` (20 each) has them read
    /// at enrolment through one bulk operation.
    pub bulk_after_pages: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ServerSettings {
    pub bind: String,
    pub http_workers: usize,
    pub shutdown_timeout_secs: u64,
    pub head_timeout_ms: u64,
    pub body_timeout_ms: u64,
    pub keep_alive_secs: u64,
    pub max_connections: usize,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct AppSettings {
    pub url: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ShopifySettings {
    pub api_key: String,
    pub api_secret: Option<Secret>,
    pub admin_base_url: String,
    pub api_version: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct PlatformSettings {
    pub timeout_ms: u64,
    pub connect_timeout_ms: u64,
    pub pool_idle_secs: u64,
    pub max_attempts: u32,
    pub retry_base_ms: u64,
    pub retry_max_ms: u64,
}

#[derive(Clone, Deserialize, Serialize)]
pub struct StoreSettings {
    #[serde(serialize_with = "serialize_url_redacted")]
    pub url: String,
    pub prefix: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct QueueSettings {
    pub workers: usize,
    pub batch: usize,
    pub block_ms: u64,
    pub reclaim_idle_ms: u64,
    pub max_attempts: u32,
    pub retry_base_ms: u64,
    pub retry_max_ms: u64,
    pub dedupe_hours: u64,
    /// Dead letters kept at most; the oldest beyond go (counted in `/metrics`).
    pub dead_letters_max: u64,
    /// Dead letters older than this many days go (counted in `/metrics`).
    pub dead_letters_days: u64,
}

#[derive(Clone, Deserialize, Serialize)]
pub struct EmailSettings {
    #[serde(serialize_with = "serialize_url_redacted")]
    pub smtp_url: String,
    pub from: String,
    pub outbox_dir: String,
    /// Files in `outbox_dir` older than this many days are deleted.
    pub outbox_keep_days: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct LedgerSettings {
    pub settle_ms: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct EffectsSettings {
    pub sweep_ms: u64,
    /// Orders of one shop reconciled at the same time.
    pub concurrency: usize,
    /// Passes in a row an effect may fail before it is dead-lettered.
    pub max_failed_passes: u32,
    /// Shops whose effects passes run at the same time.
    pub shops_in_flight: usize,
    /// The length of a shop's effects lease (renewed while its pass runs), in ms.
    pub lease_ms: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct SecuritySettings {
    pub encryption_key: Option<Secret>,
    /// The key before a rotation: values sealed under it still open and are re-sealed.
    #[serde(default)]
    pub previous_encryption_key: Option<Secret>,
    /// When set, `/metrics` answers only `Authorization: Bearer <token>` (L8).
    #[serde(default)]
    pub metrics_token: Option<Secret>,
}

/// What one client, link or shop may ask of this process (audit M3, L7); 0 turns a limit off.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct LimitSettings {
    /// Requests per minute to one status link (`/status/{token}` and its cancel form).
    pub status_per_minute_per_link: u32,
    /// Requests per minute to status pages from one client address.
    pub status_per_minute_per_client: u32,
    /// Writes per minute through the merchant API (session tokens) of one shop.
    pub writes_per_minute_per_shop: u32,
    /// A header a trusted proxy in front sets to the client's address (e.g. X-Forwarded-For,
    /// whose last address is the one that proxy saw); empty: the connection's peer address.
    pub client_ip_header: String,
    /// How long a status page's view of a variant's queue is kept, in milliseconds.
    pub status_cache_ms: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct LogSettings {
    pub format: String,
    pub level: String,
}

// URLs may carry passwords; Debug shows them redacted.
impl std::fmt::Debug for StoreSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreSettings").field("url", &redact_url(&self.url)).field("prefix", &self.prefix).finish()
    }
}

impl EmailSettings {
    /// The mailer these settings describe; the check of `config check` and `serve` too.
    pub fn mailer(&self) -> Result<Mailer, MailerError> {
        Mailer::new(&self.smtp_url, &self.from, &self.outbox_dir)
    }
}

impl std::fmt::Debug for EmailSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailSettings")
            .field("smtp_url", &redact_url(&self.smtp_url))
            .field("from", &self.from)
            .field("outbox_dir", &self.outbox_dir)
            .finish()
    }
}

impl Settings {
    /// Reads the three layers from the real process environment.
    pub fn load() -> Result<Self, ConfigError> {
        Self::load_from(std::env::vars())
    }

    /// Reads the layers from the given environment, so tests need not touch the process's own.
    pub fn load_from(env: impl IntoIterator<Item = (String, String)>) -> Result<Self, ConfigError> {
        let env: std::collections::HashMap<String, String> = env.into_iter().collect();
        let mut builder =
            config::Config::builder().add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml));
        if let Some(path) = env.get("BACKORDER_CONFIG").filter(|p| !p.is_empty()) {
            builder = builder.add_source(config::File::new(path, config::FileFormat::Toml).required(true));
        }
        builder = builder.add_source(
            config::Environment::with_prefix("BACKORDER")
                .prefix_separator("__")
                .separator("__")
                .source(Some(env.into_iter().collect())),
        );
        let raw = builder.build().map_err(|e| ConfigError::Load(e.to_string()))?;
        raw.try_deserialize().map_err(|e| ConfigError::Invalid(vec![describe_type_error(&e)]))
    }

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

    /// Fails with every problem at once, so an operator fixes them in one go.
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

    pub fn validate(&self) -> Result<(), ConfigError> {
        let problems = self.problems();
        if problems.is_empty() { Ok(()) } else { Err(ConfigError::Invalid(problems)) }
    }

    /// The effective values as `section.key = value` lines, secrets redacted.
    pub fn effective(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let value = serde_json::to_value(self).expect("settings serialize");
        if let serde_json::Value::Object(sections) = value {
            for (section, keys) in sections {
                if let serde_json::Value::Object(keys) = keys {
                    for (key, v) in keys {
                        let shown = match v {
                            serde_json::Value::Null => "(unset)".to_string(),
                            serde_json::Value::String(s) => format!("{s:?}"),
                            other => other.to_string(),
                        };
                        out.push((format!("{section}.{key}"), shown));
                    }
                }
            }
        }
        out
    }

    pub fn api_secret(&self) -> &str {
        self.shopify.api_secret.as_ref().map(Secret::expose).unwrap_or_default()
    }
}

fn missing(var: &str, what: &str) -> String {
    format!("{var} is missing: set it to {what}")
}

fn is_http_url(s: &str) -> bool {
    url::Url::parse(s).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}

/// The 32-byte key inside `BACKORDER__SECURITY__ENCRYPTION_KEY`.
impl Settings {
    /// The sealer of tokens at rest, when an encryption key is configured (and valid).
    pub fn sealer(&self) -> Option<crate::secret::seal::Sealer> {
        let current = decode_key(self.security.encryption_key.as_ref()?).ok()?;
        let previous = self.security.previous_encryption_key.as_ref().and_then(|k| decode_key(k).ok());
        Some(crate::secret::seal::Sealer::new(&current, previous.as_ref()))
    }
}

pub fn decode_key(key: &Secret) -> Result<[u8; 32], String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(key.expose().trim())
        .map_err(|_| "not valid base64".to_string())?;
    bytes.try_into().map_err(|b: Vec<u8>| format!("decodes to {} bytes, expected 32", b.len()))
}

/// `redis://user:pw@host` → `redis://user:[redacted]@host`.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("[redacted]"));
            u.to_string()
        }
        // redis+cluster://:pw@a:1,b:2 does not parse as one URL; cut the credentials by hand.
        _ => match (raw.find("://"), raw.rfind('@')) {
            (Some(scheme), Some(at)) if at > scheme => format!("{}[redacted]{}", &raw[..scheme + 3], &raw[at..]),
            _ => raw.to_string(),
        },
    }
}

fn serialize_url_redacted<S: serde::Serializer>(url: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&redact_url(url))
}

/// `config`'s messages name the key as `server.bind`; point at the env var too.
fn describe_type_error(e: &config::ConfigError) -> String {
    let text = e.to_string();
    match text.rsplit_once(" for key `") {
        Some((why, rest)) => {
            let key = rest.trim_end_matches('`').split('`').next().unwrap_or_default();
            format!("BACKORDER__{}: {why}", key.replace('.', "__").to_uppercase())
        }
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    fn complete() -> Vec<(String, String)> {
        env(&[
            ("BACKORDER__SHOPIFY__API_KEY", "key"),
            ("BACKORDER__SHOPIFY__API_SECRET", "12345"),
            ("BACKORDER__SECURITY__ENCRYPTION_KEY", KEY),
        ])
    }

    #[test]
    fn defaults_match_the_spec() {
        let s = Settings::load_from(Vec::new()).unwrap();
        assert_eq!(s.server.bind, "127.0.0.1:8080");
        assert_eq!(s.app.url, "http://127.0.0.1:8080");
        assert_eq!(s.shopify.admin_base_url, "https://{shop}");
        assert_eq!(s.shopify.api_version, "2026-10");
        assert_eq!(s.store.url, "file://./data");
        assert_eq!(s.email.from, "backorders@localhost");
        assert_eq!(s.ledger.settle_ms, 2000);
        assert!(s.shopify.api_secret.is_none() && s.security.encryption_key.is_none());
    }

    #[test]
    fn environment_overrides_the_file_and_numeric_secrets_stay_strings() {
        let mut e = complete();
        e.extend(env(&[("BACKORDER__LEDGER__SETTLE_MS", "50"), ("BACKORDER__SERVER__BIND", "0.0.0.0:9")]));
        let s = Settings::load_from(e).unwrap();
        assert_eq!(s.ledger.settle_ms, 50);
        assert_eq!(s.server.bind, "0.0.0.0:9");
        assert_eq!(s.api_secret(), "12345");
        assert!(s.problems().is_empty(), "{:?}", s.problems());
    }

    #[test]
    fn every_missing_secret_is_named() {
        let s = Settings::load_from(Vec::new()).unwrap();
        let text = ConfigError::Invalid(s.problems()).to_string();
        for var in
            ["BACKORDER__SHOPIFY__API_KEY", "BACKORDER__SHOPIFY__API_SECRET", "BACKORDER__SECURITY__ENCRYPTION_KEY"]
        {
            assert!(text.contains(var), "{text}");
        }
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        let mut e = complete();
        e.push(("BACKORDER__LEDGER__SETTLE_MS".into(), "soon".into()));
        let err = Settings::load_from(e).unwrap_err().to_string();
        assert!(err.contains("BACKORDER__LEDGER__SETTLE_MS"), "{err}");

        let mut e = complete();
        e.push(("BACKORDER__STORE__URL".into(), "mysql://x".into()));
        e.push(("BACKORDER__SECURITY__ENCRYPTION_KEY".into(), "c2hvcnQ=".into()));
        let problems = Settings::load_from(e).unwrap().problems().join("\n");
        assert!(problems.contains("BACKORDER__STORE__URL"), "{problems}");
        assert!(problems.contains("expected 32"), "{problems}");

        let mut e = complete();
        e.push(("BACKORDER__EMAIL__FROM".into(), "not an address".into()));
        e.push(("BACKORDER__EMAIL__SMTP_URL".into(), "ftp://mail.example.com".into()));
        let problems = Settings::load_from(e).unwrap().problems().join("\n");
        assert!(problems.contains("BACKORDER__EMAIL__FROM"), "{problems}");
        assert!(problems.contains("BACKORDER__EMAIL__SMTP_URL"), "{problems}");
    }

    #[test]
    fn effective_values_hide_secrets_and_passwords() {
        let mut e = complete();
        e.push(("BACKORDER__STORE__URL".into(), "redis://:hunter2@h:6379".into()));
        let s = Settings::load_from(e).unwrap();
        let shown = format!("{:?}", s.effective());
        assert!(!shown.contains("12345") && !shown.contains(KEY) && !shown.contains("hunter2"), "{shown}");
        assert!(!format!("{s:?}").contains("12345"));
    }

    #[test]
    fn cluster_passwords_are_redacted_too() {
        assert_eq!(redact_url("redis+cluster://:pw@a:1,b:2"), "redis+cluster://[redacted]@a:1,b:2");
    }
}
