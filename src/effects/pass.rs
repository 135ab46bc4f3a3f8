//! One shop's effects pass: the settled marks taken under the shop's lease, the platform's part
//! sent with the shop's token, and the customers' emails sent whether or not that token works.
//!
//! Emails need the install record (they stop at `app/uninstalled`, when it is dropped), never
//! the platform: a shop whose token is refused, or cannot be refreshed, still tells its
//! customers. The platform's part stops at the first refusal, and the pass says so, so the
//! sweeper backs the shop off instead of spending every pass on calls that cannot succeed.

use std::time::{Duration, Instant};

use futures_util::StreamExt;

use super::desired::order_desired;
use super::{Ctx, EffectError, order, settle_order, settle_variants};
use crate::auth::oauth::OAuthError;
use crate::auth::tokens::TokenError;
use crate::books::standing::Queues;
use crate::books::{Lease, key};
use crate::notify::{Mailbox, outbox};
use crate::shop::ShopSettings;
use crate::state::AppState;
use crate::store::{Mark, Settled, now_ms};

/// Marks taken per shop per pass.
const BATCH: usize = 200;
/// No order is started later than this into a pass, so one pass paced by a small bucket does
/// not hold a shop for minutes; the rest keep their marks for the next pass.
const PASS: Duration = Duration::from_secs(20);

/// What a pass may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Platform calls and emails.
    Full,
    /// Emails only: the shop is backed off after the platform refused it.
    MailOnly,
}

/// Why the platform refused a shop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    /// A call was answered 401/403: the token was revoked.
    Token,
    /// The refresh of an expiring token was refused.
    Refresh,
}

/// What one shop's pass came to.
#[derive(Debug, Default)]
pub struct Pass {
    /// Marks settled.
    pub settled: usize,
    /// The platform refused the shop during the pass, which stopped its platform part.
    pub denied: Option<Denial>,
    /// When the shop's marks want another pass (ms): marks not settled yet, or settled ones
    /// this pass could not finish. `None`: none that a pass can do before something else
    /// happens (a commit then makes the shop due again).
    pub next_ms: Option<u64>,
    /// Settled marks wait for the platform's part, which this pass could not do (the shop is
    /// backed off, or was refused): the dispatcher brings it back when its back-off ends.
    pub waits_on_platform: bool,
}

/// One full pass over a shop's settled marks, outside the dispatcher (tests, tools).
pub async fn settle_shop(state: &AppState, shop: &str, holder: &str) -> Result<Pass, EffectError> {
    state.panics.hit("shop", shop);
    let settings = state.books.get_or_default(shop, key::Settings).await?;
    reconcile_with(state, shop, holder, &settings, Reach::Full).await
}

/// One pass over a shop's settled marks with its settings read already.
pub(super) async fn reconcile_with(
    state: &AppState,
    shop: &str,
    holder: &str,
    settings: &ShopSettings,
    reach: Reach,
) -> Result<Pass, EffectError> {
    let books = &state.books;
    let settle = settings.settle_ms.unwrap_or(state.settings.ledger.settle_ms);
    let now = now_ms();
    // One read, oldest first: the marks settled by now, and past them the first one that is
    // not, which says when the shop is due next. No lease write or token decryption before.
    let mut marks = books.settled(shop, u64::MAX, BATCH).await?;
    let fresh = marks.iter().position(|m| m.changed_at_ms.saturating_add(settle) > now);
    let settles_at = fresh.map(|i| marks[i].changed_at_ms.saturating_add(settle));
    marks.truncate(fresh.unwrap_or(marks.len()));
    // A whole batch settled: more may lie beyond it.
    let more = (marks.len() == BATCH).then_some(now);
    if marks.is_empty() {
        return Ok(Pass { next_ms: settles_at, ..Pass::default() });
    }
    let length = Duration::from_millis(state.settings.effects.lease_ms.max(100));
    let Some(lease) = Lease::take(books, shop, "effects", holder, length).await? else {
        // Another instance is at it: look again next sweep, as before the index.
        return Ok(Pass { next_ms: Some(now), ..Pass::default() });
    };
    let result = reconcile_leased(state, shop, &lease, settings, marks, reach).await;
    lease.release().await?;
    let mut pass = result?;
    pass.next_ms = [pass.next_ms, settles_at, more].into_iter().flatten().min();
    Ok(pass)
}

async fn reconcile_leased(
    state: &AppState,
    shop: &str,
    lease: &Lease,
    settings: &ShopSettings,
    marks: Vec<Settled>,
    reach: Reach,
) -> Result<Pass, EffectError> {
    let books = &state.books;
    let mut pass = Pass::default();
    let token = match reach {
        Reach::MailOnly => None,
        Reach::Full => match crate::auth::tokens::access_token(state, shop).await {
            Ok(token) => token,
            Err(e) => {
                tracing::warn!(shop, error = %e, "effects: no usable access token for the shop; emails still go");
                if refused(&e) {
                    pass.denied = Some(Denial::Refresh);
                }
                None
            }
        },
    };
    // No install (yet, or any more: uninstalled): nothing may be sent, not even emails; the
    // marks wait, and an install (a commit) makes the shop due again.
    if token.is_none() && !crate::auth::install::exists(books, shop).await? {
        return Ok(pass);
    }
    let taken = marks.clone();
    let mut done = Vec::new();
    let mut orders = Vec::new();
    let mut variants = Vec::new();
    let mut mail = Vec::new();
    for entry in marks {
        match entry.mark {
            Mark::Order(id) => orders.push((id, entry)),
            Mark::Variant(id) => variants.push((id, entry)),
            Mark::Mail(id) => mail.push((Mailbox::Order(id), entry)),
            Mark::ShopMail => mail.push((Mailbox::Shop, entry)),
        }
    }
    let queues = &Queues::default();
    let started = Instant::now();
    match &token {
        Some(token) => {
            let ctx = &Ctx::new(&state.platform, shop, token, lease);
            // Orders are independent of one another: several are in flight at once, so the
            // calls keep the bucket drained at its restore rate while each waits for its round
            // trip. One order's calls stay in order (holds before tags), and each mark is
            // settled by one task only. A refused token stops the starting of orders at once.
            // Every order started is let finish before an error ends the pass: a call cut short
            // may still be applied by the platform, after the lease is released and another
            // instance has read the order, which would then send the same change again.
            let results: Vec<Result<Option<Settled>, EffectError>> = futures_util::stream::iter(orders)
                .take_while(|_| std::future::ready(started.elapsed() < PASS && !ctx.denied() && lease.held()))
                .map(|(id, entry)| async move {
                    let settled = settle_order(state, ctx, settings, id, queues).await?;
                    Ok::<_, EffectError>(settled.then_some(entry))
                })
                .buffer_unordered(state.settings.effects.concurrency.max(1))
                .collect()
                .await;
            let outcome: Result<(), EffectError> = async {
                for settled in results {
                    done.extend(settled?);
                }
                if !ctx.denied() && lease.held() {
                    done.extend(settle_variants(state, ctx, settings, variants).await?);
                }
                Ok(())
            }
            .await;
            // The merchant's account of the changes made, also by a pass that failed later: a
            // store hiccup here loses lines of it, never a change.
            if let Err(e) = super::log::append(books, shop, ctx.made.take()).await {
                tracing::warn!(shop, error = %e, "effects: the activity log was not written");
            }
            outcome?;
            if ctx.denied() {
                pass.denied = Some(Denial::Token);
            }
        }
        // The platform's part waits (the order marks stay); the emails the orders are owed are
        // decided all the same.
        None => {
            for (id, ..) in orders {
                if started.elapsed() >= PASS || !lease.held() {
                    break;
                }
                decide_mail(state, shop, settings, id, queues).await?;
            }
        }
    }
    // Emails go one at a time: a mail server takes them at its pace, and one that is down
    // makes every later try this pass pointless.
    for (mailbox, entry) in mail {
        if started.elapsed() >= PASS || !lease.held() {
            break;
        }
        if !outbox::deliver(state, shop, mailbox).await? {
            break;
        }
        done.push(entry);
    }
    pass.settled = done.len();
    crate::failpoint::hit(crate::failpoint::points::EFFECTS_RECORDED);
    books.clear(shop, &done).await?;
    // What this pass left of the marks it took: emails are tried again next sweep (the mail
    // server may be back); the platform's part too, unless the platform is what it waits for.
    let platform_blocked = reach == Reach::MailOnly || pass.denied.is_some();
    for left in taken.iter().filter(|m| !done.contains(m)) {
        match left.mark {
            Mark::Order(_) | Mark::Variant(_) if platform_blocked => pass.waits_on_platform = true,
            _ => pass.next_ms = Some(now_ms()),
        }
    }
    Ok(pass)
}

/// Decides the email an order is owed without touching the platform: what the ledger says
/// against what was last applied, as a full pass would see it.
async fn decide_mail(
    state: &AppState,
    shop: &str,
    settings: &ShopSettings,
    order_id: u64,
    queues: &Queues,
) -> Result<(), EffectError> {
    let applied = state.books.get_or_default(shop, super::AppliedOrderKey(order_id)).await?;
    let lines = order::lines(&state.books, shop, order_id).await?.unwrap_or_default();
    // Only an order that has waited can be owed an email; a cancel request changes no email.
    if order_desired(&lines, settings, &applied, false).was_backordered {
        outbox::decide(state, shop, settings, order_id, queues).await?;
    }
    Ok(())
}

/// The platform refused the refresh grant itself (a revoked refresh token): trying again next
/// pass cannot help, so the shop is backed off like a refused token.
fn refused(e: &TokenError) -> bool {
    matches!(e, TokenError::Refresh(OAuthError::Refused { .. }))
}
