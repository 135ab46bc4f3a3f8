//! What the platform should show, derived from the ledger, and what the effects last applied:
//! pure data and rules, so "send only the difference" is decided without any I/O.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::shop::ShopSettings;

/// One open line of an order as the ledger sees it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineState {
    pub line_id: u64,
    pub open: u32,
    pub backordered: u32,
    /// Its variant is managed by the app.
    pub managed: bool,
}

/// An order's effects as last applied.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedOrder {
    /// Our tags the order carries.
    pub tags: BTreeSet<String>,
    /// Line id → units held.
    pub holds: BTreeMap<u64, u32>,
    /// The order has had backordered units: once they are all covered it is ready.
    pub was_backordered: bool,
    /// Passes in a row whose calls failed after the client's retries.
    #[serde(default)]
    pub failures: u32,
    /// The last pass failed, perhaps after a change went through with its reply lost: the next
    /// one reads the platform back before it sends anything. Kept after a dead letter, so a
    /// replay reads back too. (Absent in records of earlier versions: false.)
    #[serde(default)]
    pub unsure: bool,
    /// Our tags and holds are left to people on this order: it was open before the app managed
    /// its variant, and the merchant chose not to tag (or hold) such orders (SPEC 9).
    #[serde(default)]
    pub leave_tags: bool,
    #[serde(default)]
    pub leave_holds: bool,
    /// While `unsure`: the tags the last pass set out to add and to remove, and whether it set
    /// out to change the holds. Such a change may have gone through unrecorded: a tag it added
    /// is looked for on the read-back (and removed if no longer wanted), and a tag or hold
    /// missing from the platform is then no sign that a person removed it.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub adding: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub removing: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub changing_holds: bool,
}

/// What an order should carry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderDesired {
    pub tags: BTreeSet<String>,
    pub holds: BTreeMap<u64, u32>,
    pub was_backordered: bool,
}

/// The tag of an order whose customer asked, on the status page, to cancel.
pub const CANCEL_REQUESTED_TAG: &str = "backorder-cancel-requested";

pub fn order_desired(
    lines: &[LineState],
    settings: &ShopSettings,
    applied: &AppliedOrder,
    cancel_requested: bool,
) -> OrderDesired {
    // An order none of whose lines the app manages (its variants were unenrolled) carries
    // nothing of the app's: the store is given back as it was (SPEC 9).
    if !lines.iter().any(|l| l.managed) {
        return OrderDesired::default();
    }
    let backordered = lines.iter().any(|l| l.backordered > 0);
    let open = lines.iter().any(|l| l.open > 0);
    let was_backordered = applied.was_backordered || backordered;
    let mut tags = BTreeSet::new();
    if backordered {
        tags.insert(settings.tags.backordered.clone());
    } else if was_backordered && open {
        tags.insert(settings.tags.ready.clone());
    }
    if cancel_requested && open {
        tags.insert(CANCEL_REQUESTED_TAG.to_string());
    }
    if applied.leave_tags {
        let ours = [&settings.tags.backordered, &settings.tags.ready];
        tags.retain(|t| !ours.contains(&t) || applied.tags.contains(t));
    }
    let holds = if applied.leave_holds {
        applied.holds.clone()
    } else if settings.holds {
        lines.iter().filter(|l| l.backordered > 0).map(|l| (l.line_id, l.backordered)).collect()
    } else {
        BTreeMap::new()
    };
    OrderDesired { tags, holds, was_backordered }
}

/// The calls that bring an order from `applied` to `desired`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderDiff {
    pub add_tags: Vec<String>,
    pub remove_tags: Vec<String>,
    /// `Some(new holds)` when the holds change (an empty map releases them).
    pub holds: Option<BTreeMap<u64, u32>>,
}

impl OrderDiff {
    pub fn between(applied: &AppliedOrder, desired: &OrderDesired) -> Self {
        Self {
            add_tags: desired.tags.difference(&applied.tags).cloned().collect(),
            remove_tags: applied.tags.difference(&desired.tags).cloned().collect(),
            holds: (applied.holds != desired.holds).then(|| desired.holds.clone()),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.add_tags.is_empty() && self.remove_tags.is_empty() && self.holds.is_none()
    }
}

/// A person's inventory policy, and what the app had set before it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyByHand {
    pub policy: String,
    pub then: String,
}

/// A variant's effects as last applied.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedVariant {
    /// `CONTINUE` or `DENY`; `None` before the first change.
    pub policy: Option<String>,
    /// When the policy last went through (ms): a `products/update` of a later time that shows
    /// another policy is a person's change.
    #[serde(default)]
    pub policy_at_ms: i64,
    /// A policy a person set by hand, left as they set it while the app would still set the
    /// policy it set before (`then`); a change of what the app wants ends it (SPEC 9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by_hand: Option<PolicyByHand>,
    /// The `backorder_eta` metafield as last set (`YYYY-MM-DD`).
    #[serde(default)]
    pub eta: Option<String>,
    /// A digest of what the waiting lines' ETAs derive from (supply plan, lead and handling
    /// times, which lines each batch covers) when their orders were last looked at: when it
    /// moves, they are looked at again.
    #[serde(default)]
    pub eta_inputs: Option<u64>,
    /// The backlog is at or above the shop's alert threshold, and the owner was told.
    #[serde(default)]
    pub alerted: bool,
    /// Reorder alerts sent so far: each crossing of the threshold is an occasion of its own.
    #[serde(default)]
    pub alerts: u32,
    /// The variant's reorder point (SPEC 10.1) and the shop day it was worked out: once a day
    /// at most, so a busy variant's passes do not read its history each time. `None` while the
    /// history is too short to advise on (the fixed threshold alerts then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reorder_point: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reorder_day: Option<String>,
    /// Passes in a row whose calls failed after the client's retries.
    #[serde(default)]
    pub failures: u32,
    /// As [`AppliedOrder::unsure`]: the next pass reads the policy and the date back first.
    #[serde(default)]
    pub unsure: bool,
    /// The variant was unenrolled: the platform gets back what it had before (SPEC 9).
    #[serde(default)]
    pub restore: Option<Restore>,
}

/// What an unenrolled variant is given back: its policy from before its enrolment, and no date
/// of ours.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restore {
    /// `CONTINUE` or `DENY`; `None` when it was never read (the policy is then left as it is).
    pub policy: Option<String>,
    pub product: Option<u64>,
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_applied_order_written_before_the_unsure_flag_reads_as_sure() {
        let old = br#"{"tags":["backorder"],"holds":{"1":6},"was_backordered":true,"failures":2}"#;
        let read: super::AppliedOrder = serde_json::from_slice(old).unwrap();
        assert!(!read.unsure);
        assert_eq!(read.failures, 2);
    }

    #[test]
    fn applied_records_written_before_onboarding_read_as_managed_by_the_app() {
        let order: super::AppliedOrder =
            serde_json::from_slice(br#"{"tags":[],"holds":{},"was_backordered":false}"#).unwrap();
        assert!(!order.leave_tags && !order.leave_holds);
        let variant: super::AppliedVariant =
            serde_json::from_slice(br#"{"policy":"CONTINUE","eta":"2026-12-24"}"#).unwrap();
        assert_eq!((variant.policy.as_deref(), variant.restore), (Some("CONTINUE"), None));
    }

    use super::*;

    fn line(line_id: u64, open: u32, backordered: u32) -> LineState {
        LineState { line_id, open, backordered, managed: true }
    }

    #[test]
    fn an_order_whose_variants_were_all_unenrolled_carries_nothing_of_ours() {
        let applied = AppliedOrder {
            tags: BTreeSet::from(["backorder".to_string()]),
            holds: BTreeMap::from([(1, 6)]),
            was_backordered: true,
            ..AppliedOrder::default()
        };
        let gone = LineState { managed: false, ..line(1, 10, 0) };
        let d = order_desired(&[gone], &ShopSettings::default(), &applied, false);
        assert_eq!(d, OrderDesired::default());
        let diff = OrderDiff::between(&applied, &d);
        assert_eq!((diff.remove_tags, diff.holds), (vec!["backorder".to_string()], Some(BTreeMap::new())));
    }

    #[test]
    fn a_partly_backordered_order_is_tagged_and_holds_only_the_missing_units() {
        let d =
            order_desired(&[line(1, 10, 6), line(2, 1, 0)], &ShopSettings::default(), &AppliedOrder::default(), false);
        assert_eq!(d.tags, BTreeSet::from(["backorder".to_string()]));
        assert_eq!(d.holds, BTreeMap::from([(1, 6)]));
    }

    #[test]
    fn a_covered_order_that_waited_is_ready_and_one_that_never_waited_is_left_alone() {
        let waited = AppliedOrder { was_backordered: true, ..AppliedOrder::default() };
        let d = order_desired(&[line(1, 2, 0)], &ShopSettings::default(), &waited, false);
        assert_eq!(d.tags, BTreeSet::from(["backorder-ready".to_string()]));
        assert!(d.holds.is_empty());
        let never = order_desired(&[line(1, 2, 0)], &ShopSettings::default(), &AppliedOrder::default(), false);
        assert!(never.tags.is_empty() && !never.was_backordered);
    }

    #[test]
    fn only_the_difference_is_sent() {
        let applied = AppliedOrder {
            tags: BTreeSet::from(["backorder".to_string()]),
            holds: BTreeMap::from([(1, 6)]),
            was_backordered: true,
            ..AppliedOrder::default()
        };
        let same = order_desired(&[line(1, 10, 6)], &ShopSettings::default(), &applied, false);
        assert!(OrderDiff::between(&applied, &same).is_empty(), "a flip that flipped back sends nothing");
        let covered = order_desired(&[line(1, 10, 0)], &ShopSettings::default(), &applied, false);
        let diff = OrderDiff::between(&applied, &covered);
        assert_eq!((diff.add_tags, diff.remove_tags), (vec!["backorder-ready".into()], vec!["backorder".into()]));
        assert_eq!(diff.holds, Some(BTreeMap::new()));
    }

    #[test]
    fn an_order_left_to_people_gets_neither_our_tag_nor_our_hold() {
        let left = AppliedOrder { leave_tags: true, leave_holds: true, ..AppliedOrder::default() };
        let d = order_desired(&[line(1, 10, 6)], &ShopSettings::default(), &left, true);
        assert_eq!(d.tags, BTreeSet::from([CANCEL_REQUESTED_TAG.to_string()]), "a customer's request still shows");
        assert!(d.holds.is_empty());
        assert!(
            OrderDiff::between(&left, &order_desired(&[line(1, 10, 0)], &ShopSettings::default(), &left, false))
                .is_empty()
        );
    }

    #[test]
    fn holds_are_left_alone_when_the_shop_turned_them_off() {
        let settings = ShopSettings { holds: false, ..ShopSettings::default() };
        assert!(order_desired(&[line(1, 10, 6)], &settings, &AppliedOrder::default(), false).holds.is_empty());
    }
}
