//! `POST /webhooks`: raw bytes in, a durable queue entry out, 200 only after the store commits.

use actix_web::http::StatusCode;
use actix_web::http::header::HeaderMap;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use futures_util::StreamExt;

use super::{body_shop, verify};
use crate::failpoint;
use crate::metrics::Received;
use crate::shopify::{Topic, is_myshopify_domain};
use crate::state::AppState;
use crate::store::{Enqueued, Envelope, EnvelopeMeta, now_ms};

/// Shopify's payloads stay far below this; anything larger is refused unread.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("body larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    #[error("could not read the request body")]
    BodyRead,
    #[error("{0}")]
    Unauthorized(#[from] verify::SignatureError),
    #[error("{0}")]
    BadHeader(String),
    /// A privacy or lifecycle body that names another shop than the header (or none): the
    /// header is not signed, so only the body can say whose data the delivery is about.
    #[error("the body names another shop than X-Shopify-Shop-Domain")]
    OtherShop,
    /// The store did not confirm the write. Shopify retries on 503, so nothing is lost.
    #[error("temporarily unable to accept webhooks, retry later")]
    Unavailable,
}

impl ResponseError for IntakeError {
    fn status_code(&self) -> StatusCode {
        match self {
            IntakeError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            IntakeError::BodyRead | IntakeError::BadHeader(_) => StatusCode::BAD_REQUEST,
            IntakeError::Unauthorized(_) | IntakeError::OtherShop => StatusCode::UNAUTHORIZED,
            IntakeError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut resp = HttpResponse::build(self.status_code());
        if matches!(self, IntakeError::Unavailable) {
            resp.insert_header(("Retry-After", "5"));
        }
        resp.json(serde_json::json!({ "error": self.to_string() }))
    }
}

pub async fn receive(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, IntakeError> {
    let headers = req.headers();
    let topic = header(headers, "x-shopify-topic");
    let result = accept(headers, payload, &state).await;
    let outcome = match &result {
        Ok(Enqueued::New) => Received::Accepted,
        Ok(Enqueued::Duplicate) => Received::Duplicate,
        Err(Accept::Ignored) => Received::Ignored,
        Err(Accept::Refused(e)) => match e {
            IntakeError::TooLarge => Received::TooLarge,
            IntakeError::Unauthorized(_) | IntakeError::OtherShop => Received::Unauthorized,
            IntakeError::Unavailable => Received::Unavailable,
            IntakeError::BodyRead | IntakeError::BadHeader(_) => Received::BadRequest,
        },
    };
    state.metrics.received(topic, outcome);
    let status = match result {
        Ok(Enqueued::New) => "accepted",
        Ok(Enqueued::Duplicate) => "duplicate",
        Err(Accept::Ignored) => "ignored",
        Err(Accept::Refused(e)) => {
            if !matches!(e, IntakeError::Unavailable) {
                tracing::info!(topic = crate::metrics::topic_label(topic), reason = %e, "webhook refused");
            }
            return Err(e);
        }
    };
    Ok(HttpResponse::Ok().json(serde_json::json!({ "status": status })))
}

enum Accept {
    /// A topic the service does not act on: acknowledged, nothing stored.
    Ignored,
    Refused(IntakeError),
}

impl From<IntakeError> for Accept {
    fn from(e: IntakeError) -> Self {
        Accept::Refused(e)
    }
}

async fn accept(headers: &HeaderMap, payload: web::Payload, state: &AppState) -> Result<Enqueued, Accept> {
    let body = read_limited(headers, payload).await?;
    verify::verify(state.webhook_secret(), &body, headers.get("x-shopify-hmac-sha256").map(|v| v.as_bytes()))
        .map_err(IntakeError::from)?;

    let topic = required(headers, "x-shopify-topic")?;
    let Some(known) = Topic::parse(topic) else {
        return Err(Accept::Ignored);
    };
    let shop = required(headers, "x-shopify-shop-domain")?;
    let domain = shop.to_ascii_lowercase();
    // Signed, but for no shop the app could serve (SPEC 7, audit H2): acknowledged so it is not
    // sent again, and nothing of it is stored.
    if !is_myshopify_domain(&domain) {
        return Err(Accept::Ignored);
    }
    if !body_shop::names_shop(known, &body, shop) {
        return Err(IntakeError::OtherShop.into());
    }
    // Signed, for a shop with no install here (SPEC 7): acknowledged, nothing stored. The
    // compliance topics are honoured whatever the install (a shop uninstalled days ago).
    if !known.is_compliance() && !installed(state, &domain).await? {
        return Err(Accept::Ignored);
    }
    let webhook_id = required(headers, "x-shopify-webhook-id")?;
    check_id("X-Shopify-Webhook-Id", webhook_id)?;
    let event_id = header(headers, "x-shopify-event-id");
    if let Some(id) = event_id {
        check_id("X-Shopify-Event-Id", id)?;
    }
    // Verified over the whole body; queued with only what the ledger reads of an order
    // (`ledger::kept`): the store then carries a tenth of the bytes.
    let body = if known.carries_an_order() {
        crate::ledger::kept::order_body(&body).map_or(body, bytes::Bytes::from)
    } else {
        body
    };
    let envelope = Envelope {
        meta: EnvelopeMeta {
            topic: topic.to_string(),
            shop: domain,
            webhook_id: webhook_id.to_string(),
            event_id: event_id.map(str::to_string),
            api_version: header(headers, "x-shopify-api-version").map(str::to_string),
            triggered_at: header(headers, "x-shopify-triggered-at").map(str::to_string),
            received_at_ms: now_ms(),
            attempts: 0,
        },
        body,
    };
    let enqueued = state.queue.enqueue(&envelope, state.dedupe_ttl()).await.map_err(|e| {
        tracing::warn!(error = %e, "webhook not accepted: store unavailable");
        Accept::Refused(IntakeError::Unavailable)
    })?;
    failpoint::hit(failpoint::points::INTAKE_ENQUEUED);
    Ok(enqueued)
}

/// Whether the shop has an install record; a yes is remembered for a while.
async fn installed(state: &AppState, shop: &str) -> Result<bool, Accept> {
    if state.installed.recently(shop) {
        return Ok(true);
    }
    let found = crate::auth::install::exists(&state.books, shop).await.map_err(|e| {
        tracing::warn!(error = %e, "webhook not accepted: the install cannot be read");
        Accept::Refused(IntakeError::Unavailable)
    })?;
    if found {
        state.installed.note(shop);
    }
    Ok(found)
}

/// Reads the body, refusing it as soon as it is known to exceed the limit.
async fn read_limited(headers: &HeaderMap, mut payload: web::Payload) -> Result<bytes::Bytes, IntakeError> {
    let declared = header(headers, "content-length").and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(IntakeError::TooLarge);
    }
    // Sized by what arrives, never by what a client declares: a declared length costs nothing
    // until the bytes are here.
    let mut body = web::BytesMut::with_capacity(declared.unwrap_or(0).min(16 * 1024));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| IntakeError::BodyRead)?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(IntakeError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

fn required<'a>(headers: &'a HeaderMap, name: &str) -> Result<&'a str, IntakeError> {
    header(headers, name).ok_or_else(|| IntakeError::BadHeader(format!("missing {}", canonical(name))))
}

fn canonical(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut c = part.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// Ids end up in store keys, so they are kept to a safe alphabet and length.
fn check_id(name: &str, id: &str) -> Result<(), IntakeError> {
    let ok = id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    if ok { Ok(()) } else { Err(IntakeError::BadHeader(format!("{name} has unexpected characters"))) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn header_names_read_as_shopify_writes_them() {
        assert_eq!(canonical("x-shopify-webhook-id"), "X-Shopify-Webhook-Id");
    }

    proptest! {
        #[test]
        fn ids_that_pass_contain_no_key_syntax(id in ".{0,200}") {
            if check_id("X", &id).is_ok() {
                prop_assert!(!id.contains(['{', '}', ' ', '\n', '*']), "{:?} passed", id);
                prop_assert!(id.len() <= 128);
            }
        }
    }
}
