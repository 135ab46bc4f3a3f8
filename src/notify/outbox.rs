//! The durable outbox of customer emails.
//!
//! Once an order's state has settled, [`decide`] works out which email it is owed (pure rules in
//! `plan`), renders it, and stores it in the order's mail record in the same commit that marks
//! the order `m:<id>`. The sweeper then [`deliver`]s marked orders' emails, removing each from
//! the outbox as soon as the server has taken it. So an email is decided once per occasion,
//! waits while the server is down, and is sent again only if the process dies in the instant
//! between the server's acceptance and that removal; the resend then carries the same
//! `Message-ID`, which mail clients use to show it once.

use super::plan::{self, Decision, LineNow, Outgoing, Policy};
use super::templates::{self, MailContext, MailLine, Offer, Rendered, TemplateError};
use super::{MailKey, Mailbox, NotifyError};
use crate::books::standing::{self, Queues};
use crate::books::{Change, Edit, Key, key};
use crate::failpoint::{self, points};
use crate::ledger::input::Contact;
use crate::mail::SendError;
use crate::shop::{ShopSettings, Template};
use crate::state::AppState;
use crate::store::{Mark, Record, now_ms};

/// Decides the email `order_id` is owed now and puts it in the outbox. `false`: not decided
/// this time (the ledger moved meanwhile); the order's mark stays and the next pass decides.
pub async fn decide(
    state: &AppState,
    shop: &str,
    settings: &ShopSettings,
    order_id: u64,
    queues: &Queues,
) -> Result<bool, NotifyError> {
    let books = &state.books;
    // One read for both; only the outbox is checked at commit: a contact changed meanwhile
    // changes no decision.
    let reads = books.read(shop, &[Record::Mail(order_id), Record::Contact(order_id)]).await?;
    let mail = reads.get(MailKey(order_id))?.unwrap_or_default();
    let Some((order, lines)) = standing::of_order(books, shop, order_id, queues).await? else { return Ok(true) };
    if lines.iter().any(|l| l.backordered > 0 && l.position.is_none()) {
        return Ok(false);
    }
    let now = lines_now(&lines);
    let policy =
        Policy { eta_change_threshold_days: settings.eta_change_threshold_days, reminder_days: settings.reminder_days };
    let Some((decision, mut next)) = plan::decide(&mail, &now, policy, now_ms() as i64) else { return Ok(true) };
    let contact = reads.get(key::Contact(order_id))?.unwrap_or_default();
    let mut change = Change::unchecked().expect(MailKey(order_id), reads.stamp(MailKey(order_id)));
    if let Some(out) = letter(state, shop, settings, (order_id, &order.name), &contact, &decision, None).await {
        next.outbox.push(out);
        change = change.mark(Mark::Mail(order_id));
    }
    Ok(books.commit(shop, change.put(MailKey(order_id), &next)).await?)
}

/// An order's lines as its standing in the queues has them, as the email rules read them.
pub fn lines_now(lines: &[standing::LineStanding]) -> Vec<LineNow> {
    lines
        .iter()
        .map(|l| LineNow {
            line_id: l.line_id,
            open: l.open,
            backordered: l.backordered,
            position: l.position,
            eta: l.eta,
        })
        .collect()
}

/// The email `decision` calls for, rendered for the outbox; `None` for an order without an
/// address (a phone-only checkout), which is decided all the same so it is not looked at again
/// for this occasion.
pub async fn letter(
    state: &AppState,
    shop: &str,
    settings: &ShopSettings,
    order: (u64, &str),
    contact: &Contact,
    decision: &Decision,
    offer: Option<Offer>,
) -> Option<Outgoing> {
    let Some(to) = contact.email.as_deref() else {
        tracing::info!(shop, order_id = order.0, occasion = %decision.occasion, "notify: the order has no email address");
        return None;
    };
    let (rendered, failed) = render(state, shop, settings, order, contact, decision, offer);
    if let Some((template, e)) = failed {
        // The customer gets the built-in email all the same; the merchant is told.
        if let Err(why) = super::template_failures::record(state, shop, template, &e).await {
            tracing::warn!(shop, error = %why, "notify: the template's failure was not recorded; it is tried again");
        }
    }
    Some(Outgoing {
        occasion: decision.occasion.clone(),
        message_id: message_id(state, shop, order.0, &decision.occasion),
        to: to.to_string(),
        rendered,
    })
}

/// The email `decision` calls for, in the shop's template, else the built-in one. A shop's
/// template that fails (real data took a branch the samples on save did not) is handed back
/// with its error, and the built-in one is rendered instead.
fn render<'s>(
    state: &AppState,
    shop: &str,
    settings: &'s ShopSettings,
    (order_id, order_name): (u64, &str),
    contact: &Contact,
    decision: &Decision,
    offer: Option<Offer>,
) -> (Rendered, Option<(&'s Template, TemplateError)>) {
    let ctx = MailContext {
        kind: decision.kind.to_string(),
        shop_name: shop_name(shop),
        order_name: order_name.to_string(),
        first_name: contact.first_name.clone(),
        status_url: status_url(state, shop, order_id),
        lines: decision
            .lines
            .iter()
            .map(|l| MailLine {
                title: contact.titles.get(&l.line_id).cloned().unwrap_or_else(|| "Item".into()),
                quantity: l.quantity,
                eta: l.eta.map(crate::ledger::eta::format),
                eta_text: l.eta.map(human_date),
                previous_eta_text: l.previous_eta.as_deref().and_then(crate::ledger::eta::parse).map(human_date),
                position: l.position,
            })
            .collect(),
        offer,
    };
    let builtin = || templates::render_builtin(decision.kind, &ctx).expect("built-in templates render");
    let Some(template) = templates::merchant(settings, decision.kind) else { return (builtin(), None) };
    match templates::render(decision.kind, template, &ctx) {
        Ok(rendered) => (rendered, None),
        Err(e) => {
            tracing::warn!(shop, order_id, error = %e, "notify: the shop's template fails; using the built-in one");
            (builtin(), Some((template, e)))
        }
    }
}

/// Sends what waits in one outbox (`Record::Mail(order)` or `Record::ShopMail`). `true`: it is
/// empty (clear the mark). `false`: the server is unavailable; everything stays for later.
pub async fn deliver(state: &AppState, shop: &str, mailbox: Mailbox) -> Result<bool, NotifyError> {
    loop {
        if !state.mailer.ready() {
            return Ok(false);
        }
        let mail = state.books.get_or_default(shop, mailbox).await?;
        let Some(out) = mail.outbox.first().cloned() else { return Ok(true) };
        failpoint::hit(points::MAIL_BEFORE_SEND);
        let refused = match state.mailer.send(shop, &out.letter()).await {
            Ok(()) => {
                failpoint::hit(points::MAIL_SENT);
                state.metrics.email_sent();
                tracing::info!(shop, mailbox = %mailbox.record().name(), occasion = %out.occasion, "notify: email sent");
                false
            }
            Err(SendError::Unavailable(why)) => {
                tracing::warn!(shop, error = %why, "notify: mail server unavailable; the email waits");
                return Ok(false);
            }
            Err(SendError::Refused(why)) => {
                tracing::warn!(shop, mailbox = %mailbox.record().name(), occasion = %out.occasion, error = %why, "notify: email refused for good");
                true
            }
        };
        remove(state, shop, mailbox, &out.occasion, refused).await?;
        if !refused {
            note_sent(state, shop, mailbox, &out.occasion).await;
        }
    }
}

/// Keeps a sent email in the shop's activity log: its kind and order, never its address.
async fn note_sent(state: &AppState, shop: &str, mailbox: Mailbox, occasion: &str) {
    let kind = occasion.split('-').next().unwrap_or(occasion);
    let entry = crate::books::log::Entry {
        at_ms: crate::store::now_ms(),
        what: format!("email:{kind}"),
        order_id: match mailbox {
            Mailbox::Order(id) => Some(id),
            Mailbox::Shop => None,
        },
        variant_id: None,
        detail: String::new(),
    };
    if let Err(e) = crate::books::log::append(&state.books, shop, vec![entry]).await {
        tracing::warn!(shop, error = %e, "notify: the activity log was not written");
    }
}

/// Takes a handed-over email out of the outbox. A conflict is a new decision landing meanwhile:
/// the removal is made again on fresh reads, never the send.
async fn remove(
    state: &AppState,
    shop: &str,
    mailbox: Mailbox,
    occasion: &str,
    refused: bool,
) -> Result<(), NotifyError> {
    let removal = state.books.update(shop, mailbox, |mail| {
        let mut mail = mail.unwrap_or_default();
        mail.outbox.retain(|o| o.occasion != occasion);
        if refused {
            mail.undeliverable.insert(occasion.to_string());
        }
        Edit::put(mail, ())
    });
    Ok(removal.await?)
}

pub fn message_id(state: &AppState, shop: &str, order_id: u64, occasion: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(shop.as_bytes());
    let host = url::Url::parse(&state.settings.app.url).ok().and_then(|u| u.host_str().map(str::to_string));
    format!(
        "<{occasion}.{order_id}.{:x}@{}>",
        u64::from_be_bytes(digest[..8].try_into().expect("8 bytes")),
        host.unwrap_or_else(|| "backorder.local".into())
    )
}

pub fn status_url(state: &AppState, shop: &str, order_id: u64) -> String {
    let token = super::status_token::sign(state.webhook_secret(), shop, order_id);
    format!("{}/status/{token}", state.settings.app.url.trim_end_matches('/'))
}

/// `dev-shop.myshopify.com` → `Dev Shop`: what customers know the shop by, until the shop's
/// own name is read at install.
pub fn shop_name(shop: &str) -> String {
    let label = shop.split('.').next().unwrap_or(shop);
    label
        .split('-')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_uppercase().chain(c).collect::<String>()).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `2026-12-12` → `December 12, 2026`.
pub fn human_date(d: time::Date) -> String {
    format!("{} {}, {}", d.month(), d.day(), d.year())
}

/// Puts an email for the shop owner in the shop's outbox, once per `occasion` (a redelivered
/// webhook or a repeated pass finds it decided). `false`: it was decided before.
pub async fn queue_for_owner(
    state: &AppState,
    shop: &str,
    occasion: &str,
    to: &str,
    rendered: Rendered,
) -> Result<bool, NotifyError> {
    let queued = state.books.update(shop, Mailbox::Shop, |mail| {
        let mut mail = mail.unwrap_or_default();
        if !mail.decided.insert(occasion.to_string()) {
            return Edit::Leave(false);
        }
        mail.outbox.push(Outgoing {
            occasion: occasion.to_string(),
            message_id: message_id(state, shop, 0, occasion),
            to: to.to_string(),
            rendered: rendered.clone(),
        });
        Edit::put(mail, true).mark(Mark::ShopMail)
    });
    Ok(queued.await?)
}
