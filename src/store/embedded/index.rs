//! Who holds which queue entry, in memory, lane by lane (each entry's lane is its shop's
//! shard, as in the Redis backend: the file keeps one table, the lanes live here).
//!
//! The file holds the entries; ownership does not need to be durable because redb locks the
//! file to this process: when the process dies, every consumer dies with it, and the index
//! rebuilt at the next open starts with every entry ready again.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use crate::store::Lane;

/// An entry handed to a consumer and not settled yet.
#[derive(Debug, Clone)]
pub(super) struct Lease {
    pub lane: Lane,
    pub consumer: String,
    pub leased_at: Instant,
    /// Times handed out by this process, this lease included.
    pub deliveries: u64,
    /// Kept so the entry can go back to its place in line when it is given back.
    pub due_ms: u64,
}

/// Where an entry was before an operation took it out of the index, so a write that fails can
/// put it back exactly there.
#[derive(Debug)]
pub(super) enum Slot {
    Waiting { lane: Lane, due_ms: u64 },
    Leased(Lease),
}

#[derive(Debug, Default)]
pub(super) struct Index {
    /// Unleased entries that may be handed out, by (due time, sequence number): fresh entries
    /// are due when queued, so a retry whose delay is over lines up behind what arrived before
    /// that moment and ahead of what arrives after, as it would in the Redis stream.
    ready: BTreeMap<Lane, BTreeSet<(u64, u64)>>,
    /// Retries still waiting out their delay, by (due time, sequence number).
    delayed: BTreeSet<(u64, u64)>,
    /// Lane and due time of every entry in `ready` or `delayed`, to find it by sequence number.
    waiting: HashMap<u64, (Lane, u64)>,
    leases: BTreeMap<u64, Lease>,
    /// Retries that became due since [`Index::take_became_due`] last ran.
    became_due: u64,
}

impl Index {
    /// Adds an unleased entry where its due time puts it.
    pub fn add(&mut self, seq: u64, lane: Lane, due_ms: u64, now_ms: u64) {
        self.waiting.insert(seq, (lane, due_ms));
        if due_ms <= now_ms {
            self.ready.entry(lane).or_default().insert((due_ms, seq));
        } else {
            self.delayed.insert((due_ms, seq));
        }
    }

    /// Adds a retry. It always passes through `delayed`, even with no delay, so that becoming
    /// due is counted once for `maintain` as the Redis backend counts its promotions.
    pub fn park(&mut self, seq: u64, lane: Lane, due_ms: u64) {
        self.waiting.insert(seq, (lane, due_ms));
        self.delayed.insert((due_ms, seq));
    }

    fn promote(&mut self, now_ms: u64) {
        while let Some(&(due, seq)) = self.delayed.first() {
            if due > now_ms {
                break;
            }
            self.delayed.pop_first();
            let lane = self.waiting.get(&seq).map_or(Lane::Legacy, |(lane, _)| *lane);
            self.ready.entry(lane).or_default().insert((due, seq));
            self.became_due += 1;
        }
    }

    /// Leases up to `max` due entries of `lane` to `consumer`, first in line first. Returns each
    /// one's sequence number and delivery count.
    pub fn take(&mut self, consumer: &str, lane: Lane, max: usize, now_ms: u64, now: Instant) -> Vec<(u64, u64)> {
        self.promote(now_ms);
        let mut out = Vec::new();
        let Some(ready) = self.ready.get_mut(&lane) else { return out };
        while out.len() < max {
            let Some((due_ms, seq)) = ready.pop_first() else { break };
            self.waiting.remove(&seq);
            let lease = Lease { lane, consumer: consumer.to_string(), leased_at: now, deliveries: 1, due_ms };
            self.leases.insert(seq, lease);
            out.push((seq, 1));
        }
        out
    }

    /// When the earliest delayed entry falls due.
    pub fn next_due(&self) -> Option<u64> {
        self.delayed.first().map(|&(due, _)| due)
    }

    /// Re-leases to `consumer` up to `max` entries of `lane` held for at least `min_idle`,
    /// whoever holds them (as `XAUTOCLAIM` does), counting one more delivery each.
    pub fn reclaim(
        &mut self,
        consumer: &str,
        lane: Lane,
        min_idle: Duration,
        max: usize,
        now: Instant,
    ) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        for (&seq, lease) in &mut self.leases {
            if out.len() >= max {
                break;
            }
            if lease.lane != lane || now.saturating_duration_since(lease.leased_at) < min_idle {
                continue;
            }
            tracing::debug!(id = seq, from = %lease.consumer, to = consumer, "queue entry reclaimed");
            lease.consumer = consumer.to_string();
            lease.leased_at = now;
            lease.deliveries += 1;
            out.push((seq, lease.deliveries));
        }
        out
    }

    /// `consumer` still holds `seq`: its lease starts again at `now` (its deliveries stay).
    pub fn renew(&mut self, seq: u64, consumer: &str, now: Instant) -> bool {
        match self.leases.get_mut(&seq) {
            Some(lease) if lease.consumer == consumer => {
                lease.leased_at = now;
                true
            }
            _ => false,
        }
    }

    /// Takes a leased entry away from its consumer; `None` when nobody holds it (settled
    /// already, or being settled right now).
    pub fn unlease(&mut self, seq: u64) -> Option<Lease> {
        self.leases.remove(&seq)
    }

    /// Takes an entry out wherever it is; `None` when the index does not know it.
    pub fn remove(&mut self, seq: u64) -> Option<Slot> {
        if let Some(lease) = self.leases.remove(&seq) {
            return Some(Slot::Leased(lease));
        }
        let (lane, due_ms) = self.waiting.remove(&seq)?;
        if !self.ready.get_mut(&lane).is_some_and(|ready| ready.remove(&(due_ms, seq))) {
            self.delayed.remove(&(due_ms, seq));
        }
        Some(Slot::Waiting { lane, due_ms })
    }

    /// Puts back what [`Index::remove`] or [`Index::unlease`] took out.
    pub fn restore(&mut self, seq: u64, slot: Slot, now_ms: u64) {
        match slot {
            Slot::Leased(lease) => {
                self.leases.insert(seq, lease);
            }
            Slot::Waiting { lane, due_ms } => self.add(seq, lane, due_ms, now_ms),
        }
    }

    /// Returns a leased entry to its place in line: its consumer never got it.
    pub fn give_back(&mut self, seq: u64, now_ms: u64) {
        if let Some(lease) = self.leases.remove(&seq) {
            self.add(seq, lease.lane, lease.due_ms, now_ms);
        }
    }

    /// (due or held, still delayed).
    pub fn counts(&mut self, now_ms: u64) -> (u64, u64) {
        self.promote(now_ms);
        let ready: usize = self.ready.values().map(BTreeSet::len).sum();
        ((ready + self.leases.len()) as u64, self.delayed.len() as u64)
    }

    /// How many retries became due since the last call.
    pub fn take_became_due(&mut self, now_ms: u64) -> u64 {
        self.promote(now_ms);
        std::mem::take(&mut self.became_due)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_due_retry_lines_up_behind_what_arrived_before_it() {
        let mut index = Index::default();
        let now = Instant::now();
        let lane = Lane::Shard(0);
        index.add(1, lane, 100, 100);
        index.park(3, lane, 150);
        index.add(2, lane, 120, 120);
        index.add(5, Lane::Shard(1), 110, 110);
        index.add(4, lane, 200, 200);
        let order: Vec<u64> = index.take("c", lane, 10, 300, now).into_iter().map(|(seq, _)| seq).collect();
        assert_eq!(order, [1, 2, 3, 4], "only the lane's entries, in line");
        assert_eq!(index.take_became_due(300), 1);
        assert_eq!(index.take_became_due(300), 0);
    }

    #[test]
    fn a_delayed_entry_waits_and_reclaim_counts_deliveries() {
        let mut index = Index::default();
        let start = Instant::now();
        let lane = Lane::Shard(3);
        index.park(1, lane, 500);
        assert!(index.take("c", lane, 10, 400, start).is_empty());
        assert_eq!(index.counts(400), (0, 1));
        assert_eq!(index.next_due(), Some(500));
        assert_eq!(index.take("c", lane, 10, 500, start), [(1, 1)]);
        assert!(index.reclaim("d", lane, Duration::from_secs(5), 10, start).is_empty());
        let later = start + Duration::from_secs(5);
        assert!(index.reclaim("d", Lane::Shard(2), Duration::from_secs(5), 10, later).is_empty(), "another lane's");
        assert_eq!(index.reclaim("d", lane, Duration::from_secs(5), 10, later), [(1, 2)]);
        let slot = index.remove(1).expect("leased");
        assert_eq!(index.counts(600), (0, 0));
        index.restore(1, slot, 600);
        assert_eq!(index.counts(600), (1, 0));
    }
}
