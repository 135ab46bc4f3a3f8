//! People win over the app (SPEC 9): an effect of ours that a person undid by hand (a hold
//! released, a tag removed in the admin) is left as they made it, and put back only when the
//! line's state changes again. What was found is kept for the merchant's activity (the latest
//! [`KEPT`]) and counted in `/metrics`.
//!
//! The app learns of it where it reads the platform anyway: the fulfillment orders read before a
//! hold changes, the tags read back after a pass that failed, and the variants' inventory
//! policies a `products/update` carries.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::EffectError;
use super::desired::PolicyByHand;
use crate::books::Edit;
use crate::ledger::input::PolicySeen;
use crate::state::AppState;
use crate::store::{Record, now_ms};

/// Changes kept per shop.
pub const KEPT: usize = 100;

crate::record_key!(
    /// The shop's latest effects undone by people.
    ByPeopleKey => ByPeople, Record::ByPeople
);

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ByPeople {
    pub changes: VecDeque<Undone>,
}

/// One effect a person undid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Undone {
    /// When the app found it (ms).
    pub at_ms: u64,
    /// The order, or (a policy) the variant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant_id: Option<u64>,
    pub what: What,
    /// The line's state had changed since, so the app applied what it now calls for.
    pub reapplied: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum What {
    HoldReleased,
    TagRemoved {
        tag: String,
    },
    /// The variant's inventory policy set by hand to `to`.
    PolicyChanged {
        to: String,
    },
}

impl What {
    fn metric(&self) -> &'static str {
        match self {
            What::HoldReleased => "hold_released",
            What::TagRemoved { .. } => "tag_removed",
            What::PolicyChanged { .. } => "policy_changed",
        }
    }
}

/// Keeps what a person undid on an order, and counts it.
pub async fn record(
    state: &AppState,
    shop: &str,
    order_id: u64,
    what: What,
    reapplied: bool,
) -> Result<(), EffectError> {
    keep(state, shop, Undone { at_ms: now_ms(), order_id: Some(order_id), variant_id: None, what, reapplied }).await
}

/// A `products/update` showed these policies: a managed variant whose policy is not the one the
/// app last set, in a product updated after the app set it, was changed by a person. It is
/// left so (the effects send no policy while the app would still set the one it set before),
/// recorded and counted.
pub async fn policies_seen(state: &AppState, shop: &str, seen: &[PolicySeen]) -> Result<(), EffectError> {
    for s in seen {
        let key = super::AppliedVariantKey(s.variant_id);
        let changed = state
            .books
            .update(shop, key, |applied| {
                let Some(mut applied) = applied else { return Edit::Leave(false) };
                let Some(ours) = applied.policy.clone() else { return Edit::Leave(false) };
                if ours == s.policy || s.at_ms <= applied.policy_at_ms || applied.by_hand.is_some() {
                    return Edit::Leave(false);
                }
                applied.by_hand = Some(PolicyByHand { policy: s.policy.clone(), then: ours });
                applied.policy = Some(s.policy.clone());
                Edit::put(applied, true)
            })
            .await?;
        if changed {
            let what = What::PolicyChanged { to: s.policy.clone() };
            let undone =
                Undone { at_ms: now_ms(), order_id: None, variant_id: Some(s.variant_id), what, reapplied: false };
            keep(state, shop, undone).await?;
        }
    }
    Ok(())
}

async fn keep(state: &AppState, shop: &str, undone: Undone) -> Result<(), EffectError> {
    state.metrics.changed_by_people(undone.what.metric());
    tracing::info!(shop, order = ?undone.order_id, variant = ?undone.variant_id, what = ?undone.what, reapplied = undone.reapplied, "effects: a person undid an effect of the app; left as they made it");
    state
        .books
        .update(shop, ByPeopleKey, |people| {
            let mut people = people.unwrap_or_default();
            people.changes.push_back(undone.clone());
            while people.changes.len() > KEPT {
                people.changes.pop_front();
            }
            Edit::put(people, ())
        })
        .await?;
    Ok(())
}
