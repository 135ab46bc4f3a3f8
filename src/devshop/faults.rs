//! Faults the dev shop injects into Admin API calls: drawn per call, for every shop or for one
//! shop alone, and a latch that holds a shop's calls until the test lets them through.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::watch;

use super::{Shared, lock};

/// Faults injected into Admin API calls, each drawn per call.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Share of calls answered 503.
    pub server_errors: f64,
    /// Share of calls answered 429 with `Retry-After`.
    pub too_many_requests: f64,
    /// Share of calls whose connection is dropped mid-reply.
    pub dropped: f64,
    /// Added to every call.
    pub latency: Duration,
    /// The `Retry-After` of a 429, in seconds.
    pub retry_after_secs: f64,
    /// Every n-th call (counted per dev shop) is answered 503, whatever the draw: a test that
    /// wants faults gets some for sure. 0 = none.
    pub every_nth_server_error: u64,
    /// Every n-th admitted call (counted per dev shop) has its reply dropped after it was
    /// applied, whatever the draw. 0 = none.
    pub every_nth_dropped: u64,
    /// Every call is answered 401, as Shopify answers a revoked token.
    pub denied: bool,
}

/// The latch of a shop's calls.
#[derive(Clone)]
pub(super) struct Gate {
    pub(super) open: watch::Receiver<bool>,
    pub(super) waiting: Arc<AtomicUsize>,
}

/// Holds a shop's calls until [`Held::release`] (or until dropped).
pub struct Held {
    pub(super) release: watch::Sender<bool>,
    pub(super) waiting: Arc<AtomicUsize>,
}

impl Held {
    /// Calls waiting on the latch now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }

    /// Lets the held calls, and every later one, through.
    pub fn release(&self) {
        let _ = self.release.send(true);
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.release();
    }
}

/// Waits while the shop's calls are held; outside every lock, so other shops go on.
pub(super) async fn pass_gate(shared: &Shared, shop: &str) {
    let gate = lock(&shared.holds).get(shop).cloned();
    let Some(Gate { mut open, waiting }) = gate else { return };
    waiting.fetch_add(1, Ordering::SeqCst);
    // A dropped handle ends the wait as a release does.
    let _ = open.wait_for(|open| *open).await;
    waiting.fetch_sub(1, Ordering::SeqCst);
}
