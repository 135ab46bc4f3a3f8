//! What every part of `bench scale` stands on: instances of the service in this process (each
//! with its own state, consumers, share of the lanes, and a runtime and threads of its own, as
//! separate machines would have), shops installed and enrolled straight in the books, and the
//! sums the parts read.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{StreamExt, stream};
use tokio::sync::oneshot;

use crate::app::App;
use crate::auth::install::{self, Install};
use crate::books::Books;
use crate::config::Settings;
use crate::secret::Secret;
use crate::secret::seal::Sealer;
use crate::state::AppState;
use crate::store::{SharedStore, shard};

pub const SECRET: &str = "bench-scale-secret";
const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// Shops written at once during setup.
const SETUP_CONCURRENCY: usize = 32;

/// Settings of one instance on `url` under `prefix`; `extra` on top.
pub fn settings(url: &str, prefix: &str, extra: &[(&str, String)]) -> Result<Settings, String> {
    let mut env: Vec<(String, String)> = [
        ("BACKORDER__SERVER__BIND", "127.0.0.1:0".to_string()),
        ("BACKORDER__SERVER__HTTP_WORKERS", "2".into()),
        ("BACKORDER__SHOPIFY__API_KEY", "bench".into()),
        ("BACKORDER__SHOPIFY__API_SECRET", SECRET.into()),
        ("BACKORDER__SECURITY__ENCRYPTION_KEY", KEY.into()),
        ("BACKORDER__STORE__URL", url.into()),
        ("BACKORDER__STORE__PREFIX", prefix.into()),
        ("BACKORDER__QUEUE__BLOCK_MS", "500".into()),
        ("BACKORDER__RECONCILE__INTERVAL_SECS", "0".into()),
        ("BACKORDER__LIMITS__WRITES_PER_MINUTE_PER_SHOP", "0".into()),
        ("BACKORDER__LOG__LEVEL", std::env::var("BENCH_SCALE_LOG").unwrap_or_else(|_| "error".into())),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
    Settings::load_from(env).map_err(|e| format!("settings: {e}"))
}

/// An instance of the service on a runtime and threads of its own, as on a machine of its own:
/// the load generator's tasks never share its scheduler (they still share the CPUs).
pub struct Instance {
    url: String,
    pub state: Arc<AppState>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Instance {
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// Stops it as `serve` stops on SIGTERM, and waits for its threads.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

pub async fn start(settings: Settings) -> Result<Instance, String> {
    start_on(settings, None).await
}

/// [`start`], its threads kept to `cpu` where one is given (a machine of its own in (c): the
/// runtime's and the HTTP server's threads inherit the mask of the thread that makes them).
pub async fn start_on(settings: Settings, cpu: Option<usize>) -> Result<Instance, String> {
    let (ready, started) = oneshot::channel();
    let (stop, stopped) = oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("bench-instance".into())
        .spawn(move || {
            if let Some(cpu) = cpu
                && let Err(e) = pin_this_thread(cpu)
            {
                let _ = ready.send(Err(e));
                return;
            }
            let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
                Ok(runtime) => runtime,
                Err(e) => {
                    let _ = ready.send(Err(format!("an instance's runtime: {e}")));
                    return;
                }
            };
            runtime.block_on(async move {
                match App::start(settings).await {
                    Ok(app) => {
                        let _ = ready.send(Ok((app.url(), app.state.clone())));
                        let _ = stopped.await;
                        app.stop().await;
                    }
                    Err(e) => {
                        let _ = ready.send(Err(format!("an instance did not start: {e}")));
                    }
                }
            });
        })
        .map_err(|e| format!("an instance's thread: {e}"))?;
    let (url, state) = started.await.map_err(|_| "an instance's thread ended before it started".to_string())??;
    Ok(Instance { url, state, stop: Some(stop), thread: Some(thread) })
}

/// Keeps the calling thread (and the threads it makes from now on) to `cpu`, with `taskset`
/// on the thread's own id (`/proc/thread-self` names it; no unsafe call needed).
fn pin_this_thread(cpu: usize) -> Result<(), String> {
    let link = std::fs::read_link("/proc/thread-self").map_err(|e| format!("/proc/thread-self: {e}"))?;
    let tid = link.file_name().and_then(|t| t.to_str()).ok_or("no thread id in /proc/thread-self")?.to_string();
    let status = std::process::Command::new("taskset")
        .args(["-pc", &cpu.to_string(), &tid])
        .stdout(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("taskset: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("taskset -pc {cpu} {tid}: {status}")) }
}

/// Installs `shops` with `token` (the dev shop's, where it serves them), `SETUP_CONCURRENCY`
/// at a time.
pub async fn install_all(books: &Books, sealer: &Sealer, shops: &[String], token: &str) -> Result<(), String> {
    let results: Vec<Result<(), String>> = stream::iter(shops)
        .map(|shop| async move {
            let install = Install {
                access_token: Secret::new(token),
                refresh_token: None,
                expires_at_ms: None,
                scopes: vec!["read_orders".into(), "write_orders".into(), "write_products".into()],
                installed_at_ms: crate::store::now_ms() as i64,
            };
            install::save(books, sealer, shop, &install).await.map_err(|e| format!("install {shop}: {e}"))
        })
        .buffer_unordered(SETUP_CONCURRENCY)
        .collect()
        .await;
    results.into_iter().collect()
}

/// Enrols the bench's hot variant in each shop with no stock: every order is backordered.
pub async fn enrol_all(books: &Books, shops: &[String]) -> Result<(), String> {
    let results: Vec<Result<i64, String>> = stream::iter(shops)
        .map(|shop| crate::bench::ledger::fill::fill(books, shop, &[]))
        .buffer_unordered(SETUP_CONCURRENCY)
        .collect()
        .await;
    results.into_iter().try_for_each(|r| r.map(drop))
}

/// Orders committed in `shops` so far (`orders/create` events processed).
pub async fn committed(store: &SharedStore, shops: &[String]) -> Result<u64, String> {
    let counts: Vec<Result<u64, String>> = stream::iter(shops)
        .map(|shop| async move {
            let counts = store.processed_counts(shop).await.map_err(|e| e.to_string())?;
            Ok(counts.get("orders/create").copied().unwrap_or(0))
        })
        .buffer_unordered(SETUP_CONCURRENCY)
        .collect()
        .await;
    counts.into_iter().sum()
}

/// Waits until the instances together own every lane (they share them out within a few
/// lease quarters of starting).
pub async fn lanes_shared(apps: &[Instance], shards: u16, timeout: Duration) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let owned: usize = apps.iter().map(|a| a.state.lanes.current(shards).len()).sum();
        let each = usize::from(shards).div_ceil(apps.len().max(1));
        let balanced = apps.iter().all(|a| a.state.lanes.current(shards).len() <= each);
        if owned == usize::from(shards) && balanced {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!("the instances own {owned} of {shards} lanes after {}s", timeout.as_secs()));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The lanes of a store of `shards` shards.
pub fn every_lane(shards: u16) -> Vec<crate::store::Lane> {
    shard::lanes(shards)
}

/// `n` shop domains of this run.
pub fn shop_names(run: u32, kind: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{kind}-{run:08x}-{i}.myshopify.com")).collect()
}
