//! What an API client sees when something goes wrong: a status and a plain message, never
//! internals (those go to the log).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::auth::session_token::SessionError;
use crate::books::BookError;
use crate::store::StoreError;
use crate::sync::reconcile::ReconcileError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Unauthorized(#[from] SessionError),
    #[error("missing session token (Authorization: Bearer …)")]
    MissingToken,
    #[error("{0}")]
    NotFound(String),
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("temporarily unavailable, retry later")]
    Unavailable,
    #[error("too many changes for this shop: retry in {0} s")]
    TooMany(u64),
    #[error("body too large: at most {0} bytes")]
    TooLarge(usize),
    #[error("internal error")]
    Internal(String),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(why) => {
                tracing::warn!(error = %why, "api: store unavailable");
                ApiError::Unavailable
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// The books answer 503 while the store is out or contended (a retry can succeed), 500 when
/// what is stored cannot be read.
impl From<BookError> for ApiError {
    fn from(e: BookError) -> Self {
        if e.is_transient() {
            tracing::warn!(error = %e, "api: the books are unavailable");
            ApiError::Unavailable
        } else {
            ApiError::Internal(e.to_string())
        }
    }
}

/// A read of the platform for the shop (enrolment, its preview): no install here is a 404, a
/// platform that cannot answer now a 503.
impl From<ReconcileError> for ApiError {
    fn from(e: ReconcileError) -> Self {
        match e {
            ReconcileError::NotInstalled(_) => {
                ApiError::NotFound("the shop has no install here: the platform cannot be read".into())
            }
            ReconcileError::Platform(e) => {
                tracing::warn!(error = %e, "api: the platform cannot be read");
                ApiError::Unavailable
            }
            ReconcileError::Ledger(e) => e.into(),
            ReconcileError::Store(e) => e.into(),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized(_) | ApiError::MissingToken => StatusCode::UNAUTHORIZED,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut resp = HttpResponse::build(self.status_code());
        match self {
            // App Bridge fetches a fresh token and retries when it sees this header.
            ApiError::Unauthorized(_) | ApiError::MissingToken => {
                resp.insert_header(("X-Shopify-Retry-Invalid-Session-Request", "1"));
            }
            ApiError::TooMany(secs) => {
                resp.insert_header((actix_web::http::header::RETRY_AFTER, secs.to_string()));
            }
            ApiError::Internal(why) => tracing::error!(error = %why, "api: internal error"),
            _ => {}
        }
        let body = match self {
            ApiError::Invalid { field, message } => serde_json::json!({ "error": message, "field": field }),
            other => serde_json::json!({ "error": other.to_string() }),
        };
        resp.json(body)
    }
}
