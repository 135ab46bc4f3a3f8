//! `backorder demo`: the whole product on one machine with no outside service. The embedded
//! store in a temporary directory, the dev shop on loopback, the real service in between, and a
//! flash sale played over real HTTP with signed, duplicated and shuffled webhooks.

pub mod history;
pub mod insight;
mod scene;
mod show;
pub mod transfer;

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::app::App;
use crate::auth::install::{self, Install};
use crate::auth::session_token;
use crate::config::Settings;
use crate::devshop::{Batch, DevShop, Sender};
use crate::secret::Secret;

pub(crate) use scene::new_variant;
pub use scene::{Outcome, Snapshot};

pub const SHOP: &str = "demo-outfitters.myshopify.com";
const API_KEY: &str = "demo-api-key";

#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// `file://…` (default: a fresh temporary directory) or `redis://…`.
    pub store_url: Option<String>,
    pub store_prefix: String,
    /// Print what happens (the CLI); tests read the outcome instead.
    pub verbose: bool,
    pub seed: u64,
    /// Send emails to this SMTP server; `None`: write them as `.eml` files in a temporary outbox.
    pub smtp_url: Option<String>,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self { store_url: None, store_prefix: "demo".into(), verbose: true, seed: 7, smtp_url: None }
    }
}

/// The platform a stage runs against and the service's timing; the default is the demo's:
/// Shopify Standard's bucket (2000 points restoring 100 per second), short settle and sweep.
#[derive(Debug, Clone)]
pub struct Knobs {
    pub bucket_max: f64,
    pub restore_rate: f64,
    /// `ledger.settle_ms`; `None`: 1.5 s.
    pub settle_ms: Option<u64>,
    /// `effects.sweep_ms`; `None`: 50 ms.
    pub sweep_ms: Option<u64>,
}

impl Default for Knobs {
    fn default() -> Self {
        Self { bucket_max: 2000.0, restore_rate: 100.0, settle_ms: Some(1500), sweep_ms: Some(50) }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot start: {0}")]
    Start(String),
    #[error("{0}")]
    Step(String),
}

/// The running pieces of a demo.
pub struct Stage {
    pub app: App,
    pub devshop: DevShop,
    pub sender: Sender,
    pub http: reqwest::Client,
    secret: String,
    verbose: bool,
    started: Instant,
    _dir: Option<tempfile::TempDir>,
    /// Where emails are written when no SMTP server is configured.
    pub outbox: tempfile::TempDir,
}

impl Stage {
    pub async fn start(options: &DemoOptions) -> Result<Self, DemoError> {
        Self::start_with(options, &Knobs::default()).await
    }

    pub async fn start_with(options: &DemoOptions, knobs: &Knobs) -> Result<Self, DemoError> {
        let started = Instant::now();
        crate::init_crypto();
        let start = |e: &dyn std::fmt::Display| DemoError::Start(e.to_string());
        let devshop = DevShop::start(knobs.bucket_max, knobs.restore_rate).await.map_err(|e| start(&e))?;
        let shop_token = devshop.install(SHOP);
        let (dir, store_url) = match &options.store_url {
            Some(url) => (None, url.clone()),
            None => {
                let dir = tempfile::tempdir().map_err(|e| start(&e))?;
                let url = format!("file://{}", dir.path().display());
                (Some(dir), url)
            }
        };
        let outbox = tempfile::tempdir().map_err(|e| start(&e))?;
        let secret = format!("demo-secret-{:016x}", fastrand::u64(..));
        let key = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            fastrand::u64(..).to_be_bytes().repeat(4),
        );
        let mut env = vec![
            ("BACKORDER__SERVER__BIND", "127.0.0.1:0".to_string()),
            ("BACKORDER__SHOPIFY__API_KEY", API_KEY.into()),
            ("BACKORDER__SHOPIFY__API_SECRET", secret.clone()),
            ("BACKORDER__SHOPIFY__ADMIN_BASE_URL", devshop.admin_base_url()),
            ("BACKORDER__SECURITY__ENCRYPTION_KEY", key),
            ("BACKORDER__STORE__URL", store_url),
            ("BACKORDER__STORE__PREFIX", options.store_prefix.clone()),
            ("BACKORDER__QUEUE__BLOCK_MS", "200".into()),
            ("BACKORDER__LOG__LEVEL", "warn".into()),
            ("BACKORDER__EMAIL__OUTBOX_DIR", outbox.path().display().to_string()),
        ];
        if let Some(smtp) = &options.smtp_url {
            env.push(("BACKORDER__EMAIL__SMTP_URL", smtp.clone()));
        }
        // Long enough that webhooks delivered out of order settle before effects go out, even
        // on a loaded machine; short enough for a brisk demo.
        env.push(("BACKORDER__LEDGER__SETTLE_MS", knobs.settle_ms.unwrap_or(1500).to_string()));
        env.push(("BACKORDER__EFFECTS__SWEEP_MS", knobs.sweep_ms.unwrap_or(50).to_string()));
        // The app's pages load the dev shop's App Bridge stand-in, which works offline.
        env.push(("BACKORDER__APP__BRIDGE_URL", format!("{}/admin/app-bridge.js", devshop.url)));
        let settings = Settings::load_from(env.into_iter().map(|(k, v)| (k.to_string(), v))).map_err(|e| start(&e))?;
        let sealer = settings.sealer().ok_or_else(|| DemoError::Start("no encryption key".into()))?;
        let app = App::start(settings).await.map_err(|e| start(&e))?;
        let install = Install {
            access_token: Secret::new(shop_token),
            refresh_token: None,
            expires_at_ms: None,
            scopes: vec!["read_orders".into(), "write_orders".into(), "write_products".into()],
            installed_at_ms: crate::store::now_ms() as i64,
        };
        install::save(&app.state.books, &sealer, SHOP, &install).await.map_err(|e| start(&e))?;
        // The dev shop's admin embeds the app as Shopify's would (`backorder demo --keep-running`).
        devshop.set_app(API_KEY, &secret);
        devshop.set_app_url(&app.url());
        let sender = Sender::new(&app.url(), &secret, SHOP);
        // An idle connection is let go well before the server's keep-alive closes it: a request
        // sent on a connection the server is closing at that moment fails to send.
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .pool_idle_timeout(Duration::from_secs(1))
            .build()
            .map_err(|e| start(&e))?;
        Ok(Self { app, devshop, sender, http, secret, verbose: options.verbose, started, _dir: dir, outbox })
    }

    /// A session token as the embedded admin would send it.
    fn session_token(&self) -> String {
        session_token::mint(SHOP, API_KEY, self.secret.as_bytes())
    }

    pub async fn api(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, DemoError> {
        let mut req = self.http.request(method, format!("{}{path}", self.app.url())).bearer_auth(self.session_token());
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp =
            req.send().await.map_err(|e| DemoError::Step(format!("{path}: {}", crate::telemetry::error_chain(&e))))?;
        let status = resp.status();
        let body: Value = resp.json().await.map_err(|e| DemoError::Step(format!("{path}: {e}")))?;
        if !status.is_success() {
            return Err(DemoError::Step(format!("{path} answered {status}: {body}")));
        }
        Ok(body)
    }

    /// Sends everything queued, duplicated, delayed and shuffled, and waits until the ledger has
    /// it and the effects have settled.
    pub async fn deliver(&mut self, seed: u64) -> Result<usize, DemoError> {
        let batch = Batch {
            seed,
            redeliver: 0.2,
            same_event: 0.1,
            delay_share: 0.1,
            delay: Duration::from_millis(100),
            shuffle: true,
        };
        let report = self.sender.send(&batch).await;
        if !report.all_delivered() {
            return Err(DemoError::Step(format!("{} webhooks were not accepted", report.undelivered().len())));
        }
        self.settled().await?;
        Ok(report.sent.len())
    }

    /// Waits until the queue is empty and every change's effects were sent.
    pub async fn settled(&self) -> Result<(), DemoError> {
        self.settled_within(Duration::from_secs(20)).await
    }

    pub async fn settled_within(&self, timeout: Duration) -> Result<(), DemoError> {
        let store = self.app.state.queue.clone();
        let deadline = Instant::now() + timeout;
        loop {
            let stats = store.queue_stats().await.map_err(|e| DemoError::Step(e.to_string()))?;
            let dirty = self.app.state.books.dirty(SHOP).await.map_err(|e| DemoError::Step(e.to_string()))?;
            let quiet = dirty.orders.is_empty() && dirty.variants.is_empty() && dirty.mail.is_empty();
            if stats.queued == 0 && stats.delayed == 0 && quiet {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(DemoError::Step(format!("the service did not settle within {} s", timeout.as_secs())));
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The app is installed now, after the store's history: orders placed before this moment
    /// count as placed before install.
    pub async fn installed_now(&self) -> Result<(), DemoError> {
        let state = &self.app.state;
        let sealer = state.sealer.as_deref().ok_or_else(|| DemoError::Step("no sealer".into()))?;
        let step = |e: &dyn std::fmt::Display| DemoError::Step(e.to_string());
        let mut install = install::load(&state.books, sealer, SHOP).await.map_err(|e| step(&e))?;
        let install = install.as_mut().ok_or_else(|| DemoError::Step("not installed".into()))?;
        // After every timestamp the dev shop has given: its clock runs a millisecond per change
        // ahead of the wall clock when changes come faster, and an order placed "before" the
        // install must not carry a later time (it would be emailed as a new one).
        install.installed_at_ms = self.devshop.world(SHOP, |w| w.clock_ms()) + 1;
        install::save(&state.books, sealer, SHOP, install).await.map_err(|e| step(&e))
    }

    /// Waits for a job to end; its summary, or why it failed.
    pub async fn job_done(&self, job: u64) -> Result<Value, DemoError> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let shown = self.api(reqwest::Method::GET, &format!("/api/jobs/{job}"), None).await?;
            match shown["state"].as_str() {
                Some("done") => return Ok(shown["summary"].clone()),
                Some("running") if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(25)).await,
                _ => return Err(DemoError::Step(format!("job {job} did not finish: {shown}"))),
            }
        }
    }

    pub fn say(&self, text: &str) {
        if self.verbose {
            println!("{text}");
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    pub async fn stop(self) {
        self.app.stop().await;
        self.devshop.stop().await;
    }
}

/// Plays the flash sale; the CLI prints as it goes, tests read the outcome.
pub async fn run(options: &DemoOptions) -> Result<(Outcome, Stage), DemoError> {
    let mut stage = Stage::start(options).await?;
    let outcome = scene::play(&mut stage, options.seed).await?;
    Ok((outcome, stage))
}
