//! `GET /app`: the embedded settings page. The admin loads it with a signed query and, for
//! embedded loads, a session token (`id_token`). A shop with no stored offline token gets one
//! here: by token exchange when a session token came along (Shopify-managed installation),
//! else by the authorization-code install.

use actix_web::{HttpRequest, HttpResponse, web};

use super::error::{InstallPageError, escape};
use crate::auth::oauth::{self, Grant};
use crate::auth::{install, query, scopes, session_token};
use crate::state::AppState;

pub(super) async fn show(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, InstallPageError> {
    let params = query::parse(req.query_string());
    let secret = state.webhook_secret();
    let now = super::now_secs();
    let sealer = state.sealer.as_deref().ok_or_else(|| InstallPageError::Unavailable("no sealer".into()))?;
    let store = state.store.as_ref();
    if let Some(id_token) = query::param(&params, "id_token") {
        let session = session_token::verify(id_token, &state.settings.shopify.api_key, secret, now)?;
        if query::param(&params, "shop").is_some_and(|s| s != session.shop) {
            return Err(InstallPageError::Query(query::QueryError::Shop));
        }
        let shop = session.shop;
        if install::load(store, sealer, &shop).await?.is_none() {
            let exchanged = oauth::request(&state, &shop, Grant::TokenExchange(id_token)).await?;
            let missing = scopes::missing(&exchanged.scopes);
            if !missing.is_empty() {
                return Err(InstallPageError::Scopes(missing));
            }
            install::save(store, sealer, &shop, &exchanged).await?;
            tracing::info!(shop, "installed by token exchange");
        }
        return Ok(render(&state, &shop));
    }
    if query::param(&params, "hmac").is_none() {
        return Err(InstallPageError::NotSigned);
    }
    query::verify(secret, &params, now)?;
    let shop = query::shop(&params)?;
    if install::load(store, sealer, shop).await?.is_none() {
        return Ok(super::redirect_to_consent(&state, shop));
    }
    Ok(render(&state, shop))
}

/// The page itself: App Bridge, and a view of the shop's backlog fetched with session tokens.
fn render(state: &AppState, shop: &str) -> HttpResponse {
    let api_key = escape(&state.settings.shopify.api_key);
    let shop_html = escape(shop);
    let body = format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Backorder</title>
<meta name="shopify-api-key" content="{api_key}">
<script src="https://cdn.shopify.com/shopifycloud/app-bridge.js"></script></head>
<body><h1>Backorder</h1><p>Backorders of {shop_html}.</p>
<h2>Settings</h2><pre id="settings">Loading…</pre>
<h2>Open backorders</h2><pre id="backorders">Loading…</pre>
<script>
async function load(path, id) {{
  const token = await shopify.idToken();
  const r = await fetch(path, {{ headers: {{ Authorization: "Bearer " + token }} }});
  document.getElementById(id).textContent = JSON.stringify(await r.json(), null, 2);
}}
load("/api/settings", "settings");
load("/api/backorders", "backorders");
</script></body></html>"#
    );
    HttpResponse::Ok()
        .insert_header((
            "Content-Security-Policy",
            format!("frame-ancestors https://{shop} https://admin.shopify.com;"),
        ))
        .content_type("text/html; charset=utf-8")
        .body(body)
}
