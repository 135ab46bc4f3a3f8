//! The effects sweeper: one supervised task per process that passes over every shop, each
//! shop's pass contained, so a shop whose data makes the code panic is backed off while every
//! other shop keeps getting its tags, holds, policies and emails.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{EffectError, reconcile_shop};
use crate::state::AppState;

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
                let mut backoff = ShopBackoff::default();
                while !*stopped.borrow() {
                    state.panics.hit("task", "effects");
                    if let Err(e) = sweep_contained(&state, &holder, &mut backoff).await {
                        tracing::warn!(error = %e, "effects: sweep failed; trying again");
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(every) => {}
                        _ = stopped.changed() => {}
                    }
                }
            }
        });
        Self { stop, task }
    }

    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Shops whose pass panicked, and when each may be tried again: a shop whose data makes the
/// code panic waits (longer each time, up to an hour) while every other shop goes on.
#[derive(Debug, Default)]
pub struct ShopBackoff {
    shops: std::collections::HashMap<String, (Instant, u32)>,
}

impl ShopBackoff {
    fn waiting(&self, shop: &str, now: Instant) -> bool {
        self.shops.get(shop).is_some_and(|(until, _)| now < *until)
    }

    fn panicked(&mut self, shop: &str, now: Instant) -> Duration {
        let strikes = self.shops.get(shop).map_or(0, |(_, n)| *n) + 1;
        let wait = crate::retry::backoff(strikes, 1_000, 3_600_000);
        self.shops.insert(shop.to_string(), (now + wait, strikes));
        wait
    }

    fn passed(&mut self, shop: &str) {
        self.shops.remove(shop);
    }
}

/// One pass over every shop.
pub async fn sweep(state: &AppState, holder: &str) -> Result<usize, EffectError> {
    sweep_contained(state, holder, &mut ShopBackoff::default()).await
}

/// One pass over every shop not backed off, each shop's pass contained: a panic in one is
/// logged with the shop, counted, and backs that shop off; the pass goes on with the next.
pub async fn sweep_contained(state: &AppState, holder: &str, backoff: &mut ShopBackoff) -> Result<usize, EffectError> {
    use futures_util::FutureExt;
    let mut settled = 0;
    for shop in state.store.shops().await? {
        if backoff.waiting(&shop, Instant::now()) {
            continue;
        }
        let pass = std::panic::AssertUnwindSafe(reconcile_shop(state, &shop, holder)).catch_unwind().await;
        match pass {
            Ok(Ok(n)) => {
                settled += n;
                backoff.passed(&shop);
            }
            Ok(Err(e)) => tracing::warn!(shop = %shop, error = %e, "effects: shop not reconciled this pass"),
            Err(payload) => {
                state.metrics.shop_pass_panicked();
                let wait = backoff.panicked(&shop, Instant::now());
                let panic = crate::supervise::panic_message(payload.as_ref());
                tracing::error!(shop = %shop, panic = %panic, retry_in_ms = wait.as_millis() as u64, "effects: the shop's pass panicked; backing it off");
                // The lease would otherwise hold the shop from other instances until it lapses.
                let _ = state.store.release_lease(&shop, "effects", holder).await;
            }
        }
    }
    Ok(settled)
}
