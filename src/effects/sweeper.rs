//! The effects dispatcher: one supervised task per process that takes the shops with work due
//! from the store's due index (an idle shop is not there, so it costs nothing per sweep) and
//! serves each as a task of its own, a bounded number at a time, each with a deadline and
//! contained: a shop whose platform does not answer holds one slot while every other shop keeps
//! getting its tags, holds, policies and emails; a shop whose data makes the code panic, or
//! whose token the platform refuses, is backed off. Serving a shop is two steps: the owner's
//! timed jobs (`notify::owner`), then the effects pass over its settled marks; the shop is then
//! put back in the index at the time its next work is due, or taken out.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use super::EffectError;
use super::pass::{Denial, Pass, Reach, reconcile_with};
use crate::books::key;
use crate::state::AppState;
use crate::store::now_ms;

/// One shop's turn holds its slot at most this long. It starts no order after 20 s (`PASS`);
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

    /// When the shop's wait ends (ms since the epoch), while it waits.
    fn ends_ms(&self, shop: &str, now: Instant) -> Option<u64> {
        let (until, ..) = self.shops.get(shop).filter(|(until, ..)| *until > now)?;
        Some(now_ms().saturating_add(until.duration_since(now).as_millis() as u64))
    }
}

/// What serving a shop came to.
struct Served {
    pass: Pass,
    /// When the owner's next timed job is due (ms).
    jobs: Option<u64>,
}

/// How a shop's turn ended.
enum Ended {
    Passed(Served),
    Failed(EffectError),
    Panicked(String),
    TimedOut,
}

/// One shop's turn: its owner's timed jobs, then its effects pass. Both need the settings, read
/// here once.
async fn serve(state: &AppState, shop: &str, holder: &str, reach: Reach) -> Result<Served, EffectError> {
    state.panics.hit("shop", shop);
    let settings = state.books.get_or_default(shop, key::Settings).await?;
    let jobs = match crate::notify::owner::run_due(state, shop, &settings).await {
        Ok(next) => next,
        Err(e) => {
            tracing::warn!(shop, error = %e, "notify: the shop's timed jobs failed; trying again");
            Some(now_ms())
        }
    };
    let pass = reconcile_with(state, shop, holder, &settings, reach).await?;
    Ok(Served { pass, jobs })
}

/// The shops' turns in flight, and what the dispatcher remembers between sweeps.
pub struct Dispatch {
    state: Arc<AppState>,
    holder: String,
    backoff: ShopBackoff,
    running: JoinSet<(Reach, Ended)>,
    /// The shop of each turn in flight, with its score in the due index when it was taken.
    in_flight: HashMap<tokio::task::Id, (String, u64)>,
}

impl Dispatch {
    pub fn new(state: Arc<AppState>, holder: String) -> Self {
        Self { state, holder, backoff: ShopBackoff::default(), running: JoinSet::new(), in_flight: HashMap::new() }
    }

    /// Takes in the turns that ended, then starts one for each shop with work due that has none
    /// in flight, earliest due first, up to `effects.shops_in_flight` at once. The marks settled
    /// by the passes that ended.
    pub async fn sweep(&mut self) -> Result<usize, EffectError> {
        let mut settled = 0;
        while let Some(joined) = self.running.try_join_next_with_id() {
            settled += self.ended(joined).await;
        }
        let state = self.state.clone();
        let books = &state.books;
        let limit = self.state.settings.effects.shops_in_flight.max(1);
        let free = limit.saturating_sub(self.running.len());
        if free == 0 {
            return Ok(settled);
        }
        // A shop in flight is listed again when something made it due meanwhile (its turn
        // leaves it due then); asking for that many more still fills every free slot.
        let lanes = state.lanes.current(state.queue.shards());
        let due = books.due(&lanes, now_ms(), limit + self.running.len()).await?;
        let busy: HashSet<String> = self.in_flight.values().map(|(shop, _)| shop.clone()).collect();
        let mut started = 0;
        for (shop, seen) in due {
            if started == free {
                break;
            }
            if busy.contains(&shop) {
                continue;
            }
            let now = Instant::now();
            match self.backoff.reach(&shop, now) {
                Some(reach) => {
                    self.start(shop, seen, reach);
                    started += 1;
                }
                // Backed off whole: due again when its wait ends, and not looked at before.
                None => {
                    let until = self.backoff.ends_ms(&shop, now).unwrap_or_else(now_ms);
                    books.reschedule(&shop, seen, Some(until)).await?;
                }
            }
        }
        Ok(settled)
    }

    /// Waits a little for the turns in flight, then cuts them short.
    pub async fn finish(mut self) {
        let _ = tokio::time::timeout(FINISH, async {
            while let Some(joined) = self.running.join_next_with_id().await {
                self.ended(joined).await;
            }
        })
        .await;
    }

    fn start(&mut self, shop: String, seen: u64, reach: Reach) {
        use futures_util::FutureExt;
        let (state, holder, name) = (self.state.clone(), self.holder.clone(), shop.clone());
        let task = self.running.spawn(async move {
            let turn = std::panic::AssertUnwindSafe(serve(&state, &shop, &holder, reach));
            let ended = match tokio::time::timeout(DEADLINE, turn.catch_unwind()).await {
                Ok(Ok(Ok(served))) => Ended::Passed(served),
                Ok(Ok(Err(e))) => Ended::Failed(e),
                Ok(Err(payload)) => Ended::Panicked(crate::supervise::panic_message(payload.as_ref())),
                Err(_) => Ended::TimedOut,
            };
            if matches!(ended, Ended::Panicked(_)) {
                // The lease would otherwise hold the shop from other instances until it lapses.
                let _ = state.books.release_lease(&shop, "effects", &holder).await;
            }
            // A pass cut by its deadline keeps the lease until it lapses: calls it cut short
            // may still be applied by the platform, and another instance reading the orders
            // meanwhile would send them again.
            (reach, ended)
        });
        self.in_flight.insert(task.id(), (name, seen));
    }

    /// Books one ended turn and puts the shop back in the due index at the time its next work
    /// is due (or takes it out); the marks it settled.
    async fn ended(&mut self, joined: Result<(tokio::task::Id, (Reach, Ended)), tokio::task::JoinError>) -> usize {
        let ((shop, seen), reach, ended) = match joined {
            Ok((id, (reach, ended))) => (self.in_flight.remove(&id).unwrap_or_default(), reach, ended),
            // The turn is contained, so only an abort (the dispatcher going away) ends it so. Its
            // shop stays due as it was, for the next sweep (of this process or another).
            Err(e) => {
                self.in_flight.remove(&e.id());
                return 0;
            }
        };
        let now = Instant::now();
        let (settled, next) = match ended {
            Ended::Passed(Served { pass, jobs }) => {
                if let Some(denial) = pass.denied {
                    let wait = self.backoff.strike(&shop, now, Reason::Denied(denial));
                    self.state.metrics.shop_backed_off("denied");
                    tracing::warn!(shop = %shop, ?denial, retry_in_ms = wait.as_millis() as u64, "effects: the platform refused the shop; its calls wait, its emails go on");
                } else if reach == Reach::Full {
                    self.backoff.passed(&shop);
                }
                // The platform's part comes due when the shop's wait ends; at once if it has none.
                let platform = pass.waits_on_platform.then(|| self.backoff.ends_ms(&shop, now).unwrap_or_else(now_ms));
                (pass.settled, [pass.next_ms, jobs, platform].into_iter().flatten().min())
            }
            Ended::Failed(e) => {
                tracing::warn!(shop = %shop, error = %e, "effects: shop not reconciled this pass");
                (0, Some(now_ms()))
            }
            Ended::Panicked(panic) => {
                self.state.metrics.shop_pass_panicked();
                self.state.metrics.shop_backed_off("panicked");
                let wait = self.backoff.strike(&shop, now, Reason::Panicked);
                tracing::error!(shop = %shop, panic = %panic, retry_in_ms = wait.as_millis() as u64, "effects: the shop's pass panicked; backing it off");
                (0, Some(self.backoff.ends_ms(&shop, now).unwrap_or_else(now_ms)))
            }
            Ended::TimedOut => {
                tracing::warn!(shop = %shop, deadline_s = DEADLINE.as_secs(), "effects: the shop's pass was cut short at its deadline");
                (0, Some(now_ms()))
            }
        };
        // Compared with the score the turn started from: a commit since then changed it, and
        // the shop stays due for the work that commit made.
        if let Err(e) = self.state.books.reschedule(&shop, seen, next).await {
            tracing::warn!(shop = %shop, error = %e, "effects: could not reschedule the shop; it stays due");
        }
        settled
    }
}
