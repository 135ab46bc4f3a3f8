//! Session tokens of the embedded admin (App Bridge): a JWT signed HS256 with the app secret.
//! `aud` is the API key, `dest` is `https://{shop}`, `exp`/`nbf` are checked with 10 s leeway.
//! The shop a request may touch is the host of `dest`, and nothing else.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

use crate::shopify::is_myshopify_domain;

const LEEWAY_SECS: i64 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("session token is malformed")]
    Malformed,
    #[error("session token is not signed with HS256")]
    Algorithm,
    #[error("session token signature does not match")]
    Signature,
    #[error("session token has expired")]
    Expired,
    #[error("session token is not valid yet")]
    NotYetValid,
    #[error("session token is for another app")]
    Audience,
    #[error("session token names no valid shop")]
    Shop,
}

/// Who a verified token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub shop: String,
    /// The staff member (`sub`), when present.
    pub user: Option<String>,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct Claims {
    iss: Option<String>,
    dest: String,
    aud: Audience,
    exp: i64,
    #[serde(default)]
    nbf: Option<i64>,
    #[serde(default)]
    sub: Option<String>,
}

fn decode_part(part: &str) -> Result<Vec<u8>, SessionError> {
    URL_SAFE_NO_PAD.decode(part).map_err(|_| SessionError::Malformed)
}

fn host_of(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    (parsed.scheme() == "https").then(|| parsed.host_str().map(str::to_ascii_lowercase)).flatten()
}

/// Checks the signature before reading any claim, then every claim. `now` is Unix seconds.
pub fn verify(token: &str, api_key: &str, secret: &[u8], now: i64) -> Result<Session, SessionError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(SessionError::Malformed);
    };
    let head: Header = serde_json::from_slice(&decode_part(header)?).map_err(|_| SessionError::Malformed)?;
    if head.alg != "HS256" {
        return Err(SessionError::Algorithm);
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(header.as_bytes());
    mac.update(b".");
    mac.update(payload.as_bytes());
    mac.verify_slice(&decode_part(signature)?).map_err(|_| SessionError::Signature)?;

    let claims: Claims = serde_json::from_slice(&decode_part(payload)?).map_err(|_| SessionError::Malformed)?;
    if now > claims.exp + LEEWAY_SECS {
        return Err(SessionError::Expired);
    }
    if claims.nbf.is_some_and(|nbf| now + LEEWAY_SECS < nbf) {
        return Err(SessionError::NotYetValid);
    }
    let for_us = match &claims.aud {
        Audience::One(aud) => aud == api_key,
        Audience::Many(auds) => auds.iter().any(|a| a == api_key),
    };
    if !for_us {
        return Err(SessionError::Audience);
    }
    // The strict rule: this name becomes the host a token exchange sends the app secret to (L4).
    let shop = host_of(&claims.dest).filter(|h| is_myshopify_domain(h)).ok_or(SessionError::Shop)?;
    // Shopify's `iss` is the shop's admin URL; a token whose issuer names another shop is forged
    // or broken either way.
    if claims.iss.as_deref().and_then(host_of).is_some_and(|iss| iss != shop) {
        return Err(SessionError::Shop);
    }
    Ok(Session { shop, user: claims.sub })
}

/// A session token for `shop` as the Shopify admin hands App Bridge one (a minute long), signed
/// with the app's secret: what the dev shop's admin, the demo, the chaos driver and the
/// benchmarks send, as the embedded admin would.
pub fn mint(shop: &str, api_key: &str, secret: &[u8]) -> String {
    let now = crate::store::now_ms() as i64 / 1000;
    let claims = serde_json::json!({
        "iss": format!("https://{shop}/admin"), "dest": format!("https://{shop}"), "aud": api_key,
        "sub": "1", "exp": now + 60, "nbf": now - 1, "iat": now,
        "jti": format!("{:032x}", fastrand::u128(..)), "sid": format!("{:016x}", fastrand::u64(..)),
    });
    sign(&claims, secret)
}

/// Signs claims the way App Bridge does; the dev shop and the tests use it.
pub fn sign(claims: &serde_json::Value, secret: &[u8]) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims serialize"));
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(format!("{header}.{payload}").as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{header}.{payload}.{signature}")
}

#[cfg(test)]
mod tests;
