//! What a merchant's browser sees when an install or an app load is refused: a short HTML page
//! with a clear status and what to do, never internals (those go to the log).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::auth::install::InstallError;
use crate::auth::nonce::NonceError;
use crate::auth::oauth::OAuthError;
use crate::auth::query::QueryError;
use crate::auth::session_token::SessionError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum InstallPageError {
    #[error("{0}")]
    Query(#[from] QueryError),
    #[error("{0}")]
    State(#[from] NonceError),
    #[error("{0}")]
    Session(#[from] SessionError),
    #[error("this install link was already used; start the install again from your admin")]
    Replayed,
    #[error("the platform sent no authorization code")]
    NoCode,
    #[error("the app needs these permissions, which were not granted: {}. Install the app again and approve them.", .0.join(", "))]
    Scopes(Vec<&'static str>),
    #[error("the platform did not issue an access token; start the install again")]
    Exchange(#[source] OAuthError),
    #[error("temporarily unavailable, retry in a moment")]
    Unavailable(String),
}

impl From<crate::books::BookError> for InstallPageError {
    fn from(e: crate::books::BookError) -> Self {
        InstallPageError::Unavailable(e.to_string())
    }
}

impl From<StoreError> for InstallPageError {
    fn from(e: StoreError) -> Self {
        InstallPageError::Unavailable(e.to_string())
    }
}

impl From<InstallError> for InstallPageError {
    fn from(e: InstallError) -> Self {
        InstallPageError::Unavailable(e.to_string())
    }
}

impl From<OAuthError> for InstallPageError {
    fn from(e: OAuthError) -> Self {
        InstallPageError::Exchange(e)
    }
}

impl ResponseError for InstallPageError {
    fn status_code(&self) -> StatusCode {
        use InstallPageError::*;
        match self {
            Query(QueryError::Shop) | NoCode => StatusCode::BAD_REQUEST,
            Query(_) | Session(_) => StatusCode::UNAUTHORIZED,
            State(_) | Replayed | Scopes(_) => StatusCode::FORBIDDEN,
            Exchange(_) => StatusCode::BAD_GATEWAY,
            Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            InstallPageError::Exchange(e) => tracing::warn!(error = %e, "install: token request failed"),
            InstallPageError::Unavailable(why) => tracing::warn!(error = %why, "install: store unavailable"),
            other => tracing::info!(reason = %other, "install refused"),
        }
        let mut resp = HttpResponse::build(self.status_code());
        if matches!(self, InstallPageError::Session(_)) {
            // App Bridge fetches a fresh session token and retries on this header.
            resp.insert_header(("X-Shopify-Retry-Invalid-Session-Request", "1"));
        }
        resp.insert_header(("Content-Security-Policy", "frame-ancestors 'none'"))
            .content_type("text/html; charset=utf-8")
            .body(page("Backorder cannot continue", &self.to_string()))
    }
}

/// A minimal page saying why; `body` is text (the template escapes it).
fn page(title: &str, body: &str) -> String {
    crate::view::render("install/error.html", minijinja::context! { title, body }).unwrap_or_else(|e| {
        tracing::error!(error = %e, "install: the error page does not render");
        // Only our own text: the body may carry what a request sent.
        title.to_string()
    })
}
