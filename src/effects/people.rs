//! People win over the app (SPEC 9): an effect of ours that a person undid by hand (a hold
//! released, a tag removed in the admin) is left as they made it, and put back only when the
//! line's state changes again. What was found is kept for the merchant's activity (the latest
//! [`KEPT`]) and counted in `/metrics`.
//!
//! The app learns of it where it reads the platform anyway: the fulfillment orders read before a
//! hold changes, and the tags read back after a pass that failed.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::EffectError;
use crate::books::Edit;
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
    pub order_id: u64,
    pub what: What,
    /// The line's state had changed since, so the app applied what it now calls for.
    pub reapplied: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum What {
    HoldReleased,
    TagRemoved { tag: String },
}

impl What {
    fn metric(&self) -> &'static str {
        match self {
            What::HoldReleased => "hold_released",
            What::TagRemoved { .. } => "tag_removed",
        }
    }
}

/// Keeps what a person undid, and counts it.
pub async fn record(
    state: &AppState,
    shop: &str,
    order_id: u64,
    what: What,
    reapplied: bool,
) -> Result<(), EffectError> {
    state.metrics.changed_by_people(what.metric());
    tracing::info!(
        shop,
        order_id,
        ?what,
        reapplied,
        "effects: a person undid an effect of the app; left as they made it"
    );
    let undone = Undone { at_ms: now_ms(), order_id, what, reapplied };
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
