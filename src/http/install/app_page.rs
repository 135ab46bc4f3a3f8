//! `GET /app`: the app's first page (the overview of `http::pages`). The admin loads it with a
//! signed query and, for embedded loads, a session token (`id_token`). A shop with no stored offline token gets one
//! here: by token exchange when a session token came along (Shopify-managed installation),
//! else by the authorization-code install.

use actix_web::{HttpRequest, HttpResponse, web};

use super::error::InstallPageError;
use crate::auth::oauth::{self, Grant};
use crate::auth::{install, query, scopes, session_token};
use crate::state::AppState;

pub(super) async fn show(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, InstallPageError> {
    let params = query::parse(req.query_string());
    let secret = state.webhook_secret();
    let now = super::now_secs();
    let sealer = state.sealer.as_deref().ok_or_else(|| InstallPageError::Unavailable("no sealer".into()))?;
    let books = &state.books;
    if let Some(id_token) = query::param(&params, "id_token") {
        let session = session_token::verify(id_token, &state.settings.shopify.api_key, secret, now)?;
        if query::param(&params, "shop").is_some_and(|s| s != session.shop) {
            return Err(InstallPageError::Query(query::QueryError::Shop));
        }
        let shop = session.shop;
        if install::load(books, sealer, &shop).await?.is_none() {
            let exchanged = oauth::request(&state, &shop, Grant::TokenExchange(id_token)).await?;
            let missing = scopes::missing(&exchanged.scopes);
            if !missing.is_empty() {
                return Err(InstallPageError::Scopes(missing));
            }
            install::save(books, sealer, &shop, &exchanged).await?;
            super::owe_full_pass(&state, &shop).await;
            tracing::info!(shop, "installed by token exchange");
        }
        return Ok(crate::http::pages::overview_page(&state, &shop).await);
    }
    if query::param(&params, "hmac").is_none() {
        // A page of the app opened without the admin's signature or a session token (a link,
        // a reload): the bounce page gets a token from App Bridge and comes back.
        return Ok(crate::http::pages::bounce_to(&crate::http::pages::without_token(req.path(), &params)));
    }
    query::verify(secret, &params, now)?;
    let shop = query::shop(&params)?;
    if install::load(books, sealer, shop).await?.is_none() {
        return Ok(super::redirect_to_consent(&state, shop));
    }
    Ok(crate::http::pages::overview_page(&state, shop).await)
}
