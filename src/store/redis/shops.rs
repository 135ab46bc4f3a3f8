//! The shops index in Redis: one set per intake lane, under the lane's hash tag (the enqueue
//! script adds a shop there with its webhook). A
//! ledger commit runs on its shop's slot, so in a Cluster the same script cannot add to the set;
//! the shop is added just before its commit instead. Added first, a crash between the two can
//! never leave a committed shop out of the sweeps; a commit that then fails leaves a member
//! with nothing to sweep, which costs the sweeper one read.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::RedisStore;
use crate::store::StoreError;

/// How long this process trusts its own earlier add. Commits then cost no extra round trip; a
/// shop another instance removed meanwhile (`shop/redact`) is listed again by the first commit
/// here after this, where the embedded store would list it again at once.
const TRUSTED_FOR: Duration = Duration::from_secs(60);

/// Past this many entries, stale ones are dropped on the next add.
const PRUNE_AT: usize = 10_000;

/// The shops this process added lately, with when.
#[derive(Default)]
pub(super) struct Remembered(Mutex<HashMap<String, Instant>>);

impl Remembered {
    fn fresh(&self, shop: &str, now: Instant) -> bool {
        let map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(shop).is_some_and(|at| now.duration_since(*at) < TRUSTED_FOR)
    }

    fn note(&self, shop: &str, now: Instant) {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= PRUNE_AT {
            map.retain(|_, at| now.duration_since(*at) < TRUSTED_FOR);
        }
        map.insert(shop.to_string(), now);
    }

    pub(super) fn forget(&self, shop: &str) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).remove(shop);
    }
}

impl RedisStore {
    /// Puts the shop in its lane's shops set, unless this process did so lately.
    pub(super) async fn remember_shop(&self, shop: &str) -> Result<(), StoreError> {
        if self.remembered.fresh(shop, Instant::now()) {
            return Ok(());
        }
        let mut sadd = redis::cmd("SADD");
        sadd.arg(self.keys.shops(self.keys.lane_of(shop))).arg(shop);
        let _: i64 = self.query(&sadd).await?;
        self.remembered.note(shop, Instant::now());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_add_is_trusted_for_a_while_and_not_after_a_forget() {
        let r = Remembered::default();
        let t = Instant::now();
        assert!(!r.fresh("a", t));
        r.note("a", t);
        assert!(r.fresh("a", t + Duration::from_secs(1)));
        assert!(!r.fresh("a", t + TRUSTED_FOR));
        r.forget("a");
        assert!(!r.fresh("a", t));
    }
}
