//! Background tasks that do not die quietly: each runs under a supervisor that restarts it when
//! it ends or panics before the process is stopping, counts the restart, and reports the task
//! down meanwhile, so `/healthz` answers 503 while any of them cannot run.
//!
//! A handler panicking on one bad record must not leave a shop, or every shop, without tags,
//! holds and emails while the process looks healthy; a restart loop that never succeeds keeps
//! the task reported down, which is what an orchestrator needs to replace the process.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use futures_util::FutureExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::metrics::Metrics;

/// Which supervised tasks of this process are running now, by name.
#[derive(Debug, Default)]
pub struct Liveness {
    tasks: Mutex<BTreeMap<String, bool>>,
}

impl Liveness {
    fn set(&self, task: &str, running: bool) {
        self.tasks.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(task.to_string(), running);
    }

    /// The tasks that should be running and are not.
    pub fn down(&self) -> Vec<String> {
        let tasks = self.tasks.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        tasks.iter().filter(|(_, running)| !**running).map(|(name, _)| name.clone()).collect()
    }

    /// A task that stopped on purpose (shutdown) is no longer expected.
    fn retire(&self, task: &str) {
        self.tasks.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(task);
    }
}

/// The text of a panic's payload, for the log.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// Runs the future `make` builds, again and again until `stop` says so: after it returns or
/// panics, the task is reported down, the restart counted, and it is built anew after a pause
/// that grows while it keeps failing (up to a minute).
pub fn supervise<F, Fut>(
    name: String,
    liveness: Arc<Liveness>,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
    make: F,
) -> JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        let mut failures = 0u32;
        loop {
            liveness.set(&name, true);
            let outcome = std::panic::AssertUnwindSafe(make()).catch_unwind().await;
            if *stop.borrow() {
                break;
            }
            liveness.set(&name, false);
            failures += 1;
            metrics.task_restarted(&name);
            match outcome {
                Ok(()) => tracing::error!(task = %name, failures, "background task ended on its own; restarting it"),
                Err(payload) => {
                    let panic = panic_message(payload.as_ref());
                    tracing::error!(task = %name, failures, panic = %panic, "background task panicked; restarting it");
                }
            }
            let pause = crate::retry::backoff(failures, 100, 60_000);
            if tokio::time::timeout(pause, stop.changed()).await.is_ok() && *stop.borrow() {
                break;
            }
        }
        liveness.retire(&name);
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn a_task_that_panics_is_reported_down_counted_and_restarted() {
        let liveness = Arc::new(Liveness::default());
        let metrics = Arc::new(Metrics::new());
        let (stop, stopped) = watch::channel(false);
        let runs = Arc::new(AtomicU32::new(0));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let counter = runs.clone();
        let task = supervise("sweeper".into(), liveness.clone(), metrics.clone(), stopped, move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let tx = tx.clone();
            async move {
                if n == 0 {
                    panic!("first run fails");
                }
                let _ = tx.send(n);
                std::future::pending::<()>().await
            }
        });
        assert_eq!(rx.recv().await, Some(1), "the second run started after the panic");
        assert!(liveness.down().is_empty(), "running again");
        assert!(metrics.render(None).contains(r#"backorder_task_restarts_total{task="sweeper"} 1"#));
        stop.send(true).unwrap();
        task.abort();
    }

    #[test]
    fn a_task_down_is_listed_until_it_runs_or_retires() {
        let l = Liveness::default();
        l.set("workers", false);
        assert_eq!(l.down(), ["workers"]);
        l.set("workers", true);
        assert!(l.down().is_empty());
        l.set("workers", false);
        l.retire("workers");
        assert!(l.down().is_empty());
    }
}
