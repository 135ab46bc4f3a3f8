//! Effects (SPEC 5): tags, holds and inventory policy on the platform, derived from the ledger.
//!
//! Every ledger commit marks the orders and variants whose derived state changed, with the time
//! of the change; those marks are the durable outbox. A sweeper takes each shop's marks once
//! they have held for the settle time, compares what should be with what was last applied,
//! sends only the difference, records it as applied, and clears the mark unless the ledger
//! changed it again meanwhile. So a state that flips and flips back inside the settle window
//! sends nothing, and a crash anywhere only means the same comparison runs again: the calls
//! are idempotent (tags, policy) or read the platform first (holds). An effect that fails
//! through the client's whole retry budget is dead-lettered as the shop and its mark; `dlq
//! replay` marks it again.

mod consolation;
pub mod desired;
pub mod log;
mod order;
mod pass;
pub mod people;
mod sweeper;
mod variant;
mod variants;

pub use pass::{Denial, Pass, Reach, settle_shop};
pub use sweeper::{Dispatch, Effects, ShopBackoff};
use variants::settle_variants;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;

use crate::books::standing::Queues;
use crate::books::{Change, Key, Lease, key};
use crate::ledger::records::RecordError;
use crate::notify::NotifyError;
use crate::notify::outbox;
use crate::platform::ops::Operation;
use crate::platform::{AdminClient, PlatformError};
use crate::secret::Secret;
use crate::shop::ShopSettings;
use crate::state::AppState;
use crate::store::{Mark, Record, StoreError};
use desired::{AppliedOrder, AppliedVariant, OrderDiff, order_desired};

crate::record_key!(
    /// What the effects last applied on the platform for an order (tags, holds).
    AppliedOrderKey(u64) => AppliedOrder, Record::AppliedOrder
);
crate::record_key!(
    /// What the effects last applied for a variant (policy, ETA metafield).
    AppliedVariantKey(u64) => AppliedVariant, Record::AppliedVariant
);

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
    #[error(transparent)]
    Books(#[from] crate::books::BookError),
}

/// What one shop's calls need.
pub struct Ctx<'a> {
    pub platform: &'a AdminClient,
    pub shop: &'a str,
    pub token: &'a Secret,
    /// The platform refused the token during this pass: nothing more of the shop's can succeed
    /// until it works again, so no more calls are started.
    denied: AtomicBool,
    /// The shop's effects lease: no call starts once it lapsed, since another instance may then
    /// be reading the orders this pass is changing.
    lease: &'a Lease,
    /// The changes made, for the shop's activity log at the pass's end.
    pub made: log::Gathered,
}

impl<'a> Ctx<'a> {
    pub fn new(platform: &'a AdminClient, shop: &'a str, token: &'a Secret, lease: &'a Lease) -> Self {
        Self { platform, shop, token, denied: AtomicBool::new(false), lease, made: log::Gathered::default() }
    }

    async fn call(&self, op: &Operation, vars: Value) -> Result<Value, EffectError> {
        self.call_about(None, op, vars).await
    }

    /// A call about `order` (a fulfillment order's, whose variables do not name the order).
    async fn call_about(&self, order: Option<u64>, op: &Operation, vars: Value) -> Result<Value, EffectError> {
        let kept = op.is_mutation().then(|| vars.clone());
        let answer = self.platform.call_while(self.shop, self.token, op, vars, || self.lease.held()).await?;
        if let Some(vars) = kept {
            for entry in log::entries(op, &vars, order, crate::store::now_ms()) {
                self.made.push(entry);
            }
        }
        Ok(answer)
    }

    /// The pass still holds the shop: what it read and writes stands.
    fn held(&self) -> bool {
        self.lease.held()
    }

    /// Notes a failed effect; `true` when it was the token being refused.
    fn note(&self, e: &EffectError) -> bool {
        let denied = matches!(e, EffectError::Platform(PlatformError::Denied(_)));
        if denied {
            self.denied.store(true, Ordering::Relaxed);
        }
        denied
    }

    pub fn denied(&self) -> bool {
        self.denied.load(Ordering::Relaxed)
    }
}

/// Brings one order's tags and holds to what the ledger says. `false` keeps its mark (the
/// platform refused the token: nothing for this shop can succeed until it is renewed).
async fn settle_order(
    state: &AppState,
    ctx: &Ctx<'_>,
    settings: &ShopSettings,
    order_id: u64,
    queues: &Queues,
) -> Result<bool, EffectError> {
    let books = &state.books;
    let record = AppliedOrderKey(order_id);
    let reads = books.read(ctx.shop, &[record.record(), Record::CancelRequest(order_id)]).await?;
    let stored = reads.get(record)?.unwrap_or_default();
    let cancel_requested = reads.get(key::CancelRequest(order_id))?.is_some();
    let lines = order::lines(books, ctx.shop, order_id).await?.unwrap_or_default();
    let mut applied = stored.clone();
    let desired = order_desired(&lines, settings, &applied, cancel_requested);
    let mut result = Ok(());
    if applied.unsure {
        // The last pass failed, perhaps after the platform applied a tag whose reply was lost:
        // compare with what the platform carries, not with what was last known to go through.
        let mut ours: BTreeSet<String> = applied.tags.union(&desired.tags).cloned().collect();
        ours.extend(stored.adding.iter().cloned());
        match order::tags_on_platform(ctx, order_id, &ours).await {
            Ok(tags) => {
                // A tag known to have gone through that the order no longer carries, while the
                // line still calls for it, was removed by a person: it stays off.
                let removed: Vec<String> = stored
                    .tags
                    .intersection(&desired.tags)
                    .filter(|t| !tags.contains(*t) && !stored.removing.contains(*t))
                    .cloned()
                    .collect();
                applied.tags = tags;
                for tag in removed {
                    applied.tags.insert(tag.clone());
                    people::record(state, ctx.shop, order_id, people::What::TagRemoved { tag }, false).await?;
                }
            }
            Err(e) => result = Err(e),
        }
    }
    let mut diff = OrderDiff::between(&applied, &desired);
    // The last pass set out to change the holds and may have, unrecorded (a hold placed or
    // released whose reply was lost): what is recorded proves nothing, so the holds are set
    // again, which reads the platform first and leaves exactly the wanted ones.
    let holds_in_doubt = stored.unsure && stored.changing_holds;
    if holds_in_doubt && diff.holds.is_none() && !applied.leave_holds {
        diff.holds = Some(desired.holds.clone());
    }
    if result.is_ok() && !diff.is_empty() {
        if !ctx.held() {
            return Ok(false);
        }
        // The intent, written before the calls: if this process dies after the platform applied
        // one and before it is recorded, the next pass reads the platform back instead of
        // sending it again, and does not take a change of ours for a person's.
        applied.unsure = true;
        applied.adding.extend(diff.add_tags.iter().cloned());
        applied.removing.extend(diff.remove_tags.iter().cloned());
        applied.changing_holds |= diff.holds.is_some();
        if applied != stored {
            write_applied(state, ctx.shop, record, &applied).await?;
        }
        let had_holds = !applied.holds.is_empty();
        result = match order::apply(ctx, order_id, &diff, &mut applied, holds_in_doubt).await {
            Ok(released_by_hand) => {
                crate::failpoint::hit(crate::failpoint::points::EFFECTS_APPLIED);
                tracing::info!(shop = ctx.shop, order_id, add = ?diff.add_tags, remove = ?diff.remove_tags, holds = ?diff.holds, "effects: order updated");
                if released_by_hand && had_holds {
                    let reapplied = !applied.holds.is_empty();
                    people::record(state, ctx.shop, order_id, people::What::HoldReleased, reapplied).await?;
                }
                Ok(())
            }
            Err(e) => Err(e),
        };
    }
    if let Err(e) = result {
        if !ctx.held() {
            // Another instance may have the shop by now: what this pass learnt is left for it
            // to read again (the intent written above says the calls may have gone through).
            return Ok(false);
        }
        let denied = ctx.note(&e);
        let failures = stored.failures + 1;
        let settled = give_up(state, ctx.shop, Mark::Order(order_id), e, failures).await?;
        // Counted so a platform that keeps failing ends in the dead letters. What went through
        // is kept (`apply` recorded it), so the next pass sends only the rest.
        let kept = AppliedOrder { failures: if settled { 0 } else { failures }, unsure: true, ..applied };
        write_applied(state, ctx.shop, record, &kept).await?;
        // The customer's email needs no platform token: it does not wait for one that works.
        if denied && desired.was_backordered {
            outbox::decide(state, ctx.shop, settings, order_id, queues).await?;
        }
        return Ok(settled);
    }
    let now = AppliedOrder {
        tags: desired.tags,
        holds: desired.holds,
        was_backordered: desired.was_backordered,
        failures: 0,
        unsure: false,
        adding: BTreeSet::new(),
        removing: BTreeSet::new(),
        changing_holds: false,
        ..stored.clone()
    };
    if now != stored {
        write_applied(state, ctx.shop, record, &now).await?;
    }
    // Only an order that has waited can be owed an email; the rest cost no queue read.
    if !now.was_backordered {
        return Ok(true);
    }
    let decided = outbox::decide(state, ctx.shop, settings, order_id, queues).await?;
    match consolation::offer(state, ctx, settings, order_id, queues).await {
        Ok(()) => Ok(decided),
        // The code waits for the next pass (the order keeps its mark); it is looked up before
        // it is made, so a reply lost after the platform made it makes no second.
        Err(e @ EffectError::Platform(_)) => {
            ctx.note(&e);
            tracing::warn!(shop = ctx.shop, order_id, error = %e, "consolation: the code was not made; trying again next pass");
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// What went through is recorded outright: only this shop's pass (under its lease) writes it.
async fn write_applied<K: Key>(state: &AppState, shop: &str, key: K, value: &K::Value) -> Result<(), EffectError> {
    state.books.commit(shop, Change::unchecked().put(key, value)).await?;
    Ok(())
}

/// A failed effect. `true`: dead-lettered (clear its mark). `false`: keep the mark and try again
/// next pass; so when the token was refused (nothing for the shop can succeed until it works
/// again) and while a retryable failure has passes left. Store errors end the pass.
async fn give_up(state: &AppState, shop: &str, mark: Mark, e: EffectError, failures: u32) -> Result<bool, EffectError> {
    let why = match e {
        EffectError::Platform(PlatformError::Denied(code)) => {
            tracing::warn!(shop, code, "effects: the platform refused the shop's token; effects wait");
            return Ok(false);
        }
        // A dropped reply can leave a call applied; the next pass, which reads the platform
        // first, repairs that instead of giving up.
        EffectError::Platform(why) if why.is_retryable() && failures < state.settings.effects.max_failed_passes => {
            tracing::warn!(shop, %mark, failures, error = %why, "effects: failed; trying again next pass");
            return Ok(false);
        }
        EffectError::Platform(why) => why,
        other => return Err(other),
    };
    tracing::error!(shop, %mark, error = %why, "effects: dead-lettered after its retry budget");
    state.metrics.effect_dead_lettered();
    state.queue.bury_effect(shop, mark, &why.to_string()).await?;
    Ok(true)
}
