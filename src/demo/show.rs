//! How the demo prints: short, readable lines a newcomer can follow.

use std::collections::BTreeMap;

use super::Stage;
use super::scene::Snapshot;
use crate::devshop::Policy;

/// The queue with positions, then what the platform shows for those orders.
pub fn snapshot(stage: &Stage, s: &Snapshot) {
    stage.say(&format!(
        "   available {}, {} units backordered, inventory policy {}, a new order would ship by {}",
        s.available,
        s.backordered_units,
        policy(s.policy),
        s.eta_metafield.as_deref().unwrap_or("(to be confirmed)")
    ));
    if s.queue.is_empty() {
        stage.say("   queue: empty, every order is covered");
    } else {
        stage.say("   queue (position = units ahead, this line's first unit included):");
        for q in &s.queue {
            let held = s.held.get(&q.order_id).map(|h| format!(", {h} held")).unwrap_or_default();
            let tags = s.tags.get(&q.order_id).map(|t| t.join(",")).unwrap_or_default();
            let eta = q.eta.as_deref().unwrap_or("to be confirmed");
            stage.say(&format!(
                "     #{:<4} {:>6}  {} backordered, ETA {eta}{held}  [{tags}]",
                q.position, q.order_name, q.backordered
            ));
        }
    }
    let ready: Vec<String> = s
        .tags
        .iter()
        .filter(|(_, t)| t.iter().any(|t| t == "backorder-ready"))
        .map(|(o, _)| s.names.get(o).cloned().unwrap_or_default())
        .collect();
    if !ready.is_empty() {
        stage.say(&format!("   ready to ship, holds released (tagged backorder-ready): {}", ready.join(" ")));
    }
}

/// The emails sent since `before` (customers' addresses are the demo's own, made up).
pub fn emails(stage: &Stage, before: Option<&Snapshot>, now: &Snapshot) {
    let new: Vec<_> = now.emails.iter().filter(|(k, _)| before.is_none_or(|b| !b.emails.contains_key(*k))).collect();
    if new.is_empty() {
        return;
    }
    stage.say(&format!("   emails sent ({}):", new.len()));
    for ((order, occasion), (to, etas)) in new {
        let name = now.names.get(order).cloned().unwrap_or_default();
        let dates: Vec<String> = etas
            .iter()
            .map(|e| e.as_ref().map_or_else(|| "date to be confirmed".to_string(), |d| format!("ships by {d}")))
            .collect();
        let told = if dates.is_empty() { String::new() } else { format!(": {}", dates.join(" / ")) };
        stage.say(&format!("     {name:>6} {occasion:<12} to {to}{told}"));
    }
}

pub fn policy(p: Policy) -> &'static str {
    match p {
        Policy::Continue => "CONTINUE",
        Policy::Deny => "DENY",
    }
}

pub fn calls(stage: &Stage, calls: &BTreeMap<String, usize>) {
    let list: Vec<String> = calls.iter().map(|(op, n)| format!("{op} ×{n}")).collect();
    stage.say(&format!("Platform calls the service made: {}", list.join(", ")));
    stage.say(&format!("Done in {:.1} s.", stage.elapsed().as_secs_f64()));
}
