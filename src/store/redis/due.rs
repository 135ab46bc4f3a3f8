//! The index of shops with work due, in Redis: one sorted set per intake lane, under the lane's
//! hash tag, read by the lane's owner. A ledger commit runs on its shop's slot, so in a Cluster
//! the same script
//! cannot update the index; a commit that makes work makes its shop due with a separate command
//! once the commit has landed (one round trip on the hot path, not two): a pass that read the
//! shop's marks before the commit landed may take the shop out meanwhile, and the touch puts it
//! back (or changes its score first, so the pass's compare-and-remove leaves it).
//!
//! What if the touch never happens? An error reaches the caller, whose retry of the event is
//! answered "already processed" and touches the index then. A process killed between the commit
//! and the touch restarts, and every start makes every shop due (below). And every
//! [`RESEED`], each process makes every shop due again, so work stranded by an instance that
//! was killed and never came back waits minutes, not forever.
//!
//! A store written before the index (or before the lanes: one index under `{due}`, which this
//! version does not read) has shops and marks but no entries here, and during a rolling deploy
//! instances of that version keep committing without touching it: the same seeding at the
//! first read of each lane's index in each process covers them.

use std::collections::BTreeMap;
use std::sync::PoisonError;

use super::RedisStore;
use crate::store::{Lane, StoreError};

/// Shops per `due_set.lua` run, so one run stays short however many shops a seed names.
const SET_BATCH: usize = 500;
/// How often each process makes every shop due again (a safety net; see above).
const RESEED: std::time::Duration = std::time::Duration::from_secs(600);

impl RedisStore {
    pub(super) async fn set_due_impl(&self, shops: &[String], at_ms: u64) -> Result<(), StoreError> {
        let mut by_lane: BTreeMap<Lane, Vec<&String>> = BTreeMap::new();
        for shop in shops {
            by_lane.entry(self.keys.lane_of(shop)).or_default().push(shop);
        }
        for (lane, shops) in by_lane {
            self.set_due_in(lane, &shops, at_ms).await?;
        }
        Ok(())
    }

    async fn set_due_in(&self, lane: Lane, shops: &[&String], at_ms: u64) -> Result<(), StoreError> {
        for batch in shops.chunks(SET_BATCH) {
            let mut inv = self.scripts.due_set.prepare_invoke();
            inv.key(self.keys.due(lane)).arg(at_ms);
            for shop in batch {
                inv.arg(shop);
            }
            // Repeatable: a second run moves the score 1 ms earlier again, which only makes the
            // shop due a little sooner.
            let _: i64 = self.invoke(true, &inv).await?;
        }
        Ok(())
    }

    pub(super) async fn due_shops_impl(
        &self,
        lanes: &[Lane],
        now_ms: u64,
        limit: usize,
    ) -> Result<Vec<(String, u64)>, StoreError> {
        // The lanes are read at once (on a Cluster, from their nodes in parallel): a pass costs
        // one round trip, however many lanes an instance owns.
        let reads = lanes.iter().filter(|lane| matches!(lane, Lane::Shard(_))).map(|&lane| async move {
            self.seed_if_stale(lane).await?;
            if limit == 0 {
                return Ok(Vec::new());
            }
            self.up_to_score(&self.keys.due(lane), now_ms, limit).await
        });
        let mut due = Vec::new();
        let (mut read, mut failed) = (0, None);
        for (lane, lane_due) in
            lanes.iter().filter(|lane| matches!(lane, Lane::Shard(_))).zip(futures_util::future::join_all(reads).await)
        {
            // A lane whose node is down does not hold up the shops of the others.
            match lane_due {
                Ok(lane_due) => {
                    read += 1;
                    due.extend(lane_due);
                }
                Err(e) => {
                    tracing::warn!(lane = lane.label(), error = %e, "due index: a lane could not be read");
                    failed = Some(e);
                }
            }
        }
        if let (0, Some(e)) = (read, failed) {
            return Err(e);
        }
        // Earliest first over all the lanes read, at most `limit`.
        due.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        due.truncate(limit);
        Ok(due)
    }

    /// Makes every shop of `lane` due, the first time this process reads the lane's index and
    /// every [`RESEED`] after.
    async fn seed_if_stale(&self, lane: Lane) -> Result<(), StoreError> {
        let now = crate::store::now_ms();
        let last = self.seeded_at_ms.lock().unwrap_or_else(PoisonError::into_inner).get(&lane).copied();
        if last.is_some_and(|last| now.saturating_sub(last) < RESEED.as_millis() as u64) {
            return Ok(());
        }
        // Two calls at once both seed; the second only moves scores 1 ms earlier.
        let shops = self.shops_of_lane(lane).await?;
        self.set_due_in(lane, &shops.iter().collect::<Vec<_>>(), now).await?;
        self.seeded_at_ms.lock().unwrap_or_else(PoisonError::into_inner).insert(lane, now);
        Ok(())
    }

    pub(super) async fn reschedule_due_impl(
        &self,
        shop: &str,
        seen_ms: u64,
        next_ms: Option<u64>,
    ) -> Result<bool, StoreError> {
        let mut inv = self.scripts.due_reschedule.prepare_invoke();
        inv.key(self.keys.due(self.keys.lane_of(shop))).arg(shop).arg(seen_ms);
        match next_ms {
            Some(next) => inv.arg(next),
            None => inv.arg(""),
        };
        // Not repeatable: a first run that went through would make the second answer "changed
        // meanwhile". The caller only loses a visit's worth of accuracy either way, but the
        // answer should say what happened.
        let done: i64 = self.invoke(false, &inv).await?;
        Ok(done == 1)
    }

    /// Takes the shop out of the index (`shop/redact`).
    pub(super) async fn forget_due(&self, shop: &str) -> Result<u64, StoreError> {
        let mut removed = 0;
        for lane in [Lane::Legacy, self.keys.lane_of(shop)] {
            let mut zrem = redis::cmd("ZREM");
            zrem.arg(self.keys.due(lane)).arg(shop);
            removed += self.query::<u64>(&zrem).await?;
        }
        Ok(removed)
    }
}
