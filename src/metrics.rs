//! Prometheus metrics. Label values come from fixed sets only: a topic we do not know becomes
//! `other`, so unauthenticated requests cannot grow the series without bound.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::shopify::Topic;
use crate::store::QueueStats;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    topic: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TopicLabel {
    topic: &'static str,
}

/// Why a shop was backed off: a fixed set.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

/// What a drift pass repaired, or how it ended: a fixed set.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

/// A supervised task's name: set by the code, never by a request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TaskLabel {
    task: String,
}

pub struct Metrics {
    registry: Registry,
    received: Family<Outcome, Counter>,
    processed: Family<Outcome, Counter>,
    latency: Family<TopicLabel, Histogram>,
    commit: Histogram,
    effects_dead: Counter,
    emails_sent: Counter,
    task_restarts: Family<TaskLabel, Counter>,
    shop_pass_panics: Counter,
    shop_backoffs: Family<ReasonLabel, Counter>,
    api_version_mismatches: Counter,
    dead_letters_trimmed: Counter,
    drift_repairs: Family<KindLabel, Counter>,
    by_people: Family<KindLabel, Counter>,
    drift_passes: Family<KindLabel, Counter>,
    queued: Gauge,
    delayed: Gauge,
    dead: Gauge,
}

/// What the intake answered.
#[derive(Debug, Clone, Copy)]
pub enum Received {
    Accepted,
    Duplicate,
    Ignored,
    Unauthorized,
    TooLarge,
    BadRequest,
    Unavailable,
}

/// What a worker did with an entry.
#[derive(Debug, Clone, Copy)]
pub enum Processed {
    Done,
    AlreadyDone,
    Retried,
    DeadLettered,
    /// A webhook of a shop redacted since it arrived.
    Dropped,
}

pub fn topic_label(topic: Option<&str>) -> &'static str {
    topic.and_then(Topic::parse).map_or("other", Topic::as_str)
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("backorder");
        let received = Family::<Outcome, Counter>::default();
        let processed = Family::<Outcome, Counter>::default();
        // 100 µs to ~26 s: one ledger event should take well under a millisecond, platform work
        // can take seconds.
        let latency = Family::<TopicLabel, Histogram>::new_with_constructor(
            (|| Histogram::new(exponential_buckets(0.0001, 2.0, 19))) as fn() -> Histogram,
        );
        // 1 ms to ~46 s in steps of 20 %, fine enough for a p99 read from the buckets.
        let commit = Histogram::new(exponential_buckets(0.001, 1.2, 60));
        let (queued, delayed, dead) = (Gauge::default(), Gauge::default(), Gauge::default());
        registry.register("webhooks_received", "Webhook deliveries by topic and intake outcome", received.clone());
        registry.register("webhooks_processed", "Queue entries by topic and processing outcome", processed.clone());
        registry.register("processing_seconds", "Time from dequeue to ack of one webhook, by topic", latency.clone());
        registry.register(
            "ledger_commit_seconds",
            "Time from a ledger webhook's receipt at intake to its ledger commit (queueing included)",
            commit.clone(),
        );
        let effects_dead = Counter::default();
        registry.register(
            "effects_dead_lettered",
            "Platform effects dead-lettered after their retry budget",
            effects_dead.clone(),
        );
        let emails_sent = Counter::default();
        registry.register("emails_sent", "Customer and merchant emails handed to the mail server", emails_sent.clone());
        registry.register("queue_depth", "Webhooks queued or being processed", queued.clone());
        registry.register("queue_delayed", "Webhooks waiting out a retry delay", delayed.clone());
        registry.register("dead_letters", "Entries in the dead-letter list", dead.clone());
        let task_restarts = Family::<TaskLabel, Counter>::default();
        registry.register(
            "task_restarts",
            "Background tasks restarted after they panicked or ended on their own",
            task_restarts.clone(),
        );
        let shop_pass_panics = Counter::default();
        registry.register(
            "shop_pass_panics",
            "Effects passes of one shop that panicked (the shop is backed off, the others go on)",
            shop_pass_panics.clone(),
        );
        let shop_backoffs = Family::<ReasonLabel, Counter>::default();
        registry.register(
            "shop_backoffs",
            "Shops whose effects were backed off, by reason (denied: the platform refused the token; panicked)",
            shop_backoffs.clone(),
        );
        let dead_letters_trimmed = Counter::default();
        registry.register(
            "dead_letters_trimmed",
            "Dead letters removed by their retention (queue.dead_letters_max, queue.dead_letters_days)",
            dead_letters_trimmed.clone(),
        );
        let api_version_mismatches = Counter::default();
        registry.register(
            "api_version_mismatches",
            "Admin API replies served in another version than the one asked for",
            api_version_mismatches.clone(),
        );
        let drift_repairs = Family::<KindLabel, Counter>::default();
        registry.register(
            "drift_repairs",
            "What the drift passes repaired from the platform, by kind (level, order_added, order_updated, order_closed)",
            drift_repairs.clone(),
        );
        let by_people = Family::<KindLabel, Counter>::default();
        registry.register(
            "changes_by_people",
            "Effects of the app that a person undid by hand, found on the platform and left as they are, by kind (hold_released, tag_removed)",
            by_people.clone(),
        );
        let drift_passes = Family::<KindLabel, Counter>::default();
        registry.register("drift_passes", "Drift passes of a shop, by outcome (ok, failed)", drift_passes.clone());
        Self {
            registry,
            received,
            processed,
            latency,
            commit,
            effects_dead,
            emails_sent,
            task_restarts,
            shop_pass_panics,
            shop_backoffs,
            api_version_mismatches,
            dead_letters_trimmed,
            drift_repairs,
            by_people,
            drift_passes,
            queued,
            delayed,
            dead,
        }
    }

    pub fn received(&self, topic: Option<&str>, outcome: Received) {
        let outcome = match outcome {
            Received::Accepted => "accepted",
            Received::Duplicate => "duplicate",
            Received::Ignored => "ignored",
            Received::Unauthorized => "unauthorized",
            Received::TooLarge => "too_large",
            Received::BadRequest => "bad_request",
            Received::Unavailable => "unavailable",
        };
        self.received.get_or_create(&Outcome { topic: topic_label(topic), outcome }).inc();
    }

    pub fn processed(&self, topic: &str, outcome: Processed, seconds: f64) {
        let topic = topic_label(Some(topic));
        let outcome = match outcome {
            Processed::Done => "done",
            Processed::AlreadyDone => "already_done",
            Processed::Retried => "retried",
            Processed::DeadLettered => "dead_lettered",
            Processed::Dropped => "dropped_redacted",
        };
        self.processed.get_or_create(&Outcome { topic, outcome }).inc();
        self.latency.get_or_create(&TopicLabel { topic }).observe(seconds);
    }

    /// A ledger event committed `seconds` after its webhook was received.
    pub fn ledger_committed(&self, seconds: f64) {
        self.commit.observe(seconds);
    }

    pub fn effect_dead_lettered(&self) {
        self.effects_dead.inc();
    }

    pub fn email_sent(&self) {
        self.emails_sent.inc();
    }

    pub fn task_restarted(&self, task: &str) {
        self.task_restarts.get_or_create(&TaskLabel { task: task.to_string() }).inc();
    }

    pub fn shop_pass_panicked(&self) {
        self.shop_pass_panics.inc();
    }

    /// A shop's effects were backed off; `reason` is `denied` or `panicked`.
    pub fn shop_backed_off(&self, reason: &'static str) {
        self.shop_backoffs.get_or_create(&ReasonLabel { reason }).inc();
    }

    /// `n` dead letters went by their retention.
    pub fn dead_letters_trimmed(&self, n: u64) {
        self.dead_letters_trimmed.inc_by(n);
    }

    pub fn api_version_mismatch(&self) {
        self.api_version_mismatches.inc();
    }

    /// A drift pass repaired `n` things of `kind` (`level`, `order_added`, `order_updated`,
    /// `order_closed`).
    pub fn drift_repaired(&self, kind: &'static str, n: u64) {
        if n > 0 {
            self.drift_repairs.get_or_create(&KindLabel { kind }).inc_by(n);
        }
    }

    /// A person undid one of the app's effects by hand (`hold_released`, `tag_removed`).
    pub fn changed_by_people(&self, kind: &'static str) {
        self.by_people.get_or_create(&KindLabel { kind }).inc();
    }

    /// A drift pass ended: `ok` or `failed`.
    pub fn drift_pass(&self, outcome: &'static str) {
        self.drift_passes.get_or_create(&KindLabel { kind: outcome }).inc();
    }

    /// Renders the text exposition with the queue sizes read just now.
    pub fn render(&self, stats: Option<QueueStats>) -> String {
        if let Some(stats) = stats {
            self.queued.set(stats.queued as i64);
            self.delayed.set(stats.delayed as i64);
            self.dead.set(stats.dead as i64);
        }
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).expect("writing to a String");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_topics_collapse_into_other() {
        let m = Metrics::new();
        m.received(Some("evil/{topic}"), Received::Unauthorized);
        m.received(Some("orders/create"), Received::Accepted);
        let text = m.render(Some(QueueStats { queued: 3, delayed: 1, dead: 2 }));
        assert!(
            text.contains(r#"backorder_webhooks_received_total{topic="other",outcome="unauthorized"} 1"#),
            "{text}"
        );
        assert!(text.contains(r#"topic="orders/create",outcome="accepted"} 1"#), "{text}");
        assert!(text.contains("backorder_queue_depth 3"), "{text}");
        assert!(text.contains("backorder_dead_letters 2"), "{text}");
        assert!(!text.contains("evil"));
    }
}
