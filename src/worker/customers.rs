//! The customer privacy webhooks: `customers/redact` erases what the service keeps about a
//! customer's orders (address, name, titles, emails waiting to go out, customer tags) and keeps
//! the anonymous counts the books need; `customers/data_request` sends the shop owner, as JSON,
//! everything kept about that customer and those orders.

use serde::Deserialize;
use serde_json::{Value, json};

use super::HandlerError;
use crate::books::{BookError, Books, key};
use crate::notify::templates::Rendered;
use crate::notify::{MailKey, outbox};
use crate::state::AppState;
use crate::store::{Envelope, Record};

#[derive(Deserialize)]
struct Customer {
    #[serde(default)]
    id: Option<u64>,
    #[serde(default)]
    email: Option<String>,
}

#[derive(Deserialize)]
struct Redact {
    /// Whose data: the orders named are erased, and dead letters naming the address.
    customer: Customer,
    #[serde(default)]
    orders_to_redact: Vec<u64>,
}

#[derive(Deserialize)]
struct DataRequest {
    customer: Customer,
    #[serde(default)]
    orders_requested: Vec<u64>,
    #[serde(default)]
    data_request: Option<RequestId>,
}

#[derive(Deserialize)]
struct RequestId {
    id: u64,
}

fn transient(e: impl std::fmt::Display) -> HandlerError {
    HandlerError::Transient(e.to_string())
}

fn shape(topic: &str, e: serde_json::Error) -> HandlerError {
    HandlerError::Permanent(format!("{topic} body is not the expected JSON: {e}"))
}

/// `customers/redact`. Each order is one commit; all of them are idempotent, so a redelivery
/// after a crash half-way simply does the rest.
pub async fn redact(state: &AppState, envelope: &Envelope) -> Result<(), HandlerError> {
    let body: Redact = serde_json::from_slice(&envelope.body).map_err(|e| shape("customers/redact", e))?;
    let shop = envelope.meta.shop.as_str();
    let books = &state.books;
    for order_id in body.orders_to_redact {
        redact_order(books, shop, order_id).await?;
        // Emails written as files (no SMTP configured) hold the address too.
        state.mailer.forget_order(shop, order_id).await.map_err(|e| transient(format!("outbox files: {e}")))?;
    }
    // A dead-lettered webhook of theirs (kept whole for a replay) holds the address too.
    if let Some(email) = body.customer.email.as_deref().filter(|e| !e.is_empty()) {
        state.queue.purge_dead_letters(shop, email.as_bytes()).await.map_err(transient)?;
    }
    tracing::info!(shop, "privacy: customer redacted");
    Ok(())
}

/// Erases one order's personal data in one checked commit, decided again on a conflict.
async fn redact_order(books: &Books, shop: &str, order_id: u64) -> Result<(), BookError> {
    for _ in 0..crate::books::MAX_TRIES {
        let records = [Record::Order(order_id), Record::Mail(order_id), Record::Contact(order_id)];
        let reads = books.read(shop, &records).await?;
        let mut change = reads.change();
        if reads.get(key::Contact(order_id))?.is_some() {
            change = change.remove(key::Contact(order_id));
        }
        // Emails not yet sent carry the address and name: they go; what was decided stays,
        // so nothing is sent again. The consolation's code was the customer's: it goes too,
        // and that one was made stays known, so none is made again.
        if let Some(mut mail) = reads.get(MailKey(order_id))?
            && (!mail.outbox.is_empty() || mail.consolation.as_ref().is_some_and(|c| !c.code.is_empty()))
        {
            mail.outbox.clear();
            if let Some(consoled) = &mut mail.consolation {
                consoled.code.clear();
            }
            change = change.put(MailKey(order_id), &mail);
        }
        // Customer tags chose the order's priority class, which stays with its lines.
        // Marked, so that a webhook of the order still queued or retrying brings neither back.
        if let Some(mut order) = reads.get(key::Order(order_id))?
            && (!order.customer_tags.is_empty() || !order.redacted)
        {
            order.customer_tags.clear();
            order.redacted = true;
            change = change.put(key::Order(order_id), &order);
        }
        if change.is_empty() || books.commit(shop, change).await? {
            return Ok(());
        }
    }
    Err(BookError::Contended)
}

/// `customers/data_request`: one email to the shop owner with the data as JSON.
pub async fn data_request(state: &AppState, envelope: &Envelope) -> Result<(), HandlerError> {
    let body: DataRequest = serde_json::from_slice(&envelope.body).map_err(|e| shape("customers/data_request", e))?;
    let shop = envelope.meta.shop.as_str();
    let books = &state.books;
    let settings = books.get_or_default(shop, key::Settings).await?;
    let Some(owner) = settings.owner_email else {
        // Kept in the dead letters with this reason: set the address, then `dlq replay`.
        return Err(HandlerError::Permanent(
            "customers/data_request: the shop has no owner_email to send the data to; set it in the settings and replay"
                .into(),
        ));
    };
    let mut orders = Vec::new();
    for order_id in &body.orders_requested {
        let records = [
            Record::Order(*order_id),
            Record::Contact(*order_id),
            Record::Mail(*order_id),
            Record::CancelRequest(*order_id),
        ];
        let reads = books.read(shop, &records).await?;
        let Some(order) = reads.get(key::Order(*order_id))? else { continue };
        let contact = reads.get(key::Contact(*order_id))?;
        // Only what belongs to this customer: an order kept under someone else is not theirs.
        if let Some(c) = &contact {
            let same_id = c.customer_id.is_some() && c.customer_id == body.customer.id;
            let same_email = c.email.is_some() && c.email == body.customer.email;
            if !same_id && !same_email {
                continue;
            }
        }
        let mail = reads.get(MailKey(*order_id))?.unwrap_or_default();
        let cancel = reads.get(key::CancelRequest(*order_id))?;
        orders.push(json!({
            "order_id": order_id,
            "name": order.name,
            "customer_tags": order.customer_tags,
            "lines": order.lines,
            "contact": contact,
            "emails": {"sent_or_waiting": mail.decided, "etas_told": mail.told},
            "consolation_code": mail.consolation.as_ref().map(|c| &c.code).filter(|c| !c.is_empty()),
            "cancellation_requested_at_ms": cancel,
        }));
    }
    let request_id = body.data_request.as_ref().map_or(0, |r| r.id);
    let data = json!({
        "data_request_id": request_id,
        "shop": shop,
        "customer": {"id": body.customer.id, "email": body.customer.email},
        "orders": orders,
    });
    let occasion = format!("data_request-{request_id}-{}", envelope.event_key().replace(':', "_"));
    outbox::queue_for_owner(state, shop, &occasion, &owner, rendered(request_id, &data)).await.map_err(transient)?;
    tracing::info!(shop, request_id, "privacy: customer data request queued for the shop owner");
    Ok(())
}

const JSON_BEGIN: &str = "----- BEGIN CUSTOMER DATA (JSON) -----";
const JSON_END: &str = "----- END CUSTOMER DATA -----";

fn rendered(request_id: u64, data: &Value) -> Rendered {
    let json = serde_json::to_string_pretty(data).expect("JSON values serialize");
    let intro = format!(
        "The platform forwarded customer data request {request_id}. Below is everything the Backorder app keeps about \
         this customer and the orders named, as JSON. Please pass it on to the customer."
    );
    let html = crate::view::render("privacy/data_request.html", minijinja::context! { intro => &intro, json => &json })
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "privacy: the HTML part does not render");
            String::new()
        });
    Rendered {
        subject: format!("Customer data request {request_id}"),
        text: format!("{intro}\n\n{JSON_BEGIN}\n{json}\n{JSON_END}\n"),
        html,
    }
}
