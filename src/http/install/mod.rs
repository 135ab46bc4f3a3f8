//! The authorization-code install (SPEC 3.3): `GET /auth` sends the merchant to the platform's
//! consent page with a state nonce in a signed cookie; `GET /auth/callback` checks everything
//! before it spends the code, stores the token pair sealed, registers the webhook subscriptions
//! and sends the merchant into the app. Every refusal stores nothing.

mod app_page;
mod error;

use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};

use crate::auth::oauth::{self, Grant};
use crate::auth::{install, nonce, query, scopes};
use crate::state::AppState;
use crate::store::EventMark;

pub use error::InstallPageError;

pub(super) fn routes(r: &mut crate::http::routes::Routes<'_>) {
    use crate::http::routes::Access;
    use actix_web::http::Method;
    r.route(Method::GET, "/auth", Access::QueryHmac, begin)
        .route(Method::GET, "/auth/callback", Access::QueryHmac, callback)
        .route(Method::GET, "/app", Access::QueryHmac, app_page::show);
}

const CALLBACK_PATH: &str = "/auth/callback";

fn now_secs() -> i64 {
    crate::store::now_ms() as i64 / 1000
}

/// `GET /auth?shop&timestamp&hmac…`: a signed install request.
async fn begin(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, InstallPageError> {
    let params = query::parse(req.query_string());
    query::verify(state.webhook_secret(), &params, now_secs())?;
    let shop = query::shop(&params)?;
    Ok(redirect_to_consent(&state, shop))
}

/// The redirect to the platform's consent page, with the state nonce in a cookie only the
/// callback path receives.
pub(crate) fn redirect_to_consent(state: &AppState, shop: &str) -> HttpResponse {
    let (state_nonce, cookie) = nonce::issue(state.webhook_secret(), shop, now_secs());
    let app_url = state.settings.app.url.trim_end_matches('/');
    let mut authorize = url::Url::parse(&format!("{}/admin/oauth/authorize", state.platform.admin_base(shop)))
        .expect("admin base URL is validated at start");
    authorize
        .query_pairs_mut()
        .append_pair("client_id", &state.settings.shopify.api_key)
        .append_pair("scope", &scopes::REQUIRED.iter().chain(&scopes::OPTIONAL).copied().collect::<Vec<_>>().join(","))
        .append_pair("redirect_uri", &format!("{app_url}{CALLBACK_PATH}"))
        .append_pair("state", &state_nonce)
        // Empty: an offline token, for the background work; `per-user` would ask for an online one.
        .append_pair("grant_options[]", "");
    HttpResponse::Found()
        .insert_header(("Location", authorize.to_string()))
        .insert_header(("Set-Cookie", state_cookie(state, &cookie, nonce::LIFETIME_SECS)))
        .insert_header(("Cache-Control", "no-store"))
        .finish()
}

fn state_cookie(state: &AppState, value: &str, max_age: i64) -> String {
    let secure = if state.settings.app.url.starts_with("https://") { "; Secure" } else { "" };
    format!("{}={value}; Path={CALLBACK_PATH}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}", nonce::COOKIE)
}

fn cookie<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers()
        .get_all("cookie")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// `GET /auth/callback?code&shop&state&timestamp&hmac…`.
async fn callback(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, InstallPageError> {
    let params = query::parse(req.query_string());
    let secret = state.webhook_secret();
    let now = now_secs();
    query::verify(secret, &params, now)?;
    let shop = query::shop(&params)?;
    let given = query::param(&params, "state").unwrap_or_default();
    let nonce = nonce::check(secret, cookie(&req, nonce::COOKIE), shop, given, now)?;
    let code = query::param(&params, "code").filter(|c| !c.is_empty()).ok_or(InstallPageError::NoCode)?;
    // One callback per nonce, across instances: a replayed callback (same URL, same cookie)
    // is refused before anything is spent or stored.
    let ttl = Duration::from_secs(2 * nonce::LIFETIME_SECS as u64);
    let callback = EventMark { key: format!("oauth-state:{nonce}"), topic: "oauth".into(), ttl };
    if !state.books.record_event(shop, &callback).await? {
        return Err(InstallPageError::Replayed);
    }
    let installed = oauth::request(&state, shop, Grant::AuthorizationCode(code)).await?;
    let missing = scopes::missing(&installed.scopes);
    if !missing.is_empty() {
        return Err(InstallPageError::Scopes(missing));
    }
    let sealer = state.sealer.as_deref().ok_or_else(|| InstallPageError::Unavailable("no sealer".into()))?;
    install::save(&state.books, sealer, shop, &installed).await?;
    owe_full_pass(&state, shop).await;
    // No subscription by API: the app's `shopify.app.toml` subscriptions apply to every shop
    // installed through Shopify (SPEC 3.5), and both would deliver every event twice.
    crate::sync::zone::refresh_or_log(&state, shop, &installed.access_token).await;
    tracing::info!(shop, "installed");
    Ok(HttpResponse::Found()
        .insert_header(("Location", app_url(&state, shop, query::param(&params, "host"))))
        .insert_header(("Set-Cookie", state_cookie(&state, "", 0)))
        .finish())
}

/// Where the merchant lands: the app inside their admin (`https://{host}/apps/{api_key}`) when
/// the platform named a valid admin host, else the shop's own admin.
fn app_url(state: &AppState, shop: &str, host: Option<&str>) -> String {
    let api_key = &state.settings.shopify.api_key;
    match host.and_then(admin_host) {
        Some(host) => format!("https://{host}/apps/{api_key}"),
        None => format!("https://{shop}/admin/apps/{api_key}"),
    }
}

/// The decoded `host` parameter, if it names Shopify's admin or a shop's legacy admin.
pub(crate) fn admin_host(encoded: &str) -> Option<String> {
    use base64::Engine;
    let trimmed = encoded.trim_end_matches('=');
    if trimmed.is_empty() || !trimmed.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/') {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD.decode(trimmed).ok()?;
    let host = String::from_utf8(bytes).ok()?;
    let domain = host.split('/').next()?;
    let ok = domain == "admin.shopify.com" || crate::shopify::is_myshopify_domain(domain);
    (ok && host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-./_".contains(&b))).then_some(host)
}

/// A (re)install: the books may be kept from before, and anything may have happened while the
/// app was away, so the shop's next drift pass reads everything (SPEC 9).
pub(super) async fn owe_full_pass(state: &AppState, shop: &str) {
    if let Err(e) = crate::sync::drift::owe_full_pass(state, shop).await {
        tracing::warn!(shop, error = %e, "install: cannot ask for a full drift pass; the next pass reads what changed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admin_hosts_are_followed() {
        use base64::Engine;
        let enc = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        assert_eq!(admin_host(&enc("admin.shopify.com/store/x")).as_deref(), Some("admin.shopify.com/store/x"));
        assert_eq!(admin_host(&enc("x.myshopify.com/admin")).as_deref(), Some("x.myshopify.com/admin"));
        assert_eq!(admin_host(&enc("evil.example.com/admin")), None);
        assert_eq!(admin_host("!!"), None);
    }
}
