//! Redis backend, standalone or Cluster.
//!
//! - The queue is a stream read through the consumer group `workers`, so delivery is at least
//!   once: an entry stays in the group's pending list until acked, retried or dead-lettered, and
//!   entries of consumers that died are taken over with `XAUTOCLAIM`.
//! - Every change that must be atomic is one Lua script (in `lua/`, one per operation) whose keys
//!   all share one hash tag, so it runs on one Cluster slot.
//! - Any Redis error maps to [`StoreError::Unavailable`] with the detail for logs; the HTTP layer
//!   answers 503 and Shopify retries.

mod book_store;
mod conn;
mod due;
mod effects;
mod forget;
mod ledger;
mod queue;
mod reply;
mod scripts;
mod shops;

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use redis::{FromRedisValue, RedisError, RedisResult, ScriptInvocation, Value};
use scripts::Scripts;

use self::conn::{Conn, PerThread, Source};
use super::keys::{GROUP, Keys};
use super::{
    Backend, BookStore, DeadLetter, DeadLetterKind, Enqueued, Envelope, Queue, QueueEntry, QueueStats, StoreError,
    now_ms,
};

/// Longest dedupe or processed-mark lifetime handed to Redis; larger values would overflow its
/// expiry arithmetic and fail the command.
const MAX_TTL_MS: u64 = 100 * 365 * 24 * 3600 * 1000;

/// Most delayed retries promoted by one script run, so the script stays short.
const PROMOTE_BATCH: u64 = 100;

/// Most promote runs per `maintain` call; a backlog beyond that waits for the next call.
const PROMOTE_ROUNDS: u64 = 10;

pub struct RedisStore {
    backend: &'static str,
    keys: Keys,
    /// Shared by every ordinary command; cloning it is cheap.
    conn: Conn,
    /// Standalone Redis only: a connection per thread, so a request never leaves its thread.
    per_thread: PerThread,
    /// Creates the dedicated connection of blocking reads.
    source: Source,
    /// The dedicated connection of blocking reads, created on first use and dropped after any
    /// failure (or a cancelled read) so the next read starts on a fresh one. One blocking read
    /// runs at a time; other consumers wait for the lock.
    blocking: tokio::sync::Mutex<Option<Conn>>,
    scripts: Scripts,
    /// Where the next `XAUTOCLAIM` scan of the pending list resumes.
    reclaim_cursor: std::sync::Mutex<String>,
    /// Shops this process put in the shops set lately (`shops.rs`).
    remembered: shops::Remembered,
    /// When this process last made every shop due (0: not yet); see `due.rs`.
    seeded_at_ms: std::sync::atomic::AtomicU64,
}

impl RedisStore {
    /// Connects to a standalone Redis (`redis://` or `rediss://` URL) and makes sure the consumer
    /// group exists.
    pub async fn connect_single(url: &str, prefix: &str) -> Result<Self, StoreError> {
        let (conn, source) = conn::single(url).await.map_err(unavailable)?;
        Self::start("redis", conn, source, prefix).await
    }

    /// Connects to Redis Cluster through seed nodes (`redis://host:port` each) and makes sure
    /// the consumer group exists.
    pub async fn connect_cluster(nodes: &[String], prefix: &str) -> Result<Self, StoreError> {
        let (conn, source) = conn::cluster(nodes).await.map_err(unavailable)?;
        Self::start("redis-cluster", conn, source, prefix).await
    }

    async fn start(backend: &'static str, conn: Conn, source: Source, prefix: &str) -> Result<Self, StoreError> {
        let store = Self {
            backend,
            keys: Keys::new(prefix),
            conn,
            per_thread: PerThread::default(),
            source,
            blocking: tokio::sync::Mutex::new(None),
            scripts: Scripts::new(),
            reclaim_cursor: std::sync::Mutex::new("0-0".into()),
            remembered: shops::Remembered::default(),
            seeded_at_ms: std::sync::atomic::AtomicU64::new(0),
        };
        store.create_group().await?;
        Ok(store)
    }

    /// Creates the consumer group (and the stream). Also called when a read finds it missing,
    /// as after a restart of a Redis without persistence; reading from `0` then hands out
    /// whatever the stream still holds, since acked entries are deleted.
    async fn create_group(&self) -> Result<(), StoreError> {
        let mut cmd = redis::cmd("XGROUP");
        cmd.arg("CREATE").arg(self.keys.queue()).arg(GROUP).arg("0").arg("MKSTREAM");
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
        self.query::<Value>(&redis::cmd("PING")).await?;
        // In Cluster, PING only reaches the nodes currently connected: it still succeeds while
        // the node that owns the intake slot is down. A keyed read asks that node, which every
        // webhook needs.
        let mut probe = redis::cmd("EXISTS");
        probe.arg(self.keys.queue());
        self.query::<Value>(&probe).await.map(|_| ())
    }
}

#[async_trait]
impl Queue for RedisStore {
    async fn enqueue(&self, envelope: &Envelope, dedupe_ttl: Duration) -> Result<Enqueued, StoreError> {
        let meta = &envelope.meta;
        let mut inv = self.scripts.enqueue.prepare_invoke();
        inv.key(self.keys.queue()).key(self.keys.shops()).key(self.keys.seen_delivery(&meta.webhook_id));
        if let Some(event) = &meta.event_id {
            inv.key(self.keys.seen_event(event));
        }
        inv.arg(envelope.encode()).arg(ttl_ms(dedupe_ttl)).arg(&meta.shop);
        // Repeatable: if the first run went through before the connection dropped, the second
        // sees the marks and says Duplicate; either way the delivery is durably queued once.
        let queued: i64 = self.invoke(true, &inv).await?;
        Ok(if queued == 1 { Enqueued::New } else { Enqueued::Duplicate })
    }

    async fn dequeue(&self, consumer: &str, max: usize, block: Duration) -> Result<Vec<QueueEntry>, StoreError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let raw = self.read_group(consumer, max, block).await?;
        Ok(self.to_entries(raw.into_iter().map(|e| (e, 1)).collect()).await)
    }

    async fn reclaim(&self, consumer: &str, min_idle: Duration, max: usize) -> Result<Vec<QueueEntry>, StoreError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let claimed = self.auto_claim(consumer, min_idle, max).await?;
        Ok(self.to_entries(claimed).await)
    }

    async fn renew(&self, consumer: &str, entry: &QueueEntry) -> Result<bool, StoreError> {
        let mut inv = self.scripts.renew.prepare_invoke();
        inv.key(self.keys.queue()).arg(GROUP).arg(&entry.id).arg(consumer);
        Ok(self.invoke::<i64>(true, &inv).await? == 1)
    }

    async fn ack(&self, entry: &QueueEntry) -> Result<(), StoreError> {
        let mut inv = self.scripts.ack.prepare_invoke();
        inv.key(self.keys.queue()).arg(GROUP).arg(&entry.id);
        self.invoke::<i64>(true, &inv).await.map(|_| ())
    }

    async fn retry_later(&self, entry: &QueueEntry, delay: Duration) -> Result<(), StoreError> {
        let mut envelope = entry.envelope.clone();
        envelope.meta.attempts = envelope.meta.attempts.saturating_add(1);
        let due = now_ms().saturating_add(millis(delay));
        let mut inv = self.scripts.retry.prepare_invoke();
        inv.key(self.keys.queue()).key(self.keys.delayed());
        inv.arg(GROUP).arg(&entry.id).arg(due).arg(envelope.encode());
        // Repeatable: the script parks the entry only while it is still pending.
        if self.invoke::<i64>(true, &inv).await? == 0 {
            tracing::debug!(id = %entry.id, "retry of an entry that was already settled; nothing parked");
        }
        Ok(())
    }

    async fn dead_letter(&self, entry: &QueueEntry, reason: &str) -> Result<(), StoreError> {
        let mut inv = self.scripts.dead.prepare_invoke();
        inv.key(self.keys.queue()).key(self.keys.dead());
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
        cmd.arg(self.keys.dead()).arg("*").arg("kind").arg(DeadLetterKind::Effect.as_str());
        cmd.arg("shop").arg(shop).arg("mark").arg(mark.encode()).arg("reason").arg(reason).arg("at").arg(now_ms());
        // Not repeatable blindly: a retry after a dropped reply could add it twice. Burying is
        // rare and an operator-facing list, so one attempt is enough.
        let cmd = &cmd;
        self.run(false, |mut c| async move { cmd.query_async::<redis::Value>(&mut c).await })
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn maintain(&self) -> Result<u64, StoreError> {
        // Dedupe and processed marks carry a TTL: Redis drops them by itself.
        let mut moved = 0;
        for _ in 0..PROMOTE_ROUNDS {
            let mut inv = self.scripts.promote.prepare_invoke();
            inv.key(self.keys.delayed()).key(self.keys.queue()).arg(now_ms()).arg(PROMOTE_BATCH);
            let n: u64 = self.invoke(true, &inv).await?;
            moved += n;
            if n < PROMOTE_BATCH {
                break;
            }
        }
        Ok(moved)
    }

    async fn trim_dead_letters(&self, keep: u64, before_ms: u64) -> Result<u64, StoreError> {
        // Entry ids are the burial time in ms (`XADD *`): MINID drops those buried before.
        let mut pipe = redis::pipe();
        pipe.cmd("XTRIM").arg(self.keys.dead()).arg("MAXLEN").arg("=").arg(keep);
        pipe.cmd("XTRIM").arg(self.keys.dead()).arg("MINID").arg("=").arg(before_ms);
        let pipe = &pipe;
        let (by_count, by_age) = self
            .run(true, |mut c| async move { pipe.query_async::<(u64, u64)>(&mut c).await })
            .await
            .map_err(unavailable)?;
        Ok(by_count + by_age)
    }

    async fn queue_stats(&self) -> Result<QueueStats, StoreError> {
        let mut pipe = redis::pipe();
        pipe.cmd("XLEN").arg(self.keys.queue());
        pipe.cmd("ZCARD").arg(self.keys.delayed());
        pipe.cmd("XLEN").arg(self.keys.dead());
        let pipe = &pipe;
        let (queued, delayed, dead) = self
            .run(true, |mut c| async move { pipe.query_async::<(u64, u64, u64)>(&mut c).await })
            .await
            .map_err(unavailable)?;
        Ok(QueueStats { queued, delayed, dead })
    }

    async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut cmd = redis::cmd("XRANGE");
        cmd.arg(self.keys.dead()).arg("-").arg("+").arg("COUNT").arg(limit);
        let raw = reply::entries(self.query(&cmd).await?).map_err(corrupt)?;
        raw.iter().map(queue::dead_letter_of).collect()
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
