//! `POST /api/templates/{kind}/preview` and `POST /api/templates/{kind}/test`: an email template
//! as the merchant is editing it, rendered with a real waiting order of the shop (the sample
//! order when none waits), shown on the page or sent to the shop owner's address. Nothing is
//! saved; the checks of `PUT /api/settings` name a bad part (`templates.{kind}.{part}`). A body
//! without the three parts stands for the built-in template.

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::enrol::invalid;
use super::settings_body::template;
use super::{ApiError, ShopSession};
use crate::books::apply::managed_variants;
use crate::books::key;
use crate::books::queue::scan_page;
use crate::mail::{Letter, SendError};
use crate::notify::outbox::{human_date, shop_name, status_url};
use crate::notify::templates::{self, MailContext, MailLine, Rendered};
use crate::shop::TEMPLATE_KINDS;
use crate::state::AppState;

pub async fn preview(
    session: ShopSession,
    path: web::Path<String>,
    body: web::Json<Value>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let kind = kind_of(&path)?;
    let (ctx, real) = waiting_order(&state, &session.shop, kind).await?;
    let rendered = render(kind, &body, &ctx)?;
    Ok(HttpResponse::Ok().json(json!({
        "subject": rendered.subject, "text": rendered.text, "html": rendered.html,
        "order_name": ctx.order_name, "sample": !real,
    })))
}

pub async fn send_test(
    session: ShopSession,
    path: web::Path<String>,
    body: web::Json<Value>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (shop, kind) = (session.shop.as_str(), kind_of(&path)?);
    let settings = state.books.get_or_default(shop, key::Settings).await?;
    let to = settings.owner_email.clone().ok_or_else(|| {
        invalid("owner_email", "must be set (under Customers and you) for a test email to have somewhere to go")
    })?;
    let (ctx, _) = waiting_order(&state, shop, kind).await?;
    let rendered = render(kind, &body, &ctx)?;
    // A test email is one message to one known address, and never a way to send many.
    state.limits.test_emails.take(shop).map_err(|wait| ApiError::TooMany(crate::limit::retry_after_secs(wait)))?;
    let subject = format!("[Test] {}", rendered.subject);
    let message_id = format!("<test.{}.{}@backorder>", kind, crate::store::now_ms());
    let letter =
        Letter { to: &to, message_id: &message_id, subject: &subject, text: &rendered.text, html: &rendered.html };
    match state.mailer.send(shop, &letter).await {
        Ok(()) => Ok(HttpResponse::Ok().json(json!({ "sent_to": to }))),
        Err(SendError::Unavailable(why)) => {
            tracing::warn!(shop, error = %why, "api: the mail server is unavailable for a test email");
            Err(ApiError::Unavailable)
        }
        Err(SendError::Refused(why)) => {
            tracing::info!(shop, error = %why, "api: the mail server refused a test email");
            Err(invalid("owner_email", "was refused by the mail server; check the address"))
        }
    }
}

fn kind_of(kind: &str) -> Result<&str, ApiError> {
    TEMPLATE_KINDS.iter().find(|k| **k == kind).copied().ok_or_else(|| {
        ApiError::NotFound(format!("no email kind named that; the kinds are {}", TEMPLATE_KINDS.join(", ")))
    })
}

/// The body's template rendered with `ctx`; the built-in one for a body without parts.
fn render(kind: &str, body: &Value, ctx: &MailContext) -> Result<Rendered, ApiError> {
    let field = format!("templates.{kind}");
    let parts = ["subject", "text", "html"];
    if body.as_object().is_none_or(|o| parts.iter().all(|p| !o.contains_key(*p))) {
        return templates::render_builtin(kind, ctx).map_err(|e| ApiError::Internal(e.to_string()));
    }
    let template = template(kind, body, &field)?;
    // The saved checks ran on samples; real data may take another branch and fail here.
    templates::render(kind, &template, ctx).map_err(|e| {
        let at = e.line.map(|l| format!("line {l}: ")).unwrap_or_default();
        invalid(&format!("{field}.{}", e.part), &format!("{at}{} (with order {})", e.message, ctx.order_name))
    })
}

/// The front line of the shop's longest queue as an email of `kind` would show it; the sample
/// order (`false`) when no order waits.
async fn waiting_order(state: &AppState, shop: &str, kind: &str) -> Result<(MailContext, bool), ApiError> {
    let books = &state.books;
    let records = managed_variants(books, shop).await?;
    let longest =
        records.iter().filter(|(_, r)| r.header.backordered() > 0).max_by_key(|(_, r)| r.header.backordered());
    let Some((variant, record)) = longest else { return Ok((templates::sample(kind), false)) };
    let (mut front, _) = scan_page(books, shop, *variant, record, None, 1).await?;
    let Some(line) = front.pop() else { return Ok((templates::sample(kind), false)) };
    let order = books.get(shop, key::Order(line.order_id)).await?;
    let contact = books.get(shop, key::Contact(line.order_id)).await?.unwrap_or_default();
    let eta = line.eta.as_deref().and_then(crate::ledger::eta::parse);
    let title = contact.titles.get(&line.line_item_id).cloned().or_else(|| record.title.clone());
    let ctx = MailContext {
        kind: kind.to_string(),
        shop_name: shop_name(shop),
        order_name: order.map(|o| o.name).unwrap_or_else(|| format!("Order {}", line.order_id)),
        first_name: contact.first_name,
        status_url: status_url(state, shop, line.order_id),
        lines: vec![MailLine {
            title: title.unwrap_or_else(|| "Item".into()),
            quantity: line.backordered,
            eta: eta.map(crate::ledger::eta::format),
            eta_text: eta.map(human_date),
            previous_eta_text: None,
            position: Some(line.position),
        }],
        offer: templates::sample(kind).offer.filter(|_| kind == "consolation"),
    };
    Ok((ctx, true))
}
