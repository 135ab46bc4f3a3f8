//! The Admin GraphQL client: paced by the shop's cost bucket, retried where retrying can help,
//! and strict about errors (a `userErrors` entry is an error, never ignored).

use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::PlatformError;
use super::ops::Operation;
use super::pacing::{Pacer, ThrottleStatus, Ticket, wait_secs};
use crate::metrics::Metrics;
use crate::retry::backoff;
use crate::secret::Secret;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `{shop}` is replaced by the shop's domain.
    pub admin_base_url: String,
    pub api_version: String,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Below the 60 s after which servers commonly drop idle connections, so a pooled
    /// connection is never reused just as the other side closes it.
    pub pool_idle: Duration,
    /// Attempts for 5xx, 429, timeouts and dropped connections before giving up.
    pub max_attempts: u32,
    pub retry_base_ms: u64,
    pub retry_max_ms: u64,
}

impl ClientConfig {
    pub fn from_settings(settings: &crate::config::Settings) -> Self {
        let p = &settings.platform;
        Self {
            admin_base_url: settings.shopify.admin_base_url.clone(),
            api_version: settings.shopify.api_version.clone(),
            timeout: Duration::from_millis(p.timeout_ms),
            connect_timeout: Duration::from_millis(p.connect_timeout_ms),
            pool_idle: Duration::from_secs(p.pool_idle_secs),
            max_attempts: p.max_attempts,
            retry_base_ms: p.retry_base_ms,
            retry_max_ms: p.retry_max_ms,
        }
    }
}

pub struct AdminClient {
    http: Client,
    config: ClientConfig,
    pacer: Pacer,
    metrics: Arc<Metrics>,
}

#[derive(Debug, Deserialize)]
struct Reply {
    data: Option<Value>,
    #[serde(default)]
    errors: Vec<GraphQlError>,
    extensions: Option<Extensions>,
}

#[derive(Debug, Deserialize)]
struct GraphQlError {
    message: String,
    extensions: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Extensions {
    cost: Option<Cost>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cost {
    requested_query_cost: Option<f64>,
    actual_query_cost: Option<f64>,
    throttle_status: Option<ThrottleStatus>,
}

/// What one attempt came to.
enum Attempt {
    Done(Value),
    /// Worth another try after the given wait (`None`: the backoff for this attempt).
    Again(Option<Duration>, PlatformError),
}

impl AdminClient {
    pub fn new(config: ClientConfig, metrics: Arc<Metrics>) -> Result<Self, PlatformError> {
        crate::init_crypto();
        let http = Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .pool_idle_timeout(config.pool_idle)
            .user_agent(concat!("backorder/", env!("CARGO_PKG_VERSION")))
            // A redirect would carry `X-Shopify-Access-Token` (or a `client_secret` body, on 307)
            // to another host: the platform never redirects an API call, so none is followed (L4).
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| PlatformError::Unavailable(format!("HTTP client: {e}")))?;
        Ok(Self { http, config, pacer: Pacer::default(), metrics })
    }

    /// The shop's platform base: `https://{shop}` in production, one host for every shop in the
    /// dev shop. OAuth endpoints hang off it too.
    pub fn admin_base(&self, shop: &str) -> String {
        self.config.admin_base_url.replace("{shop}", shop).trim_end_matches('/').to_string()
    }

    pub fn endpoint(&self, shop: &str) -> String {
        format!("{}/admin/api/{}/graphql.json", self.admin_base(shop), self.config.api_version)
    }

    /// The pooled HTTP client, for the OAuth token requests that share the platform's host.
    pub fn http(&self) -> &Client {
        &self.http
    }

    /// Sends `op` for `shop` and returns its `data`, waiting for the cost bucket first and
    /// retrying throttling, 5xx, timeouts and dropped connections within the retry budget.
    pub async fn call(
        &self,
        shop: &str,
        token: &Secret,
        op: &Operation,
        variables: Value,
    ) -> Result<Value, PlatformError> {
        self.call_while(shop, token, op, variables, || true).await
    }

    /// As [`AdminClient::call`], starting no attempt once `may_start` says no (the caller's
    /// lease on the shop lapsed: another instance may be about to read what this call would
    /// change). Earlier attempts of a mutation are only retried when they were not applied
    /// (5xx, throttling, no connection), so a call stopped so changed nothing.
    pub async fn call_while(
        &self,
        shop: &str,
        token: &Secret,
        op: &Operation,
        variables: Value,
        may_start: impl Fn() -> bool,
    ) -> Result<Value, PlatformError> {
        let cost = op.requested_cost(&variables) as f64;
        let body = json!({ "query": op.document, "operationName": op.name, "variables": variables });
        let mut attempt = 0;
        loop {
            attempt += 1;
            let ticket = self.pacer.acquire(shop, cost).await;
            if !may_start() {
                // Not sent: its points go back to the bucket.
                self.pacer.answered(shop, ticket, None, Some(0.0), Instant::now());
                return Err(PlatformError::Unavailable(format!("{}: not sent, the shop's lease lapsed", op.name)));
            }
            match self.attempt(shop, token, op, &body, ticket).await? {
                Attempt::Done(data) => return Ok(data),
                Attempt::Again(_, e) if attempt >= self.config.max_attempts => return Err(e),
                Attempt::Again(wait, e) => {
                    let wait =
                        wait.unwrap_or_else(|| backoff(attempt, self.config.retry_base_ms, self.config.retry_max_ms));
                    tracing::debug!(shop, operation = op.name, attempt, wait_ms = wait.as_millis() as u64, error = %e, "platform: retrying");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    async fn attempt(
        &self,
        shop: &str,
        token: &Secret,
        op: &Operation,
        body: &Value,
        ticket: Ticket,
    ) -> Result<Attempt, PlatformError> {
        let cost = ticket.cost;
        let retry = |why: String| Attempt::Again(None, PlatformError::Unavailable(why));
        // A mutation whose request may have reached the platform is not sent again blindly: it
        // may have been applied. The caller reads the platform back before it decides.
        let lost = |e: &reqwest::Error| {
            if op.is_mutation() && !e.is_connect() {
                Err(PlatformError::Uncertain(format!("{}: {}", op.name, transport(e))))
            } else {
                Ok(retry(format!("{}: {}", op.name, transport(e))))
            }
        };
        let sent = self
            .http
            .post(self.endpoint(shop))
            .header("X-Shopify-Access-Token", token.expose())
            .json(body)
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => {
                self.pacer.answered(shop, ticket, None, None, Instant::now());
                return lost(&e);
            }
        };
        let status = response.status();
        self.check_version(shop, op, response.headers());
        // `f64` parses "NaN" and "inf" too: a figure that is not finite counts as no figure.
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .and_then(|secs| wait_secs(secs, 60.0));
        let bytes = response.bytes().await;
        let bytes = match bytes {
            Ok(b) => b,
            Err(e) => {
                self.pacer.answered(shop, ticket, None, None, Instant::now());
                return lost(&e);
            }
        };
        let reply: Option<Reply> = serde_json::from_slice(&bytes).ok();
        let throttle = reply.as_ref().and_then(|r| r.extensions.as_ref()?.cost.as_ref()?.throttle_status);
        let cost_info = reply.as_ref().and_then(|r| r.extensions.as_ref()?.cost.as_ref());
        // An answer with no cost at all (a 5xx, a plain 429) ran nothing: it kept no points.
        let actual = cost_info.map_or(Some(0.0), |c| c.actual_query_cost);
        self.pacer.answered(shop, ticket, throttle, actual, Instant::now());
        match status {
            StatusCode::TOO_MANY_REQUESTS => {
                let wait = retry_after.unwrap_or(Duration::from_secs(1));
                return Ok(Attempt::Again(Some(wait), PlatformError::Unavailable(format!("{}: HTTP 429", op.name))));
            }
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => return Err(PlatformError::Denied(status.as_u16())),
            s if s.is_server_error() => return Ok(retry(format!("{}: HTTP {}", op.name, s.as_u16()))),
            s if !s.is_success() => {
                return Err(PlatformError::Refused { operation: op.name, message: format!("HTTP {}", s.as_u16()) });
            }
            _ => {}
        }
        let reply =
            reply.ok_or_else(|| PlatformError::Malformed { operation: op.name, message: "not GraphQL JSON".into() })?;
        if reply.errors.iter().any(|e| code_of(e) == Some("THROTTLED")) {
            let requested =
                reply.extensions.as_ref().and_then(|x| x.cost.as_ref()?.requested_query_cost).unwrap_or(cost);
            let wait = throttle
                .and_then(ThrottleStatus::sane)
                .and_then(|t| wait_secs((requested - t.currently_available) / t.restore_rate, 60.0))
                .map_or(Duration::from_secs(1), |w| w.max(Duration::from_millis(50)));
            return Ok(Attempt::Again(Some(wait), PlatformError::Unavailable(format!("{}: THROTTLED", op.name))));
        }
        if let Some(e) = reply.errors.iter().find(|e| code_of(e) == Some("MAX_COST_EXCEEDED")) {
            // The document asks for more than Shopify runs in one query: no retry can help, and
            // the name of the query is what a developer needs to size its pages.
            let asked = e.extensions.as_ref().and_then(|x| x.get("cost")).and_then(Value::as_f64).unwrap_or(cost);
            let message = format!(
                "the query requests {asked} points, over the platform's limit for one query (MAX_COST_EXCEEDED)"
            );
            return Err(PlatformError::Refused { operation: op.name, message });
        }
        if let Some(e) = reply.errors.iter().find(|e| code_of(e) == Some("ACCESS_DENIED")) {
            let asked = e.extensions.as_ref().and_then(|x| x.get("requiredAccess")).and_then(Value::as_str);
            // "`read_inventory_transfers` access scope.": the scope's name is what a merchant grants.
            let scope = asked.and_then(|a| a.split('`').nth(1)).unwrap_or(e.message.as_str()).to_string();
            return Err(PlatformError::MissingScope { operation: op.name, scope });
        }
        if !reply.errors.is_empty() {
            let message = reply.errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; ");
            return Err(PlatformError::Refused { operation: op.name, message });
        }
        let data =
            reply.data.ok_or_else(|| PlatformError::Malformed { operation: op.name, message: "no data".into() })?;
        user_errors(op, &data)?;
        Ok(Attempt::Done(data))
    }
}

impl AdminClient {
    /// Shopify serves a version that left its support window as a newer one, silently: the
    /// header is the only sign that the shapes we parse may have changed under us.
    fn check_version(&self, shop: &str, op: &Operation, headers: &reqwest::header::HeaderMap) {
        let Some(served) = headers.get("x-shopify-api-version").and_then(|v| v.to_str().ok()) else { return };
        if served != self.config.api_version {
            self.metrics.api_version_mismatch();
            tracing::warn!(
                shop,
                operation = op.name,
                asked = %self.config.api_version,
                served,
                "platform: the Admin API answered in another version than the one asked for"
            );
        }
    }
}

fn code_of(e: &GraphQlError) -> Option<&str> {
    e.extensions.as_ref()?.get("code")?.as_str()
}

/// A transport error without the URL (it names the shop's host, fine in logs, but the error
/// text travels into dead letters that the merchant may see).
fn transport(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "connection dropped"
    }
}

/// Mutations answer `userErrors` next to their result; any entry means the change did not
/// happen as asked.
fn user_errors(op: &Operation, data: &Value) -> Result<(), PlatformError> {
    let Some(fields) = data.as_object() else { return Ok(()) };
    let mut messages = Vec::new();
    for payload in fields.values() {
        for e in payload.get("userErrors").and_then(Value::as_array).into_iter().flatten() {
            let message = e.get("message").and_then(Value::as_str).unwrap_or("unknown error");
            let field = e
                .get("field")
                .and_then(Value::as_array)
                .map(|f| f.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("."));
            messages.push(match field {
                Some(f) if !f.is_empty() => format!("{f}: {message}"),
                _ => message.to_string(),
            });
        }
    }
    if messages.is_empty() {
        Ok(())
    } else {
        Err(PlatformError::Refused { operation: op.name, message: messages.join("; ") })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::ops::TAGS_ADD;

    #[test]
    fn user_errors_of_a_mutation_are_errors() {
        let data = json!({"tagsAdd": {"userErrors": [{"field": ["id"], "message": "Order does not exist"}]}});
        let err = user_errors(&TAGS_ADD, &data).unwrap_err();
        assert_eq!(err.to_string(), "TagsAdd refused: id: Order does not exist");
        assert!(!err.is_retryable());
        assert!(user_errors(&TAGS_ADD, &json!({"tagsAdd": {"userErrors": []}})).is_ok());
    }
}
