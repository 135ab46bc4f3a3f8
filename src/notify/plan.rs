//! Which email an order is owed now (SPEC 3.7): pure rules over the order's lines and what its
//! customer has been told, so "at most once per order and occasion" is decided without I/O.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use time::Date;

use super::templates::Rendered;
use crate::mail::Letter;

/// An order's emails, kept in the store (`Record::Mail`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MailState {
    /// Occasions already decided; each goes out once: `backordered`, `ready`, `eta_changed-2`.
    pub decided: BTreeSet<String>,
    /// Line id → the ETA last told (`None`: "the merchant will confirm").
    pub told: BTreeMap<u64, Option<String>>,
    /// Line id → the most units that waited, for the `ready` email.
    pub waited: BTreeMap<u64, u32>,
    pub eta_changes: u32,
    pub reminders: u32,
    /// When the customer was last told something, for reminders.
    pub last_told_ms: i64,
    /// Rendered emails not yet handed to the mail server: the outbox.
    pub outbox: Vec<Outgoing>,
    /// Occasions the mail server refused for good (a bad address); kept so they are not retried.
    pub undeliverable: BTreeSet<String>,
    /// The order is told nothing: it was open before the app managed its variant, and the
    /// merchant chose not to email such orders (SPEC 9).
    pub quiet: bool,
    /// Line id → the first date its customer was told: how far the date slipped in total is
    /// measured from it (the consolation's `slip_days`). Records written before it have none,
    /// and their slip counts from the next date told.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub first_told: BTreeMap<u64, String>,
    /// The order's consolation code (SPEC 10.3), once made: never a second.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consolation: Option<Consoled>,
}

/// A consolation code made for an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consoled {
    pub code: String,
    /// The discount's GID on the platform; `None` when the platform refused to make it (the
    /// reason is kept, and the order is not asked for again).
    pub discount_id: Option<String>,
    pub at_ms: i64,
    pub ends_at_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

/// An email waiting in the outbox, rendered once so every retry sends the same message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outgoing {
    pub occasion: String,
    /// Stable per order and occasion: a resend after a crash is the same message.
    pub message_id: String,
    pub to: String,
    pub rendered: Rendered,
}

impl Outgoing {
    /// The message as the mailer hands it over.
    pub fn letter(&self) -> Letter<'_> {
        Letter {
            to: &self.to,
            message_id: &self.message_id,
            subject: &self.rendered.subject,
            text: &self.rendered.text,
            html: &self.rendered.html,
        }
    }
}

/// One line of an order now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineNow {
    pub line_id: u64,
    pub open: u32,
    pub backordered: u32,
    pub position: Option<u64>,
    pub eta: Option<Date>,
}

/// An email to send, and the lines it speaks of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The template kind: `backordered`, `eta_changed`, `ready` or `reminder`.
    pub kind: &'static str,
    /// The idempotency key within the order.
    pub occasion: String,
    pub lines: Vec<MailLineNow>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailLineNow {
    pub line_id: u64,
    pub quantity: u32,
    pub position: Option<u64>,
    pub eta: Option<Date>,
    pub previous_eta: Option<String>,
}

/// The shop's rules for telling customers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub eta_change_threshold_days: u32,
    pub reminder_days: Option<u32>,
}

const DAY_MS: i64 = 86_400_000;

/// The email `lines` call for, if any, and the state once it is decided.
pub fn decide(state: &MailState, lines: &[LineNow], policy: Policy, now_ms: i64) -> Option<(Decision, MailState)> {
    if state.quiet {
        return None;
    }
    let waiting: Vec<&LineNow> = lines.iter().filter(|l| l.backordered > 0).collect();
    let open = lines.iter().any(|l| l.open > 0);
    let mut next = state.clone();
    for l in &waiting {
        let most = next.waited.entry(l.line_id).or_default();
        *most = (*most).max(l.backordered);
    }
    let told = |l: &LineNow| MailLineNow {
        line_id: l.line_id,
        quantity: l.backordered,
        position: l.position,
        eta: l.eta,
        previous_eta: state.told.get(&l.line_id).cloned().flatten(),
    };
    let decision = if !state.decided.contains("backordered") {
        if waiting.is_empty() || !open {
            return None;
        }
        Decision {
            kind: "backordered",
            occasion: "backordered".into(),
            lines: waiting.iter().map(|l| told(l)).collect(),
        }
    } else if waiting.is_empty() {
        // Every unit that waited is covered. An order cancelled or shipped meanwhile is owed
        // nothing more.
        if !open || state.decided.contains("ready") {
            return None;
        }
        let lines = state
            .waited
            .iter()
            .map(|(line_id, qty)| MailLineNow {
                line_id: *line_id,
                quantity: *qty,
                position: None,
                eta: None,
                previous_eta: None,
            })
            .collect();
        Decision { kind: "ready", occasion: "ready".into(), lines }
    } else {
        let later: Vec<&&LineNow> =
            waiting.iter().filter(|l| moved_later(state.told.get(&l.line_id), l.eta, policy)).collect();
        if !later.is_empty() {
            next.eta_changes += 1;
            let occasion = format!("eta_changed-{}", next.eta_changes);
            Decision { kind: "eta_changed", occasion, lines: later.iter().map(|l| told(l)).collect() }
        } else if policy.reminder_days.is_some_and(|d| now_ms - state.last_told_ms >= i64::from(d.max(1)) * DAY_MS) {
            next.reminders += 1;
            let occasion = format!("reminder-{}", next.reminders);
            Decision { kind: "reminder", occasion, lines: waiting.iter().map(|l| told(l)).collect() }
        } else {
            return None;
        }
    };
    for l in &decision.lines {
        if decision.kind != "ready" {
            let eta = l.eta.map(crate::ledger::eta::format);
            if let Some(eta) = &eta {
                next.first_told.entry(l.line_id).or_insert_with(|| eta.clone());
            }
            next.told.insert(l.line_id, eta);
        }
    }
    next.decided.insert(decision.occasion.clone());
    next.last_told_ms = now_ms;
    Some((decision, next))
}

/// How many days, at most, a waiting line's date is now later than the first date its customer
/// was told (0 when none moved later).
pub fn slipped_days(state: &MailState, lines: &[LineNow]) -> u32 {
    lines
        .iter()
        .filter(|l| l.backordered > 0)
        .filter_map(|l| {
            let first = crate::ledger::eta::parse(state.first_told.get(&l.line_id)?)?;
            Some((l.eta? - first).whole_days())
        })
        .max()
        .map_or(0, |d| u32::try_from(d.max(0)).unwrap_or(u32::MAX))
}

/// A line's ETA moved later than the date its customer was told, by more than the threshold:
/// the one case that earns an `eta_changed` email, which then names the new date. A date that
/// turns into "to be confirmed" is not told (there is no date to name; the status page shows it,
/// and the email goes once a later date is known), and neither is a line never told a date (it
/// started waiting after the first email) or a date that moved earlier.
fn moved_later(told: Option<&Option<String>>, now: Option<Date>, policy: Policy) -> bool {
    let Some(Some(told)) = told else { return false };
    let (Some(told), Some(now)) = (crate::ledger::eta::parse(told), now) else { return false };
    (now - told).whole_days() > i64::from(policy.eta_change_threshold_days)
}

#[cfg(test)]
mod tests;
