//! The index of shops with work due, in Redis: one sorted set under the `{due}` hash tag, read
//! by every sweep. A ledger commit runs on its shop's slot, so in a Cluster the same script
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
//! A store written before the index has shops and marks but no entries, and during a rolling
//! deploy instances of that version keep committing without touching it: the same seeding at
//! the first read of the index in each process covers them.

use std::sync::atomic::Ordering;

use super::RedisStore;
use crate::store::StoreError;

/// Shops per `due_set.lua` run, so one run stays short however many shops a seed names.
const SET_BATCH: usize = 500;
/// How often each process makes every shop due again (a safety net; see above).
const RESEED: std::time::Duration = std::time::Duration::from_secs(600);

impl RedisStore {
    pub(super) async fn set_due_impl(&self, shops: &[String], at_ms: u64) -> Result<(), StoreError> {
        for batch in shops.chunks(SET_BATCH) {
            let mut inv = self.scripts.due_set.prepare_invoke();
            inv.key(self.keys.due()).arg(at_ms);
            for shop in batch {
                inv.arg(shop);
            }
            // Repeatable: a second run moves the score 1 ms earlier again, which only makes the
            // shop due a little sooner.
            let _: i64 = self.invoke(true, &inv).await?;
        }
        Ok(())
    }

    pub(super) async fn due_shops_impl(&self, now_ms: u64, limit: usize) -> Result<Vec<(String, u64)>, StoreError> {
        let now = crate::store::now_ms();
        let last = self.seeded_at_ms.load(Ordering::Relaxed);
        if last == 0 || now.saturating_sub(last) >= RESEED.as_millis() as u64 {
            // Two calls at once both seed; the second only moves scores 1 ms earlier.
            let shops = self.shops_impl().await?;
            self.set_due_impl(&shops, now).await?;
            self.seeded_at_ms.store(now.max(1), Ordering::Relaxed);
        }
        if limit == 0 {
            return Ok(Vec::new());
        }
        self.up_to_score(&self.keys.due(), now_ms, limit).await
    }

    pub(super) async fn reschedule_due_impl(
        &self,
        shop: &str,
        seen_ms: u64,
        next_ms: Option<u64>,
    ) -> Result<bool, StoreError> {
        let mut inv = self.scripts.due_reschedule.prepare_invoke();
        inv.key(self.keys.due()).arg(shop).arg(seen_ms);
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
        let mut zrem = redis::cmd("ZREM");
        zrem.arg(self.keys.due()).arg(shop);
        self.query::<u64>(&zrem).await
    }
}
