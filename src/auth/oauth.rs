//! Token requests at `{base}/admin/oauth/access_token`: the authorization code of an install, the
//! session token of an embedded load (token exchange), and the refresh token of an expiring
//! offline token. Every grant asks for an expiring offline token, and every answer becomes an
//! [`Install`] ready to be sealed.

use serde::Deserialize;
use serde_json::{Value, json};

use super::install::Install;
use crate::secret::Secret;
use crate::state::AppState;

pub const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";
const OFFLINE_TOKEN: &str = "urn:shopify:params:oauth:token-type:offline-access-token";

/// What the service trades for an access token.
pub enum Grant<'a> {
    AuthorizationCode(&'a str),
    /// A verified session token of the embedded admin.
    TokenExchange(&'a str),
    Refresh(&'a Secret),
}

#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// Network trouble or a 5xx: worth another try.
    #[error("the platform's token endpoint is unavailable: {0}")]
    Unavailable(String),
    /// The platform refused the grant (an unknown or used code, a revoked refresh token).
    #[error("the platform refused the token request (HTTP {status}): {message}")]
    Refused { status: u16, message: String },
    #[error("the platform's token reply is unreadable: {0}")]
    Malformed(String),
}

impl OAuthError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, OAuthError::Unavailable(_))
    }
}

#[derive(Deserialize)]
struct TokenReply {
    access_token: String,
    #[serde(default)]
    scope: String,
    expires_in: Option<i64>,
    refresh_token: Option<String>,
}

fn body(state: &AppState, grant: &Grant<'_>) -> Value {
    let shopify = &state.settings.shopify;
    let mut body = json!({
        "client_id": shopify.api_key,
        "client_secret": state.settings.api_secret(),
        "expiring": "1",
    });
    let extra = match grant {
        Grant::AuthorizationCode(code) => json!({ "code": code }),
        Grant::TokenExchange(token) => json!({
            "grant_type": TOKEN_EXCHANGE,
            "subject_token": token,
            "subject_token_type": ID_TOKEN,
            "requested_token_type": OFFLINE_TOKEN,
        }),
        Grant::Refresh(token) => json!({ "grant_type": "refresh_token", "refresh_token": token.expose() }),
    };
    if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
        b.extend(e);
    }
    body
}

/// The endpoint of a shop's token requests, on the same base as its Admin API.
pub fn token_url(state: &AppState, shop: &str) -> String {
    format!("{}/admin/oauth/access_token", state.platform.admin_base(shop))
}

/// Sends one token request (no retry: a code is single-use, and the caller of a refresh
/// decides how often to try).
pub async fn request(state: &AppState, shop: &str, grant: Grant<'_>) -> Result<Install, OAuthError> {
    let sent = state.platform.http().post(token_url(state, shop)).json(&body(state, &grant)).send().await;
    let response =
        sent.map_err(|e| OAuthError::Unavailable(if e.is_timeout() { "timed out" } else { "no connection" }.into()))?;
    let status = response.status();
    let bytes = response.bytes().await.map_err(|_| OAuthError::Unavailable("reply cut off".into()))?;
    if status.is_server_error() || status.as_u16() == 429 {
        return Err(OAuthError::Unavailable(format!("HTTP {}", status.as_u16())));
    }
    if !status.is_success() {
        // Shopify answers `{"error": "...", "error_description": "..."}`; never echo secrets.
        let reply: Value = serde_json::from_slice(&bytes).unwrap_or_default();
        let message = ["error_description", "error", "errors"]
            .iter()
            .find_map(|k| reply.get(*k).and_then(Value::as_str))
            .unwrap_or("no reason given")
            .chars()
            .take(200)
            .collect();
        return Err(OAuthError::Refused { status: status.as_u16(), message });
    }
    let reply: TokenReply = serde_json::from_slice(&bytes).map_err(|e| OAuthError::Malformed(e.to_string()))?;
    let now = crate::store::now_ms() as i64;
    Ok(Install {
        access_token: Secret::new(reply.access_token),
        refresh_token: reply.refresh_token.map(Secret::new),
        expires_at_ms: reply.expires_in.map(|s| now + s * 1000),
        scopes: scopes(&reply.scope),
        installed_at_ms: now,
    })
}

pub fn scopes(list: &str) -> Vec<String> {
    list.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}
