//! What request handlers and workers share.

use std::sync::Arc;
use std::time::Duration;

use crate::config::Settings;
use crate::metrics::Metrics;
use crate::store::SharedStore;

pub struct AppState {
    pub store: SharedStore,
    pub metrics: Arc<Metrics>,
    pub settings: Arc<Settings>,
}

impl AppState {
    pub fn new(store: SharedStore, settings: Arc<Settings>) -> Self {
        Self { store, metrics: Arc::new(Metrics::new()), settings }
    }

    /// The key of webhook signatures (the app's API secret).
    pub fn webhook_secret(&self) -> &[u8] {
        self.settings.api_secret().as_bytes()
    }

    pub fn dedupe_ttl(&self) -> Duration {
        Duration::from_secs(self.settings.queue.dedupe_hours * 3600)
    }
}
