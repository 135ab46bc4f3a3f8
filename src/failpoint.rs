//! Failure points: named places where a crash test can kill the process.
//!
//! SPEC 4 promises that a crash at any point of handling a webhook loses nothing and applies
//! nothing twice. To prove it, the crash tests (`tests/it/crash.rs`) start the real binary with
//! `BACKORDER_FAILPOINT=<name>` or `<name>:<n>`, and the process aborts (`std::process::abort`:
//! no destructors, no flush, no graceful shutdown, as close to `kill -9` as a process can do to
//! itself) the first time, or the n-th time, it passes the point of that name. The test then
//! restarts it without the variable and checks the ledger against a model.
//!
//! Inert in production: the variable is read once, and with it unset every [`hit`] costs one
//! atomic load and returns.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// The environment variable that arms one failure point.
pub const ENV: &str = "BACKORDER_FAILPOINT";

/// The points, in the order an event passes them.
pub mod points {
    /// Intake: the delivery is durably queued, the 200 not yet sent (Shopify will redeliver).
    pub const INTAKE_ENQUEUED: &str = "intake.enqueued";
    /// Worker: an entry was handed out, nothing done with it yet.
    pub const WORKER_DEQUEUED: &str = "worker.dequeued";
    /// Ledger: the records are read and the plan made, the commit not yet sent.
    pub const LEDGER_BEFORE_COMMIT: &str = "ledger.before_commit";
    /// Ledger: the store answered the commit; the handler has not returned yet.
    pub const LEDGER_COMMITTED: &str = "ledger.committed";
    /// Worker: the handler returned, the entry is not yet acked, retried or dead-lettered.
    pub const WORKER_HANDLED: &str = "worker.handled";
    /// Worker: the entry is acked (or retried, or dead-lettered).
    pub const WORKER_SETTLED: &str = "worker.settled";

    /// Effects: the platform calls of an order or a variant succeeded, nothing recorded yet.
    pub const EFFECTS_APPLIED: &str = "effects.applied";
    /// Effects: a pass recorded what it applied, its dirty marks are not cleared yet.
    pub const EFFECTS_RECORDED: &str = "effects.recorded";

    /// Effects: the platform made an order's consolation code, nothing recorded yet.
    pub const CONSOLATION_CREATED: &str = "consolation.created";
    /// The points of the effects, tested by their own crash tests.
    pub const EFFECTS: [&str; 3] = [EFFECTS_APPLIED, EFFECTS_RECORDED, CONSOLATION_CREATED];
    /// An email taken from the outbox, before it is handed to the mail server.
    pub const MAIL_BEFORE_SEND: &str = "mail.before_send";
    /// The mail server took an email; it is not yet out of the outbox.
    pub const MAIL_SENT: &str = "mail.sent";

    pub const ALL: [&str; 6] =
        [INTAKE_ENQUEUED, WORKER_DEQUEUED, LEDGER_BEFORE_COMMIT, LEDGER_COMMITTED, WORKER_HANDLED, WORKER_SETTLED];
}

/// The one armed point of this process.
struct Armed {
    name: String,
    /// Abort on this hit (1 = the first).
    at: u64,
    hits: AtomicU64,
}

static ARMED: OnceLock<Option<Armed>> = OnceLock::new();

/// `name` or `name:n` (n ≥ 1). A suffix that is not such a number is part of the name.
fn parse(value: &str) -> Option<Armed> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    let (name, at) = match value.rsplit_once(':') {
        Some((name, n)) => match n.parse::<u64>() {
            Ok(n) if n >= 1 => (name, n),
            _ => (value, 1),
        },
        None => (value, 1),
    };
    Some(Armed { name: name.to_string(), at, hits: AtomicU64::new(0) })
}

fn armed() -> Option<&'static Armed> {
    ARMED.get_or_init(|| std::env::var(ENV).ok().as_deref().and_then(parse)).as_ref()
}

/// Aborts the process if `name` is the armed point and this is the hit it waits for.
#[inline]
pub fn hit(name: &str) {
    let Some(armed) = armed() else { return };
    if armed.name != name {
        return;
    }
    let n = armed.hits.fetch_add(1, Ordering::SeqCst) + 1;
    if n == armed.at {
        eprintln!("backorder: failure point {name} reached (hit {n}): aborting");
        std::process::abort();
    }
}

/// Panics a test injects into one running service (one [`crate::state::AppState`]), by scope:
/// `shop:{domain}` panics that shop's effects pass, `task:effects` the effects sweeper itself,
/// `webhook:{topic}` the consumer that takes a webhook of that topic (it stays queued).
/// Unlike the abort points above they live in the state, not the environment, so tests that run
/// side by side in one process cannot arm each other's services. Empty (one atomic load per
/// check) unless a test armed something.
#[derive(Debug, Default)]
pub struct Panics {
    any: std::sync::atomic::AtomicBool,
    armed: std::sync::Mutex<Vec<String>>,
}

impl Panics {
    pub fn arm(&self, scope: &str) {
        self.armed.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(scope.to_string());
        self.any.store(true, Ordering::SeqCst);
    }

    pub fn disarm(&self, scope: &str) {
        let mut armed = self.armed.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        armed.retain(|s| s != scope);
        self.any.store(!armed.is_empty(), Ordering::SeqCst);
    }

    /// Panics if the scope `{kind}:{name}` is armed.
    #[inline]
    pub fn hit(&self, kind: &str, name: &str) {
        if !self.any.load(Ordering::Relaxed) {
            return;
        }
        let armed = self.armed.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if armed.iter().any(|s| s.split_once(':') == Some((kind, name))) {
            drop(armed);
            panic!("injected panic at {kind}:{name}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_point_is_armed_by_name_with_an_optional_hit_count() {
        let a = parse("ledger.before_commit").unwrap();
        assert_eq!((a.name.as_str(), a.at), ("ledger.before_commit", 1));
        let a = parse("worker.settled:7").unwrap();
        assert_eq!((a.name.as_str(), a.at), ("worker.settled", 7));
        let a = parse("odd:0").unwrap();
        assert_eq!((a.name.as_str(), a.at), ("odd:0", 1));
        assert!(parse("").is_none());
    }

    #[test]
    fn an_unarmed_point_does_nothing() {
        // The test process never sets the variable; a hit must return.
        hit(points::LEDGER_COMMITTED);
    }
}
