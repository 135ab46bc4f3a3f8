//! `backorder chaos` (dev only; `scripts/chaos` runs it): a flash sale over several shops and
//! variants, delivered shuffled and duplicated by a sender that retries until accepted, through
//! a platform that fails, drops replies and lags, while service instances and Redis are killed
//! with SIGKILL and restarted at moments drawn from the seed. Then, once everything is delivered
//! and one drift pass has run, the ledger must equal the dev shop's truth, the dev shop must show
//! what the ledger says, no change may have been sent twice and no email twice (but the SMTP
//! window of the README).
//!
//! The dev shop lives in this process, the services in processes of their own: killing one
//! kills no platform, and the platform's truth survives every kill.

mod check;
mod kills;
mod procs;
mod service;
mod smtp;

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::devshop::{Batch, DevShop, Faults, Policy, Sender};
use kills::{args_snapshot, kill_loop};
use procs::{Instance, Redis};
use service::{dead_letters, retry_api, wait_drained, wait_for};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ChaosStore {
    Redis,
    Embedded,
}

#[derive(Debug, clap::Args)]
pub struct ChaosArgs {
    /// Draws every order, delivery order, fault and kill.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// How long the sale runs (deliveries and kills), in seconds.
    #[arg(long, default_value_t = 60)]
    pub duration_secs: u64,
    #[arg(long, value_enum, default_value_t = ChaosStore::Redis)]
    pub store: ChaosStore,
    /// Service instances (the embedded store takes one).
    #[arg(long, default_value_t = 2)]
    pub instances: usize,
    #[arg(long, default_value_t = 3)]
    pub shops: usize,
    #[arg(long, default_value_t = 3)]
    pub variants: usize,
    /// Seconds between kills, drawn between this and twice this.
    #[arg(long, default_value_t = 10.0)]
    pub kill_every_secs: f64,
    /// Redis kills, spread over the run (Redis store only).
    #[arg(long, default_value_t = 3)]
    pub redis_kills: u32,
}

/// What happened, for the report.
#[derive(Debug, Default)]
struct Counts {
    orders: usize,
    cancellations: usize,
    restocks: usize,
    deliveries: usize,
    instance_kills: u32,
    redis_kills: u32,
}

const SECRET: &str = "chaos-secret";
const API_KEY: &str = "chaos";

pub async fn run(args: ChaosArgs) -> ExitCode {
    crate::init_crypto();
    match chaos(&args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("backorder chaos: {e}");
            ExitCode::FAILURE
        }
    }
}

fn shop_name(n: usize) -> String {
    format!("chaos-{n}.myshopify.com")
}

async fn chaos(args: &ChaosArgs) -> Result<bool, String> {
    let started = Instant::now();
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let devshop = DevShop::start(2000.0, 1000.0).await.map_err(|e| e.to_string())?;
    let (smtp_port, mail) = smtp::start().await.map_err(|e| e.to_string())?;
    std::fs::create_dir_all(dir.path().join("redis")).map_err(|e| e.to_string())?;
    let mut redis = match args.store {
        ChaosStore::Redis => Some(Redis::start(dir.path().join("redis")).await?),
        ChaosStore::Embedded => None,
    };
    let store_url = match &redis {
        Some(r) => r.url(),
        None => format!("file://{}", dir.path().join("embedded").display()),
    };
    let key = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [7u8; 32]);
    let env: Vec<(String, String)> = [
        ("BACKORDER__SHOPIFY__API_KEY", API_KEY.to_string()),
        ("BACKORDER__SHOPIFY__API_SECRET", SECRET.to_string()),
        ("BACKORDER__SHOPIFY__ADMIN_BASE_URL", devshop.admin_base_url()),
        ("BACKORDER__SECURITY__ENCRYPTION_KEY", key),
        ("BACKORDER__STORE__URL", store_url),
        ("BACKORDER__STORE__PREFIX", "chaos".into()),
        ("BACKORDER__EMAIL__SMTP_URL", format!("smtp://127.0.0.1:{smtp_port}")),
        ("BACKORDER__SERVER__HTTP_WORKERS", "2".into()),
        ("BACKORDER__QUEUE__BLOCK_MS", "200".into()),
        ("BACKORDER__QUEUE__RECLAIM_IDLE_MS", "3000".into()),
        ("BACKORDER__QUEUE__LEASE_MS", "3000".into()),
        ("BACKORDER__QUEUE__RETRY_BASE_MS", "50".into()),
        ("BACKORDER__QUEUE__RETRY_MAX_MS", "2000".into()),
        ("BACKORDER__QUEUE__MAX_ATTEMPTS", "30".into()),
        ("BACKORDER__LEDGER__SETTLE_MS", "300".into()),
        ("BACKORDER__EFFECTS__SWEEP_MS", "100".into()),
        ("BACKORDER__EFFECTS__MAX_FAILED_PASSES", "20".into()),
        ("BACKORDER__PLATFORM__RETRY_BASE_MS", "20".into()),
        ("BACKORDER__PLATFORM__RETRY_MAX_MS", "500".into()),
        ("BACKORDER__RECONCILE__INTERVAL_SECS", "0".into()),
        ("BACKORDER__LIMITS__WRITES_PER_MINUTE_PER_SHOP", "0".into()),
        ("BACKORDER__LOG__LEVEL", "warn".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();

    // The shops, each with its variants, installed before any instance runs (the embedded
    // store has one opener at a time).
    let mut shops = Vec::new();
    for n in 0..args.shops {
        let shop = shop_name(n);
        let token = devshop.install(&shop);
        let variants: Vec<u64> = devshop.world(&shop, |w| {
            (0..args.variants).map(|i| w.add_variant(&format!("Tee {i}"), 2 + i as i64, Policy::Deny)).collect()
        });
        let status = tokio::process::Command::new(std::env::current_exe().map_err(|e| e.to_string())?)
            .args(["shop", "add", "--shop", &shop])
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("BACKORDER_SHOP_ACCESS_TOKEN", &token)
            .stdout(std::process::Stdio::null())
            .status()
            .await
            .map_err(|e| e.to_string())?;
        if !status.success() {
            return Err(format!("shop add {shop} failed"));
        }
        shops.push((shop, variants));
    }
    let count = if args.store == ChaosStore::Embedded { 1 } else { args.instances.max(1) };
    let mut instances = Vec::new();
    for i in 0..count {
        let port = procs::free_port().map_err(|e| e.to_string())?;
        let mut instance = Instance::new(env.clone(), port, dir.path().join(format!("instance-{i}.log")));
        instance.up().await?;
        instances.push(instance);
    }
    let urls: Vec<String> = instances.iter().map(Instance::url).collect();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().map_err(|e| e.to_string())?;
    for (shop, variants) in &shops {
        for v in variants {
            let body = json!({"enabled": true, "lead_time_days": 10});
            retry_api(&http, &urls, shop, reqwest::Method::PUT, &format!("/api/variants/{v}"), Some(body)).await?;
        }
    }
    wait_for("every variant to sell on backorder", Duration::from_secs(60), || {
        shops.iter().all(|(shop, variants)| {
            devshop.world(shop, |w| variants.iter().all(|v| w.variants[v].policy == Policy::Continue))
        })
    })
    .await?;
    eprintln!(
        "chaos: {} shops, {} instances on {:?}; the sale runs {} s (seed {})",
        shops.len(),
        urls.len(),
        args.store,
        args.duration_secs,
        args.seed
    );

    devshop.set_faults(Faults {
        server_errors: 0.05,
        dropped: 0.05,
        latency: Duration::from_millis(5),
        ..Faults::default()
    });
    let instances = Arc::new(Mutex::new(instances));
    let redis_slot = Arc::new(Mutex::new(redis.take()));
    let counts = Arc::new(std::sync::Mutex::new(Counts::default()));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let killer =
        tokio::spawn(kill_loop(args_snapshot(args), instances.clone(), redis_slot.clone(), counts.clone(), stopped));

    // The sale: rounds of orders, cancellations and restocks, each round's deliveries sent
    // through one instance, shuffled, duplicated and partly late.
    let mut rng = fastrand::Rng::with_seed(args.seed);
    let mut senders: Vec<Vec<Sender>> = shops
        .iter()
        .map(|(shop, _)| {
            urls.iter().map(|u| Sender::new(u, SECRET, shop).with_retries(14, Duration::from_millis(50))).collect()
        })
        .collect();
    let mut lost = Vec::new();
    let sale_end = Instant::now() + Duration::from_secs(args.duration_secs);
    let mut round = 0u64;
    while Instant::now() < sale_end {
        round += 1;
        for (s, (_, variants)) in shops.iter().enumerate() {
            let sender = &mut senders[s][(round as usize) % urls.len()];
            let mut c = counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            for _ in 0..rng.usize(1..=4) {
                let lines: Vec<(u64, u32)> =
                    (0..rng.usize(1..=2)).map(|_| (variants[rng.usize(..variants.len())], rng.u32(1..=3))).collect();
                let mut lines = lines;
                lines.sort();
                lines.dedup_by_key(|(v, _)| *v);
                let email = format!("buyer{}-{round}@example.com", c.orders);
                if devshop.place_order_notify(sender, &email, &[], &lines).is_ok() {
                    c.orders += 1;
                }
            }
            if rng.f64() < 0.3 {
                let open: Vec<u64> = devshop
                    .world(sender.shop(), |w| w.orders.values().filter(|o| !o.cancelled).map(|o| o.id).collect());
                if !open.is_empty() && devshop.cancel_order_notify(sender, open[rng.usize(..open.len())], true).is_ok()
                {
                    c.cancellations += 1;
                }
            }
            if rng.f64() < 0.2 {
                let v = variants[rng.usize(..variants.len())];
                let now = devshop.world(sender.shop(), |w| w.available(v));
                if devshop.set_stock_notify(sender, v, now + rng.i64(1..=4)).is_ok() {
                    c.restocks += 1;
                }
            }
        }
        // Every shop's round is sent at once, as the platform would.
        let batch = Batch {
            seed: args.seed ^ round,
            redeliver: 0.15,
            same_event: 0.1,
            delay_share: 0.1,
            delay: Duration::from_millis(300),
            shuffle: true,
        };
        let target = (round as usize) % urls.len();
        let sends = senders.iter_mut().map(|per_shop| per_shop[target].send(&batch));
        for report in futures_util::future::join_all(sends).await {
            counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner).deliveries += report.sent.len();
            lost.extend(report.undelivered().iter().map(|s| format!("{} {}", s.delivery.topic, s.delivery.webhook_id)));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = stop.send(true);
    let _ = killer.await;
    devshop.set_faults(Faults::default());
    // Everything up again, whatever the last kill left down.
    if let Some(r) = redis_slot.lock().await.as_mut()
        && !procs_alive_redis(r).await
    {
        r.up().await?;
    }
    for i in instances.lock().await.iter_mut() {
        if !i.running() {
            i.up().await?;
        }
    }
    eprintln!("chaos: the sale is over after {:.0} s; draining", started.elapsed().as_secs_f64());

    wait_drained(&http, &urls[0]).await?;
    for (shop, _) in &shops {
        let job = retry_api(&http, &urls, shop, reqwest::Method::POST, "/api/reconcile", None).await?;
        let id = match &job["job"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let state = retry_api(&http, &urls, shop, reqwest::Method::GET, &format!("/api/jobs/{id}"), None).await?;
            match state["state"].as_str() {
                Some("done") => break,
                Some("failed") => return Err(format!("{shop}: the drift pass failed: {state}")),
                _ if Instant::now() > deadline => return Err(format!("{shop}: the drift pass did not end")),
                _ => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }
    wait_drained(&http, &urls[0]).await?;

    // The effects settle after the last change: the checks are retried for a while, and the
    // last mismatches are what the run reports.
    let mut wrong = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        wrong = Vec::new();
        for (shop, variants) in &shops {
            let mut shown = BTreeMap::new();
            for v in variants {
                shown.insert(
                    *v,
                    retry_api(&http, &urls, shop, reqwest::Method::GET, &format!("/api/variants/{v}"), None).await?,
                );
            }
            wrong.extend(check::shop(&devshop, shop, &shown));
        }
        if wrong.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (emails_again, email_wrong) = check::emails(&mail.message_ids());
    wrong.extend(email_wrong);
    wrong.extend(lost.iter().map(|d| format!("never accepted: {d}")));
    let dead = dead_letters(&http, &urls[0]).await;
    if dead > 0 {
        wrong.push(format!("{dead} dead letters"));
        // Their reasons, read from Redis directly (the embedded store belongs to its instance).
        if let Some(r) = redis_slot.lock().await.as_ref()
            && let Ok(store) = crate::store::open(&r.url(), "chaos").await
        {
            for d in store.dead_letters(20).await.unwrap_or_default() {
                wrong.push(format!("dead letter {} ({}): {}", d.id, d.shop(), d.reason));
            }
        }
    }
    let calls: Vec<_> = shops.iter().flat_map(|(shop, _)| devshop.calls(shop)).collect();
    let faults = |outcome: &str| calls.iter().filter(|c| c.outcome == outcome).count();
    let c = counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    println!(
        "chaos {:?} seed {}: {} s, {} shops x {} variants, {} instance(s); {} orders, {} cancellations, {} restocks, \
         {} deliveries; {} instance kills, {} Redis kills; platform faults: {} 5xx, {} dropped replies; {} emails \
         ({} sent twice in the SMTP window); outcome: {}",
        args.store,
        args.seed,
        started.elapsed().as_secs(),
        shops.len(),
        args.variants,
        urls.len(),
        c.orders,
        c.cancellations,
        c.restocks,
        c.deliveries,
        c.instance_kills,
        c.redis_kills,
        faults("5xx"),
        faults("dropped"),
        mail.message_ids().len(),
        emails_again,
        if wrong.is_empty() {
            "0 lost orders, 0 duplicated effects, 0 duplicated emails".to_string()
        } else {
            format!("{} problems", wrong.len())
        }
    );
    for w in wrong.iter().take(40) {
        println!("  - {w}");
    }
    if !wrong.is_empty() {
        println!("  logs: {}", dir.keep().display());
    }
    Ok(wrong.is_empty())
}

async fn procs_alive_redis(r: &Redis) -> bool {
    tokio::net::TcpStream::connect(("127.0.0.1", r.port)).await.is_ok()
}
