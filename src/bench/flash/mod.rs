//! `backorder bench flash`: a flash sale on one hot variant, end to end. Signed `orders/create`
//! webhooks (a new order each, for the fixture's variant) go to a running service with workers;
//! the service's `backorder_ledger_commit_seconds` histogram (webhook received → ledger commit)
//! says when each order was committed. Phases:
//! a. the ceiling: intake only, at `--intake-url` (a second service with no workers, its own
//!    store namespace), closed loop: the webhooks/s the intake alone accepts;
//! b. the sale at full speed: a closed loop of webhooks for the phase's duration, then the wait
//!    until the queue is empty; orders committed per second from the first send to the last
//!    commit (the latency of this phase is mostly queueing: it grows with the burst);
//! c. the sale at a sustainable rate (`--rate`, default half of b's commits/s), open loop: p50 and
//!    p99 from webhook receipt to commit.
//!
//! b / a is the share of the intake ceiling that reaches committed ledger state.

mod report;
mod setup;

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

use reqwest::Url;
use reqwest::header::HeaderValue;

use super::intake::{preflight, webhooks_url};
use super::load::{Bodies, Target, closed_loop, open_loop};
use super::payload::{ORDINALS_PER_RUN, Template};
use super::report::Summary;
use super::scrape::histogram;
use super::{API_VERSION, client, secs};
use crate::secret::Secret;
use report::{Measured, Phase};
use setup::Service;

const COMMIT_HISTOGRAM: &str = "backorder_ledger_commit_seconds";

#[derive(Debug, clap::Args)]
pub struct FlashArgs {
    /// Base URL of the service under test, with queue workers, on Redis.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Base URL of a second service with `BACKORDER__QUEUE__WORKERS=0` for the intake-only
    /// ceiling (phase a); without it, phase a is skipped and no ratio is given.
    #[arg(long)]
    pub intake_url: Option<String>,
    /// The app's API secret: webhooks and session tokens are signed with it.
    #[arg(long, env = "BACKORDER__SHOPIFY__API_SECRET", hide_env_values = true, value_parser = super::parse_secret)]
    pub secret: Secret,
    /// The app's API key: the audience of the session token that enrols the variant.
    #[arg(long, env = "BACKORDER__SHOPIFY__API_KEY")]
    pub api_key: String,
    /// The shop of the sale.
    #[arg(long, default_value = "flash.myshopify.com")]
    pub shop: String,
    /// Concurrent senders in the closed-loop phases; the most the open loop uses.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub connections: u32,
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub duration_secs: u64,
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(0..=600))]
    pub warmup_secs: u64,
    /// Orders per second in phase c; 0: half of what phase b committed per second.
    #[arg(long, default_value_t = 0)]
    pub rate: u32,
    /// The hot variant's stock when the sale starts (its level), negative: every order of the
    /// sale is backordered, as the level updates Shopify sends with each sale would have it.
    #[arg(long, default_value_t = -1_000_000, allow_hyphen_values = true)]
    pub stock: i64,
    /// How long to wait for the service's queue to empty after a phase.
    #[arg(long, default_value_t = 600)]
    pub drain_timeout_secs: u64,
    /// Host the platform for the services on this loopback port: the dev shop, with the shop
    /// (its access token from `BACKORDER_SHOP_ACCESS_TOKEN`, as `shop add` registered it) and
    /// the hot variant. Enrolment reads the variant from the platform (SPEC 9), so the services
    /// must be started with `BACKORDER__SHOPIFY__ADMIN_BASE_URL=http://127.0.0.1:PORT/shops/{shop}`.
    #[arg(long)]
    pub platform_port: Option<u16>,
    #[arg(long, env = "BACKORDER_SHOP_ACCESS_TOKEN", hide_env_values = true, default_value = "")]
    pub platform_token: String,
}

/// The variant of the fixture's second line (3 units): the hot one. The first line's variant is
/// not enrolled, so the ledger ignores it, as it would any unmanaged variant.
const HOT_VARIANT: u64 = 9_153_027_655_318_407_221;

pub async fn run(args: FlashArgs) -> ExitCode {
    match bench(args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("backorder bench flash: {e}");
            ExitCode::from(2)
        }
    }
}

/// The dev shop as the services' platform: the shop, and the hot variant with its item and
/// product as the sale's webhooks name them, at the sale's stock, selling on.
async fn platform(port: u16, args: &FlashArgs) -> Result<crate::devshop::DevShop, String> {
    use crate::devshop::world::{Ids, Policy};
    let devshop = crate::devshop::DevShop::start_on(&format!("127.0.0.1:{port}"), 2000.0, 100.0)
        .await
        .map_err(|e| format!("--platform-port {port}: {e}"))?;
    if args.platform_token.is_empty() {
        return Err("--platform-port needs the shop's access token (BACKORDER_SHOP_ACCESS_TOKEN)".into());
    }
    devshop.install_as(&args.shop, &args.platform_token);
    let ids = Ids { variant: HOT_VARIANT, product: setup::PRODUCT, item: setup::ITEM };
    devshop.world(&args.shop, |w| w.add_variant_as(ids, "Flash tee", args.stock, Policy::Continue));
    Ok(devshop)
}

fn base(url: &str) -> Result<Url, String> {
    let trimmed = url.trim_end_matches('/');
    Url::parse(&format!("{trimmed}/")).map_err(|_| format!("{url:?} is not an http(s) URL"))
}

async fn bench(args: FlashArgs) -> Result<bool, String> {
    crate::init_crypto();
    let conns = args.connections as usize;
    let (duration, warmup, drain) = (secs(args.duration_secs), secs(args.warmup_secs), secs(args.drain_timeout_secs));
    let secret = args.secret.expose().as_bytes().to_vec();
    let shop = HeaderValue::from_str(&args.shop).map_err(|e| format!("--shop: {e}"))?;
    let target = |url: &str| -> Result<Arc<Target>, String> {
        let bodies = Bodies::Fresh {
            template: Template::from_fixture().map_err(|e| e.to_string())?,
            secret: secret.clone(),
            next_ordinal: AtomicU64::new(fastrand::u64(1..1000) * ORDINALS_PER_RUN),
        };
        Ok(Arc::new(Target {
            client: client(conns).map_err(|e| e.to_string())?,
            url: webhooks_url(url).map_err(|e| e.to_string())?,
            shop: shop.clone(),
            api_version: HeaderValue::from_static(API_VERSION),
            bodies,
        }))
    };
    // Kept for the whole run: the services read the platform through it.
    let _platform = match args.platform_port {
        Some(port) => Some(platform(port, &args).await?),
        None => None,
    };
    let mut phases = Vec::new();

    if let Some(intake_url) = &args.intake_url {
        let t = target(intake_url)?;
        preflight(&t).await.map_err(|e| e.to_string())?;
        eprintln!(
            "a. intake only at {intake_url}: {}s warm-up, {}s closed loop, {conns} conns",
            warmup.as_secs(),
            duration.as_secs()
        );
        if !warmup.is_zero() {
            closed_loop(t.clone(), conns, warmup).await;
        }
        let mut tally = closed_loop(t, conns, duration).await;
        let acks = Summary::of(&mut tally);
        phases.push(Phase {
            key: "a",
            what: "intake only (ceiling)",
            load: format!("closed loop, {conns} conns"),
            acks,
            commits: None,
        });
    }

    let base_url = base(&args.url)?;
    let metrics = base_url.join("metrics").map_err(|e| e.to_string())?;
    let http = client(4).map_err(|e| e.to_string())?;
    let service = Service { client: &http, base: &base_url, shop: &args.shop, api_key: &args.api_key, secret: &secret };
    service.prepare(HOT_VARIANT, args.stock, drain).await?;
    let t = target(&args.url)?;

    eprintln!(
        "b. the sale at {}: {}s warm-up, {}s closed loop, {conns} conns",
        args.url,
        warmup.as_secs(),
        duration.as_secs()
    );
    if !warmup.is_zero() {
        closed_loop(t.clone(), conns, warmup).await;
        service.settle(drain).await?;
    }
    let before = histogram(&http, &metrics, COMMIT_HISTOGRAM).await?;
    let started = Instant::now();
    let mut tally = closed_loop(t.clone(), conns, duration).await;
    let sent = histogram(&http, &metrics, COMMIT_HISTOGRAM).await?;
    let while_sending = (sent.since(&before).count(), started.elapsed());
    let drained = service.settle(drain).await?;
    let after = histogram(&http, &metrics, COMMIT_HISTOGRAM).await?;
    let acks = Summary::of(&mut tally);
    let mut b = Measured::of(after.since(&before), started.elapsed(), drained);
    b.while_sending = Some(while_sending);
    let rate = if args.rate > 0 { args.rate } else { (b.per_sec / 2.0).max(1.0) as u32 };
    phases.push(Phase {
        key: "b",
        what: "the sale, full speed",
        load: format!("closed loop, {conns} conns"),
        acks,
        commits: Some(b),
    });

    eprintln!("c. the sale at {}: {}s open loop at {rate}/s", args.url, duration.as_secs());
    let before = histogram(&http, &metrics, COMMIT_HISTOGRAM).await?;
    let started = Instant::now();
    let mut tally = open_loop(t, conns, rate, duration).await;
    let drained = service.settle(drain).await?;
    let after = histogram(&http, &metrics, COMMIT_HISTOGRAM).await?;
    let acks = Summary::of(&mut tally);
    let c = Measured::of(after.since(&before), started.elapsed(), drained);
    phases.push(Phase {
        key: "c",
        what: "the sale, sustainable rate",
        load: format!("open loop {rate}/s"),
        acks,
        commits: Some(c),
    });

    print!("{}", report::render(&args, &phases));
    Ok(phases.iter().all(|p| p.acks.clean()))
}

#[cfg(test)]
mod tests {
    use crate::metrics::Metrics;

    /// The name the bench reads is the one the service registers.
    #[test]
    fn the_service_exposes_the_commit_histogram() {
        let m = Metrics::new();
        m.ledger_committed(0.002);
        let text = m.render(None);
        let b = crate::bench::scrape::Buckets::parse(&text, super::COMMIT_HISTOGRAM).expect("histogram present");
        assert_eq!(b.count(), 1);
        let p99 = b.percentile(99.0).unwrap();
        assert!((0.002..0.0021).contains(&p99), "{p99}");
    }
}
