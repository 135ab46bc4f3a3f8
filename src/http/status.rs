//! The customer's order status page (`GET /status/{token}`), linked from every email, and its
//! "request cancellation" button (`POST /status/{token}/cancel`).
//!
//! The token is the capability: signed, naming one shop and one order. Anything wrong with it,
//! or an order the ledger does not know, is the same 404, so nothing leaks about other orders.
//! The form also carries a value derived from the token, and a request from another site's page
//! (by `Origin` or `Sec-Fetch-Site`) is refused: a page elsewhere cannot post for a customer.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::Mac;
use serde::{Deserialize, Serialize};

use crate::books::standing::{self, LineStanding};
use crate::books::{Change, Stamp, key};
use crate::ledger::input::Contact;
use crate::notify::MailKey;
use crate::notify::outbox::{self, human_date, shop_name};
use crate::notify::plan::{MailState, Outgoing};
use crate::notify::status_token;
use crate::notify::templates::Rendered;
use crate::state::AppState;
use crate::store::{Mark, Record, now_ms};

pub(super) fn routes(r: &mut crate::http::routes::Routes<'_>) {
    use crate::http::routes::Access;
    use actix_web::http::Method;
    r.route(Method::GET, "/status/{token}", Access::StatusLink, show).route(
        Method::POST,
        "/status/{token}/cancel",
        Access::StatusLink,
        cancel,
    );
}

#[derive(Serialize)]
struct PageLine {
    title: String,
    quantity: u32,
    position: Option<u64>,
    eta_text: Option<String>,
}

#[derive(Serialize)]
struct Page {
    shop_name: String,
    order_name: String,
    waiting: Vec<PageLine>,
    ready: Vec<PageLine>,
    was_waiting: bool,
    open: bool,
    cancel_requested: bool,
    cancel_action: String,
    csrf: String,
    notice: Option<&'static str>,
}

#[derive(Deserialize)]
pub struct CancelForm {
    #[serde(default)]
    csrf: String,
}

/// What the page is built from.
struct Order {
    shop: String,
    order_id: u64,
    name: String,
    lines: Vec<LineStanding>,
    contact: Contact,
    mail: MailState,
    /// The outbox as read: the request's commit holds only if it is still so.
    mail_stamp: Stamp,
    cancel_requested: bool,
}

enum Failure {
    NotFound,
    Unavailable,
}

fn page(status: actix_web::http::StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        // The URL is the capability: keep it out of caches, frames and other sites' referrers.
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
        ))
        .body(body)
}

fn failure(f: Failure) -> HttpResponse {
    use actix_web::http::StatusCode;
    match f {
        Failure::NotFound => page(StatusCode::NOT_FOUND, simple("Order not found", "This link is not valid.")),
        Failure::Unavailable => page(
            StatusCode::SERVICE_UNAVAILABLE,
            simple("Try again in a moment", "Your order's status cannot be shown right now."),
        ),
    }
}

/// A page of one title and one sentence, for what went wrong.
fn simple(title: &str, text: &str) -> String {
    crate::view::render("status/simple.html", minijinja::context! { t => title, x => text }).unwrap_or_else(|e| {
        tracing::error!(error = %e, "status page: the simple page does not render");
        String::new()
    })
}

/// The value a form must carry: derived from the token with a key of its own (never the raw
/// app secret, or the value would sign a webhook of its own text).
fn csrf(state: &AppState, token: &str) -> String {
    let mut mac = crate::derive::mac(state.webhook_secret(), crate::derive::Purpose::StatusForm);
    mac.update(token.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

async fn load(state: &AppState, token: &str) -> Result<Order, Failure> {
    let (shop, order_id) = status_token::verify(state.webhook_secret(), token).ok_or(Failure::NotFound)?;
    let books = &state.books;
    let unavailable = |e: &dyn std::fmt::Display| {
        tracing::warn!(error = %e, "status page: cannot read the order");
        Failure::Unavailable
    };
    let found = standing::of_order(books, &shop, order_id, &state.status_queues).await.map_err(|e| unavailable(&e))?;
    let Some((record, lines)) = found else { return Err(Failure::NotFound) };
    let records = [Record::Contact(order_id), Record::Mail(order_id), Record::CancelRequest(order_id)];
    let reads = books.read(&shop, &records).await.map_err(|e| unavailable(&e))?;
    let cancel_requested = reads.get(key::CancelRequest(order_id)).map_err(|e| unavailable(&e))?.is_some();
    let contact = reads.get(key::Contact(order_id)).map_err(|e| unavailable(&e))?.unwrap_or_default();
    let mail = reads.get(MailKey(order_id)).map_err(|e| unavailable(&e))?.unwrap_or_default();
    let mail_stamp = reads.stamp(MailKey(order_id));
    Ok(Order { shop, order_id, name: record.name, lines, contact, mail, mail_stamp, cancel_requested })
}

fn render(state: &AppState, token: &str, order: &Order, notice: Option<&'static str>) -> String {
    let title = |line_id: u64| order.contact.titles.get(&line_id).cloned().unwrap_or_else(|| "Item".into());
    let view = Page {
        shop_name: shop_name(&order.shop),
        order_name: order.name.clone(),
        waiting: order
            .lines
            .iter()
            .filter(|l| l.backordered > 0)
            .map(|l| PageLine {
                title: title(l.line_id),
                quantity: l.backordered,
                position: l.position,
                eta_text: l.eta.map(human_date),
            })
            .collect(),
        ready: order
            .lines
            .iter()
            .filter(|l| l.open > l.backordered)
            .map(|l| PageLine {
                title: title(l.line_id),
                quantity: l.open - l.backordered,
                position: None,
                eta_text: None,
            })
            .collect(),
        was_waiting: !order.mail.waited.is_empty(),
        open: order.lines.iter().any(|l| l.open > 0),
        cancel_requested: order.cancel_requested,
        cancel_action: format!("/status/{token}/cancel"),
        csrf: csrf(state, token),
        notice,
    };
    crate::view::render("status/page.html", &view).unwrap_or_else(|e| {
        tracing::error!(error = %e, "status page: the page does not render");
        simple("Try again in a moment", "Your order's status cannot be shown right now.")
    })
}

/// Counts the request against its client's and its link's limits; the answer to give if over.
fn refusal(state: &AppState, req: &HttpRequest, token: &str) -> Option<HttpResponse> {
    let limits = &state.limits;
    let client = super::client::address(req, &state.settings.limits.client_ip_header);
    let mut taken = limits.status_per_client.take(&client);
    // A link is counted by the order it names, so made-up tokens do not each get a bucket.
    if taken.is_ok()
        && let Some((shop, order_id)) = status_token::verify(state.webhook_secret(), token)
    {
        taken = limits.status_per_link.take(&format!("{shop}/{order_id}"));
    }
    let wait = taken.err()?;
    let body = simple("Too many requests", "Please wait a minute, then reload this page.");
    let mut resp = page(actix_web::http::StatusCode::TOO_MANY_REQUESTS, body);
    let secs = crate::limit::retry_after_secs(wait).to_string();
    resp.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_str(&secs).expect("digits"));
    Some(resp)
}

pub async fn show(token: web::Path<String>, req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if let Some(refused) = refusal(&state, &req, &token) {
        return refused;
    }
    match load(&state, &token).await {
        Ok(order) => page(actix_web::http::StatusCode::OK, render(&state, &token, &order, None)),
        Err(f) => failure(f),
    }
}

/// `true` when the request comes from another site's page.
fn cross_site(state: &AppState, req: &HttpRequest) -> bool {
    let app = url::Url::parse(&state.settings.app.url).ok().map(|u| u.origin().ascii_serialization());
    let origin = req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok());
    if let (Some(origin), Some(app)) = (origin, app.as_deref())
        && origin != app
    {
        return true;
    }
    let site = req.headers().get("sec-fetch-site").and_then(|v| v.to_str().ok());
    site.is_some_and(|s| s != "same-origin" && s != "none")
}

pub async fn cancel(
    token: web::Path<String>,
    form: web::Form<CancelForm>,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> HttpResponse {
    use actix_web::http::StatusCode;
    let token = token.into_inner();
    if let Some(refused) = refusal(&state, &req, &token) {
        return refused;
    }
    let mut order = match load(&state, &token).await {
        Ok(o) => o,
        Err(f) => return failure(f),
    };
    let expected = csrf(&state, &token);
    let forged = !bool::from(subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), form.csrf.as_bytes()));
    if forged || cross_site(&state, &req) {
        return page(StatusCode::FORBIDDEN, simple("Request refused", "Please use the button on your order's page."));
    }
    for _ in 0..8 {
        if order.cancel_requested {
            break;
        }
        if !order.lines.iter().any(|l| l.backordered > 0) {
            let body = render(&state, &token, &order, Some("Nothing in this order is waiting any more."));
            return page(StatusCode::CONFLICT, body);
        }
        match record_request(&state, &order).await {
            Ok(true) => {
                tracing::info!(shop = %order.shop, order_id = order.order_id, "status page: cancellation requested");
                break;
            }
            Ok(false) => {}
            Err(f) => return failure(f),
        }
        order = match load(&state, &token).await {
            Ok(o) => o,
            Err(f) => return failure(f),
        };
    }
    // Post, then redirect, then get: a reload shows the page and never posts again.
    HttpResponse::SeeOther().insert_header((header::LOCATION, format!("/status/{token}"))).finish()
}

/// Records the request once (it must not exist yet), tags the order through the effects, and
/// puts an alert for the shop owner in the order's outbox. `false`: a concurrent change; retry.
async fn record_request(state: &AppState, order: &Order) -> Result<bool, Failure> {
    let books = &state.books;
    let fail = |e: &dyn std::fmt::Display| {
        tracing::warn!(error = %e, "status page: cannot record the request");
        Failure::Unavailable
    };
    let settings = books.get_or_default(&order.shop, key::Settings).await.map_err(|e| fail(&e))?;
    let mut mail = order.mail.clone();
    let request = key::CancelRequest(order.order_id);
    let mut change = Change::unchecked()
        .expect(request, Stamp::absent())
        .expect(MailKey(order.order_id), order.mail_stamp.clone())
        .put(request, &now_ms())
        .mark(Mark::Order(order.order_id));
    if let Some(owner) = settings.owner_email.clone() {
        let occasion = "cancel_requested".to_string();
        mail.outbox.push(Outgoing {
            message_id: outbox::message_id(state, &order.shop, order.order_id, &occasion),
            occasion,
            to: owner,
            rendered: alert(order),
        });
        change = change.mark(Mark::Mail(order.order_id));
    }
    books.commit(&order.shop, change.put(MailKey(order.order_id), &mail)).await.map_err(|e| fail(&e))
}

/// The shop owner's alert: plain facts, no customer address (the order in the admin has it).
fn alert(order: &Order) -> Rendered {
    let lines: Vec<String> = order
        .lines
        .iter()
        .filter(|l| l.backordered > 0)
        .map(|l| {
            let title = order.contact.titles.get(&l.line_id).cloned().unwrap_or_else(|| "Item".into());
            format!("{title} x {} waiting", l.backordered)
        })
        .collect();
    let admin = format!("https://{}/admin/orders/{}", order.shop, order.order_id);
    let subject = format!("Cancellation requested: order {}", order.name);
    let text = format!(
        "The customer of order {} asked to cancel it on the order's status page.\n\n{}\n\nNothing was cancelled: the order is tagged backorder-cancel-requested and waits for your decision.\n{admin}\n",
        order.name,
        lines.join("\n")
    );
    let html =
        crate::view::render("status/alert.html", minijinja::context! { name => order.name.clone(), lines, admin })
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "status page: the owner's alert does not render");
                String::new()
            });
    Rendered { subject, text, html }
}
