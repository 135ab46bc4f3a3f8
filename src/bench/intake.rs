//! `backorder bench intake`: a load generator for `POST /webhooks` (benchmark plan, section 5 of
//! the performance reference).
//!
//! It sends realistic, correctly signed `orders/create` deliveries and measures, in one run:
//! a. a bare actix-web handler started in this process (the HTTP ceiling of this machine),
//! b. the running service, closed loop (its maximum webhooks/s),
//! c. the running service, open loop at a fixed rate (the latency that rate really gets).
//! b / a says how much of the plain HTTP capacity the intake keeps once it verifies, dedupes and
//! stores. Both servers share the machine with the generator, so the ratio is fair to both.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderValue, InvalidHeaderValue};
use reqwest::{Client, Url};

use super::bare::start_bare;
use super::ids::rfc3339_utc;
use super::load::{Bodies, Target, closed_loop, open_loop};
use super::payload::{ORDINALS_PER_RUN, Template, TemplateError, signed_pool};
use super::report::{self, Phase, Summary};
use super::{drain, secs};
use crate::secret::Secret;

use super::{API_VERSION, client};

#[derive(Debug, clap::Args)]
pub struct IntakeArgs {
    /// Base URL of the running service; deliveries go to <URL>/webhooks.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// The app's API secret: bodies are signed with it exactly as Shopify signs them.
    #[arg(long, env = "BACKORDER__SHOPIFY__API_SECRET", hide_env_values = true, value_parser = super::parse_secret)]
    pub secret: Secret,
    /// X-Shopify-Shop-Domain of every delivery.
    #[arg(long, default_value = "bench.myshopify.com")]
    pub shop: String,
    /// Concurrent senders in the closed-loop phases; the most the open loop uses.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub connections: u32,
    /// Length of each measured phase.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub duration_secs: u64,
    /// Webhooks per second in the open-loop phase.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub rate: u32,
    /// Unmeasured load before each phase (connections, caches, allocator, CPU frequency).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(0..=600))]
    pub warmup_secs: u64,
    /// Distinct pre-signed bodies per phase, cycled through; every send still gets fresh ids.
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub pool_size: u32,
    /// HTTP workers of the bare handler; 0 is actix's default (one per CPU), as for the service.
    #[arg(long, env = "BACKORDER__SERVER__HTTP_WORKERS", default_value_t = 0)]
    pub bare_workers: usize,
    /// Before each phase, wait up to this long for the service's queue to empty (read from its
    /// /metrics), so one phase's backlog does not slow the next; 0 does not wait.
    #[arg(long, default_value_t = 120)]
    pub drain_timeout_secs: u64,
}

#[derive(Debug, thiserror::Error)]
pub(super) enum BenchError {
    #[error("{0}")]
    Template(#[from] TemplateError),
    #[error("--url {0:?} is not an http(s) URL")]
    Url(String),
    #[error("--shop is not a valid header value: {0}")]
    Shop(#[from] InvalidHeaderValue),
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    #[error("cannot start the bare handler: {0}")]
    Bare(#[from] std::io::Error),
    #[error("{0}")]
    Preflight(String),
}

pub async fn run(args: IntakeArgs) -> ExitCode {
    match bench(args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("backorder bench intake: {e}");
            ExitCode::from(2)
        }
    }
}

/// Runs the three phases and prints the report. `Ok(false)`: something was not answered with a
/// 2xx, so the numbers are not a valid measurement.
async fn bench(args: IntakeArgs) -> Result<bool, BenchError> {
    let template = Template::from_fixture()?;
    let target_url = webhooks_url(&args.url)?;
    let metrics_url = target_url.join("metrics").map_err(|_| BenchError::Url(args.url.clone()))?;
    let shop = HeaderValue::from_str(&args.shop)?;
    let conns = args.connections as usize;
    let (duration, warmup, drain) = (secs(args.duration_secs), secs(args.warmup_secs), secs(args.drain_timeout_secs));
    crate::init_crypto();

    // A random base per run, so a second run against the same store sends orders it has not seen.
    let mut next_ordinal = fastrand::u64(1..100) * ORDINALS_PER_RUN;
    let mut target = |url: Url| -> Result<Arc<Target>, BenchError> {
        let bodies = signed_pool(&template, args.secret.expose().as_bytes(), next_ordinal, args.pool_size as usize);
        next_ordinal += u64::from(args.pool_size);
        let api_version = HeaderValue::from_static(API_VERSION);
        Ok(Arc::new(Target {
            client: client(conns)?,
            url,
            shop: shop.clone(),
            api_version,
            bodies: Bodies::Pool(bodies),
        }))
    };
    let mut notes = Vec::new();
    let mut settle = async |when: &str, client: &Client| {
        if drain.is_zero() {
            return;
        }
        match drain::wait_for_empty_queue(client, &metrics_url, drain).await {
            // A backlog that took under a second says nothing worth reporting (e.g. the preflight's one).
            Ok(Some(d)) if d.took >= Duration::from_secs(1) => notes.push(format!(
                "{when}: the service's queue drained {} webhooks in {:.1}s ({:.0}/s processed)",
                d.entries,
                d.took.as_secs_f64(),
                d.entries as f64 / d.took.as_secs_f64().max(1e-3)
            )),
            Ok(_) => {}
            Err(e) => notes.push(format!("{when}: {e}, went on anyway")),
        }
    };
    let closed = format!("closed loop, {conns} conns");

    // Checked first: a wrong secret or URL should not cost a whole bare-handler phase.
    let intake = target(target_url.clone())?;
    preflight(&intake).await?;

    settle("before a", &intake.client).await;
    let bare = start_bare(args.bare_workers)?;
    eprintln!("a. bare handler at {}: {}s warm-up, {}s {closed}", bare.url, args.warmup_secs, args.duration_secs);
    let t = target(bare.url.clone())?;
    let body_bytes = t.bodies.mean_len();
    if !warmup.is_zero() {
        closed_loop(t.clone(), conns, warmup).await;
    }
    let a = closed_loop(t, conns, duration).await;
    // Stopped before the next phases so its idle workers take nothing from the service.
    bare.stop().await;

    settle("before b", &intake.client).await;
    eprintln!("b. intake at {target_url}: {}s warm-up, {}s {closed}", args.warmup_secs, args.duration_secs);
    if !warmup.is_zero() {
        closed_loop(intake.clone(), conns, warmup).await;
    }
    let b = closed_loop(intake.clone(), conns, duration).await;

    settle("before c", &intake.client).await;
    let open = format!("open loop {}/s, {} conns", args.rate, conns.min(args.rate as usize));
    eprintln!("c. intake at {target_url}: {}s warm-up, {}s {open}", args.warmup_secs, args.duration_secs);
    // Fresh orders, so this phase does not replay what b already delivered.
    let t = target(target_url.clone())?;
    if !warmup.is_zero() {
        open_loop(t.clone(), conns, args.rate, warmup).await;
    }
    let c = open_loop(t, conns, args.rate, duration).await;
    settle("after c", &intake.client).await;

    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let context = format!(
        "backorder bench intake {}, {}: `orders/create` bodies of {body_bytes} B (compact JSON, {} pre-signed per phase), \
         {}s per phase after {}s warm-up, {cpus} CPUs, target {target_url}",
        env!("CARGO_PKG_VERSION"),
        rfc3339_utc(SystemTime::now()),
        args.pool_size,
        args.duration_secs,
        args.warmup_secs,
    );
    let mut phases = Vec::new();
    for (key, what, load, mut tally) in [
        ("a", "bare actix handler", closed.clone(), a),
        ("b", "intake POST /webhooks", closed, b),
        ("c", "intake POST /webhooks", open, c),
    ] {
        let summary = Summary::of(&mut tally);
        phases.push((Phase { key, what, load, tally }, summary));
    }
    let ratio = report::ratio(&phases[1].1, &phases[0].1);
    print!("{}", report::render(&context, &phases, ratio, &notes));
    Ok(phases.iter().all(|(_, s)| s.clean()))
}

/// `http://host:port` or `http://host:port/prefix` → `…/webhooks`.
pub(super) fn webhooks_url(base: &str) -> Result<Url, BenchError> {
    let base = base.trim_end_matches('/');
    let full = if base.ends_with("/webhooks") { base.to_string() } else { format!("{base}/webhooks") };
    Url::parse(&full)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or_else(|| BenchError::Url(base.to_string()))
}

/// One delivery before measuring: a wrong secret or URL should stop the run with a clear
/// message, not produce ten seconds of 401s.
pub(super) async fn preflight(target: &Target) -> Result<(), BenchError> {
    match target.send(0).await {
        Ok(status) if status.is_success() => Ok(()),
        Ok(status) if status == reqwest::StatusCode::UNAUTHORIZED => Err(BenchError::Preflight(format!(
            "{} refused the signature (401): --secret must be the service's BACKORDER__SHOPIFY__API_SECRET",
            target.url
        ))),
        Ok(status) => Err(BenchError::Preflight(format!("{} answered {status} to a valid delivery", target.url))),
        Err(e) => {
            Err(BenchError::Preflight(format!("cannot reach {}: {}", target.url, crate::telemetry::error_chain(&e))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_url_always_ends_in_webhooks() {
        assert_eq!(webhooks_url("http://127.0.0.1:8080").unwrap().as_str(), "http://127.0.0.1:8080/webhooks");
        assert_eq!(webhooks_url("http://h/app/").unwrap().as_str(), "http://h/app/webhooks");
        assert_eq!(webhooks_url("https://h/webhooks").unwrap().as_str(), "https://h/webhooks");
        assert!(webhooks_url("ftp://h").is_err());
        assert!(webhooks_url("127.0.0.1:8080").is_err());
    }

    /// End to end against the in-process bare handler: every send is answered 200.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_short_closed_loop_against_the_bare_handler_is_clean() {
        crate::init_crypto();
        let bare = start_bare(1).unwrap();
        let template = Template::from_fixture().unwrap();
        let target = Arc::new(Target {
            client: client(4).unwrap(),
            url: bare.url.clone(),
            shop: HeaderValue::from_static("bench.myshopify.com"),
            api_version: HeaderValue::from_static(API_VERSION),
            bodies: Bodies::Pool(signed_pool(&template, b"s", 0, 8)),
        });
        let mut tally = closed_loop(target.clone(), 4, Duration::from_millis(200)).await;
        let mut open = open_loop(target, 4, 200, Duration::from_millis(200)).await;
        bare.stop().await;
        let (s, o) = (Summary::of(&mut tally), Summary::of(&mut open));
        assert!(s.clean(), "{tally:?}");
        assert!(o.clean() && (30..=45).contains(&o.answered), "{open:?}");
    }
}
