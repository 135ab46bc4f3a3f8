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
mod variant;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{StreamExt, TryStreamExt};

use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::ledger::records::{RecordError, decode, encode};
use crate::platform::ops::Operation;
use crate::platform::{AdminClient, PlatformError};
use crate::secret::Secret;
use crate::shop::ShopSettings;
use crate::state::AppState;
use crate::store::{DeadLetterKind, Envelope, EnvelopeMeta, LedgerCommit, Record, StoreError, now_ms};
use desired::{AppliedOrder, AppliedVariant, OrderDiff, order_desired};

/// The topic of a dead-lettered effect's envelope; replaying it marks the effect again.
pub const EFFECT_TOPIC: &str = "effects/reconcile";
/// Marks taken per shop per pass.
const BATCH: usize = 200;
/// A lease outlives a pass by far; a holder that dies frees the shop after this.
const LEASE: Duration = Duration::from_secs(60);
/// No order is started later than this into a pass, so a pass paced by a small bucket (200
/// orders at 40 points are 80 s of a Standard shop's restore rate) ends well inside its lease;
/// the rest keep their marks for the next pass.
const PASS: Duration = Duration::from_secs(20);

#[derive(Debug, thiserror::Error)]
pub enum EffectError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error(transparent)]
    Platform(#[from] PlatformError),
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

/// The running sweeper of one process.
pub struct Effects {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Effects {
    pub fn spawn(state: Arc<AppState>, every: Duration) -> Self {
        let (stop, mut stopped) = watch::channel(false);
        let holder = format!("{:016x}", fastrand::u64(..));
        let task = tokio::spawn(async move {
            while !*stopped.borrow() {
                if let Err(e) = sweep(&state, &holder).await {
                    tracing::warn!(error = %e, "effects: sweep failed; trying again");
                }
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = stopped.changed() => {}
                }
            }
        });
        Self { stop, task }
    }

    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// One pass over every shop.
pub async fn sweep(state: &AppState, holder: &str) -> Result<usize, EffectError> {
    let mut settled = 0;
    for shop in state.store.shops().await? {
        match reconcile_shop(state, &shop, holder).await {
            Ok(n) => settled += n,
            Err(e) => tracing::warn!(shop = %shop, error = %e, "effects: shop not reconciled this pass"),
        }
    }
    Ok(settled)
}

/// One pass over a shop's settled marks; the number of marks settled.
pub async fn reconcile_shop(state: &AppState, shop: &str, holder: &str) -> Result<usize, EffectError> {
    let store = state.store.as_ref();
    if !store.try_lease(shop, "effects", holder, LEASE).await? {
        return Ok(0);
    }
    let result = reconcile_leased(state, shop).await;
    store.release_lease(shop, "effects", holder).await?;
    result
}

async fn reconcile_leased(state: &AppState, shop: &str) -> Result<usize, EffectError> {
    let store = state.store.as_ref();
    let install = match state.install(shop).await {
        Ok(Some(install)) => install,
        // No install (yet, or any more): nothing may be sent; the marks wait.
        Ok(None) => return Ok(0),
        Err(e) => {
            tracing::warn!(shop, error = %e, "effects: cannot open the shop's install");
            return Ok(0);
        }
    };
    let settings: ShopSettings =
        decode(store.ledger_get(shop, &[Record::Settings]).await?[0].as_deref())?.unwrap_or_default();
    let settle = settings.settle_ms.unwrap_or(state.settings.ledger.settle_ms);
    let marks = store.dirty_settled(shop, now_ms().saturating_sub(settle), BATCH).await?;
    if marks.is_empty() {
        return Ok(0);
    }
    let ctx = Ctx { platform: &state.platform, shop, token: &install.access_token };
    let mut done = Vec::new();
    let mut orders = Vec::new();
    let mut variants = Vec::new();
    for (mark, at) in marks {
        match mark.split_once(':').and_then(|(kind, id)| Some((kind, id.parse::<u64>().ok()?))) {
            Some(("o", id)) => orders.push((id, mark, at)),
            Some(("v", id)) => variants.push((id, mark, at)),
            _ => done.push((mark, at)),
        }
    }
    // Orders are independent of one another: several are in flight at once, so the calls keep
    // the bucket drained at its restore rate while each waits for its round trip. One order's
    // calls stay in order (holds before tags), and each mark is settled by one task only.
    let started = Instant::now();
    let (ctx, settings) = (&ctx, &settings);
    let settled: Vec<Option<(String, u64)>> = futures_util::stream::iter(orders)
        .take_while(|_| std::future::ready(started.elapsed() < PASS))
        .map(|(id, mark, at)| async move {
            Ok::<_, EffectError>(settle_order(state, ctx, settings, id, &mark).await?.then_some((mark, at)))
        })
        .buffer_unordered(state.settings.effects.concurrency.max(1))
        .try_collect()
        .await?;
    done.extend(settled.into_iter().flatten());
    done.extend(settle_variants(state, ctx, variants).await?);
    let settled = done.len();
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
) -> Result<bool, EffectError> {
    let store = state.store.as_ref();
    let record = Record::AppliedOrder(order_id);
    let applied: AppliedOrder = decode(store.ledger_get(ctx.shop, &[record]).await?[0].as_deref())?.unwrap_or_default();
    let lines = order::lines(store, ctx.shop, order_id).await?.unwrap_or_default();
    let desired = order_desired(&lines, settings, &applied);
    let diff = OrderDiff::between(&applied, &desired);
    if !diff.is_empty() {
        if let Err(e) = order::apply(ctx, order_id, &diff).await {
            return give_up(state, ctx.shop, mark, e).await;
        }
        tracing::info!(shop = ctx.shop, order_id, add = ?diff.add_tags, remove = ?diff.remove_tags, holds = ?diff.holds, "effects: order updated");
    }
    let now = AppliedOrder { tags: desired.tags, holds: desired.holds, was_backordered: desired.was_backordered };
    if now != applied {
        write_applied(state, ctx.shop, record, encode(&now)).await?;
    }
    Ok(true)
}

/// Brings the policies of `variants` to what the ledger says; the marks to clear.
async fn settle_variants(
    state: &AppState,
    ctx: &Ctx<'_>,
    variants: Vec<(u64, String, u64)>,
) -> Result<Vec<(String, u64)>, EffectError> {
    let store = state.store.as_ref();
    let mut done = Vec::new();
    let mut changes = Vec::new();
    for (id, mark, at) in variants {
        let applied: AppliedVariant =
            decode(store.ledger_get(ctx.shop, &[Record::AppliedVariant(id)]).await?[0].as_deref())?.unwrap_or_default();
        match variant::desired(store, ctx.shop, id).await? {
            Some((product, policy)) if applied.policy.as_deref() != Some(policy) => {
                changes.push((id, product, policy, mark, at))
            }
            _ => done.push((mark, at)),
        }
    }
    if changes.is_empty() {
        return Ok(done);
    }
    let calls: Vec<_> = changes.iter().map(|(id, product, policy, _, _)| (*id, *product, *policy)).collect();
    if let Err(e) = variant::apply(ctx, &calls).await {
        for (_, _, _, mark, at) in changes {
            if give_up(state, ctx.shop, &mark, clone_error(&e)).await? {
                done.push((mark, at));
            }
        }
        return Ok(done);
    }
    for (id, _, policy, mark, at) in changes {
        tracing::info!(shop = ctx.shop, variant = id, policy, "effects: inventory policy set");
        let applied = AppliedVariant { policy: Some(policy.to_string()) };
        write_applied(state, ctx.shop, Record::AppliedVariant(id), encode(&applied)).await?;
        done.push((mark, at));
    }
    Ok(done)
}

fn clone_error(e: &EffectError) -> EffectError {
    match e {
        EffectError::Platform(PlatformError::Denied(code)) => EffectError::Platform(PlatformError::Denied(*code)),
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

/// A failed effect: dead-lettered (its mark is cleared) unless the token was refused, which
/// keeps the mark until the shop's token works again. Store errors end the pass.
async fn give_up(state: &AppState, shop: &str, mark: &str, e: EffectError) -> Result<bool, EffectError> {
    match e {
        EffectError::Platform(PlatformError::Denied(code)) => {
            tracing::warn!(shop, code, "effects: the platform refused the shop's token; effects wait");
            Ok(false)
        }
        EffectError::Platform(why) => {
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
        other => Err(other),
    }
}

/// A replayed dead letter of an effect: mark it again, so the next pass reconciles it.
pub async fn redirty(state: &AppState, envelope: &Envelope) -> Result<(), String> {
    let body: Value = serde_json::from_slice(&envelope.body).map_err(|e| format!("effect body: {e}"))?;
    let mark = body["mark"].as_str().ok_or("effect body has no mark")?;
    let (kind, id) = mark.split_once(':').ok_or("effect mark is malformed")?;
    let id: u64 = id.parse().map_err(|_| "effect mark is malformed")?;
    let mut commit = LedgerCommit {
        event_key: envelope.event_key(),
        topic: EFFECT_TOPIC.into(),
        mark_ttl: state.dedupe_ttl(),
        ..LedgerCommit::default()
    };
    match kind {
        "o" => commit.dirty_orders.push(id),
        "v" => commit.dirty_variants.push(id),
        _ => return Err("effect mark is malformed".into()),
    }
    state.store.ledger_commit(&envelope.meta.shop, &commit).await.map_err(|e| e.to_string())?;
    Ok(())
}
