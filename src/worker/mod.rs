//! Queue consumers: drain the queue at least once, process idempotently, retry with backoff,
//! dead-letter after a bounded number of attempts, and take over entries of consumers that died.

mod customers;
mod lanes;
mod lifecycle;
mod router;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, mpsc, watch};
use tokio::task::JoinHandle;

use crate::failpoint::{self, points};
use crate::metrics::Processed;
use crate::retry::backoff;
use crate::state::AppState;
use crate::store::QueueEntry;

pub use router::Handled;

/// An entry read from a lane, on its way to a worker, with when it was read.
struct Taken {
    entry: QueueEntry,
    taken: Instant,
}

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Retrying cannot help (malformed body): dead-letter at once.
    #[error("{0}")]
    Permanent(String),
    /// The store or the platform failed; try again later.
    #[error("{0}")]
    Transient(String),
    /// The shop was redacted after this webhook arrived: it is dropped, and nothing is kept.
    #[error("the shop was redacted")]
    ShopGone,
}

/// The one place a book error becomes a queue decision: a corrupt record or an inconsistent
/// book will read the same on every try (dead-letter it); the rest can pass.
impl From<crate::books::BookError> for HandlerError {
    fn from(e: crate::books::BookError) -> Self {
        match e {
            crate::books::BookError::Gone => HandlerError::ShopGone,
            e if e.is_transient() => HandlerError::Transient(e.to_string()),
            e => HandlerError::Permanent(e.to_string()),
        }
    }
}

/// The running consumers of one process.
pub struct Workers {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Workers {
    pub fn spawn(state: Arc<AppState>) -> Self {
        let (stop, _) = watch::channel(false);
        let instance = format!("{:08x}", fastrand::u32(..));
        let mut tasks = Vec::new();
        let q = &state.settings.queue;
        if q.workers == 0 {
            return Self { stop, tasks };
        }
        // The lanes' readers hand entries to the workers through a short channel: a reader
        // waits while the workers are busy, so entries stay in the store, not in memory.
        let (to_workers, from_readers) = mpsc::channel::<Taken>(q.workers.max(1) * q.batch.max(1));
        let from_readers = Arc::new(Mutex::new(from_readers));
        // Each under a supervisor: a consumer that panics on an entry is restarted (the entry
        // is re-claimed and, after its attempts, dead-lettered) instead of silently missing.
        let supervised = |task: &str, role: fn(Worker) -> futures_util::future::BoxFuture<'static, ()>| {
            let (state, instance, stopped) = (state.clone(), instance.clone(), stop.subscribe());
            let worker_stop = stop.subscribe();
            let (to_workers, from_readers) = (to_workers.clone(), from_readers.clone());
            crate::supervise::supervise(
                format!("queue-{task}"),
                state.liveness.clone(),
                state.metrics.clone(),
                stopped,
                move || {
                    role(Worker {
                        state: state.clone(),
                        instance: instance.clone(),
                        stop: worker_stop.clone(),
                        to_workers: to_workers.clone(),
                        from_readers: from_readers.clone(),
                    })
                },
            )
        };
        for n in 0..q.workers {
            tasks.push(supervised(&format!("consumer-{n}"), |w| Box::pin(w.consume())));
        }
        tasks.push(supervised("lanes", |w| Box::pin(w.steward())));
        tasks.push(supervised("reclaim", |w| Box::pin(w.reclaim())));
        tasks.push(supervised("maintain", |w| Box::pin(w.maintain())));
        Self { stop, tasks }
    }

    /// Lets every consumer finish the entry in hand, then returns. Entries not yet started stay
    /// in the queue for the next process; the lanes are given up for the other instances.
    pub async fn shutdown(self, grace: Duration) {
        let _ = self.stop.send(true);
        let all = futures_util::future::join_all(self.tasks);
        if tokio::time::timeout(grace, all).await.is_err() {
            tracing::warn!("workers did not stop within the grace period; their entries will be re-claimed");
        }
    }
}

struct Worker {
    state: Arc<AppState>,
    /// This process's id among the instances; consumer names and lane leases derive from it.
    instance: String,
    stop: watch::Receiver<bool>,
    to_workers: mpsc::Sender<Taken>,
    from_readers: Arc<Mutex<mpsc::Receiver<Taken>>>,
}

impl Worker {
    fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    /// Waits `d` or until shutdown, whichever comes first.
    async fn pause(&mut self, d: Duration) {
        let _ = tokio::time::timeout(d, self.stop.changed()).await;
    }

    async fn consume(mut self) {
        let from_readers = self.from_readers.clone();
        while !self.stopping() {
            let next = {
                let mut from_readers = from_readers.lock().await;
                tokio::select! {
                    taken = from_readers.recv() => taken,
                    _ = self.stop.changed() => break,
                }
            };
            let Some(Taken { entry, taken }) = next else { break };
            if self.still_held(&entry, taken).await {
                self.process(entry).await;
            }
        }
    }

    /// Takes this instance's share of the lanes and keeps it, reading each with a reader of
    /// its own (`lanes`), until shutdown gives them up.
    async fn steward(mut self) {
        let mut steward = lanes::Steward::new(self.state.clone(), self.instance.clone(), self.to_workers.clone());
        while !self.stopping() {
            steward.round().await;
            let every = steward.every();
            self.pause(every).await;
        }
        steward.leave().await;
    }

    /// Whether this consumer still holds `entry`, read at `taken`. Entries wait their turn in
    /// the channel and behind the shop lock: one that has waited a good part of the re-claim
    /// time is renewed first, so the wait is not taken for a dead consumer (L10); the others
    /// are not, as renewing costs a store round trip.
    async fn still_held(&self, entry: &QueueEntry, taken: Instant) -> bool {
        let renew_after = Duration::from_millis(self.state.settings.queue.reclaim_idle_ms / 3);
        if taken.elapsed() < renew_after {
            return true;
        }
        match self.state.queue.renew(&lanes::consumer(&self.instance, entry.lane), entry).await {
            Ok(held) => held,
            Err(e) => {
                tracing::debug!(error = %e, "renewing a held entry failed; processing it all the same");
                true
            }
        }
    }

    /// Takes over entries of the lanes this instance owns that a consumer held too long (it
    /// died, or its instance lost the lane).
    async fn reclaim(mut self) {
        let q = &self.state.settings.queue;
        let (idle, batch) = (Duration::from_millis(q.reclaim_idle_ms), q.batch);
        let every = (idle / 2).clamp(Duration::from_millis(50), Duration::from_secs(10));
        while !self.stopping() {
            let mut found = false;
            for lane in self.state.lanes.current(self.state.queue.shards()) {
                let consumer = lanes::consumer(&self.instance, lane);
                match self.state.queue.reclaim(&consumer, lane, idle, batch).await {
                    Ok(entries) if !entries.is_empty() => {
                        tracing::info!(
                            count = entries.len(),
                            "re-claimed entries of a consumer that stopped answering"
                        );
                        found = true;
                        let taken = Instant::now();
                        for entry in entries {
                            if self.to_workers.send(Taken { entry, taken }).await.is_err() {
                                return;
                            }
                        }
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "re-claim failed"),
                }
            }
            if !found {
                self.pause(every).await;
            }
        }
    }

    async fn maintain(mut self) {
        // The dead letters' retention needs no promptness: it runs now and then.
        const TRIM_EVERY: Duration = Duration::from_secs(5);
        // Files are kept for days: a look at the outbox folders once an hour is enough.
        const EXPIRE_EVERY: Duration = Duration::from_secs(3600);
        let (mut trim_at, mut expire_at) = (Instant::now(), Instant::now());
        while !self.stopping() {
            let mut lanes = self.state.lanes.current(self.state.queue.shards());
            lanes.push(crate::store::Lane::Legacy);
            if let Err(e) = self.state.queue.maintain(&lanes).await {
                tracing::warn!(error = %e, "queue maintenance failed");
            }
            if Instant::now() >= trim_at {
                trim_at = Instant::now() + TRIM_EVERY;
                self.trim_dead_letters().await;
            }
            if Instant::now() >= expire_at {
                expire_at = Instant::now() + EXPIRE_EVERY;
                self.expire_outbox_files().await;
            }
            self.pause(Duration::from_millis(200)).await;
        }
    }

    /// Keeps the dead letters within their retention (audit H2): a flood of bad deliveries
    /// cannot grow the store without end.
    async fn trim_dead_letters(&self) {
        let q = &self.state.settings.queue;
        let before = crate::store::now_ms().saturating_sub(q.dead_letters_days.saturating_mul(86_400_000));
        match self.state.queue.trim_dead_letters(q.dead_letters_max, before).await {
            Ok(0) => {}
            Ok(n) => {
                tracing::info!(removed = n, "dead letters beyond their retention removed");
                self.state.metrics.dead_letters_trimmed(n);
            }
            Err(e) => tracing::warn!(error = %e, "dead-letter retention failed"),
        }
    }

    /// Emails written as files hold customers' addresses: they are kept for a while, not for
    /// ever (audit M6). Nothing to do with SMTP.
    async fn expire_outbox_files(&self) {
        let keep = Duration::from_secs(self.state.settings.email.outbox_keep_days.saturating_mul(86_400));
        match self.state.mailer.expire(keep).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "emails written as files beyond their retention removed"),
            Err(e) => tracing::warn!(error = %e, "outbox retention failed"),
        }
    }

    async fn process(&self, entry: QueueEntry) {
        let started = Instant::now();
        let meta = &entry.envelope.meta;
        let max = u64::from(self.state.settings.queue.max_attempts);
        failpoint::hit(points::WORKER_DEQUEUED);
        let outcome = if entry.attempts() > max && self.redacted(&meta.shop).await {
            self.drop_redacted(&entry).await
        } else if entry.attempts() > max {
            // Delivered more often than allowed without an answer: its consumers keep dying on it.
            let reason = format!("gave up after {} deliveries without an outcome", entry.attempts() - 1);
            self.settle(self.state.queue.dead_letter(&entry, &reason).await, Processed::DeadLettered)
        } else {
            let handled = router::handle(&self.state, &entry.envelope).await;
            failpoint::hit(points::WORKER_HANDLED);
            match handled {
                Ok(Handled::Done) => self.settle(self.state.queue.ack(&entry).await, Processed::Done),
                Ok(Handled::AlreadyDone) => self.settle(self.state.queue.ack(&entry).await, Processed::AlreadyDone),
                Err(HandlerError::ShopGone) => self.drop_redacted(&entry).await,
                // A dead letter keeps the body whole: none for a shop redacted since (M6).
                Err(HandlerError::Permanent(_)) if self.redacted(&meta.shop).await => self.drop_redacted(&entry).await,
                Err(HandlerError::Permanent(reason)) => {
                    self.settle(self.state.queue.dead_letter(&entry, &reason).await, Processed::DeadLettered)
                }
                Err(HandlerError::Transient(reason)) if entry.attempts() >= max => {
                    let reason = format!("{reason} (gave up after {} attempts)", entry.attempts());
                    self.settle(self.state.queue.dead_letter(&entry, &reason).await, Processed::DeadLettered)
                }
                Err(HandlerError::Transient(reason)) => {
                    let q = &self.state.settings.queue;
                    let delay = backoff(meta.attempts + 1, q.retry_base_ms, q.retry_max_ms);
                    tracing::info!(topic = %meta.topic, webhook_id = %meta.webhook_id, %reason, ?delay, "will retry");
                    self.settle(self.state.queue.retry_later(&entry, delay).await, Processed::Retried)
                }
            }
        };
        failpoint::hit(points::WORKER_SETTLED);
        if let Some(outcome) = outcome {
            if matches!(outcome, Processed::DeadLettered) {
                tracing::warn!(topic = %meta.topic, webhook_id = %meta.webhook_id, "webhook dead-lettered");
            }
            self.state.metrics.processed(&meta.topic, outcome, started.elapsed().as_secs_f64());
        }
    }

    /// Whether the shop was redacted (an unreadable answer counts as not: the entry is then
    /// dead-lettered as it would be anyway, and the redaction's own purge still applies).
    async fn redacted(&self, shop: &str) -> bool {
        self.state.books.kept_out(shop).await.unwrap_or(false)
    }

    async fn drop_redacted(&self, entry: &QueueEntry) -> Option<Processed> {
        tracing::info!(topic = %entry.envelope.meta.topic, "webhook of a redacted shop dropped");
        self.settle(self.state.queue.ack(entry).await, Processed::Dropped)
    }

    /// A failed ack, retry or dead-letter leaves the entry with this consumer; the re-claim loop
    /// hands it out again later, and the processed mark keeps the second run harmless.
    fn settle(&self, r: Result<(), crate::store::StoreError>, outcome: Processed) -> Option<Processed> {
        match r {
            Ok(()) => Some(outcome),
            Err(e) => {
                tracing::warn!(instance = %self.instance, error = %e, "could not settle entry; it will be re-claimed");
                None
            }
        }
    }
}
