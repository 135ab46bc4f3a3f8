//! [`BookStore`] for the redis backend: each method hands over to the module that does the work
//! (`ledger`, `effects`, `due`, `shops`, `forget`, ...).

// The parent's imports and helpers, which every method here uses.
use super::*;

#[async_trait]
impl BookStore for RedisStore {
    async fn commit_event(&self, shop: &str, event_key: &str, topic: &str, ttl: Duration) -> Result<bool, StoreError> {
        let mut inv = self.scripts.commit.prepare_invoke();
        inv.key(self.keys.processed(shop, event_key)).key(self.keys.processed_counts(shop)).key(self.keys.gone(shop));
        inv.arg(ttl_ms(ttl)).arg(topic);
        // Not repeatable: a second run after a first that went through would answer "already
        // recorded" to the caller that recorded it. The caller retries through the queue instead.
        let recorded: i64 = self.invoke(false, &inv).await?;
        Ok(recorded == 1)
    }

    async fn processed_counts(&self, shop: &str) -> Result<BTreeMap<String, u64>, StoreError> {
        let mut cmd = redis::cmd("HGETALL");
        cmd.arg(self.keys.processed_counts(shop));
        self.query(&cmd).await
    }

    async fn ledger_get(
        &self,
        shop: &str,
        records: &[crate::store::Record],
    ) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        self.ledger_get_impl(shop, records).await
    }

    async fn ledger_levels(&self, shop: &str, item: u64) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        self.ledger_levels_impl(shop, item).await
    }

    async fn ledger_lines(
        &self,
        shop: &str,
        variant: u64,
        around: Option<crate::ledger::FillKey>,
        reach: usize,
    ) -> Result<crate::store::LineRead, StoreError> {
        self.ledger_lines_impl(shop, variant, around, reach).await
    }

    async fn ledger_scan(
        &self,
        shop: &str,
        variant: u64,
        from: std::ops::Bound<crate::ledger::FillKey>,
        limit: usize,
    ) -> Result<Vec<(crate::ledger::FillKey, u32)>, StoreError> {
        self.ledger_scan_impl(shop, variant, from, limit).await
    }

    async fn ledger_commit(
        &self,
        shop: &str,
        commit: &crate::store::LedgerCommit,
    ) -> Result<crate::store::CommitOutcome, StoreError> {
        self.ledger_commit_impl(shop, commit).await
    }

    async fn dirty_settled(
        &self,
        shop: &str,
        settled_at_ms: u64,
        limit: usize,
    ) -> Result<Vec<crate::store::Settled>, StoreError> {
        self.dirty_settled_impl(shop, settled_at_ms, limit).await
    }

    async fn clear_dirty(&self, shop: &str, marks: &[crate::store::Settled]) -> Result<(), StoreError> {
        self.clear_dirty_impl(shop, marks).await
    }

    async fn shops(&self) -> Result<Vec<String>, StoreError> {
        self.shops_impl().await
    }

    async fn due_shops(&self, lanes: &[Lane], now_ms: u64, limit: usize) -> Result<Vec<(String, u64)>, StoreError> {
        self.due_shops_impl(lanes, now_ms, limit).await
    }

    async fn reschedule_due(&self, shop: &str, seen_ms: u64, next_ms: Option<u64>) -> Result<bool, StoreError> {
        self.reschedule_due_impl(shop, seen_ms, next_ms).await
    }

    async fn try_lease(&self, shop: &str, name: &str, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        self.try_lease_impl(shop, name, holder, ttl).await
    }

    async fn release_lease(&self, shop: &str, name: &str, holder: &str) -> Result<(), StoreError> {
        self.release_lease_impl(shop, name, holder).await
    }

    async fn forget_shop(&self, shop: &str) -> Result<u64, StoreError> {
        self.forget_shop_impl(shop).await
    }

    async fn keep_out(&self, shop: &str, ttl: Duration) -> Result<(), StoreError> {
        self.keep_out_impl(shop, ttl).await
    }

    async fn kept_out(&self, shop: &str) -> Result<bool, StoreError> {
        self.kept_out_impl(shop).await
    }

    async fn ledger_dirty(&self, shop: &str) -> Result<crate::store::Dirty, StoreError> {
        self.ledger_dirty_impl(shop).await
    }
}
