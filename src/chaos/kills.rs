//! The kill schedule: SIGKILL for a service instance every few seconds (drawn from the seed),
//! and for Redis at moments spread evenly over the run; each comes back after a short pause.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use super::procs::{Instance, Redis};
use super::{ChaosArgs, Counts};

/// The kill schedule's inputs (a copy, for the task).
#[derive(Clone, Copy)]
pub(super) struct KillPlan {
    seed: u64,
    every: f64,
    duration: Duration,
    redis_kills: u32,
}

pub(super) fn args_snapshot(args: &ChaosArgs) -> KillPlan {
    KillPlan {
        seed: args.seed,
        every: args.kill_every_secs,
        duration: Duration::from_secs(args.duration_secs),
        redis_kills: args.redis_kills,
    }
}

/// Kills an instance (or, at moments spread over the run, Redis) with SIGKILL, waits a moment
/// and starts it again, until told to stop.
pub(super) async fn kill_loop(
    plan: KillPlan,
    instances: Arc<Mutex<Vec<Instance>>>,
    redis: Arc<Mutex<Option<Redis>>>,
    counts: Arc<std::sync::Mutex<Counts>>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    let mut rng = fastrand::Rng::with_seed(plan.seed.rotate_left(17) ^ 0xc4a05);
    let start = Instant::now();
    let has_redis = redis.lock().await.is_some();
    // Redis goes down at evenly spread moments of the run.
    let redis_kills = if has_redis { plan.redis_kills } else { 0 };
    let mut redis_at: Vec<Duration> =
        (1..=redis_kills).map(|k| plan.duration.mul_f64(f64::from(k) / f64::from(redis_kills + 1))).collect();
    loop {
        let wait = Duration::from_secs_f64(plan.every * (1.0 + rng.f64()));
        let wait = redis_at.first().map_or(wait, |at| wait.min(at.saturating_sub(start.elapsed())));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stopped.changed() => return,
        }
        if *stopped.borrow() {
            return;
        }
        let down = Duration::from_millis(rng.u64(100..=1000));
        if has_redis && redis_at.first().is_some_and(|at| start.elapsed() >= *at) {
            redis_at.remove(0);
            let mut slot = redis.lock().await;
            let r = slot.as_mut().expect("a Redis");
            r.kill().await;
            tokio::time::sleep(down).await;
            if let Err(e) = r.up().await {
                eprintln!("chaos: {e}");
            }
            counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner).redis_kills += 1;
            eprintln!("chaos: Redis killed at {:.1} s, back after {down:?}", start.elapsed().as_secs_f64());
        } else {
            let mut all = instances.lock().await;
            let i = rng.usize(..all.len());
            all[i].kill().await;
            tokio::time::sleep(down).await;
            if let Err(e) = all[i].up().await {
                eprintln!("chaos: {e}");
            }
            counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner).instance_kills += 1;
            eprintln!("chaos: instance {i} killed at {:.1} s, back after {down:?}", start.elapsed().as_secs_f64());
        }
    }
}
