//! The flash sale's numbers: webhooks acked and orders committed per second, commit latency from
//! the service's histogram, and the share of the intake ceiling that reaches the ledger.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use super::FlashArgs;
use crate::bench::drain::Drained;
use crate::bench::ids::rfc3339_utc;
use crate::bench::report::Summary;
use crate::bench::scrape::Buckets;

/// Ledger commits seen in the service's histogram over one phase.
#[derive(Debug, Clone)]
pub struct Measured {
    pub committed: u64,
    pub per_sec: f64,
    /// Upper bounds of the buckets holding p50 and p99, in seconds.
    pub p50: Option<f64>,
    pub p99: Option<f64>,
    pub drained: Option<Drained>,
    /// Commits while the load generator was still sending, and how long it sent.
    pub while_sending: Option<(u64, Duration)>,
}

impl Measured {
    pub fn of(buckets: Buckets, over: Duration, drained: Option<Drained>) -> Self {
        let committed = buckets.count();
        Self {
            committed,
            per_sec: committed as f64 / over.as_secs_f64().max(1e-9),
            p50: buckets.percentile(50.0),
            p99: buckets.percentile(99.0),
            drained,
            while_sending: None,
        }
    }
}

pub struct Phase {
    pub key: &'static str,
    pub what: &'static str,
    pub load: String,
    pub acks: Summary,
    pub commits: Option<Measured>,
}

fn secs_as_ms(s: Option<f64>) -> String {
    match s {
        Some(s) if s.is_finite() => format!("≤ {:.1}", s * 1000.0),
        Some(_) => "> 46,000".into(),
        None => "-".into(),
    }
}

pub fn render(args: &FlashArgs, phases: &[Phase]) -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let context = format!(
        "backorder bench flash {}, {}: one hot variant (stock {} at the start), a new signed orders/create per \
         webhook, {}s per phase after {}s warm-up, {cpus} CPUs, service {}",
        env!("CARGO_PKG_VERSION"),
        rfc3339_utc(SystemTime::now()),
        args.stock,
        args.duration_secs,
        args.warmup_secs,
        args.url,
    );
    let mut md = format!("{context}\n\n");
    md.push_str(
        "| Phase | Load | Webhooks acked/s | ack p99 (ms) | **Orders committed/s** | commit p50 (ms) | \
         **commit p99 (ms)** | non-2xx + errors |\n|---|---|--:|--:|--:|--:|--:|--:|\n",
    );
    let mut notes = Vec::new();
    for p in phases {
        let a = &p.acks;
        let (rate, p50, p99) = match &p.commits {
            Some(m) => (format!("{:.0}", m.per_sec), secs_as_ms(m.p50), secs_as_ms(m.p99)),
            None => ("-".into(), "-".into(), "-".into()),
        };
        let _ = writeln!(
            md,
            "| {}. {} | {} | {:.0} | {:.1} | **{rate}** | {p50} | **{p99}** | {} |",
            p.key,
            p.what,
            p.load,
            a.ok_rate,
            f64::from(a.p99) / 1000.0,
            a.non_2xx + a.errors
        );
        if let Some(m) = &p.commits {
            let mut note =
                format!("{}: {} orders committed from the first send to the empty queue", p.key, m.committed);
            if let Some((n, t)) = m.while_sending {
                let _ = write!(note, "; {n} of them while sending ({:.0}/s)", n as f64 / t.as_secs_f64().max(1e-9));
            }
            if let Some(d) = m.drained.filter(|d| d.entries > 0) {
                let rate = d.entries as f64 / d.took.as_secs_f64().max(1e-3);
                let _ = write!(
                    note,
                    "; then the queue drained {} webhooks in {:.1}s ({rate:.0}/s)",
                    d.entries,
                    d.took.as_secs_f64()
                );
            }
            notes.push(note);
        }
    }
    let ceiling = phases.iter().find(|p| p.key == "a").map(|p| p.acks.ok_rate);
    let full = phases.iter().find(|p| p.key == "b").and_then(|p| p.commits.as_ref()).map(|m| m.per_sec);
    if let (Some(a), Some(b)) = (ceiling, full) {
        let _ =
            writeln!(md, "\nOrders committed/s (b) / intake-only webhooks/s (a): **{:.1} %**", b / a.max(1e-9) * 100.0);
    }
    notes.push(
        "commit latency: from the webhook's receipt at intake (whole ms, so up to 1 ms too long) to its ledger \
         commit, read from the service's histogram (buckets 20 % wide: the figure is the bucket's upper bound)"
            .into(),
    );
    for n in notes {
        let _ = writeln!(md, "- {n}");
    }
    format!("\n{md}")
}
