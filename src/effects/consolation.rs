//! The consolation (SPEC 10.3): one discount code for an order that has waited long, made on
//! the platform and told in its own email, once.
//!
//! Once per order holds across crashes because the code is derived from the shop and order
//! (`notify::consolation::code_for`): the pass looks the code up on the platform before making
//! it, so a process that died after the platform made the code and before the order's mail
//! record kept it finds that code and makes no second. The record, the email in the outbox and
//! its mark are one commit, checked against the mail record read first.

use serde_json::json;

use super::{Ctx, EffectError};
use crate::books::standing::{self, Queues};
use crate::books::{Change, Edit, key};
use crate::failpoint::{self, points};
use crate::notify::MailKey;
use crate::notify::consolation::{Waiting, code_for, qualifies};
use crate::notify::outbox;
use crate::notify::plan::{Consoled, Decision, MailLineNow, slipped_days};
use crate::notify::templates::Offer;
use crate::platform::PlatformError;
use crate::platform::discount::{self, CodeRequest};
use crate::platform::ops::CONSOLATION_CODE;
use crate::shop::ShopSettings;
use crate::state::AppState;
use crate::store::{Mark, Record, now_ms};

const DAY_MS: i64 = 24 * 3600 * 1000;

/// Makes and tells the order's code if it qualifies now. Errors the pass should retry are
/// returned (the order keeps its mark); a refusal is kept on the order, so it is not asked again.
pub async fn offer(
    state: &AppState,
    ctx: &Ctx<'_>,
    settings: &ShopSettings,
    order_id: u64,
    queues: &Queues,
) -> Result<(), EffectError> {
    let terms = &settings.consolation;
    if !terms.enabled {
        return Ok(());
    }
    let books = &state.books;
    let shop = ctx.shop;
    let reads = books.read(shop, &[Record::Mail(order_id), Record::Contact(order_id)]).await?;
    let mail = reads.get(MailKey(order_id))?.unwrap_or_default();
    if mail.consolation.is_some() || mail.quiet {
        return Ok(());
    }
    let Some((order, lines)) = standing::of_order(books, shop, order_id, queues).await? else { return Ok(()) };
    let now = outbox::lines_now(&lines);
    // First as if the wait counted from the order's creation and it came after install: the
    // rule only grows stricter from there, so most passes end here with no further read.
    let at_ms = now_ms() as i64;
    let first = Waiting {
        since_ms: order.created_at_ms,
        slipped_days: slipped_days(&mail, &now),
        placed_before_install: false,
        waits: lines.iter().any(|l| l.backordered > 0 && l.open > 0),
        consoled: false,
    };
    if !qualifies(terms, &first, at_ms) {
        return Ok(());
    }
    // The wait counts from the variant's enrolment when that is later, and an order placed
    // before install takes part only if the merchant opted in.
    let mut since_ms = order.created_at_ms;
    for variant in lines.iter().filter(|l| l.backordered > 0).filter_map(|l| l.variant_id) {
        let enrolled = books.get(shop, key::Variant(variant)).await?.and_then(|r| r.daily_since_ms);
        since_ms = since_ms.max(enrolled.unwrap_or(0));
    }
    let before_install = !terms.before_install && order.created_at_ms < installed_at_ms(state, shop).await;
    let waiting = Waiting { since_ms, placed_before_install: before_install, ..first };
    if !qualifies(terms, &waiting, at_ms) {
        return Ok(());
    }
    let contact = reads.get(key::Contact(order_id))?.unwrap_or_default();
    let code = code_for(state.webhook_secret(), shop, order_id);
    let ends_at_ms = at_ms + i64::from(terms.expires_days.max(1)) * DAY_MS;
    let made = match find_or_make(ctx, settings, &code, &order.name, contact.customer_id, (at_ms, ends_at_ms)).await {
        Ok(id) => Ok(id),
        Err(EffectError::Platform(PlatformError::MissingScope { scope, .. })) => {
            note_scope(state, shop, Some(scope)).await?;
            return Ok(());
        }
        Err(EffectError::Platform(PlatformError::Refused { message, .. })) => Err(message),
        Err(e) => return Err(e),
    };
    if settings.discount_scope_missing.is_some() {
        note_scope(state, shop, None).await?;
    }
    let consoled = Consoled {
        code: code.clone(),
        discount_id: made.as_ref().ok().cloned(),
        at_ms,
        ends_at_ms,
        refused: made.as_ref().err().cloned(),
    };
    let mut next = mail.clone();
    next.consolation = Some(consoled);
    let mut change = Change::unchecked().expect(MailKey(order_id), reads.stamp(MailKey(order_id)));
    if let Err(why) = &made {
        tracing::warn!(shop, order_id, error = %why, "consolation: the platform refused the code; the order is not offered one again");
    } else if next.decided.insert("consolation".into()) {
        let decision = Decision {
            kind: "consolation",
            occasion: "consolation".into(),
            lines: now
                .iter()
                .filter(|l| l.backordered > 0)
                .map(|l| MailLineNow {
                    line_id: l.line_id,
                    quantity: l.backordered,
                    position: l.position,
                    eta: l.eta,
                    previous_eta: None,
                })
                .collect(),
        };
        let ends_text = time::OffsetDateTime::from_unix_timestamp(ends_at_ms / 1000)
            .map_or_else(|_| String::new(), |t| outbox::human_date(t.date()));
        let offer = Offer { code, what: discount::what(terms), ends_text };
        let out =
            outbox::letter(state, shop, settings, (order_id, &order.name), &contact, &decision, Some(offer)).await;
        if let Some(out) = out {
            next.outbox.push(out);
            change = change.mark(Mark::Mail(order_id));
        }
    }
    // A conflict is a decision landing meanwhile: the next pass looks again and finds the code
    // on the platform.
    if books.commit(shop, change.put(MailKey(order_id), &next)).await? {
        tracing::info!(
            shop,
            order_id,
            refused = made.is_err(),
            "consolation: the order's code is made and its email queued"
        );
    }
    Ok(())
}

/// The discount's id: the one the platform has for `code` already (made before a crash), else a
/// new one. A refusal comes back as `PlatformError::Refused`.
async fn find_or_make(
    ctx: &Ctx<'_>,
    settings: &ShopSettings,
    code: &str,
    order_name: &str,
    customer_id: Option<u64>,
    (starts_at_ms, ends_at_ms): (i64, i64),
) -> Result<String, EffectError> {
    let found = ctx.call(&CONSOLATION_CODE, json!({"code": code})).await?;
    if let Some(id) = found["codeDiscountNodeByCode"]["id"].as_str() {
        tracing::info!(
            shop = ctx.shop,
            "consolation: the code was made before (a pass that did not finish); not made again"
        );
        return Ok(id.to_string());
    }
    let request = CodeRequest { code, order_name, customer_id, starts_at_ms, ends_at_ms };
    let (op, vars) = discount::create(&settings.consolation, &request);
    let data = ctx.call(op, vars).await?;
    failpoint::hit(points::CONSOLATION_CREATED);
    discount::created_id(&data).ok_or_else(|| {
        EffectError::Platform(PlatformError::Malformed { operation: op.name, message: "no discount id".into() })
    })
}

/// When the shop was installed (ms); 0 when unknown, so no order counts as placed before.
async fn installed_at_ms(state: &AppState, shop: &str) -> i64 {
    let Some(sealer) = state.sealer.as_deref() else { return 0 };
    match crate::auth::install::load(&state.books, sealer, shop).await {
        Ok(Some(install)) => install.installed_at_ms,
        _ => 0,
    }
}

/// Keeps (or clears) the scope the merchant is asked to grant for consolation codes.
async fn note_scope(state: &AppState, shop: &str, scope: Option<String>) -> Result<(), EffectError> {
    state
        .books
        .update(shop, key::Settings, |settings| {
            let mut settings = settings.unwrap_or_default();
            if settings.discount_scope_missing == scope {
                return Edit::Leave(());
            }
            if let Some(scope) = &scope {
                tracing::info!(shop, scope, "consolation: codes need a scope the shop has not granted; none made");
            }
            settings.discount_scope_missing = scope.clone();
            Edit::put(settings, ())
        })
        .await?;
    Ok(())
}
