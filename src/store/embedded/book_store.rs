//! [`BookStore`] for the embedded backend: each method hands over to the module that does the work
//! (`ledger`, `effects`, `due`, `shops`, `forget`, ...).

// The parent's imports and helpers, which every method here uses.
use super::*;

#[async_trait]
impl BookStore for EmbeddedStore {
    async fn commit_event(&self, shop: &str, event_key: &str, topic: &str, ttl: Duration) -> Result<bool, StoreError> {
        let (shop, event_key, topic) = (shop.to_string(), event_key.to_string(), topic.to_string());
        let ttl = ttl_ms(ttl);
        self.run(move |inner| inner.commit_event(&shop, &event_key, &topic, ttl)).await
    }

    async fn processed_counts(&self, shop: &str) -> Result<BTreeMap<String, u64>, StoreError> {
        let shop = shop.to_string();
        self.run(move |inner| inner.processed_counts(&shop)).await
    }

    async fn ledger_get(
        &self,
        shop: &str,
        records: &[crate::store::Record],
    ) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let (shop, records) = (shop.to_string(), records.to_vec());
        self.run(move |inner| inner.ledger_get(&shop, &records)).await
    }

    async fn ledger_levels(&self, shop: &str, item: u64) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let shop = shop.to_string();
        self.run(move |inner| inner.ledger_levels(&shop, item)).await
    }

    async fn ledger_lines(
        &self,
        shop: &str,
        variant: u64,
        around: Option<crate::ledger::FillKey>,
        reach: usize,
    ) -> Result<crate::store::LineRead, StoreError> {
        let shop = shop.to_string();
        self.run(move |inner| inner.ledger_lines(&shop, variant, around, reach)).await
    }

    async fn ledger_scan(
        &self,
        shop: &str,
        variant: u64,
        from: std::ops::Bound<crate::ledger::FillKey>,
        limit: usize,
    ) -> Result<Vec<(crate::ledger::FillKey, u32)>, StoreError> {
        let shop = shop.to_string();
        self.run(move |inner| inner.ledger_scan(&shop, variant, from, limit)).await
    }

    async fn ledger_commit(
        &self,
        shop: &str,
        commit: &crate::store::LedgerCommit,
    ) -> Result<crate::store::CommitOutcome, StoreError> {
        let (shop, commit) = (shop.to_string(), commit.clone());
        self.run(move |inner| inner.ledger_commit(&shop, &commit)).await
    }

    async fn dirty_settled(
        &self,
        shop: &str,
        settled_at_ms: u64,
        limit: usize,
    ) -> Result<Vec<crate::store::Settled>, StoreError> {
        let shop = shop.to_string();
        self.run(move |inner| inner.dirty_settled(&shop, settled_at_ms, limit)).await
    }

    async fn clear_dirty(&self, shop: &str, marks: &[crate::store::Settled]) -> Result<(), StoreError> {
        let (shop, marks) = (shop.to_string(), marks.to_vec());
        self.run(move |inner| inner.clear_dirty(&shop, &marks)).await
    }

    async fn shops(&self) -> Result<Vec<String>, StoreError> {
        self.run(move |inner| inner.shops()).await
    }

    async fn due_shops(
        &self,
        lanes: &[crate::store::Lane],
        now_ms: u64,
        limit: usize,
    ) -> Result<Vec<(String, u64)>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let lanes = lanes.to_vec();
        self.run(move |inner| inner.due_shops(&lanes, now_ms, limit)).await
    }

    async fn reschedule_due(&self, shop: &str, seen_ms: u64, next_ms: Option<u64>) -> Result<bool, StoreError> {
        let shop = shop.to_string();
        self.run(move |inner| inner.reschedule_due(&shop, seen_ms, next_ms)).await
    }

    async fn try_lease(&self, shop: &str, name: &str, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        Ok(self.inner.try_lease(shop, name, holder, ttl))
    }

    async fn release_lease(&self, shop: &str, name: &str, holder: &str) -> Result<(), StoreError> {
        self.inner.release_lease(shop, name, holder);
        Ok(())
    }

    async fn forget_shop(&self, shop: &str) -> Result<u64, StoreError> {
        let shop = shop.to_string();
        self.run(move |inner| inner.forget_shop(&shop)).await
    }

    async fn keep_out(&self, shop: &str, ttl: Duration) -> Result<(), StoreError> {
        let (shop, ttl) = (shop.to_string(), ttl_ms(ttl));
        self.run(move |inner| inner.keep_out(&shop, ttl)).await
    }

    async fn kept_out(&self, shop: &str) -> Result<bool, StoreError> {
        let shop = shop.to_string();
        self.run(move |inner| inner.kept_out(&shop)).await
    }

    async fn ledger_dirty(&self, shop: &str) -> Result<crate::store::Dirty, StoreError> {
        let shop = shop.to_string();
        self.run(move |inner| inner.ledger_dirty(&shop)).await
    }
}
