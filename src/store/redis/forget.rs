//! `shop/redact` on Redis: every key of the shop (they share its hash tag, so one slot), its
//! place in the shops set and in the due index, and its dead letters (webhooks, whose bodies
//! hold customer data, and effects).

use super::{RedisStore, corrupt, queue, reply};
use crate::store::{Lane, StoreError};

/// Keys looked at per script run, and dead letters read per page.
const STEP: u64 = 500;

impl RedisStore {
    pub(super) async fn forget_shop_impl(&self, shop: &str) -> Result<u64, StoreError> {
        let pattern = self.keys.shop_pattern(shop);
        let mut cursor = "0".to_string();
        let mut removed = 0;
        loop {
            let mut inv = self.scripts.forget.prepare_invoke();
            inv.key(self.keys.processed_counts(shop)).arg(&cursor).arg(&pattern).arg(STEP).arg(self.keys.gone(shop));
            // Repeatable: deleting what is gone deletes nothing.
            let (next, deleted): (String, u64) = self.invoke(true, &inv).await?;
            removed += deleted;
            cursor = next;
            if cursor == "0" {
                break;
            }
        }
        removed += self.unlist_shop(shop).await?;
        removed += self.forget_due(shop).await?;
        removed += self.forget_dead_letters(shop, None).await?;
        Ok(removed)
    }

    /// Takes the shop out of its lane's shops set and the legacy one (and this process's
    /// memory of having listed it).
    pub(super) async fn unlist_shop(&self, shop: &str) -> Result<u64, StoreError> {
        self.remembered.forget(shop);
        let mut removed = 0;
        for lane in [Lane::Legacy, self.keys.lane_of(shop)] {
            let mut srem = redis::cmd("SREM");
            srem.arg(self.keys.shops(lane)).arg(shop);
            removed += self.query::<u64>(&srem).await?;
        }
        Ok(removed)
    }

    /// Keeps every write of the shop out for `ttl`, a new install's excepted (`shop/redact`).
    pub(super) async fn keep_out_impl(&self, shop: &str, ttl: std::time::Duration) -> Result<(), StoreError> {
        let mut set = redis::cmd("SET");
        set.arg(self.keys.gone(shop)).arg(crate::store::now_ms()).arg("PX").arg(super::ttl_ms(ttl));
        self.query::<()>(&set).await
    }

    pub(super) async fn kept_out_impl(&self, shop: &str) -> Result<bool, StoreError> {
        let mut exists = redis::cmd("EXISTS");
        exists.arg(self.keys.gone(shop));
        Ok(self.query::<u64>(&exists).await? == 1)
    }

    /// The shop's dead letters (only webhooks whose body holds `needle`, when given), in its
    /// lane and in the legacy stream.
    pub(super) async fn forget_dead_letters(&self, shop: &str, needle: Option<&[u8]>) -> Result<u64, StoreError> {
        let mut removed = 0;
        for lane in [Lane::Legacy, self.keys.lane_of(shop)] {
            removed += self.forget_lane_dead_letters(lane, shop, needle).await?;
        }
        Ok(removed)
    }

    async fn forget_lane_dead_letters(&self, lane: Lane, shop: &str, needle: Option<&[u8]>) -> Result<u64, StoreError> {
        let mut start = "-".to_string();
        let mut removed = 0;
        loop {
            let mut range = redis::cmd("XRANGE");
            range.arg(self.keys.dead(lane)).arg(&start).arg("+").arg("COUNT").arg(STEP);
            let page = reply::entries(self.query(&range).await?).map_err(corrupt)?;
            let Some(last) = page.last() else { break };
            start = format!("({}", last.id);
            let theirs: Vec<&str> = page
                .iter()
                // An entry that does not read names no shop: it stays for an operator to look at.
                .filter(|raw| queue::buried_of(raw).is_ok_and(|b| crate::store::dead::belongs(&b, shop, needle)))
                .map(|raw| raw.id.as_str())
                .collect();
            if !theirs.is_empty() {
                let mut del = redis::cmd("XDEL");
                del.arg(self.keys.dead(lane)).arg(&theirs);
                removed += self.query::<u64>(&del).await?;
            }
            if (page.len() as u64) < STEP {
                break;
            }
        }
        Ok(removed)
    }
}
