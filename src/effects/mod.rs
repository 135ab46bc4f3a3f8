//! Effects (SPEC 5): tags, holds and inventory policy on the platform, derived from the ledger.
//!
//! Every ledger commit marks the orders and variants whose derived state changed, with the time
//! of the change; those marks are the durable outbox. A sweeper takes each shop's marks once
//! they have held for the settle time, compares what should be with what was last applied,
//! sends only the difference, records it as applied, and clears the mark unless the ledger
//! changed it again meanwhile. So a state that flips and flips back inside the settle window
//! sends nothing, and a crash anywhere only means the same comparison runs again: the calls
//! are idempotent (tags, policy) or read the platform first (holds). An effect that fails
//! through the client's whole retry budget is dead-lettered; `dlq replay` marks it again.

pub mod desired;
mod order;
mod sweeper;
mod variant;

pub use sweeper::{Effects, ShopBackoff, sweep, sweep_contained};

use std::time::{Duration, Instant};

use futures_util::{StreamExt, TryStreamExt};

use serde_json::Value;

use crate::ledger::records::{RecordError, VariantRecord, decode, encode};
use crate::notify::NotifyError;
use crate::notify::outbox;
use crate::notify::standing::Queues;
use crate::platform::ops::Operation;
use crate::platform::{AdminClient, PlatformError};
use crate::secret::Secret;
use crate::shop::ShopSettings;
use crate::state::AppState;
use crate::store::{DeadLetterKind, Envelope, EnvelopeMeta, LedgerCommit, Record, StoreError, now_ms};
use crate::worker::HandlerError;
use desired::{AppliedOrder, AppliedVariant, OrderDiff, order_desired};

/// The topic of a dead-lettered effect's envelope; replaying it marks the effect again.
pub const EFFECT_TOPIC: &str = "effects/reconcile";
/// Marks taken per shop per pass.
const BATCH: usize = 200;
/// A holder that dies frees the shop after this. A pass renews it before each order, so it
/// only lapses under a live holder when one order's calls take longer (a platform retrying
/// slowly); another instance may then send the same idempotent calls once more.
const LEASE: Duration = Duration::from_secs(10);
/// No order is started later than this into a pass, so one pass paced by a small bucket does
/// not hold a shop for minutes; the rest keep their marks for the next pass.
const PASS: Duration = Duration::from_secs(20);

#[derive(Debug, thiserror::Error)]
pub enum EffectError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error(transparent)]
    Platform(#[from] PlatformError),
    #[error(transparent)]
    Notify(#[from] NotifyError),
}

/// What one shop's calls need.
pub struct Ctx<'a> {
    pub platform: &'a AdminClient,
    pub shop: &'a str,
    pub token: &'a Secret,
}

impl Ctx<'_> {
    async fn call(&self, op: &Operation, vars: Value) -> Result<Value, EffectError> {
        Ok(self.platform.call(self.shop, self.token, op, vars).await?)
    }
}

/// One pass over a shop's settled marks; the number of marks settled.
pub async fn reconcile_shop(state: &AppState, shop: &str, holder: &str) -> Result<usize, EffectError> {
    state.panics.hit("shop", shop);
    let store = state.store.as_ref();
    // Most passes find nothing settled: two reads, before any lease write or token decryption.
    let mut reads = store.ledger_get(shop, &[Record::Settings, Record::Schedule]).await?;
    let schedule = reads.pop().flatten();
    let settings: ShopSettings = decode(reads.pop().flatten().as_deref())?.unwrap_or_default();
    if let Err(e) = crate::notify::owner::run_due(state, shop, &settings, schedule).await {
        tracing::warn!(shop, error = %e, "notify: the shop's timed jobs failed; trying again");
    }
    let settle = settings.settle_ms.unwrap_or(state.settings.ledger.settle_ms);
    let marks = store.dirty_settled(shop, now_ms().saturating_sub(settle), BATCH).await?;
    if marks.is_empty() || !store.try_lease(shop, "effects", holder, LEASE).await? {
        return Ok(0);
    }
    let result = reconcile_leased(state, shop, holder, &settings, marks).await;
    store.release_lease(shop, "effects", holder).await?;
    result
}

async fn reconcile_leased(
    state: &AppState,
    shop: &str,
    holder: &str,
    settings: &ShopSettings,
    marks: Vec<(String, u64)>,
) -> Result<usize, EffectError> {
    let store = state.store.as_ref();
    let token = match crate::auth::tokens::access_token(state, shop).await {
        Ok(Some(token)) => token,
        // No install (yet, or any more: uninstalled): nothing may be sent; the marks wait.
        Ok(None) => return Ok(0),
        Err(e) => {
            tracing::warn!(shop, error = %e, "effects: no usable access token for the shop");
            return Ok(0);
        }
    };
    let ctx = Ctx { platform: &state.platform, shop, token: &token };
    let mut done = Vec::new();
    let mut orders = Vec::new();
    let mut variants = Vec::new();
    let mut mail = Vec::new();
    for (mark, at) in marks {
        match mark.split_once(':').and_then(|(kind, id)| Some((kind, id.parse::<u64>().ok()?))) {
            Some(("o", id)) => orders.push((id, mark, at)),
            Some(("v", id)) => variants.push((id, mark, at)),
            Some(("m", id)) => mail.push((Record::Mail(id), mark, at)),
            Some(("s", _)) => mail.push((Record::ShopMail, mark, at)),
            _ => done.push((mark, at)),
        }
    }
    let queues = &Queues::default();
    // Orders are independent of one another: several are in flight at once, so the calls keep
    // the bucket drained at its restore rate while each waits for its round trip. One order's
    // calls stay in order (holds before tags), and each mark is settled by one task only.
    let started = Instant::now();
    let ctx = &ctx;
    let settled: Vec<Option<(String, u64)>> = futures_util::stream::iter(orders)
        .take_while(|_| std::future::ready(started.elapsed() < PASS))
        .map(|(id, mark, at)| async move {
            if !state.store.try_lease(ctx.shop, "effects", holder, LEASE).await? {
                return Ok(None);
            }
            Ok::<_, EffectError>(settle_order(state, ctx, settings, id, &mark, queues).await?.then_some((mark, at)))
        })
        .buffer_unordered(state.settings.effects.concurrency.max(1))
        .try_collect()
        .await?;
    done.extend(settled.into_iter().flatten());
    done.extend(settle_variants(state, ctx, settings, variants).await?);
    // Emails go one at a time: a mail server takes them at its pace, and one that is down
    // makes every later try this pass pointless.
    for (mailbox, mark, at) in mail {
        if started.elapsed() >= PASS || !state.store.try_lease(shop, "effects", holder, LEASE).await? {
            break;
        }
        if !outbox::deliver(state, shop, mailbox).await? {
            break;
        }
        done.push((mark, at));
    }
    let settled = done.len();
    crate::failpoint::hit(crate::failpoint::points::EFFECTS_RECORDED);
    store.clear_dirty(shop, &done).await?;
    Ok(settled)
}

/// Brings one order's tags and holds to what the ledger says. `false` keeps its mark (the
/// platform refused the token: nothing for this shop can succeed until it is renewed).
async fn settle_order(
    state: &AppState,
    ctx: &Ctx<'_>,
    settings: &ShopSettings,
    order_id: u64,
    mark: &str,
    queues: &Queues,
) -> Result<bool, EffectError> {
    let store = state.store.as_ref();
    let record = Record::AppliedOrder(order_id);
    let stored: AppliedOrder = decode(store.ledger_get(ctx.shop, &[record]).await?[0].as_deref())?.unwrap_or_default();
    let lines = order::lines(store, ctx.shop, order_id).await?.unwrap_or_default();
    let cancel_requested = store.ledger_get(ctx.shop, &[Record::CancelRequest(order_id)]).await?[0].is_some();
    let mut applied = stored.clone();
    let desired = order_desired(&lines, settings, &applied, cancel_requested);
    let mut result = Ok(());
    if applied.unsure {
        // The last pass failed, perhaps after the platform applied a tag whose reply was lost:
        // compare with what the platform carries, not with what was last known to go through.
        let ours = applied.tags.union(&desired.tags).cloned().collect();
        match order::tags_on_platform(ctx, order_id, &ours).await {
            Ok(tags) => applied.tags = tags,
            Err(e) => result = Err(e),
        }
    }
    let diff = OrderDiff::between(&applied, &desired);
    if result.is_ok() && !diff.is_empty() {
        result = order::apply(ctx, order_id, &diff, &mut applied).await;
        if result.is_ok() {
            crate::failpoint::hit(crate::failpoint::points::EFFECTS_APPLIED);
            tracing::info!(shop = ctx.shop, order_id, add = ?diff.add_tags, remove = ?diff.remove_tags, holds = ?diff.holds, "effects: order updated");
        }
    }
    if let Err(e) = result {
        let failures = stored.failures + 1;
        let settled = give_up(state, ctx.shop, mark, e, failures).await?;
        // Counted so a platform that keeps failing ends in the dead letters. What went through
        // is kept (`apply` recorded it), so the next pass sends only the rest.
        let kept = AppliedOrder { failures: if settled { 0 } else { failures }, unsure: true, ..applied };
        write_applied(state, ctx.shop, record, encode(&kept)).await?;
        return Ok(settled);
    }
    let now = AppliedOrder {
        tags: desired.tags,
        holds: desired.holds,
        was_backordered: desired.was_backordered,
        failures: 0,
        unsure: false,
    };
    if now != stored {
        write_applied(state, ctx.shop, record, encode(&now)).await?;
    }
    // Only an order that has waited can be owed an email; the rest cost no queue read.
    if !now.was_backordered {
        return Ok(true);
    }
    Ok(outbox::decide(state, ctx.shop, settings, order_id, queues).await?)
}

/// Brings the policies of `variants` to what the ledger says; the marks to clear.
async fn settle_variants(
    state: &AppState,
    ctx: &Ctx<'_>,
    settings: &ShopSettings,
    variants: Vec<(u64, String, u64)>,
) -> Result<Vec<(String, u64)>, EffectError> {
    let store = state.store.as_ref();
    let mut done = Vec::new();
    let mut changes = Vec::new();
    for (id, mark, at) in variants {
        let applied: AppliedVariant =
            decode(store.ledger_get(ctx.shop, &[Record::AppliedVariant(id)]).await?[0].as_deref())?.unwrap_or_default();
        let Some((desired, record)) = variant::read(store, ctx.shop, id).await? else {
            done.push((mark, at));
            continue;
        };
        let mut applied = applied;
        let before = applied.clone();
        let fingerprint = if record.header.backordered() == 0 {
            desired.eta_inputs
        } else {
            crate::notify::queue::eta_fingerprint(store, ctx.shop, id, &record, desired.eta_inputs).await?
        };
        if applied.eta_inputs != Some(fingerprint) {
            recheck_waiting(state, ctx.shop, id, &record).await?;
            applied.eta_inputs = Some(fingerprint);
        }
        alert_owner(state, ctx.shop, settings, id, &record, &mut applied).await?;
        if applied.unsure {
            // The last pass failed, perhaps after the platform applied a change whose reply was
            // lost: compare with what the platform shows, not with what was last known to go through.
            match variant::on_platform(ctx, id).await {
                Ok(Some((policy, eta))) => {
                    applied.policy = Some(policy);
                    applied.eta = eta;
                }
                Ok(None) => {}
                Err(e) => {
                    let failures = applied.failures + 1;
                    let settled = give_up(state, ctx.shop, &mark, e, failures).await?;
                    applied.failures = if settled { 0 } else { failures };
                    applied.unsure = true;
                    write_applied(state, ctx.shop, Record::AppliedVariant(id), encode(&applied)).await?;
                    if settled {
                        done.push((mark, at));
                    }
                    continue;
                }
            }
        }
        if applied != before {
            write_applied(state, ctx.shop, Record::AppliedVariant(id), encode(&applied)).await?;
        }
        let policy = (applied.policy.as_deref() != Some(desired.policy)).then_some(desired.policy);
        // A date that went away (no supply, no lead time) is left as last set: the storefront
        // reads the live answer from the proxy; the metafield only ever moves to a real date.
        let eta = desired.eta.filter(|eta| applied.eta.as_ref() != Some(eta));
        if policy.is_none() && eta.is_none() {
            if applied.unsure || applied.failures > 0 {
                // Read back and found in place: nothing failed after all.
                let now = AppliedVariant { failures: 0, unsure: false, ..applied };
                write_applied(state, ctx.shop, Record::AppliedVariant(id), encode(&now)).await?;
            }
            done.push((mark, at));
        } else {
            changes.push((id, desired.product, policy, eta, mark, at, applied));
        }
    }
    if changes.is_empty() {
        return Ok(done);
    }
    let policies: Vec<_> = changes.iter().filter_map(|(id, product, p, ..)| p.map(|p| (*id, *product, p))).collect();
    let etas: Vec<_> = changes.iter().filter_map(|(id, _, _, eta, ..)| eta.clone().map(|e| (*id, e))).collect();
    let mut sent = variant::Sent::default();
    if let Err(e) = variant::apply(ctx, &policies, &etas, &mut sent).await {
        for (id, _, policy, eta, mark, at, applied) in changes {
            let failures = applied.failures + 1;
            let settled = give_up(state, ctx.shop, &mark, copy(&e), failures).await?;
            // What went through before the failure is kept, so the next pass sends only the rest.
            let kept = AppliedVariant {
                policy: policy.filter(|_| sent.policies.contains(&id)).map(str::to_string).or(applied.policy),
                eta: eta.filter(|_| sent.etas.contains(&id)).or(applied.eta),
                failures: if settled { 0 } else { failures },
                unsure: true,
                ..applied
            };
            write_applied(state, ctx.shop, Record::AppliedVariant(id), encode(&kept)).await?;
            if settled {
                done.push((mark, at));
            }
        }
        return Ok(done);
    }
    crate::failpoint::hit(crate::failpoint::points::EFFECTS_APPLIED);
    for (id, _, policy, eta, mark, at, applied) in changes {
        tracing::info!(shop = ctx.shop, variant = id, ?policy, ?eta, "effects: variant updated");
        let now = AppliedVariant {
            policy: policy.map(str::to_string).or(applied.policy),
            eta: eta.or(applied.eta),
            failures: 0,
            unsure: false,
            ..applied
        };
        write_applied(state, ctx.shop, Record::AppliedVariant(id), encode(&now)).await?;
        done.push((mark, at));
    }
    Ok(done)
}

/// Tells the owner once each time the variant's backlog reaches the alert threshold; falling
/// below it again arms the next alert.
async fn alert_owner(
    state: &AppState,
    shop: &str,
    settings: &ShopSettings,
    variant: u64,
    record: &VariantRecord,
    applied: &mut AppliedVariant,
) -> Result<(), EffectError> {
    let Some(threshold) = settings.alert_threshold_units else { return Ok(()) };
    let reached = record.header.backordered() >= threshold;
    if reached && !applied.alerted {
        if let Some(owner) = settings.owner_email.as_deref() {
            let occasion = format!("reorder-{variant}-{}", applied.alerts + 1);
            let alert = crate::notify::owner::reorder_alert(shop, variant, record, threshold);
            outbox::queue_for_owner(state, shop, &occasion, owner, alert).await?;
            applied.alerts += 1;
        }
        applied.alerted = true;
    } else if !reached && applied.alerted {
        applied.alerted = false;
    }
    Ok(())
}

/// Marks every order waiting on `variant`, so each is looked at again for an ETA that moved
/// (a supply date pushed back, a batch removed). Their marks settle like any other.
async fn recheck_waiting(
    state: &AppState,
    shop: &str,
    variant: u64,
    record: &VariantRecord,
) -> Result<(), EffectError> {
    Ok(crate::notify::queue::mark_waiting(state.store.as_ref(), shop, variant, record, "effects").await?)
}

/// The same failure for each variant of a failed batch.
fn copy(e: &EffectError) -> EffectError {
    match e {
        EffectError::Platform(PlatformError::Denied(code)) => EffectError::Platform(PlatformError::Denied(*code)),
        EffectError::Platform(PlatformError::Refused { operation, message }) => {
            EffectError::Platform(PlatformError::Refused { operation, message: message.clone() })
        }
        EffectError::Platform(PlatformError::Uncertain(why)) => {
            EffectError::Platform(PlatformError::Uncertain(why.clone()))
        }
        other => EffectError::Platform(PlatformError::Unavailable(other.to_string())),
    }
}

async fn write_applied(state: &AppState, shop: &str, record: Record, bytes: Vec<u8>) -> Result<(), EffectError> {
    let commit = LedgerCommit {
        event_key: format!("effects:{:016x}", fastrand::u64(..)),
        topic: "effects".into(),
        mark_ttl: Duration::from_secs(3600),
        writes: vec![(record, Some(bytes))],
        ..LedgerCommit::default()
    };
    state.store.ledger_commit(shop, &commit).await?;
    Ok(())
}

/// A failed effect. `true`: dead-lettered (clear its mark). `false`: keep the mark and try again
/// next pass; so when the token was refused (nothing for the shop can succeed until it works
/// again) and while a retryable failure has passes left. Store errors end the pass.
async fn give_up(state: &AppState, shop: &str, mark: &str, e: EffectError, failures: u32) -> Result<bool, EffectError> {
    let why = match e {
        EffectError::Platform(PlatformError::Denied(code)) => {
            tracing::warn!(shop, code, "effects: the platform refused the shop's token; effects wait");
            return Ok(false);
        }
        // A dropped reply can leave a call applied; the next pass, which reads the platform
        // first, repairs that instead of giving up.
        EffectError::Platform(why) if why.is_retryable() && failures < state.settings.effects.max_failed_passes => {
            tracing::warn!(shop, mark, failures, error = %why, "effects: failed; trying again next pass");
            return Ok(false);
        }
        EffectError::Platform(why) => why,
        other => return Err(other),
    };
    tracing::error!(shop, mark, error = %why, "effects: dead-lettered after its retry budget");
    state.metrics.effect_dead_lettered();
    let envelope = Envelope {
        meta: EnvelopeMeta {
            topic: EFFECT_TOPIC.into(),
            shop: shop.to_string(),
            webhook_id: format!("effect-{mark}-{:016x}", fastrand::u64(..)),
            event_id: None,
            api_version: None,
            triggered_at: None,
            received_at_ms: now_ms(),
            attempts: 0,
        },
        body: serde_json::to_vec(&serde_json::json!({"mark": mark})).unwrap_or_default().into(),
    };
    state.store.bury(&envelope, DeadLetterKind::Effect, &why.to_string()).await?;
    Ok(true)
}

/// A replayed dead letter of an effect: mark it again, so the next pass reconciles it.
pub async fn redirty(state: &AppState, envelope: &Envelope) -> Result<(), HandlerError> {
    let bad = |why: &str| HandlerError::Permanent(format!("dead-lettered effect: {why}"));
    let body: Value = serde_json::from_slice(&envelope.body).map_err(|_| bad("body is not JSON"))?;
    let mark = body["mark"].as_str().ok_or_else(|| bad("no mark"))?;
    let (kind, id) = mark.split_once(':').ok_or_else(|| bad("malformed mark"))?;
    let id: u64 = id.parse().map_err(|_| bad("malformed mark"))?;
    let mut commit = LedgerCommit {
        event_key: envelope.event_key(),
        topic: EFFECT_TOPIC.into(),
        mark_ttl: state.dedupe_ttl(),
        ..LedgerCommit::default()
    };
    match kind {
        "o" => commit.dirty_orders.push(id),
        "v" => commit.dirty_variants.push(id),
        _ => return Err(bad("malformed mark")),
    }
    // A store that is down is worth a retry, like any webhook's commit.
    state
        .store
        .ledger_commit(&envelope.meta.shop, &commit)
        .await
        .map_err(|e| HandlerError::Transient(e.to_string()))?;
    Ok(())
}
