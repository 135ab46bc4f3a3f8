//! Redis backend, standalone or Cluster.
//!
//! - The queue is one stream per intake shard (`store::shard`), each read through the consumer
//!   group `workers`, so delivery is at least once: an entry stays in the group's pending list
//!   until acked, retried or dead-lettered, and entries of consumers that died are taken over
//!   with `XAUTOCLAIM`. The single stream of a store written before the shards is drained.
//! - Every change that must be atomic is one Lua script (in `lua/`, one per operation) whose keys
//!   all share one hash tag, so it runs on one Cluster slot.
//! - Any Redis error maps to [`StoreError::Unavailable`] with the detail for logs; the HTTP layer
//!   answers 503 and Shopify retries.

mod book_store;
mod conn;
mod due;
mod effects;
mod forget;
mod lanes;
mod ledger;
mod queue;
mod reply;
mod scripts;
mod shops;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use redis::{FromRedisValue, RedisError, RedisResult, ScriptInvocation, Value};
use scripts::Scripts;

use self::conn::{Conn, PerThread, Source};
use super::keys::{GROUP, Keys};
use super::{
    Backend, BookStore, DeadLetter, DeadLetterKind, Enqueued, Envelope, Lane, Queue, QueueEntry, QueueStats,
    StoreError, now_ms,
};

/// Longest dedupe or processed-mark lifetime handed to Redis; larger values would overflow its
/// expiry arithmetic and fail the command.
const MAX_TTL_MS: u64 = 100 * 365 * 24 * 3600 * 1000;

pub struct RedisStore {
    backend: &'static str,
    keys: Keys,
    /// Shared by every ordinary command; cloning it is cheap.
    conn: Conn,
    /// Standalone Redis only: a connection per thread, so a request never leaves its thread.
    per_thread: PerThread,
    /// Creates the dedicated connection of blocking reads.
    source: Source,
    /// Each lane's dedicated connection of blocking reads, created on first use and dropped
    /// after any failure (or a cancelled read) so the next read starts on a fresh one. One
    /// blocking read per lane runs at a time; other consumers of the lane wait for the lock.
    blocking: HashMap<Lane, tokio::sync::Mutex<Option<Conn>>>,
    scripts: Scripts,
    /// Where the next `XAUTOCLAIM` scan of each lane's pending list resumes.
    reclaim_cursor: std::sync::Mutex<HashMap<Lane, String>>,
    /// Shops this process put in the shops sets lately (`shops.rs`).
    remembered: shops::Remembered,
    /// When this process last made every shop of a lane due; see `due.rs`.
    seeded_at_ms: std::sync::Mutex<HashMap<Lane, u64>>,
}

impl RedisStore {
    /// Connects to a standalone Redis (`redis://` or `rediss://` URL) and makes sure the consumer
    /// group exists.
    pub async fn connect_single(url: &str, prefix: &str, shards: u16) -> Result<Self, StoreError> {
        let (conn, source) = conn::single(url).await.map_err(unavailable)?;
        Self::start("redis", conn, source, prefix, shards).await
    }

    /// Connects to Redis Cluster through seed nodes (`redis://host:port` each) and makes sure
    /// the consumer group exists.
    pub async fn connect_cluster(nodes: &[String], prefix: &str, shards: u16) -> Result<Self, StoreError> {
        let (conn, source) = conn::cluster(nodes).await.map_err(unavailable)?;
        Self::start("redis-cluster", conn, source, prefix, shards).await
    }

    async fn start(
        backend: &'static str,
        conn: Conn,
        source: Source,
        prefix: &str,
        shards: u16,
    ) -> Result<Self, StoreError> {
        let mut store = Self {
            backend,
            keys: Keys::new(prefix),
            conn,
            per_thread: PerThread::default(),
            source,
            blocking: HashMap::new(),
            scripts: Scripts::new(),
            reclaim_cursor: std::sync::Mutex::default(),
            remembered: shops::Remembered::default(),
            seeded_at_ms: std::sync::Mutex::default(),
        };
        let shards = store.agree_on_shards(shards).await?;
        store.keys = Keys::with_shards(prefix, shards);
        let lanes = std::iter::once(Lane::Legacy).chain(super::shard::lanes(shards));
        store.blocking = lanes.map(|lane| (lane, tokio::sync::Mutex::new(None))).collect();
        for lane in super::shard::lanes(shards) {
            store.create_group(lane).await?;
        }
        Ok(store)
    }

    /// The store's number of shards: the one it has, or `wanted` written now for a new store
    /// (the first instance's setting stands, so every instance maps shops alike).
    async fn agree_on_shards(&self, wanted: u16) -> Result<u16, StoreError> {
        let wanted = wanted.clamp(1, super::shard::MAX_SHARDS);
        let mut set = redis::cmd("SET");
        set.arg(self.keys.shard_count()).arg(wanted).arg("NX");
        let _: Value = self.query(&set).await?;
        let mut get = redis::cmd("GET");
        get.arg(self.keys.shard_count());
        let had: Option<u16> = self.query(&get).await?;
        match had {
            Some(had) if had != wanted => {
                tracing::warn!(
                    store = had,
                    setting = wanted,
                    "the store has its number of shards already; the setting applies to new stores only"
                );
                Ok(had.clamp(1, super::shard::MAX_SHARDS))
            }
            _ => Ok(wanted),
        }
    }

    /// Creates a lane's consumer group (and its stream). Also called when a read finds it
    /// missing, as after a restart of a Redis without persistence; reading from `0` then hands
    /// out whatever the stream still holds, since acked entries are deleted.
    async fn create_group(&self, lane: Lane) -> Result<(), StoreError> {
        let mut cmd = redis::cmd("XGROUP");
        cmd.arg("CREATE").arg(self.keys.queue(lane)).arg(GROUP).arg("0").arg("MKSTREAM");
        let cmd = &cmd;
        match self.run(true, |mut c| async move { cmd.query_async::<Value>(&mut c).await }).await {
            Err(e) if e.code() != Some("BUSYGROUP") => Err(unavailable(e)),
            _ => Ok(()),
        }
    }

    /// Runs `op` on the shared connection. When the connection turns out to be broken, redis-rs
    /// fails the command in flight and reconnects without retrying it (redis-rs#1223); with
    /// `repeatable`, the command gets one more try on the new connection. Only commands that
    /// give the same outcome when run twice may pass `repeatable`.
    async fn run<T, F, Fut>(&self, repeatable: bool, op: F) -> RedisResult<T>
    where
        F: Fn(Conn) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let conn = self.per_thread.get(&self.source).await.unwrap_or_else(|| self.conn.clone());
        match op(conn.clone()).await {
            Err(e) if repeatable && e.is_unrecoverable_error() => {
                tracing::debug!(error = %e, "redis connection dropped; trying the command once more");
                op(conn).await
            }
            result => result,
        }
    }

    /// Runs a script on the shared connection.
    async fn invoke<T>(&self, repeatable: bool, inv: &ScriptInvocation<'_>) -> Result<T, StoreError>
    where
        T: FromRedisValue + Send,
    {
        self.run(repeatable, |mut c| async move { inv.invoke_async::<T>(&mut c).await }).await.map_err(unavailable)
    }

    /// Runs one command on the shared connection, retried once on a dropped connection; for
    /// reads and commands that are idempotent.
    async fn query<T>(&self, cmd: &redis::Cmd) -> Result<T, StoreError>
    where
        T: FromRedisValue + Send,
    {
        self.run(true, |mut c| async move { cmd.query_async::<T>(&mut c).await }).await.map_err(unavailable)
    }
}

fn unavailable(e: RedisError) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn corrupt(e: String) -> StoreError {
    StoreError::Corrupt(e)
}

/// A lifetime in milliseconds as Redis accepts it: at least 1 ms, at most [`MAX_TTL_MS`].
fn ttl_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).clamp(1, MAX_TTL_MS)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[async_trait]
impl Backend for RedisStore {
    fn backend(&self) -> &'static str {
        self.backend
    }

    async fn ping(&self) -> Result<(), StoreError> {
        // One node answering is enough: with the intake spread over the nodes, a node that is
        // down fails only its own shops' requests (503), and the instance must stay in the load
        // balancer for all the others.
        self.query::<Value>(&redis::cmd("PING")).await.map(|_| ())
    }
}

#[async_trait]
impl Queue for RedisStore {
    fn shards(&self) -> u16 {
        self.keys.shards()
    }

    async fn enqueue(&self, envelope: &Envelope, dedupe_ttl: Duration) -> Result<Enqueued, StoreError> {
        let meta = &envelope.meta;
        let lane = self.keys.lane_of(&meta.shop);
        let mut inv = self.scripts.enqueue.prepare_invoke();
        inv.key(self.keys.queue(lane)).key(self.keys.shops(lane)).key(self.keys.seen_delivery(lane, &meta.webhook_id));
        if let Some(event) = &meta.event_id {
            inv.key(self.keys.seen_event(lane, event));
        }
        inv.arg(envelope.encode()).arg(ttl_ms(dedupe_ttl)).arg(&meta.shop);
        // Repeatable: if the first run went through before the connection dropped, the second
        // sees the marks and says Duplicate; either way the delivery is durably queued once.
        let queued: i64 = self.invoke(true, &inv).await?;
        Ok(if queued == 1 { Enqueued::New } else { Enqueued::Duplicate })
    }

    async fn dequeue(
        &self,
        consumer: &str,
        lane: Lane,
        max: usize,
        block: Duration,
    ) -> Result<Vec<QueueEntry>, StoreError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let raw = self.read_group(consumer, lane, max, block).await?;
        Ok(self.to_entries(lane, raw.into_iter().map(|e| (e, 1)).collect()).await)
    }

    async fn reclaim(
        &self,
        consumer: &str,
        lane: Lane,
        min_idle: Duration,
        max: usize,
    ) -> Result<Vec<QueueEntry>, StoreError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let claimed = self.auto_claim(consumer, lane, min_idle, max).await?;
        Ok(self.to_entries(lane, claimed).await)
    }

    async fn legacy_waiting(&self) -> Result<bool, StoreError> {
        let (queued, delayed) = self.lane_sizes(Lane::Legacy).await?;
        Ok(queued + delayed > 0)
    }

    async fn own_lane(&self, lane: Lane, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        self.take_lease(&self.keys.owner(lane), holder, ttl).await
    }

    async fn disown_lane(&self, lane: Lane, holder: &str) -> Result<(), StoreError> {
        self.give_up_lease(&self.keys.owner(lane), holder).await
    }

    async fn heartbeat(&self, instance: &str, ttl: Duration) -> Result<u32, StoreError> {
        self.heartbeat_impl(instance, ttl).await
    }

    async fn depart(&self, instance: &str) -> Result<(), StoreError> {
        let mut zrem = redis::cmd("ZREM");
        zrem.arg(self.keys.instances()).arg(instance);
        self.query::<i64>(&zrem).await.map(|_| ())
    }

    async fn renew(&self, consumer: &str, entry: &QueueEntry) -> Result<bool, StoreError> {
        let mut inv = self.scripts.renew.prepare_invoke();
        inv.key(self.keys.queue(entry.lane)).arg(GROUP).arg(&entry.id).arg(consumer);
        Ok(self.invoke::<i64>(true, &inv).await? == 1)
    }

    async fn ack(&self, entry: &QueueEntry) -> Result<(), StoreError> {
        let mut inv = self.scripts.ack.prepare_invoke();
        inv.key(self.keys.queue(entry.lane)).arg(GROUP).arg(&entry.id);
        self.invoke::<i64>(true, &inv).await.map(|_| ())
    }

    async fn retry_later(&self, entry: &QueueEntry, delay: Duration) -> Result<(), StoreError> {
        let mut envelope = entry.envelope.clone();
        envelope.meta.attempts = envelope.meta.attempts.saturating_add(1);
        let due = now_ms().saturating_add(millis(delay));
        let mut inv = self.scripts.retry.prepare_invoke();
        inv.key(self.keys.queue(entry.lane)).key(self.keys.delayed(entry.lane));
        inv.arg(GROUP).arg(&entry.id).arg(due).arg(envelope.encode());
        // Repeatable: the script parks the entry only while it is still pending.
        if self.invoke::<i64>(true, &inv).await? == 0 {
            tracing::debug!(id = %entry.id, "retry of an entry that was already settled; nothing parked");
        }
        Ok(())
    }

    async fn dead_letter(&self, entry: &QueueEntry, reason: &str) -> Result<(), StoreError> {
        let mut inv = self.scripts.dead.prepare_invoke();
        inv.key(self.keys.queue(entry.lane)).key(self.keys.dead(entry.lane));
        inv.arg(GROUP).arg(&entry.id).arg(entry.envelope.encode()).arg(reason);
        inv.arg(DeadLetterKind::Webhook.as_str()).arg(now_ms());
        // Repeatable: the script moves the entry only while it is still pending.
        if self.invoke::<i64>(true, &inv).await? == 0 {
            tracing::debug!(id = %entry.id, "dead-letter of an entry that was already settled; nothing added");
        }
        Ok(())
    }

    async fn bury_effect(&self, shop: &str, mark: crate::store::Mark, reason: &str) -> Result<(), StoreError> {
        let mut cmd = redis::cmd("XADD");
        cmd.arg(self.keys.dead(self.keys.lane_of(shop))).arg("*").arg("kind").arg(DeadLetterKind::Effect.as_str());
        cmd.arg("shop").arg(shop).arg("mark").arg(mark.encode()).arg("reason").arg(reason).arg("at").arg(now_ms());
        // Not repeatable blindly: a retry after a dropped reply could add it twice. Burying is
        // rare and an operator-facing list, so one attempt is enough.
        let cmd = &cmd;
        self.run(false, |mut c| async move { cmd.query_async::<redis::Value>(&mut c).await })
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn maintain(&self, lanes: &[Lane]) -> Result<u64, StoreError> {
        // Dedupe and processed marks carry a TTL: Redis drops them by itself.
        let mut moved = 0;
        for lane in lanes {
            moved += self.promote(*lane).await?;
        }
        Ok(moved)
    }

    async fn trim_dead_letters(&self, keep: u64, before_ms: u64) -> Result<u64, StoreError> {
        let mut removed = 0;
        for lane in self.every_lane() {
            removed += self.trim_lane(lane, keep, before_ms).await?;
        }
        Ok(removed)
    }

    async fn queue_stats(&self) -> Result<QueueStats, StoreError> {
        // Every lane at once: `/metrics` asks for this on every scrape.
        let lanes = self.every_lane();
        let sizes = lanes.iter().map(|&lane| async move {
            let (queued, delayed) = self.lane_sizes(lane).await?;
            let mut xlen = redis::cmd("XLEN");
            xlen.arg(self.keys.dead(lane));
            Ok::<_, StoreError>((queued, delayed, self.query::<u64>(&xlen).await?))
        });
        let mut stats = QueueStats::default();
        for size in futures_util::future::join_all(sizes).await {
            let (queued, delayed, dead) = size?;
            stats.queued += queued;
            stats.delayed += delayed;
            stats.dead += dead;
        }
        Ok(stats)
    }

    async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, StoreError> {
        self.dead_letters_impl(limit).await
    }

    async fn replay_dead_letters(&self, id: Option<&str>) -> Result<u64, StoreError> {
        match id {
            Some(id) => self.replay_one_id(id).await,
            None => self.replay_all().await,
        }
    }

    async fn purge_dead_letters(&self, shop: &str, needle: &[u8]) -> Result<u64, StoreError> {
        self.forget_dead_letters(shop, Some(needle)).await
    }
}
