//! What one event changes, decided from the records it touches and nothing else.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::input::{LevelState, OrderLine, OrderState, Version};
use super::{FillKey, LineChange};

/// The shop settings the rules read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShopRules {
    /// Customer tag → priority class; higher fills first, no tag = 0.
    pub priority_tags: BTreeMap<String, i32>,
    /// Locations whose `available` counts; `None` = all.
    pub counted_locations: Option<BTreeSet<u64>>,
    /// The shop's IANA time zone (a copy of the settings' one): the daily record counts the
    /// shop's calendar days. Rules written before it have none until the next drift pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

impl ShopRules {
    /// The highest class among the customer's tags (tags compare case-insensitively, as in the
    /// Shopify admin).
    pub fn priority(&self, customer_tags: &[String]) -> i32 {
        customer_tags
            .iter()
            .filter_map(|t| self.priority_tags.iter().find(|(k, _)| k.eq_ignore_ascii_case(t)).map(|(_, v)| *v))
            .max()
            .unwrap_or(0)
    }

    pub fn counts(&self, location_id: u64) -> bool {
        self.counted_locations.as_ref().is_none_or(|set| set.contains(&location_id))
    }
}

/// What the ledger keeps of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRecord {
    pub version: Version,
    pub name: String,
    pub created_at_ms: i64,
    pub priority: i32,
    pub lines: Vec<OrderLine>,
    /// Kept so a change of the shop's priority map can re-key the order without waiting for its
    /// next webhook.
    #[serde(default)]
    pub customer_tags: Vec<String>,
    /// `customers/redact` erased the order's customer: a later webhook of it (one still queued
    /// or retrying) updates the lines, and brings back no contact and no customer tags.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub redacted: bool,
    /// The class the merchant gave the order by hand (SPEC 11: a line moved ahead in its queue),
    /// which wins over its customer's tags until taken back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_override: Option<i32>,
}

impl OrderRecord {
    pub fn from_state(state: &OrderState, rules: &ShopRules) -> Self {
        Self {
            version: state.version,
            name: state.name.clone(),
            created_at_ms: state.created_at_ms,
            priority: rules.priority(&state.customer_tags),
            lines: state.lines.clone(),
            customer_tags: state.customer_tags.clone(),
            redacted: false,
            priority_override: None,
        }
    }

    /// The class the order fills in: the merchant's by hand, else its customer's tags'.
    pub fn class(&self, rules: &ShopRules) -> i32 {
        self.priority_override.unwrap_or_else(|| rules.priority(&self.customer_tags))
    }

    pub fn key(&self, order_id: u64, line_id: u64) -> FillKey {
        FillKey { priority: self.priority, created_at_ms: self.created_at_ms, order_id, line_id }
    }

    /// Open lines per variant: the order's contribution to each book.
    fn open_lines(&self, order_id: u64) -> BTreeMap<(u64, FillKey), u32> {
        let mut out = BTreeMap::new();
        for line in &self.lines {
            if let (Some(variant), q @ 1..) = (line.variant_id, line.open_qty) {
                *out.entry((variant, self.key(order_id, line.line_id))).or_insert(0) += q;
            }
        }
        out
    }
}

/// An order event's effect: the record to store, the line changes per variant, and per variant
/// the change of the units its lines have taken from `available` for good (SPEC 6: what the
/// supply position adds to the stock, so that only arriving stock moves it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderPlan {
    pub record: OrderRecord,
    pub changes: BTreeMap<u64, Vec<LineChange>>,
    pub taken: BTreeMap<u64, i64>,
    /// The units taken by an order the ledger did not have, per variant: they count only for a
    /// variant whose supply position started before the order was placed (an old order first
    /// heard of now took its units before, and they are in the stock already).
    pub taken_new: BTreeMap<u64, i64>,
}

/// `None` when `new` is not newer than what the ledger has: an old or repeated state changes
/// nothing. Lines of variants `managed` does not accept are left out of every book.
pub fn plan_order(
    new: &OrderState,
    old: Option<&OrderRecord>,
    rules: &ShopRules,
    managed: impl Fn(u64) -> bool,
) -> Option<OrderPlan> {
    if old.is_some_and(|o| o.version >= new.version) {
        return None;
    }
    let mut record = OrderRecord::from_state(new, rules);
    // A class given by hand stays through the order's later states.
    if let Some(class) = old.and_then(|o| o.priority_override) {
        record.priority_override = Some(class);
        record.priority = class;
    }
    let changes = line_changes(new.order_id, old, &record, &managed);
    let (taken, taken_new) = match old {
        Some(_) => (taken_changes(old, &record, &managed), BTreeMap::new()),
        None => (BTreeMap::new(), taken_changes(None, &record, &managed)),
    };
    Some(OrderPlan { record, changes, taken, taken_new })
}

/// Per managed variant, how many more units the order's lines have taken from `available` in
/// `new` than in `old`. A line the ledger did not have took none; a line whose count is unknown
/// on either side (a platform read, a record from before the count) changes nothing.
fn taken_changes(old: Option<&OrderRecord>, new: &OrderRecord, managed: impl Fn(u64) -> bool) -> BTreeMap<u64, i64> {
    let mut out = BTreeMap::new();
    for line in &new.lines {
        let Some(variant) = line.variant_id.filter(|v| managed(*v)) else { continue };
        let before = match old.and_then(|o| o.lines.iter().find(|l| l.line_id == line.line_id)) {
            Some(l) => l.taken,
            None => Some(0),
        };
        if let (Some(before), Some(after)) = (before, line.taken) {
            let delta = i64::from(after) - i64::from(before);
            if delta != 0 {
                *out.entry(variant).or_insert(0) += delta;
            }
        }
    }
    out.retain(|_, d| *d != 0);
    out
}

/// The order re-keyed under changed rules (its priority class), or `None` when its class is
/// unchanged.
pub fn plan_rekey(
    order_id: u64,
    old: &OrderRecord,
    rules: &ShopRules,
    managed: impl Fn(u64) -> bool,
) -> Option<OrderPlan> {
    let priority = old.class(rules);
    if priority == old.priority {
        return None;
    }
    let record = OrderRecord { priority, ..old.clone() };
    let changes = line_changes(order_id, Some(old), &record, &managed);
    Some(OrderPlan { record, changes, taken: BTreeMap::new(), taken_new: BTreeMap::new() })
}

/// The order given the class `by_hand` (`None`: back to its customer's tags'), or `None` when
/// that changes nothing.
pub fn plan_override(
    order_id: u64,
    old: &OrderRecord,
    by_hand: Option<i32>,
    rules: &ShopRules,
    managed: impl Fn(u64) -> bool,
) -> Option<OrderPlan> {
    let record = OrderRecord { priority_override: by_hand, ..old.clone() };
    let record = OrderRecord { priority: record.class(rules), ..record };
    if record == *old {
        return None;
    }
    let changes = line_changes(order_id, Some(old), &record, &managed);
    Some(OrderPlan { record, changes, taken: BTreeMap::new(), taken_new: BTreeMap::new() })
}

/// What moving from `old` to `new` changes in each managed variant's book.
fn line_changes(
    order_id: u64,
    old: Option<&OrderRecord>,
    new: &OrderRecord,
    managed: &impl Fn(u64) -> bool,
) -> BTreeMap<u64, Vec<LineChange>> {
    let before = old.map(|o| o.open_lines(order_id)).unwrap_or_default();
    let after = new.open_lines(order_id);
    let mut changes: BTreeMap<u64, Vec<LineChange>> = BTreeMap::new();
    let keys: BTreeSet<&(u64, FillKey)> = before.keys().chain(after.keys()).collect();
    for k @ (variant, key) in keys {
        let (old_qty, new_qty) = (before.get(k).copied().unwrap_or(0), after.get(k).copied().unwrap_or(0));
        if old_qty != new_qty && managed(*variant) {
            changes.entry(*variant).or_default().push(LineChange { key: *key, old: old_qty, new: new_qty });
        }
    }
    changes
}

/// `Some(delta)` of the counted stock when `new` is newer than `old`; `None` when it changes
/// nothing. An untracked level counts as 0.
pub fn plan_level(new: &LevelState, old: Option<&LevelState>, rules: &ShopRules) -> Option<i64> {
    if old.is_some_and(|o| o.version >= new.version) {
        return None;
    }
    if !rules.counts(new.location_id) {
        return Some(0);
    }
    Some(new.available.unwrap_or(0).saturating_sub(old.and_then(|o| o.available).unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(updated: i64, tags: &[&str], lines: &[(u64, u64, u32)]) -> OrderState {
        OrderState {
            order_id: 1,
            name: "#1001".into(),
            created_at_ms: 100,
            version: Version { updated_at_ms: updated, triggered_at_ns: 0, digest: 0 },
            customer_tags: tags.iter().map(|t| t.to_string()).collect(),
            lines: lines
                .iter()
                .map(|(line_id, variant, open_qty)| OrderLine {
                    line_id: *line_id,
                    variant_id: Some(*variant),
                    open_qty: *open_qty,
                    taken: Some(*open_qty),
                })
                .collect(),
            cancelled: false,
            contact: Default::default(),
        }
    }

    fn rules() -> ShopRules {
        ShopRules {
            priority_tags: [("VIP".to_string(), 10), ("wholesale".to_string(), 5)].into(),
            counted_locations: None,
            timezone: None,
        }
    }

    #[test]
    fn the_highest_matching_class_wins_and_no_tag_is_zero() {
        let r = rules();
        assert_eq!(r.priority(&["wholesale".into(), "vip".into()]), 10);
        assert_eq!(r.priority(&["newsletter".into()]), 0);
    }

    #[test]
    fn an_older_or_repeated_state_changes_nothing() {
        let r = rules();
        let new = order(5, &[], &[(1, 7, 2)]);
        let first = plan_order(&new, None, &r, |_| true).unwrap();
        assert!(plan_order(&new, Some(&first.record), &r, |_| true).is_none());
        assert!(plan_order(&order(4, &[], &[(1, 7, 1)]), Some(&first.record), &r, |_| true).is_none());
    }

    #[test]
    fn a_tag_change_moves_the_line_to_its_new_place() {
        let r = rules();
        let first = plan_order(&order(1, &[], &[(1, 7, 2)]), None, &r, |_| true).unwrap();
        let vip = plan_order(&order(2, &["VIP"], &[(1, 7, 2)]), Some(&first.record), &r, |_| true).unwrap();
        let changes = &vip.changes[&7];
        assert_eq!(changes.len(), 2);
        assert!(changes.iter().any(|c| c.key.priority == 0 && c.old == 2 && c.new == 0));
        assert!(changes.iter().any(|c| c.key.priority == 10 && c.old == 0 && c.new == 2));
    }

    #[test]
    fn a_changed_priority_map_re_keys_only_the_orders_whose_class_moved() {
        let before = ShopRules::default();
        let plain = plan_order(&order(1, &["VIP"], &[(1, 7, 2)]), None, &before, |_| true).unwrap();
        assert_eq!(plain.record.priority, 0);
        assert!(plan_rekey(1, &plain.record, &before, |_| true).is_none());
        let rekeyed = plan_rekey(1, &plain.record, &rules(), |_| true).unwrap();
        assert_eq!(rekeyed.record.priority, 10);
        assert_eq!(rekeyed.record.version, plain.record.version, "a re-key is not a newer state of the order");
        let changes = &rekeyed.changes[&7];
        assert!(changes.iter().any(|c| c.key.priority == 0 && c.old == 2 && c.new == 0));
        assert!(changes.iter().any(|c| c.key.priority == 10 && c.old == 0 && c.new == 2));
    }

    #[test]
    fn a_class_given_by_hand_wins_over_tags_stays_through_updates_and_can_be_taken_back() {
        let r = rules();
        let first = plan_order(&order(1, &[], &[(1, 7, 2)]), None, &r, |_| true).unwrap();
        let ahead = plan_override(1, &first.record, Some(50), &r, |_| true).unwrap();
        assert_eq!((ahead.record.priority, ahead.record.priority_override), (50, Some(50)));
        assert!(ahead.changes[&7].iter().any(|c| c.key.priority == 50 && c.new == 2));
        // A later state of the order (now from a VIP) keeps the merchant's class.
        let later = plan_order(&order(2, &["VIP"], &[(1, 7, 2)]), Some(&ahead.record), &r, |_| true).unwrap();
        assert_eq!(later.record.priority, 50);
        assert!(plan_rekey(1, &later.record, &r, |_| true).is_none(), "a rules change leaves it");
        assert!(plan_override(1, &later.record, Some(50), &r, |_| true).is_none(), "the same again: nothing");
        let back = plan_override(1, &later.record, None, &r, |_| true).unwrap();
        assert_eq!((back.record.priority, back.record.priority_override), (10, None), "its tags' class again");
    }

    #[test]
    fn unmanaged_variants_are_left_alone() {
        let plan = plan_order(&order(1, &[], &[(1, 7, 2), (2, 8, 1)]), None, &rules(), |v| v == 8).unwrap();
        assert_eq!(plan.changes.keys().collect::<Vec<_>>(), [&8]);
    }

    #[test]
    fn only_counted_locations_move_stock() {
        let r = ShopRules { counted_locations: Some([1].into()), ..rules() };
        let level = |loc, avail, at| LevelState {
            inventory_item_id: 9,
            location_id: loc,
            available: avail,
            version: Version { updated_at_ms: at, triggered_at_ns: 0, digest: 0 },
        };
        assert_eq!(plan_level(&level(1, Some(-3), 1), None, &r), Some(-3));
        assert_eq!(plan_level(&level(2, Some(-3), 1), None, &r), Some(0));
        assert_eq!(plan_level(&level(1, Some(4), 2), Some(&level(1, Some(-3), 1)), &r), Some(7));
        assert_eq!(plan_level(&level(1, Some(4), 1), Some(&level(1, Some(-3), 2)), &r), None);
    }
}
