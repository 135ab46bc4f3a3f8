//! What request handlers and workers share.

use std::sync::Arc;
use std::time::Duration;

use crate::books::Books;
use crate::books::rework::Progress;
use crate::books::standing::QueueCache;
use crate::config::Settings;
use crate::limit::RateLimit;
use crate::mail::Mailer;
use crate::metrics::Metrics;
use crate::platform::{AdminClient, ClientConfig};
use crate::secret::seal::Sealer;
use crate::store::{SharedQueue, SharedStore};

/// What one client, status link or shop may ask of this process (audit M3, L7).
pub struct Limits {
    pub status_per_link: RateLimit,
    pub status_per_client: RateLimit,
    pub writes_per_shop: RateLimit,
    /// Test emails a shop's merchant may send themselves: a few a minute is plenty to try a
    /// template, and keeps the button from being a way to send mail in bulk.
    pub test_emails: RateLimit,
}

/// Test emails per shop and minute.
const TEST_EMAILS_PER_MINUTE: u32 = 6;

impl Limits {
    fn from_settings(s: &crate::config::LimitSettings) -> Self {
        Self {
            status_per_link: RateLimit::per_minute(s.status_per_minute_per_link),
            status_per_client: RateLimit::per_minute(s.status_per_minute_per_client),
            writes_per_shop: RateLimit::per_minute(s.writes_per_minute_per_shop),
            test_emails: RateLimit::per_minute(TEST_EMAILS_PER_MINUTE),
        }
    }
}

/// Shops this process saw installed lately: intake asks the store about a shop at most once a
/// minute, not at every webhook. Only the yes is kept: a shop installed through another
/// instance is never refused for a stale no.
#[derive(Default)]
pub struct InstalledShops {
    seen: std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>,
}

impl InstalledShops {
    const FRESH: Duration = Duration::from_secs(60);
    /// Shops remembered at most; past it the memory starts over (each costs a read again).
    const MAX: usize = 100_000;

    pub fn recently(&self, shop: &str) -> bool {
        let seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        seen.get(shop).is_some_and(|at| at.elapsed() < Self::FRESH)
    }

    pub fn note(&self, shop: &str) {
        let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.len() >= Self::MAX {
            seen.clear();
        }
        seen.insert(shop.to_string(), std::time::Instant::now());
    }
}

pub struct AppState {
    /// The intake queue and its dead letters.
    pub queue: SharedQueue,
    /// The shop's records, typed: everything outside `books/` and `store/` reads and writes
    /// them through this.
    pub books: Books,
    /// Seals tokens at rest; `None` only where no encryption key is configured (`serve`
    /// refuses to start that way).
    pub sealer: Option<Arc<Sealer>>,
    pub platform: Arc<AdminClient>,
    pub metrics: Arc<Metrics>,
    pub settings: Arc<Settings>,
    /// Hands customer and merchant emails to the mail server (or the outbox directory).
    pub mailer: Arc<Mailer>,
    /// Which background tasks of this process run now (`/healthz`).
    pub liveness: Arc<crate::supervise::Liveness>,
    /// Panics a test injects into this service (inert otherwise).
    pub panics: crate::failpoint::Panics,
    /// The token of this process's operator endpoints (`http::operator`), made at start when
    /// it serves the embedded store; unset, they answer nobody.
    pub operator_token: std::sync::OnceLock<crate::secret::Secret>,
    /// One ledger event of a shop at a time in this process: commits are optimistic, and
    /// consumers racing on one hot variant would mostly redo each other's work.
    shop_locks: std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Requests a client, a status link or a shop may make of this process.
    pub limits: Limits,
    /// Shops seen installed lately, for intake.
    pub installed: InstalledShops,
    /// The queues status pages show, each read at most once per `limits.status_cache_ms`.
    pub status_queues: QueueCache,
    /// The intake lanes whose work this process does: its consumers read them, its effects
    /// dispatcher serves their shops (`worker::lanes`).
    pub lanes: crate::store::shard::OwnedLanes,
    /// Reworks of books after a rules change running in this process, by shop, with progress.
    reworks: std::sync::Mutex<std::collections::HashMap<String, Progress>>,
}

impl AppState {
    pub fn new(store: SharedStore, settings: Arc<Settings>) -> Self {
        let sealer = settings.sealer().map(Arc::new);
        let metrics = Arc::new(Metrics::new());
        let platform =
            AdminClient::new(ClientConfig::from_settings(&settings), metrics.clone()).expect("the HTTP client builds");
        // `config check` and `serve` refuse a bad email setting before this; anything else
        // (tests, benches) falls back to files in the outbox directory.
        let mailer = settings.email.mailer().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "email settings unusable; writing emails to the outbox directory");
            Mailer::new("", "backorders@localhost", &settings.email.outbox_dir)
                .expect("file outbox with a plain sender")
        });
        Self {
            books: Books::new(store.clone()),
            queue: store,
            sealer,
            platform: Arc::new(platform),
            mailer: Arc::new(mailer),
            metrics,
            liveness: Default::default(),
            panics: Default::default(),
            operator_token: Default::default(),
            limits: Limits::from_settings(&settings.limits),
            installed: InstalledShops::default(),
            status_queues: QueueCache::new(Duration::from_millis(settings.limits.status_cache_ms)),
            settings,
            shop_locks: Default::default(),
            lanes: Default::default(),
            reworks: Default::default(),
        }
    }

    /// The key of webhook signatures (the app's API secret).
    pub fn webhook_secret(&self) -> &[u8] {
        self.settings.api_secret().as_bytes()
    }

    /// The lock that serializes a shop's ledger events in this process.
    pub fn shop_lock(&self, shop: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.shop_locks.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        locks.entry(shop.to_string()).or_default().clone()
    }

    /// `true` if this caller may run the shop's rework: no other task of this process is.
    pub fn claim_rework(&self, shop: &str) -> bool {
        let mut reworks = self.reworks.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if reworks.contains_key(shop) {
            return false;
        }
        reworks.insert(shop.to_string(), Progress::default());
        true
    }

    pub fn set_rework_progress(&self, shop: &str, progress: Progress) {
        let mut reworks = self.reworks.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        reworks.insert(shop.to_string(), progress);
    }

    pub fn rework_progress(&self, shop: &str) -> Option<Progress> {
        self.reworks.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(shop).copied()
    }

    pub fn release_rework(&self, shop: &str) {
        self.reworks.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(shop);
    }

    pub fn dedupe_ttl(&self) -> Duration {
        Duration::from_secs(self.settings.queue.dedupe_hours * 3600)
    }
}
