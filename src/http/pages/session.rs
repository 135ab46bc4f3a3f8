//! The `PageSession` extractor: a page of the merchant's app is served to a verified session
//! token carried in its URL (`id_token`), as Shopify's admin loads server-rendered apps. A request
//! without one, or with one that expired (they live a minute), is sent to the bounce page, where
//! App Bridge fetches a fresh token and loads the same URL again with it (SPEC 3.3, 11).

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};

use crate::auth::{query, session_token};
use crate::state::AppState;

/// The shop a page is for, from a session token verified on this request.
#[derive(Debug, Clone)]
pub struct PageSession {
    pub shop: String,
}

/// No valid session token: the browser is sent to the bounce page, which comes back here.
#[derive(Debug, thiserror::Error)]
#[error("a fresh session token is needed")]
pub struct Bounce {
    /// This request's path and query without `id_token`, for the bounce to reload.
    reload: String,
}

impl ResponseError for Bounce {
    fn status_code(&self) -> StatusCode {
        StatusCode::SEE_OTHER
    }

    fn error_response(&self) -> HttpResponse {
        bounce_to(&self.reload)
    }
}

impl FromRequest for PageSession {
    type Error = Bounce;
    type Future = Ready<Result<Self, Bounce>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(extract(req))
    }
}

fn extract(req: &HttpRequest) -> Result<PageSession, Bounce> {
    let params = query::parse(req.query_string());
    let bounce = || Bounce { reload: without_token(req.path(), &params) };
    let state = req.app_data::<web::Data<AppState>>().ok_or_else(bounce)?;
    let token = query::param(&params, "id_token").ok_or_else(bounce)?;
    let now = crate::store::now_ms() as i64 / 1000;
    let session = session_token::verify(token, &state.settings.shopify.api_key, state.webhook_secret(), now)
        .map_err(|_| bounce())?;
    // A `shop` in the query that is not the token's would show one shop's page under another's
    // name in the admin: the token decides, and a mismatch is bounced for a fresh one.
    if query::param(&params, "shop").is_some_and(|s| s != session.shop) {
        return Err(bounce());
    }
    Ok(PageSession { shop: session.shop })
}

/// Sends the browser to the bounce page, which loads `reload` again with a fresh session token.
pub fn bounce_to(reload: &str) -> HttpResponse {
    let query = url::form_urlencoded::Serializer::new(String::new()).append_pair("shopify-reload", reload).finish();
    HttpResponse::SeeOther()
        .insert_header(("Location", format!("{}?{query}", super::BOUNCE_PATH)))
        .insert_header(("Cache-Control", "no-store"))
        .finish()
}

/// `path?query` with every `id_token` taken out: the token is not kept in links or history.
pub fn without_token(path: &str, params: &[(String, String)]) -> String {
    let kept = params.iter().filter(|(k, _)| k != "id_token");
    let query = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(kept).finish();
    if query.is_empty() { path.to_string() } else { format!("{path}?{query}") }
}
