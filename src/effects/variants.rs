//! A pass's variants: each one's inventory policy and `backorder_eta` date brought to what the
//! ledger says (the policy changes batched per product), the owner's reorder alert, the waiting
//! orders looked at again when their dates may have moved, and unenrolled variants given back
//! what they had.

use super::desired::{AppliedVariant, Restore};
use super::{AppliedVariantKey, Ctx, EffectError, give_up, variant, write_applied};
use crate::books::Change;
use crate::ledger::records::VariantRecord;
use crate::notify::outbox;
use crate::platform::PlatformError;
use crate::shop::ShopSettings;
use crate::state::AppState;
use crate::store::Settled;

/// Brings the policies of `variants` to what the ledger says; the marks to clear.
pub(super) async fn settle_variants(
    state: &AppState,
    ctx: &Ctx<'_>,
    settings: &ShopSettings,
    variants: Vec<(u64, Settled)>,
) -> Result<Vec<Settled>, EffectError> {
    let books = &state.books;
    let mut done = Vec::new();
    let mut changes = Vec::new();
    let mut restoring = Vec::new();
    for (id, entry) in variants {
        let applied = books.get_or_default(ctx.shop, AppliedVariantKey(id)).await?;
        let mut read = variant::read(books, ctx.shop, id, settings.today(), false).await?;
        if read.as_ref().is_some_and(|(_, record)| variant::awaits_platform_read(record)) {
            // Rare: only a variant with platform batches whose stock rose reads the platform here.
            match crate::supply::refresh(state, ctx.shop, ctx.token, id).await {
                Ok(_) => read = variant::read(books, ctx.shop, id, settings.today(), true).await?,
                Err(e) => {
                    tracing::warn!(shop = ctx.shop, variant = id, error = %e, "effects: expected supply not read; the arrival is measured later")
                }
            }
        }
        let Some((desired, record)) = read else {
            // Unenrolled: given back what it had, once.
            match applied.restore.clone() {
                Some(restore) => restoring.push((id, restore, entry, applied)),
                None => done.push(entry),
            }
            continue;
        };
        let mut applied = applied;
        let before = applied.clone();
        // Enrolled again before it was given back: nothing to give back any more.
        applied.restore = None;
        let fingerprint = if record.header.backordered() == 0 {
            desired.eta_inputs
        } else {
            crate::books::queue::eta_fingerprint(books, ctx.shop, id, &record, desired.eta_inputs).await?
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
                    ctx.note(&e);
                    let failures = applied.failures + 1;
                    let settled = give_up(state, ctx.shop, entry.mark, e, failures).await?;
                    applied.failures = if settled { 0 } else { failures };
                    applied.unsure = true;
                    write_applied(state, ctx.shop, AppliedVariantKey(id), &applied).await?;
                    if settled {
                        done.push(entry);
                    }
                    continue;
                }
            }
        }
        // A policy a person set by hand stands while the app would set what it set before; once
        // the app wants another (a cap reached, stock back), that one goes out.
        if applied.by_hand.as_ref().is_some_and(|h| h.then != desired.policy) {
            applied.by_hand = None;
        }
        if applied != before {
            write_applied(state, ctx.shop, AppliedVariantKey(id), &applied).await?;
        }
        let left_by_hand = applied.by_hand.is_some();
        let policy = (applied.policy.as_deref() != Some(desired.policy) && !left_by_hand).then_some(desired.policy);
        // A date that went away (no supply, no lead time) is left as last set: the storefront
        // reads the live answer from the proxy; the metafield only ever moves to a real date.
        let eta = desired.eta.filter(|eta| applied.eta.as_ref() != Some(eta));
        if policy.is_none() && eta.is_none() {
            if applied.unsure || applied.failures > 0 {
                // Read back and found in place: nothing failed after all.
                let now = AppliedVariant { failures: 0, unsure: false, ..applied };
                write_applied(state, ctx.shop, AppliedVariantKey(id), &now).await?;
            }
            done.push(entry);
        } else {
            changes.push((id, desired.product, policy, eta, entry, applied));
        }
    }
    restore_variants(state, ctx, restoring, &mut done).await?;
    if changes.is_empty() {
        return Ok(done);
    }
    let policies: Vec<_> = changes.iter().filter_map(|(id, product, p, ..)| p.map(|p| (*id, *product, p))).collect();
    let etas: Vec<_> = changes.iter().filter_map(|(id, _, _, eta, ..)| eta.clone().map(|e| (*id, e))).collect();
    // Written before the calls, as for orders: a process that dies after the platform applied
    // a change and before it is recorded leaves the next pass to read it back, not resend it.
    for (id, .., applied) in changes.iter().filter(|(.., applied)| !applied.unsure) {
        write_applied(state, ctx.shop, AppliedVariantKey(*id), &AppliedVariant { unsure: true, ..applied.clone() })
            .await?;
    }
    let mut sent = variant::Sent::default();
    if let Err(e) = variant::apply(ctx, &policies, &etas, &mut sent).await {
        if !ctx.held() {
            // Another instance may have the shop by now; the intents above make it read back.
            return Ok(done);
        }
        ctx.note(&e);
        for (id, _, policy, eta, entry, applied) in changes {
            let failures = applied.failures + 1;
            let settled = give_up(state, ctx.shop, entry.mark, copy(&e), failures).await?;
            // What went through before the failure is kept, so the next pass sends only the rest.
            let kept = AppliedVariant {
                policy: policy.filter(|_| sent.policies.contains(&id)).map(str::to_string).or(applied.policy),
                eta: eta.filter(|_| sent.etas.contains(&id)).or(applied.eta),
                failures: if settled { 0 } else { failures },
                unsure: true,
                ..applied
            };
            write_applied(state, ctx.shop, AppliedVariantKey(id), &kept).await?;
            if settled {
                done.push(entry);
            }
        }
        return Ok(done);
    }
    crate::failpoint::hit(crate::failpoint::points::EFFECTS_APPLIED);
    for (id, _, policy, eta, entry, applied) in changes {
        tracing::info!(shop = ctx.shop, variant = id, ?policy, ?eta, "effects: variant updated");
        let now = AppliedVariant {
            policy_at_ms: if policy.is_some() { crate::store::now_ms() as i64 } else { applied.policy_at_ms },
            policy: policy.map(str::to_string).or(applied.policy),
            eta: eta.or(applied.eta),
            failures: 0,
            unsure: false,
            ..applied
        };
        write_applied(state, ctx.shop, AppliedVariantKey(id), &now).await?;
        done.push(entry);
    }
    Ok(done)
}

/// Gives unenrolled variants back their policy and takes our date off them; what went through
/// forgets the variant's applied record, a failure is retried like any effect.
async fn restore_variants(
    state: &AppState,
    ctx: &Ctx<'_>,
    restoring: Vec<(u64, Restore, Settled, AppliedVariant)>,
    done: &mut Vec<Settled>,
) -> Result<(), EffectError> {
    if restoring.is_empty() {
        return Ok(());
    }
    let given: Vec<(u64, Restore, bool)> =
        restoring.iter().map(|(id, r, _, applied)| (*id, r.clone(), applied.eta.is_some())).collect();
    match variant::restore(ctx, &given).await {
        Ok(()) => {
            for (id, _, entry, _) in restoring {
                tracing::info!(shop = ctx.shop, variant = id, "effects: variant given back");
                state.books.commit(ctx.shop, Change::unchecked().remove(AppliedVariantKey(id))).await?;
                done.push(entry);
            }
        }
        Err(e) => {
            ctx.note(&e);
            for (id, _, entry, applied) in restoring {
                let failures = applied.failures + 1;
                let settled = give_up(state, ctx.shop, entry.mark, copy(&e), failures).await?;
                let kept = AppliedVariant { failures: if settled { 0 } else { failures }, ..applied };
                write_applied(state, ctx.shop, AppliedVariantKey(id), &kept).await?;
                if settled {
                    done.push(entry);
                }
            }
        }
    }
    Ok(())
}

/// Tells the owner once each time the variant needs reordering: its inventory position falls to
/// its reorder point (SPEC 10.1) once its history is long enough to advise on, its backlog
/// reaches the fixed alert threshold before then. Rising above again arms the next alert.
async fn alert_owner(
    state: &AppState,
    shop: &str,
    settings: &ShopSettings,
    variant: u64,
    record: &VariantRecord,
    applied: &mut AppliedVariant,
) -> Result<(), EffectError> {
    let Some(owner) = settings.owner_email.as_deref() else { return Ok(()) };
    let today = crate::ledger::eta::format(settings.today());
    if applied.reorder_day.as_deref() != Some(today.as_str()) {
        let standing = crate::books::daily::standing_of(&state.books, shop, variant, record, settings).await?;
        let advice = crate::forecast::advise(&standing);
        applied.reorder_point = (advice.history_days > crate::forecast::HOLDOUT_DAYS).then_some(advice.reorder_point);
        applied.reorder_day = Some(today);
    }
    let incoming = record.settings.supply.iter().map(|b| b.qty).sum();
    let position = crate::forecast::inventory_position(record.header.stock, incoming, record.header.backordered());
    let (reached, why) = match (applied.reorder_point, settings.alert_threshold_units) {
        (Some(point), _) => (position <= point as i64, crate::notify::owner::Why::ReorderPoint(point)),
        (None, Some(threshold)) => {
            (record.header.backordered() >= threshold, crate::notify::owner::Why::Threshold(threshold))
        }
        (None, None) => return Ok(()),
    };
    if reached && !applied.alerted {
        let occasion = format!("reorder-{variant}-{}", applied.alerts + 1);
        let alert = crate::notify::owner::reorder_alert(shop, variant, record, why);
        outbox::queue_for_owner(state, shop, &occasion, owner, alert).await?;
        applied.alerts += 1;
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
    Ok(crate::books::queue::mark_waiting(&state.books, shop, variant, record).await?)
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
