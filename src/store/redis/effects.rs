//! What the effects need from Redis: settled dirty marks, their checked removal, the shops to
//! sweep, and per-shop leases so one instance at a time reconciles a shop.

use std::time::Duration;

use super::{RedisStore, ttl_ms};
use crate::store::{Lane, Mark, Settled, StoreError};

impl RedisStore {
    pub(super) async fn dirty_settled_impl(
        &self,
        shop: &str,
        settled_at_ms: u64,
        limit: usize,
    ) -> Result<Vec<Settled>, StoreError> {
        let pairs = self.up_to_score(&self.keys.dirty(shop), settled_at_ms, limit).await?;
        pairs.into_iter().map(|(mark, at)| Ok(Settled { mark: Mark::parse(&mark)?, changed_at_ms: at })).collect()
    }

    /// Members of the sorted set `key` scored at or below `max_ms` (a time), lowest first, at
    /// most `limit`, with their scores.
    pub(super) async fn up_to_score(
        &self,
        key: &str,
        max_ms: u64,
        limit: usize,
    ) -> Result<Vec<(String, u64)>, StoreError> {
        let mut cmd = redis::cmd("ZRANGE");
        cmd.arg(key)
            .arg("-inf")
            .arg(max_ms)
            .arg("BYSCORE")
            .arg("LIMIT")
            .arg(0)
            .arg(i64::try_from(limit).unwrap_or(i64::MAX))
            .arg("WITHSCORES");
        let pairs: Vec<(String, f64)> = self.query(&cmd).await?;
        // Scores are whole milliseconds, far below 2^53: the double holds them exactly.
        Ok(pairs.into_iter().map(|(member, score)| (member, score.max(0.0) as u64)).collect())
    }

    pub(super) async fn clear_dirty_impl(&self, shop: &str, marks: &[Settled]) -> Result<(), StoreError> {
        if marks.is_empty() {
            return Ok(());
        }
        let mut inv = self.scripts.clear_dirty.prepare_invoke();
        inv.key(self.keys.dirty(shop));
        for settled in marks {
            inv.arg(settled.mark.encode()).arg(settled.changed_at_ms);
        }
        // Repeatable: removing a mark twice removes nothing the second time.
        let _: i64 = self.invoke(true, &inv).await?;
        Ok(())
    }

    /// Every shop: the union of the lanes' sets and the legacy one.
    pub(super) async fn shops_impl(&self) -> Result<Vec<String>, StoreError> {
        let mut shops = std::collections::BTreeSet::new();
        for lane in self.every_lane() {
            shops.extend(self.listed(lane).await?);
        }
        Ok(shops.into_iter().collect())
    }

    /// The shops of `lane`: its set, and those of the legacy set that map to it.
    pub(super) async fn shops_of_lane(&self, lane: Lane) -> Result<Vec<String>, StoreError> {
        let mut shops = self.listed(lane).await?;
        shops.extend(self.listed(Lane::Legacy).await?.into_iter().filter(|shop| self.keys.lane_of(shop) == lane));
        shops.sort();
        shops.dedup();
        Ok(shops)
    }

    async fn listed(&self, lane: Lane) -> Result<Vec<String>, StoreError> {
        let mut cmd = redis::cmd("SMEMBERS");
        cmd.arg(self.keys.shops(lane));
        self.query(&cmd).await
    }

    pub(super) async fn try_lease_impl(
        &self,
        shop: &str,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        self.take_lease(&self.keys.lock(shop, name), holder, ttl).await
    }

    pub(super) async fn release_lease_impl(&self, shop: &str, name: &str, holder: &str) -> Result<(), StoreError> {
        self.give_up_lease(&self.keys.lock(shop, name), holder).await
    }

    /// Takes or renews the lease at `key` (a shop's, or a lane's ownership).
    pub(super) async fn take_lease(&self, key: &str, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        let mut inv = self.scripts.lease.prepare_invoke();
        inv.key(key).arg(holder).arg(ttl_ms(ttl));
        let got: i64 = self.invoke(true, &inv).await?;
        Ok(got == 1)
    }

    pub(super) async fn give_up_lease(&self, key: &str, holder: &str) -> Result<(), StoreError> {
        let mut inv = self.scripts.release.prepare_invoke();
        inv.key(key).arg(holder);
        let _: i64 = self.invoke(true, &inv).await?;
        Ok(())
    }
}
