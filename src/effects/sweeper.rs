//! The effects sweeper: one supervised task per process that dispatches every shop's pass as a
//! task of its own, a bounded number at a time, each with a deadline and contained: a shop whose
//! platform does not answer holds one slot while every other shop keeps getting its tags, holds,
//! policies and emails; a shop whose data makes the code panic, or whose token the platform
//! refuses, is backed off.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use super::EffectError;
use super::pass::{Denial, Pass, Reach, reconcile_shop_reaching};
use crate::state::AppState;

/// One shop's pass holds its slot at most this long. It starts no order after 20 s (`PASS`);
/// this bounds the calls still in flight then (each up to the client's whole retry budget).
/// A pass cut short is like a crash: the marks stay and the next pass compares again.
const DEADLINE: Duration = Duration::from_secs(120);
/// On shutdown, passes in flight get this long to finish before they are cut short.
const FINISH: Duration = Duration::from_secs(5);

/// The running sweeper of one process.
pub struct Effects {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Effects {
    pub fn spawn(state: Arc<AppState>, every: Duration) -> Self {
        let (stop, stopped) = watch::channel(false);
        let holder = format!("{:016x}", fastrand::u64(..));
        let (liveness, metrics) = (state.liveness.clone(), state.metrics.clone());
        let run = stopped.clone();
        let task = crate::supervise::supervise("effects".into(), liveness, metrics, stopped, move || {
            let (state, holder, mut stopped) = (state.clone(), holder.clone(), run.clone());
            async move {
                let mut dispatch = Dispatch::new(state.clone(), holder);
                while !*stopped.borrow() {
                    state.panics.hit("task", "effects");
                    if let Err(e) = dispatch.sweep().await {
                        tracing::warn!(error = %e, "effects: sweep failed; trying again");
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(every) => {}
                        _ = stopped.changed() => {}
                    }
                }
                dispatch.finish().await;
            }
        });
        Self { stop, task }
    }

    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Why a shop waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    /// Its pass panicked: nothing of it runs until the wait is over.
    Panicked,
    /// The platform refused it: its emails still go, its platform calls wait.
    Denied(Denial),
}

/// Shops that are backed off, why, and until when: a shop whose data makes the code panic, or
/// whose token the platform refuses, waits (longer each time, up to an hour) while every other
/// shop goes on.
#[derive(Debug, Default)]
pub struct ShopBackoff {
    shops: HashMap<String, (Instant, u32, Reason)>,
}

impl ShopBackoff {
    /// What the shop's pass may do now; `None`: nothing.
    fn reach(&self, shop: &str, now: Instant) -> Option<Reach> {
        match self.shops.get(shop) {
            Some((until, _, Reason::Panicked)) if now < *until => None,
            Some((until, _, Reason::Denied(_))) if now < *until => Some(Reach::MailOnly),
            _ => Some(Reach::Full),
        }
    }

    fn strike(&mut self, shop: &str, now: Instant, reason: Reason) -> Duration {
        let strikes = self.shops.get(shop).map_or(0, |(_, n, _)| *n) + 1;
        // A panic may be a passing state of the data: tried again within a second. A refusal
        // lasts until the merchant acts (reinstalls, or `app/uninstalled` arrives): minutes.
        let base = if reason == Reason::Panicked { 1_000 } else { 120_000 };
        let wait = crate::retry::backoff(strikes, base, 3_600_000);
        self.shops.insert(shop.to_string(), (now + wait, strikes, reason));
        wait
    }

    fn passed(&mut self, shop: &str) {
        self.shops.remove(shop);
    }
}

/// How a shop's pass ended.
enum Ended {
    Passed(Pass),
    Failed(EffectError),
    Panicked(String),
    TimedOut,
}

/// The shops' passes in flight, and what the sweeper remembers between sweeps.
pub struct Dispatch {
    state: Arc<AppState>,
    holder: String,
    backoff: ShopBackoff,
    running: JoinSet<(Reach, Ended)>,
    /// The shop of each pass in flight.
    in_flight: HashMap<tokio::task::Id, String>,
    /// When each shop's last pass started: the longest waiting go first, so with more shops
    /// than slots every shop gets its turn.
    started: HashMap<String, Instant>,
}

impl Dispatch {
    pub fn new(state: Arc<AppState>, holder: String) -> Self {
        Self {
            state,
            holder,
            backoff: ShopBackoff::default(),
            running: JoinSet::new(),
            in_flight: HashMap::new(),
            started: HashMap::new(),
        }
    }

    /// Takes in the passes that ended, then starts one for every shop that has none in flight
    /// and is not backed off, up to `effects.shops_in_flight` at once. The marks settled by the
    /// passes that ended.
    pub async fn sweep(&mut self) -> Result<usize, EffectError> {
        let mut settled = 0;
        while let Some(joined) = self.running.try_join_next_with_id() {
            settled += self.ended(joined);
        }
        let limit = self.state.settings.effects.shops_in_flight.max(1);
        let now = Instant::now();
        let busy: HashSet<&String> = self.in_flight.values().collect();
        let mut due: Vec<(Option<Instant>, String, Reach)> = Vec::new();
        for shop in self.state.books.shops().await? {
            if busy.contains(&shop) {
                continue;
            }
            if let Some(reach) = self.backoff.reach(&shop, now) {
                due.push((self.started.get(&shop).copied(), shop, reach));
            }
        }
        due.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        for (_, shop, reach) in due.into_iter().take(limit.saturating_sub(self.running.len())) {
            self.start(shop, reach);
        }
        Ok(settled)
    }

    /// Waits a little for the passes in flight, then cuts them short.
    pub async fn finish(mut self) {
        let _ = tokio::time::timeout(FINISH, async {
            while let Some(joined) = self.running.join_next_with_id().await {
                self.ended(joined);
            }
        })
        .await;
    }

    fn start(&mut self, shop: String, reach: Reach) {
        use futures_util::FutureExt;
        self.started.insert(shop.clone(), Instant::now());
        let (state, holder, name) = (self.state.clone(), self.holder.clone(), shop.clone());
        let task = self.running.spawn(async move {
            let pass = std::panic::AssertUnwindSafe(reconcile_shop_reaching(&state, &shop, &holder, reach));
            let ended = match tokio::time::timeout(DEADLINE, pass.catch_unwind()).await {
                Ok(Ok(Ok(pass))) => Ended::Passed(pass),
                Ok(Ok(Err(e))) => Ended::Failed(e),
                Ok(Err(payload)) => Ended::Panicked(crate::supervise::panic_message(payload.as_ref())),
                Err(_) => Ended::TimedOut,
            };
            if matches!(ended, Ended::Panicked(_) | Ended::TimedOut) {
                // The lease would otherwise hold the shop from other instances until it lapses.
                let _ = state.books.release_lease(&shop, "effects", &holder).await;
            }
            (reach, ended)
        });
        self.in_flight.insert(task.id(), name);
    }

    /// Books one ended pass; the marks it settled.
    fn ended(&mut self, joined: Result<(tokio::task::Id, (Reach, Ended)), tokio::task::JoinError>) -> usize {
        let (shop, reach, ended) = match joined {
            Ok((id, (reach, ended))) => (self.in_flight.remove(&id).unwrap_or_default(), reach, ended),
            // The pass is contained, so only an abort (the sweeper going away) ends it so.
            Err(e) => {
                self.in_flight.remove(&e.id());
                return 0;
            }
        };
        let now = Instant::now();
        match ended {
            Ended::Passed(pass) => {
                if let Some(denial) = pass.denied {
                    let wait = self.backoff.strike(&shop, now, Reason::Denied(denial));
                    self.state.metrics.shop_backed_off("denied");
                    tracing::warn!(shop = %shop, ?denial, retry_in_ms = wait.as_millis() as u64, "effects: the platform refused the shop; its calls wait, its emails go on");
                } else if reach == Reach::Full {
                    self.backoff.passed(&shop);
                }
                return pass.settled;
            }
            Ended::Failed(e) => tracing::warn!(shop = %shop, error = %e, "effects: shop not reconciled this pass"),
            Ended::Panicked(panic) => {
                self.state.metrics.shop_pass_panicked();
                self.state.metrics.shop_backed_off("panicked");
                let wait = self.backoff.strike(&shop, now, Reason::Panicked);
                tracing::error!(shop = %shop, panic = %panic, retry_in_ms = wait.as_millis() as u64, "effects: the shop's pass panicked; backing it off");
            }
            Ended::TimedOut => {
                tracing::warn!(shop = %shop, deadline_s = DEADLINE.as_secs(), "effects: the shop's pass was cut short at its deadline");
            }
        }
        0
    }
}
