//! Layered configuration (SPEC 3.2): the compiled-in `config/default.toml`, then the file named by
//! `BACKORDER_CONFIG`, then `BACKORDER__SECTION__KEY` environment variables.

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::mail::{Mailer, MailerError};
use crate::secret::Secret;

mod check;

const DEFAULTS: &str = include_str!("../../config/default.toml");

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
    /// The App Bridge script every page of the app loads (the demo serves a stand-in).
    pub bridge_url: String,
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
    /// Intake shards of a new store (`store::shard`); a store keeps the number it started with.
    pub shards: u16,
    /// How long an instance owns its share of the shards without renewing, in ms: the time a
    /// crashed instance's shops wait before another takes them.
    pub lease_ms: u64,
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

impl Settings {
    /// The sealer of tokens at rest, when an encryption key is configured (and valid).
    pub fn sealer(&self) -> Option<crate::secret::seal::Sealer> {
        let current = decode_key(self.security.encryption_key.as_ref()?).ok()?;
        let previous = self.security.previous_encryption_key.as_ref().and_then(|k| decode_key(k).ok());
        Some(crate::secret::seal::Sealer::new(&current, previous.as_ref()))
    }
}

/// The 32-byte key inside `BACKORDER__SECURITY__ENCRYPTION_KEY`.
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
mod tests;
