//! Durable state behind two narrow traits, with two backends: Redis (standalone or Cluster)
//! and an embedded file store. [`Queue`] is the intake queue and its dead letters; [`BookStore`]
//! is the shops' records, lines and marks, which only `crate::books` uses. Both backends
//! implement both, so the same conformance suite proves they behave alike.

mod dead;
pub mod embedded;
mod envelope;
pub mod keys;
pub mod ledger;
mod mark;
pub mod redis;
pub mod shard;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::ledger::FillKey;

pub use dead::{Buried, DeadLetter, DeadLetterKind, LEGACY_EFFECT_TOPIC, legacy_effect};
pub use envelope::{DecodeError, Envelope, EnvelopeMeta};
pub use ledger::{CommitOutcome, Dirty, EventMark, LedgerCommit, LineRead, LineWrite, Record};
pub use mark::{Mark, Settled};
pub use shard::Lane;

/// Errors a backend reports. Callers only need to know whether the store could be reached; the
/// detail is for logs, never for HTTP clients.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("bad store url: {0}")]
    BadUrl(String),
}

/// What happened to a delivery handed to [`Store::enqueue`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    /// First sight of this delivery and event: now durably queued.
    New,
    /// The delivery id or the event id was seen within the dedupe window: nothing stored.
    Duplicate,
}

/// One queued webhook as a worker sees it.
#[derive(Debug, Clone)]
pub struct QueueEntry {
    /// The stream it was read from; its ack, retry or dead letter goes there.
    pub lane: Lane,
    /// Backend-specific id within the lane, opaque to callers.
    pub id: String,
    pub envelope: Envelope,
    /// How many times this entry has been handed to a consumer, this time included. Counts
    /// deliveries to consumers that died, so a poison entry cannot crash workers forever.
    pub deliveries: u64,
}

impl QueueEntry {
    /// Attempts so far: explicit retries plus deliveries that never came back.
    pub fn attempts(&self) -> u64 {
        u64::from(self.envelope.meta.attempts) + self.deliveries
    }
}

/// Sizes an operator watches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct QueueStats {
    /// Entries waiting for a consumer or held by one.
    pub queued: u64,
    /// Entries waiting out a retry delay.
    pub delayed: u64,
    pub dead: u64,
}

/// What every backend is: a name for logs and a liveness check.
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// `"redis"`, `"redis-cluster"` or `"embedded"`.
    fn backend(&self) -> &'static str;

    /// Succeeds only when the store answers.
    async fn ping(&self) -> Result<(), StoreError>;
}

/// The intake queue and its dead letters: what the webhook intake, the queue consumers, the
/// health check and `dlq` use.
#[async_trait]
pub trait Queue: Backend {
    /// How many shards the intake has (`store::shard`): fixed for the store's life.
    fn shards(&self) -> u16;

    /// The lane `shop`'s webhooks take.
    fn lane_of(&self, shop: &str) -> Lane {
        shard::lane_of(shop, self.shards())
    }

    /// Marks the delivery id and event id as seen for `dedupe_ttl` and queues the envelope, in
    /// one atomic step: either both happen or neither does.
    async fn enqueue(&self, envelope: &Envelope, dedupe_ttl: Duration) -> Result<Enqueued, StoreError>;

    /// Hands out up to `max` entries of `lane` to `consumer`, waiting up to `block` when none is
    /// ready. An entry stays owned by the consumer until acked, retried or dead-lettered.
    async fn dequeue(
        &self,
        consumer: &str,
        lane: Lane,
        max: usize,
        block: Duration,
    ) -> Result<Vec<QueueEntry>, StoreError>;

    /// Takes over entries of `lane` that a consumer has held for longer than `min_idle` (it
    /// died).
    async fn reclaim(
        &self,
        consumer: &str,
        lane: Lane,
        min_idle: Duration,
        max: usize,
    ) -> Result<Vec<QueueEntry>, StoreError>;

    /// Whether the single stream of a store written before the shards still holds anything
    /// (queued, pending or waiting out a retry): consumers drain it while it does.
    async fn legacy_waiting(&self) -> Result<bool, StoreError>;

    /// Takes (or renews) the ownership of `lane` for `holder` for `ttl`, unless another holder
    /// has it: the owner alone reads the lane and serves its shops' effects.
    async fn own_lane(&self, lane: Lane, holder: &str, ttl: Duration) -> Result<bool, StoreError>;

    /// Gives `lane` up, if `holder` has it.
    async fn disown_lane(&self, lane: Lane, holder: &str) -> Result<(), StoreError>;

    /// Says `instance` is alive for `ttl` and returns how many instances are (this one
    /// included): each takes its share of the lanes from that.
    async fn heartbeat(&self, instance: &str, ttl: Duration) -> Result<u32, StoreError>;

    /// `instance` stops: it no longer counts among the live ones.
    async fn depart(&self, instance: &str) -> Result<(), StoreError>;

    /// Renews `consumer`'s hold on an entry it is about to process (the rest of a batch waits
    /// behind the shop lock and must not look idle to the re-claimer). `false`: another
    /// consumer took it over, or it was settled; leave it to them.
    async fn renew(&self, consumer: &str, entry: &QueueEntry) -> Result<bool, StoreError>;

    /// The entry is done; it leaves the queue.
    async fn ack(&self, entry: &QueueEntry) -> Result<(), StoreError>;

    /// The entry failed for a passing reason: it leaves the consumer and comes back after
    /// `delay` with its attempt count raised by one.
    async fn retry_later(&self, entry: &QueueEntry, delay: Duration) -> Result<(), StoreError>;

    /// Moves the entry to the dead-letter list with the reason, atomically.
    async fn dead_letter(&self, entry: &QueueEntry, reason: &str) -> Result<(), StoreError>;

    /// Dead-letters a platform effect out of retries: the shop and its mark, with the reason.
    async fn bury_effect(&self, shop: &str, mark: Mark, reason: &str) -> Result<(), StoreError>;

    /// Moves retries of `lanes` whose delay is over back into their queues and drops expired
    /// dedupe marks. Returns how many entries became ready.
    async fn maintain(&self, lanes: &[Lane]) -> Result<u64, StoreError>;

    async fn queue_stats(&self) -> Result<QueueStats, StoreError>;

    /// Dead letters, oldest first.
    async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, StoreError>;

    /// Puts one dead letter (or all, with `None`) back: a webhook in the queue with a fresh
    /// attempt count; an effect marked again in its shop's ledger (a commit of the mark alone),
    /// for the next effects pass. The mark is set before the dead letter goes, so a crash between
    /// leaves it to replay again, which marks again: harmless. Returns how many were replayed.
    async fn replay_dead_letters(&self, id: Option<&str>) -> Result<u64, StoreError>;

    /// Deletes the shop's webhook dead letters whose body holds `needle` (ASCII case-insensitive):
    /// a redacted customer's address must not outlive the redaction there. Effect dead letters
    /// hold no customer data and stay (`forget_shop` removes them). The number deleted.
    async fn purge_dead_letters(&self, shop: &str, needle: &[u8]) -> Result<u64, StoreError>;

    /// The retention of the dead letters: keeps at most `keep`, none buried before
    /// `before_ms`; the number removed.
    async fn trim_dead_letters(&self, keep: u64, before_ms: u64) -> Result<u64, StoreError>;
}

/// The shops' records, book lines, marks, leases and processed events: only `crate::books`
/// (and the store's own tests) use these.
#[async_trait]
pub trait BookStore: Backend {
    /// Records that `event_key` of `shop` has been processed, unless it already was. Returns
    /// `true` when this call recorded it. The mark and the per-topic count commit together.
    async fn commit_event(&self, shop: &str, event_key: &str, topic: &str, ttl: Duration) -> Result<bool, StoreError>;

    /// Processed events of a shop, by topic.
    async fn processed_counts(&self, shop: &str) -> Result<BTreeMap<String, u64>, StoreError>;

    /// Current values of `records` of `shop`, in the order asked (`None`: absent).
    async fn ledger_get(&self, shop: &str, records: &[Record]) -> Result<Vec<Option<Vec<u8>>>, StoreError>;

    /// The level records of one inventory item, at every location, by location.
    async fn ledger_levels(&self, shop: &str, item: u64) -> Result<Vec<(u64, Vec<u8>)>, StoreError>;

    /// Lines of `variant` around `around`: up to `reach` lines before it and up to `reach` from
    /// it on; with `None`, the last `reach` lines. The bounds say how far the read is complete
    /// (`Unbounded` where it reached an end of the book).
    async fn ledger_lines(
        &self,
        shop: &str,
        variant: u64,
        around: Option<FillKey>,
        reach: usize,
    ) -> Result<LineRead, StoreError>;

    /// Lines of `variant` in fill order from `from` on, at most `limit`: pages through a book
    /// (queues, re-keying) without reading what lies before the page.
    async fn ledger_scan(
        &self,
        shop: &str,
        variant: u64,
        from: std::ops::Bound<crate::ledger::FillKey>,
        limit: usize,
    ) -> Result<Vec<(crate::ledger::FillKey, u32)>, StoreError>;

    /// Applies `commit` atomically: checks the processed mark and every expected record, then
    /// writes records, lines, the mark, the per-topic count and the dirty marks together. The
    /// shop is among [`Store::shops`] from its first commit on (an install is a commit too).
    async fn ledger_commit(&self, shop: &str, commit: &LedgerCommit) -> Result<CommitOutcome, StoreError>;

    /// Dirty marks whose last change is at or before `settled_at_ms`, oldest first, with the
    /// time of that change.
    async fn dirty_settled(&self, shop: &str, settled_at_ms: u64, limit: usize) -> Result<Vec<Settled>, StoreError>;

    /// Removes marks whose last change is still the one given; a mark dirtied again since stays.
    async fn clear_dirty(&self, shop: &str, marks: &[Settled]) -> Result<(), StoreError>;

    /// Every shop the sweeps visit, sorted: each is here from its install or its first ledger
    /// commit of any kind, until `forget_shop`.
    async fn shops(&self) -> Result<Vec<String>, StoreError>;

    /// The index of shops with work due: those due at `now_ms` or before, earliest first, at
    /// most `limit`, each with its score (when it became due, in ms) as
    /// [`BookStore::reschedule_due`] compares it. A shop with nothing to do is not listed, so it
    /// costs the effects dispatcher nothing. A ledger commit that sets a mark or writes the
    /// settings or the install makes its shop due now ([`LedgerCommit::makes_due`]); one that is
    /// due already moves 1 ms earlier, so every such commit changes the score.
    ///
    /// A store written before the index holds shops and marks but no entries: the embedded
    /// store fills the index from [`BookStore::shops`] when it creates it; Redis, where instances of
    /// the earlier version may still be writing, makes every shop due on the first call of each
    /// process.
    ///
    /// The index is kept per lane (`Queue::lane_of` of the shop): only the shops of `lanes` are
    /// listed, so each instance reads the lanes it owns.
    async fn due_shops(&self, lanes: &[Lane], now_ms: u64, limit: usize) -> Result<Vec<(String, u64)>, StoreError>;

    /// After a pass over `shop`: if its score is still `seen_ms` (nothing made it due since the
    /// pass read it), moves it to `next_ms`, or takes it out of the index with `None`. `false`:
    /// it changed meanwhile (or is gone) and is left as it is.
    async fn reschedule_due(&self, shop: &str, seen_ms: u64, next_ms: Option<u64>) -> Result<bool, StoreError>;

    /// Takes (or renews) the lease `name` of `shop` for `holder`, unless another holder has it;
    /// it lapses after `ttl` unless renewed.
    async fn try_lease(&self, shop: &str, name: &str, holder: &str, ttl: Duration) -> Result<bool, StoreError>;

    async fn release_lease(&self, shop: &str, name: &str, holder: &str) -> Result<(), StoreError>;

    /// Orders and variants marked dirty by commits, not yet cleared.
    async fn ledger_dirty(&self, shop: &str) -> Result<Dirty, StoreError>;

    /// Deletes every key and record of `shop` (`shop/redact`): ledger, marks, counts, leases,
    /// its place among the shops and in the due index, and its dead letters. Other shops are
    /// untouched. Returns how many keys or rows went.
    async fn forget_shop(&self, shop: &str) -> Result<u64, StoreError>;

    /// After `shop/redact`: for `ttl` (the dedupe window), no commit or processed mark of the
    /// shop is written (`CommitOutcome::Gone`), so a webhook still queued or retrying, or an
    /// effect in flight, brings nothing back. A new install's commit (`revive`) lifts it.
    async fn keep_out(&self, shop: &str, ttl: Duration) -> Result<(), StoreError>;

    /// Whether the shop is kept out now.
    async fn kept_out(&self, shop: &str) -> Result<bool, StoreError>;
}

/// Both halves, as each backend implements them; handed out narrowed ([`SharedQueue`],
/// [`SharedBookStore`]).
pub trait Store: Queue + BookStore {}

impl<T: Queue + BookStore + ?Sized> Store for T {}

pub type SharedStore = Arc<dyn Store>;
pub type SharedQueue = Arc<dyn Queue>;
pub type SharedBookStore = Arc<dyn BookStore>;

/// Opens the backend named by a store URL (SPEC 3.2), with the default number of shards for a
/// new store.
pub async fn open(url: &str, prefix: &str) -> Result<SharedStore, StoreError> {
    open_with(url, prefix, shard::DEFAULT_SHARDS).await
}

/// Opens the backend named by a store URL. `shards` applies to a new Redis store; one that has
/// its number already keeps it, so every instance maps shops to the same streams.
pub async fn open_with(url: &str, prefix: &str, shards: u16) -> Result<SharedStore, StoreError> {
    match StoreUrl::parse(url)? {
        StoreUrl::File(path) => Ok(Arc::new(embedded::EmbeddedStore::open_with(&path, shards).await?)),
        StoreUrl::Redis(url) => Ok(Arc::new(redis::RedisStore::connect_single(&url, prefix, shards).await?)),
        StoreUrl::RedisCluster(nodes) => {
            Ok(Arc::new(redis::RedisStore::connect_cluster(&nodes, prefix, shards).await?))
        }
    }
}

/// A parsed `BACKORDER__STORE__URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    File(std::path::PathBuf),
    Redis(String),
    /// `redis://host:port` of each seed node.
    RedisCluster(Vec<String>),
}

impl StoreUrl {
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        if let Some(path) = url.strip_prefix("file://") {
            if path.is_empty() {
                return Err(StoreError::BadUrl("file:// needs a path, e.g. file://./data".into()));
            }
            return Ok(Self::File(path.into()));
        }
        if let Some(rest) = url.strip_prefix("redis+cluster://") {
            let (auth, hosts) = match rest.rsplit_once('@') {
                Some((auth, hosts)) => (format!("{auth}@"), hosts),
                None => (String::new(), rest),
            };
            let hosts = hosts.trim_end_matches('/');
            let nodes: Vec<String> = hosts
                .split(',')
                .map(str::trim)
                .filter(|h| !h.is_empty())
                .map(|h| format!("redis://{auth}{h}"))
                .collect();
            if nodes.is_empty() {
                return Err(StoreError::BadUrl("redis+cluster:// needs at least one host:port".into()));
            }
            for node in &nodes {
                url::Url::parse(node).map_err(|e| StoreError::BadUrl(format!("cluster node: {e}")))?;
            }
            return Ok(Self::RedisCluster(nodes));
        }
        if url.starts_with("redis://") || url.starts_with("rediss://") {
            let parsed = url::Url::parse(url).map_err(|e| StoreError::BadUrl(e.to_string()))?;
            if parsed.host_str().is_none_or(str::is_empty) {
                return Err(StoreError::BadUrl("redis url needs a host".into()));
            }
            return Ok(Self::Redis(url.to_string()));
        }
        Err(StoreError::BadUrl(
            "expected file://PATH, redis://, rediss:// or redis+cluster://host:port,host:port".into(),
        ))
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_urls_parse_into_backends() {
        assert_eq!(StoreUrl::parse("file://./data").unwrap(), StoreUrl::File("./data".into()));
        assert_eq!(
            StoreUrl::parse("redis+cluster://a:1,b:2").unwrap(),
            StoreUrl::RedisCluster(vec!["redis://a:1".into(), "redis://b:2".into()])
        );
        assert!(matches!(StoreUrl::parse("rediss://h:6380/0").unwrap(), StoreUrl::Redis(_)));
        assert!(StoreUrl::parse("postgres://x").is_err());
        assert!(StoreUrl::parse("file://").is_err());
        assert!(StoreUrl::parse("redis+cluster://").is_err());
    }
}
