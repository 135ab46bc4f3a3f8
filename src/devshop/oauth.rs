//! The dev shop's OAuth endpoints, with Shopify's shapes:
//! - `GET /shops/{shop}/admin/oauth/authorize`: the merchant approves at once (no consent screen
//!   to click) and is sent to `redirect_uri` with a single-use `code`, `state` echoed, and the
//!   query signed with the app secret as Shopify signs it;
//! - `POST /shops/{shop}/admin/oauth/access_token`: the `authorization_code`, token exchange and
//!   `refresh_token` grants, answering expiring offline tokens. Unknown or replayed codes, a wrong
//!   client secret and a spent refresh token are refused.
//!
//! Each grant is logged as a call (`oauth:<grant>`), so a test can count refreshes.

use std::collections::HashMap;
use std::time::Instant;

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use super::{Call, Shared, account, lock};
use crate::auth::{query, scopes, session_token};

/// What the dev shop knows of the app being installed.
#[derive(Debug, Clone, Default)]
pub(super) struct OAuthState {
    pub api_key: String,
    pub secret: String,
    /// Where the app is served: the admin's frame loads `{app_url}/app`.
    pub app_url: String,
    /// Unused codes → (shop, granted scopes).
    pub codes: HashMap<String, (String, Vec<String>)>,
    /// Scopes a shop's merchant grants instead of those asked for (a test of too few scopes).
    pub granted: HashMap<String, Vec<String>>,
    /// Lifetime of issued access tokens, in seconds.
    pub lifetime_secs: i64,
    /// Refresh requests still to answer 503, to test retries.
    pub failing_refreshes: u32,
}

fn same(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

fn refuse(status: u16, error: &str, description: &str) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("valid status"))
        .json(json!({"error": error, "error_description": description}))
}

pub(super) async fn authorize(req: HttpRequest, path: web::Path<String>, shared: web::Data<Shared>) -> HttpResponse {
    let shop = path.into_inner();
    let params = query::parse(req.query_string());
    let get = |k: &str| query::param(&params, k).unwrap_or_default().to_string();
    let oauth = lock(&shared.oauth).clone();
    if oauth.api_key.is_empty() || !same(&get("client_id"), &oauth.api_key) {
        return HttpResponse::BadRequest().body("Oauth error invalid_request: The client_id is not valid");
    }
    let Ok(mut redirect) = url::Url::parse(&get("redirect_uri")) else {
        return HttpResponse::BadRequest().body("Oauth error invalid_request: The redirect_uri is missing");
    };
    let granted = oauth.granted.get(&shop).cloned().unwrap_or_else(|| crate::auth::oauth::scopes(&get("scope")));
    let code = format!("{:032x}", fastrand::u128(..));
    lock(&shared.oauth).codes.insert(code.clone(), (shop.clone(), granted));
    let handle = shop.trim_end_matches(".myshopify.com");
    let host = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD_NO_PAD,
        format!("admin.shopify.com/store/{handle}"),
    );
    let now = crate::store::now_ms() / 1000;
    let mut params: Vec<(String, String)> = vec![
        ("code".into(), code),
        ("host".into(), host),
        ("shop".into(), shop),
        ("state".into(), get("state")),
        ("timestamp".into(), now.to_string()),
    ];
    let hmac = query::sign(oauth.secret.as_bytes(), &params);
    params.push(("hmac".into(), hmac));
    redirect.query_pairs_mut().extend_pairs(params);
    HttpResponse::Found().insert_header(("Location", redirect.to_string())).finish()
}

pub(super) async fn access_token(
    path: web::Path<String>,
    body: web::Json<Value>,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let shop = path.into_inner();
    let field = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let mut oauth = lock(&shared.oauth);
    if oauth.api_key.is_empty()
        || !same(&field("client_id"), &oauth.api_key)
        || !same(&field("client_secret"), &oauth.secret)
    {
        return refuse(401, "invalid_client", "Client authentication failed");
    }
    let grant = field("grant_type");
    let (name, scopes) = match grant.as_str() {
        "" | "authorization_code" => match oauth.codes.remove(&field("code")) {
            Some((owner, scopes)) if owner == shop => ("oauth:authorization_code", scopes),
            _ => return refuse(400, "invalid_request", "The authorization code was not found or was already used"),
        },
        crate::auth::oauth::TOKEN_EXCHANGE => {
            let now = crate::store::now_ms() as i64 / 1000;
            match session_token::verify(&field("subject_token"), &oauth.api_key, oauth.secret.as_bytes(), now) {
                Ok(s) if s.shop == shop => {
                    let granted = oauth.granted.get(&shop).cloned();
                    let all = || scopes::REQUIRED.iter().chain(&scopes::OPTIONAL).map(|s| s.to_string()).collect();
                    ("oauth:token_exchange", granted.unwrap_or_else(all))
                }
                _ => return refuse(400, "invalid_subject_token", "The session token is invalid or expired"),
            }
        }
        "refresh_token" => {
            if oauth.failing_refreshes > 0 {
                oauth.failing_refreshes -= 1;
                log(&shared, &shop, "oauth:refresh_token", "5xx");
                return refuse(503, "temporarily_unavailable", "Service Unavailable");
            }
            let mut shops = lock(&shared.shops);
            let valid = shops.get_mut(&shop).and_then(|a| a.refresh_token.clone());
            if !valid.is_some_and(|t| same(&t, &field("refresh_token"))) {
                drop(shops);
                log(&shared, &shop, "oauth:refresh_token", "denied");
                return refuse(400, "invalid_grant", "The refresh token is invalid or was revoked");
            }
            let granted = shops.get(&shop).map(|a| a.scopes.clone()).unwrap_or_default();
            drop(shops);
            ("oauth:refresh_token", granted)
        }
        _ => return refuse(400, "unsupported_grant_type", "The grant type is not supported"),
    };
    let lifetime = oauth.lifetime_secs;
    drop(oauth);
    let expiring = field("expiring") == "1";
    let mut shops = lock(&shared.shops);
    let account = account(&mut shops, &shared, &shop);
    account.token = format!("shpat_dev_{:032x}", fastrand::u128(..));
    account.refresh_token = expiring.then(|| format!("shprt_dev_{:032x}", fastrand::u128(..)));
    account.scopes = scopes.clone();
    if name != "oauth:refresh_token" {
        // Installed through Shopify's own flow: the app's `shopify.app.toml` subscriptions
        // apply to the shop (Shopify keeps them; the app creates none by API).
        account.world.toml_subscriptions = true;
    }
    let mut reply = json!({"access_token": account.token, "scope": scopes.join(",")});
    if let Some(refresh) = &account.refresh_token {
        reply["expires_in"] = json!(lifetime);
        reply["refresh_token"] = json!(refresh);
        reply["refresh_token_expires_in"] = json!(90 * 24 * 3600);
    }
    account.calls.push(Call {
        operation: name.into(),
        variables: Value::Null,
        outcome: "ok",
        at: Instant::now(),
        cost: 0.0,
    });
    HttpResponse::Ok().json(reply)
}

fn log(shared: &Shared, shop: &str, operation: &str, outcome: &'static str) {
    let mut shops = lock(&shared.shops);
    let account = account(&mut shops, shared, shop);
    account.calls.push(Call {
        operation: operation.into(),
        variables: Value::Null,
        outcome,
        at: Instant::now(),
        cost: 0.0,
    });
}
