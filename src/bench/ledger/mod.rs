//! `backorder bench ledger`: the ledger engine's cost at several queue depths on one variant,
//! straight on a store (no HTTP, no queue). For each depth: a fresh namespace, one enrolled
//! variant with `depth` open lines (about half of them backordered), then a fixed mix of events
//! ([`mix`]) for a fixed time. The ceiling is the shallowest depth of the same run: the report
//! gives every depth's events/s as a share of it.

pub mod counting;
pub mod fill;
mod mix;
mod report;

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::store::{self, StoreUrl};
use counting::Counting;
use mix::{Book, Kind};
use report::{DepthResult, Samples};

#[derive(Debug, clap::Args)]
pub struct LedgerArgs {
    /// The store to measure: redis://HOST:PORT/ (keys under a fresh prefix per depth, deleted
    /// afterwards) or file://DIR (a fresh embedded store per depth under DIR, deleted afterwards).
    #[arg(long, env = "BACKORDER__STORE__URL")]
    pub store_url: String,
    /// Queue depths (open lines on the variant) to measure, comma-separated; the first is the
    /// reference the others are compared with.
    #[arg(long, value_delimiter = ',', default_value = "10,10000,100000")]
    pub depths: Vec<usize>,
    /// Length of each measured phase.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub duration_secs: u64,
    /// Unmeasured events before each phase, for this long.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(0..=600))]
    pub warmup_secs: u64,
    /// Stop each phase after this many events, if it comes before the end of the duration.
    #[arg(long)]
    pub max_events: Option<u64>,
    /// Concurrent tasks applying events. They contend for the one variant (optimistic commits
    /// that conflict and retry); the service serializes a shop's events, as 1 task does.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub tasks: u64,
    /// Keep each depth's data instead of deleting it.
    #[arg(long)]
    pub keep: bool,
    /// Seed of the line sizes and of the mix's order.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

pub async fn run(args: LedgerArgs) -> ExitCode {
    match bench(&args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("backorder bench ledger: {e}");
            ExitCode::from(2)
        }
    }
}

/// Where one depth's data goes: a store URL and a key prefix.
fn namespace(url: &StoreUrl, run: u32, depth: usize) -> Result<(String, String), String> {
    let name = format!("ledger-bench-{run:08x}-{depth}");
    match url {
        StoreUrl::File(dir) => Ok((format!("file://{}", dir.join(&name).display()), name)),
        StoreUrl::Redis(url) => Ok((url.clone(), name)),
        StoreUrl::RedisCluster(_) => Err("a Redis Cluster is not supported here: give one node's redis:// URL".into()),
    }
}

async fn bench(args: &LedgerArgs) -> Result<bool, String> {
    let parsed = StoreUrl::parse(&args.store_url).map_err(|e| e.to_string())?;
    let run = fastrand::u32(..);
    let (duration, warmup) = (Duration::from_secs(args.duration_secs), Duration::from_secs(args.warmup_secs));
    let mut results = Vec::new();
    for &depth in &args.depths {
        let (url, prefix) = namespace(&parsed, run, depth)?;
        let shop = format!("ledger-bench-{run:08x}.myshopify.com");
        let opened = store::open(&url, &prefix).await.map_err(|e| format!("cannot open {url}: {e}"))?;
        let store = Arc::new(Counting::new(opened));
        let books = crate::books::Books::new(store.clone());
        let open = fill::orders(depth, &mut fastrand::Rng::with_seed(args.seed ^ depth as u64));
        let started = Instant::now();
        let stock = fill::fill(&books, &shop, &open).await?;
        let setup = started.elapsed();
        eprintln!(
            "depth {depth}: {depth} lines filled in {:.1}s; measuring {}s",
            setup.as_secs_f64(),
            duration.as_secs()
        );
        let book = Arc::new(Book::new(open, stock, args.seed.wrapping_add(depth as u64)));
        if !warmup.is_zero() {
            measure(&books, &book, &shop, args.tasks, warmup, None).await;
        }
        let before = store.snapshot();
        let samples = measure(&books, &book, &shop, args.tasks, duration, args.max_events).await;
        let counts = store.snapshot().since(&before);
        let depth_after = book.depth();
        drop((books, store));
        if !args.keep
            && let Err(e) = remove(&parsed, &url, &prefix).await
        {
            eprintln!("depth {depth}: could not delete its data: {e}");
        }
        results.push(DepthResult { depth, depth_after, setup, samples, counts });
    }
    let clean = results.iter().all(|r| r.samples.errors == 0);
    print!("{}", report::render(args, &parsed, &results));
    Ok(clean)
}

/// `tasks` tasks applying the mix until `duration` has passed or `max` events were applied.
async fn measure(
    books: &crate::books::Books,
    book: &Arc<Book>,
    shop: &str,
    tasks: u64,
    duration: Duration,
    max: Option<u64>,
) -> Samples {
    let start = Instant::now();
    let deadline = start + duration;
    let budget = Arc::new(AtomicU64::new(max.unwrap_or(u64::MAX)));
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let (books, book, shop, budget) = (books.clone(), book.clone(), shop.to_string(), budget.clone());
            tokio::spawn(async move {
                let mut samples = Samples::default();
                while Instant::now() < deadline
                    && budget.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)).is_ok()
                {
                    let t = Instant::now();
                    let (kind, result) = book.step(&books, &shop).await;
                    let us = t.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
                    samples.record(kind, us, result.err().map(|e| e.to_string()));
                }
                samples
            })
        })
        .collect();
    let mut total = Samples::default();
    for h in handles {
        match h.await {
            Ok(s) => total.merge(s),
            Err(e) => total.record(Kind::New, 0, Some(format!("task failed: {e}"))),
        }
    }
    total.elapsed = start.elapsed();
    total
}

/// Deletes one depth's data: the directory of an embedded store, the prefix's keys in Redis.
pub(super) async fn remove(parsed: &StoreUrl, url: &str, prefix: &str) -> Result<(), String> {
    match parsed {
        StoreUrl::File(_) => {
            let dir = url.strip_prefix("file://").unwrap_or(url);
            std::fs::remove_dir_all(dir).map_err(|e| format!("{dir}: {e}"))
        }
        StoreUrl::Redis(url) => crate::bench::prefix::remove(std::slice::from_ref(url), prefix).await,
        StoreUrl::RedisCluster(nodes) => crate::bench::prefix::remove(nodes, prefix).await,
    }
}
