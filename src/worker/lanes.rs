//! Which intake lanes this instance owns, and the readers of those it does.
//!
//! Every instance that consumes takes an equal share of the lanes (`store::shard`) under a
//! lease per lane: the share is the lanes divided by the live instances (each says it is alive
//! with a heartbeat that lasts one lease), rounded up. An owner alone reads its lanes' streams
//! and serves their shops' effects, so two instances never work on one shop's variants at once
//! and a hot shop's events are never raced. A lane whose owner stops renewing (it crashed, or
//! lost the store) is taken by another within one lease; an instance that stops gracefully
//! gives its lanes up at once, and one that joins is given lanes as the others shed their
//! surplus.
//!
//! The legacy single stream (a store written before the lanes, or an instance of the previous
//! version still writing to it during a rolling deploy) is drained by every instance while it
//! holds anything: its events may belong to any shop, and the ledger's checked commits keep
//! the rare race there harmless.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::Taken;
use crate::retry::backoff;
use crate::state::AppState;
use crate::store::{Lane, shard};

/// The consumer name of this instance in a lane's consumer group.
pub(super) fn consumer(instance: &str, lane: Lane) -> String {
    format!("{instance}-{}", lane.label())
}

/// How many lanes each of `live` instances takes.
fn share(shards: u16, live: u32) -> usize {
    usize::from(shards).div_ceil(live.max(1) as usize)
}

/// The lanes this instance holds, each with its reader.
pub(super) struct Steward {
    state: Arc<AppState>,
    instance: String,
    to_workers: mpsc::Sender<Taken>,
    lease: Duration,
    readers: BTreeMap<Lane, Held>,
    legacy: Option<JoinHandle<()>>,
    live: u32,
}

/// A lane this instance holds.
struct Held {
    reader: JoinHandle<()>,
    /// When its lease was last renewed (asked for): past three quarters of a lease without a
    /// renewal (its node cannot be reached), it may have lapsed in the store, so it is let go
    /// here first. The other lanes, on nodes that answer, carry on.
    renewed_at: Instant,
}

impl Steward {
    pub(super) fn new(state: Arc<AppState>, instance: String, to_workers: mpsc::Sender<Taken>) -> Self {
        let lease = Duration::from_millis(state.settings.queue.lease_ms.max(100));
        Self { state, instance, to_workers, lease, readers: BTreeMap::new(), legacy: None, live: 1 }
    }

    /// One round: say we are alive, keep what we hold, shed the surplus or take our share.
    pub(super) async fn round(&mut self) {
        let queue = self.state.queue.clone();
        let shards = queue.shards();
        match queue.heartbeat(&self.instance, self.lease).await {
            Ok(live) => self.live = live.max(1),
            Err(e) => tracing::warn!(error = %e, "lanes: heartbeat failed"),
        }
        for lane in self.readers.keys().copied().collect::<Vec<_>>() {
            let asked = Instant::now();
            match queue.own_lane(lane, &self.instance, self.lease).await {
                Ok(true) => {
                    if let Some(held) = self.readers.get_mut(&lane) {
                        held.renewed_at = asked;
                    }
                }
                Ok(false) => {
                    tracing::warn!(lane = lane.label(), "lanes: another instance has taken this lane");
                    self.drop_reader(lane);
                }
                Err(e) => {
                    tracing::warn!(lane = lane.label(), error = %e, "lanes: could not renew");
                    if self.readers.get(&lane).is_some_and(|held| held.renewed_at.elapsed() > self.lease * 3 / 4) {
                        tracing::warn!(lane = lane.label(), "lanes: not renewed for most of a lease; letting it go");
                        self.drop_reader(lane);
                    }
                }
            }
        }

        // A reader that ended (it panicked, or its connection's errors outlasted it) leaves its
        // lane held and unread: it starts again, taking over what it held.
        let ended: Vec<Lane> =
            self.readers.iter().filter(|(_, held)| held.reader.is_finished()).map(|(l, _)| *l).collect();
        for lane in ended {
            tracing::warn!(lane = lane.label(), "lanes: the lane's reader ended; starting it again");
            self.start_reader(lane, true);
        }

        let target = share(shards, self.live);
        while self.readers.len() > target {
            let Some((&lane, _)) = self.readers.last_key_value() else { break };
            self.give_up(lane).await;
        }
        if self.readers.len() < target {
            // Start at a place of our own, so instances starting together do not all race for
            // lane 0 first.
            let start = shard::shard_of(&self.instance, shards);
            for i in 0..shards {
                let lane = Lane::Shard((start + i) % shards);
                if self.readers.len() >= target {
                    break;
                }
                if self.readers.contains_key(&lane) {
                    continue;
                }
                if let Ok(true) = queue.own_lane(lane, &self.instance, self.lease).await {
                    tracing::info!(lane = lane.label(), instance = %self.instance, "lanes: took this lane");
                    self.start_reader(lane, true);
                }
            }
        }
        self.keep_draining_legacy().await;
        self.state.lanes.set(self.readers.keys().copied().collect());
    }

    /// How long to wait between rounds.
    pub(super) fn every(&self) -> Duration {
        self.lease / 4
    }

    /// Gives every lane up and leaves the live instances: another instance takes them now,
    /// not a lease from now.
    pub(super) async fn leave(mut self) {
        for lane in self.readers.keys().copied().collect::<Vec<_>>() {
            self.give_up(lane).await;
        }
        if let Some(legacy) = self.legacy.take() {
            legacy.abort();
        }
        self.state.lanes.set(Vec::new());
        if let Err(e) = self.state.queue.depart(&self.instance).await {
            tracing::debug!(error = %e, "lanes: could not say we left; our heartbeat lapses by itself");
        }
    }

    async fn give_up(&mut self, lane: Lane) {
        self.drop_reader(lane);
        if let Err(e) = self.state.queue.disown_lane(lane, &self.instance).await {
            tracing::debug!(lane = lane.label(), error = %e, "lanes: could not give a lane up; it lapses by itself");
        }
    }

    fn drop_reader(&mut self, lane: Lane) {
        if let Some(held) = self.readers.remove(&lane) {
            held.reader.abort();
        }
    }

    fn start_reader(&mut self, lane: Lane, taken_over: bool) {
        let reader = Reader {
            state: self.state.clone(),
            consumer: consumer(&self.instance, lane),
            lane,
            to_workers: self.to_workers.clone(),
        };
        let lease = self.lease;
        let reader = tokio::spawn(reader.run(taken_over.then_some(lease)));
        // A reader started again keeps its lane's last renewal: only a renewal extends a hold.
        let renewed_at = self.readers.get(&lane).map_or_else(Instant::now, |held| held.renewed_at);
        self.readers.insert(lane, Held { reader, renewed_at });
    }

    async fn keep_draining_legacy(&mut self) {
        if self.legacy.as_ref().is_some_and(|task| !task.is_finished()) {
            return;
        }
        match self.state.queue.legacy_waiting().await {
            Ok(true) => {
                tracing::info!("lanes: the single stream of the previous layout holds entries; draining it");
                let reader = Reader {
                    state: self.state.clone(),
                    consumer: consumer(&self.instance, Lane::Legacy),
                    lane: Lane::Legacy,
                    to_workers: self.to_workers.clone(),
                };
                let idle = Duration::from_millis(self.state.settings.queue.reclaim_idle_ms);
                self.legacy = Some(tokio::spawn(reader.run(Some(idle))));
            }
            Ok(false) => {}
            Err(e) => tracing::debug!(error = %e, "lanes: could not look at the legacy stream"),
        }
    }
}

impl Drop for Steward {
    fn drop(&mut self) {
        for held in self.readers.values() {
            held.reader.abort();
        }
        if let Some(legacy) = &self.legacy {
            legacy.abort();
        }
    }
}

/// Reads one lane and hands its entries to the workers.
struct Reader {
    state: Arc<AppState>,
    consumer: String,
    lane: Lane,
    to_workers: mpsc::Sender<Taken>,
}

impl Reader {
    /// With `claim_idle`: first takes over what the lane's previous owner held for that long (it
    /// stopped renewing a lease ago, so nothing it still works on is that idle). The legacy
    /// stream, read by every instance, takes over only what the re-claim time allows, and
    /// looks again whenever it finds nothing new.
    async fn run(self, claim_idle: Option<Duration>) {
        let q = &self.state.settings.queue;
        let (batch, block) = (q.batch.max(1), Duration::from_millis(q.block_ms));
        let queue = self.state.queue.clone();
        if let Some(idle) = claim_idle {
            loop {
                match queue.reclaim(&self.consumer, self.lane, idle, batch).await {
                    Ok(entries) if !entries.is_empty() => {
                        tracing::info!(
                            lane = self.lane.label(),
                            count = entries.len(),
                            "lanes: took over held entries"
                        );
                        if !self.hand_over(entries).await {
                            return;
                        }
                    }
                    _ => break,
                }
            }
        }
        let mut failures = 0u32;
        loop {
            // The legacy stream is polled briefly, and left once it is empty.
            let wait = if self.lane == Lane::Legacy { block.min(Duration::from_millis(500)) } else { block };
            match queue.dequeue(&self.consumer, self.lane, batch, wait).await {
                Ok(entries) => {
                    failures = 0;
                    if entries.is_empty() && self.lane == Lane::Legacy {
                        let idle = Duration::from_millis(q.reclaim_idle_ms);
                        let held = queue.reclaim(&self.consumer, self.lane, idle, batch).await.unwrap_or_default();
                        if held.is_empty() && !queue.legacy_waiting().await.unwrap_or(true) {
                            tracing::info!("lanes: the legacy stream is drained");
                            return;
                        }
                        if !self.hand_over(held).await {
                            return;
                        }
                        continue;
                    }
                    if !self.hand_over(entries).await {
                        return;
                    }
                }
                Err(e) => {
                    failures += 1;
                    tracing::warn!(lane = self.lane.label(), error = %e, "queue read failed; backing off");
                    tokio::time::sleep(backoff(failures, 100, 5_000)).await;
                }
            }
        }
    }

    /// `false`: the workers are gone (shutdown).
    async fn hand_over(&self, entries: Vec<crate::store::QueueEntry>) -> bool {
        let taken = Instant::now();
        for entry in entries {
            if self.to_workers.send(Taken { entry, taken }).await.is_err() {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_instance_takes_its_share_rounded_up() {
        assert_eq!(share(16, 1), 16);
        assert_eq!(share(16, 2), 8);
        assert_eq!(share(16, 3), 6);
        assert_eq!(share(16, 0), 16);
        assert_eq!(share(16, 40), 1);
    }
}
