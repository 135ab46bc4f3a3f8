//! The ledger bench's numbers: events/s and latency per depth, their share of the shallowest
//! depth's, what each event asked of the store, and the same as a Markdown table.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use super::LedgerArgs;
use super::counting::Snapshot;
use super::mix::Kind;
use crate::bench::ids::rfc3339_utc;
use crate::bench::report::percentile;
use crate::store::StoreUrl;

/// Latencies in microseconds, per kind of event.
#[derive(Debug, Default)]
pub struct Samples {
    pub by_kind: BTreeMap<Kind, Vec<u32>>,
    pub errors: u64,
    pub first_error: Option<String>,
    pub elapsed: Duration,
}

impl Samples {
    pub fn record(&mut self, kind: Kind, us: u32, error: Option<String>) {
        match error {
            None => self.by_kind.entry(kind).or_default().push(us),
            Some(e) => {
                self.errors += 1;
                self.first_error.get_or_insert(e);
            }
        }
    }

    pub fn merge(&mut self, other: Samples) {
        for (kind, v) in other.by_kind {
            self.by_kind.entry(kind).or_default().extend(v);
        }
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    fn all(&self) -> Vec<u32> {
        let mut all: Vec<u32> = self.by_kind.values().flatten().copied().collect();
        all.sort_unstable();
        all
    }

    fn rate(&self) -> f64 {
        self.by_kind.values().map(Vec::len).sum::<usize>() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

pub struct DepthResult {
    pub depth: usize,
    pub depth_after: usize,
    pub setup: Duration,
    pub samples: Samples,
    pub counts: Snapshot,
}

fn ms(us: u32) -> String {
    format!("{:.3}", f64::from(us) / 1000.0)
}

fn per(n: u64, events: usize) -> String {
    format!("{:.2}", n as f64 / events.max(1) as f64)
}

pub fn render(args: &LedgerArgs, url: &StoreUrl, results: &[DepthResult]) -> String {
    let backend = match url {
        StoreUrl::File(_) => "embedded (redb, file://)",
        _ => "Redis",
    };
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let context = format!(
        "backorder bench ledger {}, {}: {backend}, one variant, {} task(s), {}s per depth after {}s warm-up, \
         mix per 20 events: 7 new (back), 2 VIP (front), 9 cancels (random line), 2 level ±3; {cpus} CPUs",
        env!("CARGO_PKG_VERSION"),
        rfc3339_utc(SystemTime::now()),
        args.tasks,
        args.duration_secs,
        args.warmup_secs,
    );
    let reference = results.first().map_or(0.0, |r| r.samples.rate());
    let mut md = format!("{context}\n\n");
    md.push_str(
        "| Depth | Events | Events/s | **vs first depth** | p50 (ms) | p99 (ms) | max (ms) | store calls / event | \
         lines read / event | conflicts | errors |\n|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    let mut kinds = String::from("| Depth |");
    for k in Kind::ALL {
        let _ = write!(kinds, " {} p50 / p99 (ms) |", k.name());
    }
    kinds.push_str("\n|--:|--:|--:|--:|--:|\n");
    let mut notes = Vec::new();
    for r in results {
        let all = r.samples.all();
        let events = all.len();
        let rate = r.samples.rate();
        let share = if reference > 0.0 { format!("{:.1} %", rate / reference * 100.0) } else { "-".into() };
        let c = &r.counts;
        let _ = writeln!(
            md,
            "| {} | {} | {:.0} | **{share}** | {} | {} | {} | {} | {} | {} | {} |",
            r.depth,
            events,
            rate,
            ms(percentile(&all, 50.0)),
            ms(percentile(&all, 99.0)),
            ms(all.last().copied().unwrap_or(0)),
            per(c.round_trips(), events),
            per(c.lines_read, events),
            c.conflicts,
            r.samples.errors,
        );
        let _ = write!(kinds, "| {} |", r.depth);
        for k in Kind::ALL {
            let mut v = r.samples.by_kind.get(&k).cloned().unwrap_or_default();
            v.sort_unstable();
            let _ = write!(kinds, " {} / {} |", ms(percentile(&v, 50.0)), ms(percentile(&v, 99.0)));
        }
        kinds.push('\n');
        notes.push(format!(
            "depth {}: setup {:.1}s; {} lines at the end; per event {} record reads in {} calls, {} line reads, \
             {} level reads, {} commits, {} lines written",
            r.depth,
            r.setup.as_secs_f64(),
            r.depth_after,
            per(c.records_read, events),
            per(c.gets, events),
            per(c.line_reads, events),
            per(c.level_reads, events),
            per(c.commits, events),
            per(c.lines_written, events),
        ));
        if let Some(e) = &r.samples.first_error {
            notes.push(format!("depth {}: {} events failed; the first: {e}", r.depth, r.samples.errors));
        }
    }
    let mut out = format!("\n{md}\nPer kind of event:\n\n{kinds}\n");
    for n in notes {
        let _ = writeln!(out, "- {n}");
    }
    out
}
