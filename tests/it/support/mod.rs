//! Test harness: real Redis servers, the app on port 0, signed deliveries, polling with deadlines.

/// Runs each named check against each store backend, one test per pair so a failure names
/// both: the embedded store, a standalone Redis and a local 3-node Redis Cluster. Each check is
/// an `async fn(SharedStore)` in the calling module.
macro_rules! on_every_backend {
    ($($check:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    let store = $crate::support::Backend::Embedded.prepare();
                    super::$check(store.open().await).await;
                }
            )*
        }
        mod standalone_redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    let store = $crate::support::Backend::Redis.prepare();
                    super::$check(store.open().await).await;
                }
            )*
        }
        mod redis_cluster {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    let url = $crate::support::redis::shared_cluster().url();
                    let store = $crate::support::Backend::Url(url).prepare();
                    let opened = store.open().await;
                    assert_eq!(opened.backend(), "redis-cluster");
                    super::$check(opened).await;
                }
            )*
        }
    };
}

pub mod dump;
pub mod oauth;
pub mod redis;
pub mod shopify;
pub mod smtp;
pub mod webhooks;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use backorder::app::App;
use backorder::config::Settings;
use backorder::state::AppState;
use backorder::store::{self, SharedStore};

pub const SECRET: &str = "test-app-secret";
pub const SHOP: &str = "tiny-tee.myshopify.com";

/// Waits for `check` to give a value, polling until a deadline; fails the test with `what`.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    loop {
        tick.tick().await;
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
    }
}

/// Every lane of a store with the default number of shards (what the tests open).
pub fn every_lane() -> Vec<backorder::store::Lane> {
    backorder::store::shard::lanes(backorder::store::shard::DEFAULT_SHARDS)
}

/// A key prefix no other test uses, so tests share one Redis in parallel.
pub fn unique_prefix() -> String {
    format!("t{:012x}", fastrand::u64(..) >> 16)
}

/// Where a test keeps its data.
#[derive(Debug)]
pub enum Backend {
    /// The shared plain Redis, under a fresh prefix.
    Redis,
    /// A given store URL (a dedicated Redis, a cluster) under a fresh prefix.
    Url(String),
    /// A fresh embedded store in its own directory.
    Embedded,
}

pub struct TestStore {
    pub url: String,
    pub prefix: String,
    /// Keeps the embedded store's directory alive for the test's duration.
    pub dir: Option<tempfile::TempDir>,
}

impl Backend {
    pub fn prepare(self) -> TestStore {
        let prefix = unique_prefix();
        match self {
            Backend::Redis => TestStore { url: redis::shared().url(), prefix, dir: None },
            Backend::Url(url) => TestStore { url, prefix, dir: None },
            Backend::Embedded => {
                let dir = tempfile::tempdir().expect("temp dir");
                TestStore { url: format!("file://{}", dir.path().display()), prefix, dir: Some(dir) }
            }
        }
    }
}

impl TestStore {
    pub async fn open(&self) -> SharedStore {
        store::open(&self.url, &self.prefix).await.expect("store opens")
    }
}

/// Settings for a test app; `overrides` are `BACKORDER__…` pairs applied last.
pub fn settings(store: &TestStore, overrides: &[(&str, &str)]) -> Settings {
    let mut env: Vec<(String, String)> = [
        ("BACKORDER__SERVER__BIND", "127.0.0.1:0"),
        ("BACKORDER__SERVER__HTTP_WORKERS", "2"),
        ("BACKORDER__SERVER__SHUTDOWN_TIMEOUT_SECS", "5"),
        ("BACKORDER__SHOPIFY__API_KEY", "test-api-key"),
        ("BACKORDER__SHOPIFY__API_SECRET", SECRET),
        ("BACKORDER__SECURITY__ENCRYPTION_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="),
        ("BACKORDER__QUEUE__WORKERS", "2"),
        // Each of an app's 16 lanes has a reader blocking this long at a time: short enough
        // for a quick stop, long enough that idle apps do not keep Redis busy.
        ("BACKORDER__QUEUE__BLOCK_MS", "1000"),
        ("BACKORDER__QUEUE__RETRY_BASE_MS", "20"),
        // A stopped app's lanes pass to the next one at once; a killed one's within this.
        ("BACKORDER__QUEUE__LEASE_MS", "3000"),
        ("BACKORDER__LOG__LEVEL", "warn"),
        // Drift repair reads the platform on its own schedule: only the tests of it turn it on,
        // so no other test's platform calls are joined by a pass's.
        ("BACKORDER__RECONCILE__INTERVAL_SECS", "0"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    env.push(("BACKORDER__STORE__URL".into(), store.url.clone()));
    env.push(("BACKORDER__STORE__PREFIX".into(), store.prefix.clone()));
    env.extend(overrides.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Settings::load_from(env).expect("test settings load")
}

/// The app under test, on its own port, with a handle on its store.
pub struct TestApp {
    pub app: App,
    pub store: SharedStore,
    pub client: reqwest::Client,
}

impl TestApp {
    /// Starts the app around an already open store, so the test sees exactly what the app sees
    /// (the embedded store allows one opener per directory).
    pub async fn start(store: SharedStore, settings: Settings) -> Self {
        backorder::init_crypto();
        let state = Arc::new(AppState::new(store.clone(), Arc::new(settings)));
        let app = App::start_with_state(state).await.expect("app starts");
        // Idle connections are let go before the server's 5 s keep-alive closes them (a request
        // sent on a connection as the server closes it fails to send).
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(1))
            .build()
            .expect("client");
        Self { app, store, client }
    }

    /// The app with the test shop installed: intake takes webhooks of installed shops only.
    pub async fn spawn(backend: Backend, overrides: &[(&str, &str)]) -> (Self, TestStore) {
        let (app, test_store) = Self::spawn_bare(backend, overrides).await;
        app.install(SHOP).await;
        (app, test_store)
    }

    /// The app with no shop installed (the install and OAuth tests).
    pub async fn spawn_bare(backend: Backend, overrides: &[(&str, &str)]) -> (Self, TestStore) {
        let test_store = backend.prepare();
        let store = test_store.open().await;
        let app = Self::start(store, settings(&test_store, overrides)).await;
        (app, test_store)
    }

    /// Records an install of `shop` (a token no platform knows), as `shop add` would.
    pub async fn install(&self, shop: &str) {
        let state = &self.app.state;
        install_shop(&state.books, state.sealer.as_deref().expect("a sealer"), shop).await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.app.url())
    }

    pub async fn deliver(&self, delivery: &webhooks::Delivery) -> reqwest::Response {
        delivery.send(&self.client, &self.url("/webhooks")).await
    }

    /// Processed events of the test shop for `topic`.
    pub async fn processed(&self, topic: &str) -> u64 {
        self.store.processed_counts(SHOP).await.expect("counts").get(topic).copied().unwrap_or(0)
    }

    /// Waits until nothing is queued or delayed.
    pub async fn drained(&self) {
        eventually("the queue to drain", || async {
            let s = self.store.queue_stats().await.ok()?;
            (s.queued == 0 && s.delayed == 0).then_some(())
        })
        .await;
    }
}

/// Records an install of `shop` with a token no platform knows, as `backorder shop add` would.
pub async fn install_shop(books: &backorder::books::Books, sealer: &backorder::secret::seal::Sealer, shop: &str) {
    let install = backorder::auth::install::Install {
        access_token: backorder::secret::Secret::new(format!("shpat_test_{shop}")),
        refresh_token: None,
        expires_at_ms: None,
        scopes: vec![],
        installed_at_ms: 0,
    };
    backorder::auth::install::save(books, sealer, shop, &install).await.expect("the install is stored");
}
