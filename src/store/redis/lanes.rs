//! What the queue does lane by lane: sizes, promotion of due retries, the dead letters' retention
//! and listing over all lanes, and the registry of live instances that share the lanes out.

use std::time::Duration;

use super::{RedisStore, corrupt, queue, reply, ttl_ms, unavailable};
use crate::store::{DeadLetter, Lane, StoreError, now_ms};

/// Most delayed retries promoted by one script run, so the script stays short.
const PROMOTE_BATCH: u64 = 100;

/// Most promote runs per lane and `maintain` call; a backlog beyond that waits for the next call.
const PROMOTE_ROUNDS: u64 = 10;

impl RedisStore {
    /// The shard lanes, then the legacy one (the old single stream, drained and listed).
    pub(super) fn every_lane(&self) -> Vec<Lane> {
        let mut lanes = crate::store::shard::lanes(self.keys.shards());
        lanes.push(Lane::Legacy);
        lanes
    }

    /// (queued or held, waiting out a retry) in `lane`.
    pub(super) async fn lane_sizes(&self, lane: Lane) -> Result<(u64, u64), StoreError> {
        // Two keys of one slot: a pipeline goes to one node.
        let mut pipe = redis::pipe();
        pipe.cmd("XLEN").arg(self.keys.queue(lane));
        pipe.cmd("ZCARD").arg(self.keys.delayed(lane));
        let pipe = &pipe;
        self.run(true, |mut c| async move { pipe.query_async::<(u64, u64)>(&mut c).await }).await.map_err(unavailable)
    }

    pub(super) async fn promote(&self, lane: Lane) -> Result<u64, StoreError> {
        let mut moved = 0;
        for _ in 0..PROMOTE_ROUNDS {
            let mut inv = self.scripts.promote.prepare_invoke();
            inv.key(self.keys.delayed(lane)).key(self.keys.queue(lane)).arg(now_ms()).arg(PROMOTE_BATCH);
            let n: u64 = self.invoke(true, &inv).await?;
            moved += n;
            if n < PROMOTE_BATCH {
                break;
            }
        }
        Ok(moved)
    }

    pub(super) async fn trim_lane(&self, lane: Lane, keep: u64, before_ms: u64) -> Result<u64, StoreError> {
        // Entry ids are the burial time in ms (`XADD *`): MINID drops those buried before. Each
        // lane keeps up to `keep`; the retention is a bound on growth, not an exact total.
        let mut pipe = redis::pipe();
        pipe.cmd("XTRIM").arg(self.keys.dead(lane)).arg("MAXLEN").arg("=").arg(keep);
        pipe.cmd("XTRIM").arg(self.keys.dead(lane)).arg("MINID").arg("=").arg(before_ms);
        let pipe = &pipe;
        let (by_count, by_age) = self
            .run(true, |mut c| async move { pipe.query_async::<(u64, u64)>(&mut c).await })
            .await
            .map_err(unavailable)?;
        Ok(by_count + by_age)
    }

    /// The oldest `limit` dead letters over every lane: the oldest `limit` of each, merged by
    /// burial time (a stream id starts with it).
    pub(super) async fn dead_letters_impl(&self, limit: usize) -> Result<Vec<DeadLetter>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut all = Vec::new();
        for lane in self.every_lane() {
            let mut cmd = redis::cmd("XRANGE");
            cmd.arg(self.keys.dead(lane)).arg("-").arg("+").arg("COUNT").arg(limit);
            for raw in reply::entries(self.query(&cmd).await?).map_err(corrupt)? {
                all.push((stream_order(&raw.id), queue::dead_letter_of(lane, &raw)?));
            }
        }
        all.sort_by_key(|(order, _)| *order);
        Ok(all.into_iter().take(limit).map(|(_, letter)| letter).collect())
    }

    pub(super) async fn heartbeat_impl(&self, instance: &str, ttl: Duration) -> Result<u32, StoreError> {
        let mut inv = self.scripts.heartbeat.prepare_invoke();
        inv.key(self.keys.instances()).arg(instance).arg(now_ms()).arg(ttl_ms(ttl));
        // Repeatable: a second run only sets the same expiry again.
        self.invoke(true, &inv).await
    }
}

/// A stream id as (ms, sequence), for ordering ids of different streams.
fn stream_order(id: &str) -> (u64, u64) {
    let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
    (ms.parse().unwrap_or(u64::MAX), seq.parse().unwrap_or(0))
}
