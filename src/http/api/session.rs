//! The `ShopSession` extractor: a handler that takes one has a verified session token.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};

use super::ApiError;
use crate::auth::session_token;
use crate::state::AppState;

/// The shop a verified session token speaks for.
#[derive(Debug, Clone)]
pub struct ShopSession {
    pub shop: String,
}

impl FromRequest for ShopSession {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(extract(req))
    }
}

fn extract(req: &HttpRequest) -> Result<ShopSession, ApiError> {
    let state = req.app_data::<web::Data<AppState>>().ok_or_else(|| ApiError::Internal("no app state".into()))?;
    let token = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(ApiError::MissingToken)?;
    let now = crate::store::now_ms() as i64 / 1000;
    let session = session_token::verify(token.trim(), &state.settings.shopify.api_key, state.webhook_secret(), now)?;
    // Writes are counted per shop (L7): a storm of settings saves or enrolments from one shop
    // cannot take the store's time from the others. Reads are not limited here.
    if !matches!(*req.method(), actix_web::http::Method::GET | actix_web::http::Method::HEAD) {
        state
            .limits
            .writes_per_shop
            .take(&session.shop)
            .map_err(|wait| ApiError::TooMany(crate::limit::retry_after_secs(wait)))?;
    }
    Ok(ShopSession { shop: session.shop })
}
