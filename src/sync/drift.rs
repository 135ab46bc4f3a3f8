//! Drift repair by itself (SPEC 9): every `reconcile.interval_secs`, each installed shop's
//! managed variants are compared with the platform and what differs is booked, without anyone
//! running a command. Webhooks get lost (Shopify gives up after its retries, and removes a
//! subscription that keeps failing); this is what makes the books right again.
//!
//! A shop's first pass reads every open order; later passes read only the orders updated since
//! the last one began, with an overlap for clocks and for orders written while it ran. Passes
//! are spread over the interval by shop, run a few at a time (a slow shop holds one slot), and a
//! shop's pass is run by the instance that owns its intake lane (`worker::lanes`), under a
//! lease that makes one instance at a time do it even while the lanes move. What a pass
//! repaired is counted in `/metrics` and kept for the merchant (the latest [`KEPT`] repairs).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use super::reconcile::{self, Report, Scope};
use crate::books::{BookError, Edit};
use crate::record_key;
use crate::state::AppState;
use crate::store::{Record, now_ms};

/// Repairs kept per shop for its activity view.
pub const KEPT: usize = 100;
/// Orders updated this long before the last pass began are read again: platform clocks, and
/// orders written while the last pass read.
const OVERLAP_MS: i64 = 5 * 60 * 1000;
/// The installed shops are listed again this often, or every interval when that is shorter
/// (new installs join the rotation).
const RESEED: Duration = Duration::from_secs(600);
/// One pass holds its lease at most this long; a crashed instance's shops move on after it.
const LEASE: Duration = Duration::from_secs(15 * 60);
const LEASE_NAME: &str = "drift";

/// One pass that repaired something.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repair {
    pub at_ms: u64,
    pub levels: usize,
    pub orders_added: usize,
    pub orders_updated: usize,
    pub orders_closed: usize,
}

/// A shop's drift repair as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftState {
    /// When the last complete pass began (ms): the next reads orders updated since then.
    pub last_started_ms: Option<u64>,
    pub last_finished_ms: Option<u64>,
    /// A full pass is owed (a reinstall): the next pass reads every open order.
    #[serde(default)]
    pub full_owed: bool,
    /// The latest passes that repaired something, oldest first.
    pub repairs: VecDeque<Repair>,
}

record_key!(
    /// The shop's drift repair: when it last ran, and what it repaired lately.
    DriftKey => DriftState, Record::Drift
);

/// The running drift repair of one process.
pub struct Drift {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Drift {
    pub fn spawn(state: Arc<AppState>) -> Self {
        let (stop, stopped) = watch::channel(false);
        let holder = format!("{:016x}", fastrand::u64(..));
        let (liveness, metrics) = (state.liveness.clone(), state.metrics.clone());
        let run = stopped.clone();
        let task = crate::supervise::supervise("drift".into(), liveness, metrics, stopped, move || {
            let (state, holder, stopped) = (state.clone(), holder.clone(), run.clone());
            rotation(state, holder, stopped)
        });
        Self { stop, task }
    }

    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// The interval, and where in it a shop's passes fall: the same spot on every instance.
fn interval_ms(state: &AppState) -> u64 {
    state.settings.reconcile.interval_secs.saturating_mul(1000).max(1)
}

fn offset_ms(shop: &str, interval: u64) -> u64 {
    use sha2::Digest;
    let hash = sha2::Sha256::digest(shop.as_bytes());
    u64::from_be_bytes(hash[..8].try_into().expect("8 bytes")) % interval
}

async fn rotation(state: Arc<AppState>, holder: String, mut stopped: watch::Receiver<bool>) {
    let interval = interval_ms(&state);
    let in_flight = state.settings.reconcile.shops_in_flight.max(1);
    let mut due: BinaryHeap<Reverse<(u64, String)>> = BinaryHeap::new();
    let mut known: HashSet<String> = HashSet::new();
    let mut running: JoinSet<(String, u64)> = JoinSet::new();
    let mut busy: HashSet<String> = HashSet::new();
    let mut reseed_at = tokio::time::Instant::now();
    let tick = Duration::from_millis((interval / 10).clamp(50, 5_000));
    while !*stopped.borrow() {
        if tokio::time::Instant::now() >= reseed_at {
            // Never less often than a pass is due: a shop installed meanwhile joins in time.
            reseed_at = tokio::time::Instant::now() + RESEED.min(Duration::from_millis(interval));
            match seed(&state, interval, &known).await {
                Ok(new) => {
                    for (at, shop) in new {
                        known.insert(shop.clone());
                        due.push(Reverse((at, shop)));
                    }
                }
                Err(e) => tracing::warn!(error = %e, "drift: cannot list the installed shops; trying again"),
            }
        }
        while let Some(joined) = running.try_join_next() {
            if let Ok((shop, next)) = joined {
                busy.remove(&shop);
                if next == u64::MAX {
                    // Uninstalled: a later listing brings it back once it is installed again.
                    known.remove(&shop);
                } else {
                    due.push(Reverse((next, shop)));
                }
            }
        }
        let now = now_ms();
        let lanes = state.lanes.current(state.queue.shards());
        while running.len() < in_flight && due.peek().is_some_and(|Reverse((at, _))| *at <= now) {
            let Some(Reverse((_, shop))) = due.pop() else { break };
            // Another instance owns the shop's lane, and with it the shop's pass: looked at
            // again at its next turn, in case the lane has come here by then.
            if !lanes.contains(&state.queue.lane_of(&shop)) {
                due.push(Reverse((now.saturating_add(interval), shop)));
                continue;
            }
            if !busy.insert(shop.clone()) {
                continue;
            }
            let (state, holder) = (state.clone(), holder.clone());
            running.spawn(async move {
                // A rework of the books cut short (a restart) is taken up again here, whether
                // or not anyone opens the settings; it is local work, so it does not wait for
                // the platform's part of the pass.
                if let Err(e) = super::rework::resume(state.clone(), &shop).await {
                    tracing::warn!(shop = %shop, error = %e, "drift: a pending rework could not be resumed");
                }
                let next = pass(&state, &shop, &holder, interval).await;
                (shop, next)
            });
        }
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = stopped.changed() => {}
        }
    }
    running.abort_all();
}

/// The installed shops not yet in the rotation, each with its first due time.
async fn seed(state: &AppState, interval: u64, known: &HashSet<String>) -> Result<Vec<(u64, String)>, BookError> {
    let mut new = Vec::new();
    for shop in state.books.shops().await? {
        if known.contains(&shop) || !crate::auth::install::exists(&state.books, &shop).await? {
            continue;
        }
        let drift = state.books.get_or_default(&shop, DriftKey).await?;
        let at = match drift.last_started_ms {
            Some(last) if !drift.full_owed => last.saturating_add(interval),
            // Never repaired: spread over the interval, so a restart does not read every shop at once.
            _ => now_ms().saturating_add(offset_ms(&shop, interval)),
        };
        new.push((at, shop));
    }
    Ok(new)
}

/// One shop's turn; answers when its next is due.
async fn pass(state: &AppState, shop: &str, holder: &str, interval: u64) -> u64 {
    match run_pass(state, shop, holder, interval).await {
        Ok(next) => next,
        Err(e) => {
            state.metrics.drift_pass("failed");
            tracing::warn!(shop, error = %e, "drift: the pass failed; trying again next interval");
            now_ms().saturating_add(interval)
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum PassError {
    #[error(transparent)]
    Books(#[from] BookError),
    #[error(transparent)]
    Reconcile(#[from] reconcile::ReconcileError),
}

async fn run_pass(state: &AppState, shop: &str, holder: &str, interval: u64) -> Result<u64, PassError> {
    let books = &state.books;
    let drift = books.get_or_default(shop, DriftKey).await?;
    // Another instance ran it within the interval: due when that one's interval ends.
    if let Some(last) = drift.last_started_ms.filter(|_| !drift.full_owed)
        && last.saturating_add(interval) > now_ms()
    {
        return Ok(last.saturating_add(interval));
    }
    if !books.try_lease(shop, LEASE_NAME, holder, LEASE).await? {
        return Ok(now_ms().saturating_add(interval));
    }
    if !crate::auth::install::exists(books, shop).await? {
        books.release_lease(shop, LEASE_NAME, holder).await?;
        // Uninstalled: out of the rotation until a reseed finds it installed again.
        return Ok(u64::MAX);
    }
    let started = now_ms();
    let scope = match drift.last_started_ms {
        Some(last) if !drift.full_owed => Scope::UpdatedSince(last as i64 - OVERLAP_MS),
        _ => Scope::Full,
    };
    let outcome = reconcile::run(state, shop, scope, |_| {}, None).await;
    books.release_lease(shop, LEASE_NAME, holder).await?;
    let report = outcome?;
    record(state, shop, started, &report).await?;
    Ok(started.saturating_add(interval))
}

/// Counts what the pass repaired and keeps it for the merchant.
async fn record(state: &AppState, shop: &str, started: u64, report: &Report) -> Result<(), BookError> {
    let m = &state.metrics;
    m.drift_pass("ok");
    m.drift_repaired("level", report.levels_repaired as u64);
    m.drift_repaired("order_added", report.orders_added as u64);
    m.drift_repaired("order_updated", report.orders_updated as u64);
    m.drift_repaired("order_closed", report.orders_closed as u64);
    let repair = Repair {
        at_ms: started,
        levels: report.levels_repaired,
        orders_added: report.orders_added,
        orders_updated: report.orders_updated,
        orders_closed: report.orders_closed,
    };
    let repaired = repair.levels + repair.orders_added + repair.orders_updated + repair.orders_closed > 0;
    if repaired {
        tracing::info!(shop, ?repair, "drift: repaired from the platform");
    }
    state
        .books
        .update(shop, DriftKey, |drift| {
            let mut drift = drift.unwrap_or_default();
            drift.last_started_ms = Some(started);
            drift.last_finished_ms = Some(now_ms());
            drift.full_owed = false;
            if repaired {
                drift.repairs.push_back(repair.clone());
                while drift.repairs.len() > KEPT {
                    drift.repairs.pop_front();
                }
            }
            Edit::put(drift, ())
        })
        .await
}

/// The shop's drift pass now, as its turn in the rotation runs it (the demo shows one without
/// waiting an interval): leased, recorded and counted the same way. What it repaired.
pub async fn pass_now(state: &AppState, shop: &str) -> Result<Option<Repair>, String> {
    let holder = format!("{:016x}", fastrand::u64(..));
    let started = now_ms();
    run_pass(state, shop, &holder, 0).await.map_err(|e| e.to_string())?;
    let drift = state.books.get_or_default(shop, DriftKey).await.map_err(|e| e.to_string())?;
    Ok(drift.repairs.back().filter(|r| r.at_ms >= started).cloned())
}

/// Asks for a full pass of the shop at its next turn (a reinstall: the ledger was kept, but
/// anything may have happened while the app was away).
pub async fn owe_full_pass(state: &AppState, shop: &str) -> Result<(), BookError> {
    state
        .books
        .update(shop, DriftKey, |drift| {
            let mut drift = drift.unwrap_or_default();
            drift.full_owed = true;
            Edit::put(drift, ())
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shops_place_in_the_interval_is_stable_and_inside_it() {
        let interval = 900_000;
        let a = offset_ms("a.myshopify.com", interval);
        assert_eq!(a, offset_ms("a.myshopify.com", interval));
        assert!(a < interval);
        let spots: HashSet<u64> = (0..50).map(|i| offset_ms(&format!("s{i}.myshopify.com"), interval)).collect();
        assert!(spots.len() > 40, "shops spread over the interval");
    }
}
