//! Connections to Redis.
//!
//! Ordinary commands share one multiplexed connection (a `ConnectionManager`, or a
//! `ClusterConnection` for Redis Cluster). Blocking reads get a dedicated connection of their
//! own: on a shared multiplexed connection, `XREADGROUP … BLOCK` would hold up every command
//! queued behind it, and the default 500 ms response timeout would cut it short (see the
//! redis-rs pitfalls in the performance reference).

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::cluster::{ClusterClient, ClusterClientBuilder};
use redis::cluster_async::ClusterConnection;
use redis::{AsyncConnectionConfig, Client, Cmd, Pipeline, RedisFuture, RedisResult, Value};

/// Connecting to a node that is down must fail fast: callers answer 503 rather than hang.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// Ordinary commands are short scripts and O(1) reads. Two seconds leaves room for an AOF fsync
/// stall (budget ~2 s) without holding an HTTP request much longer when Redis hangs.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Any connection a command can run on, so the store code is written once for all of them.
#[derive(Clone)]
pub(super) enum Conn {
    /// The shared connection to a standalone Redis; reconnects by itself.
    Managed(ConnectionManager),
    /// A dedicated connection to a standalone Redis, for blocking reads.
    Direct(MultiplexedConnection),
    /// Redis Cluster, shared or dedicated; routes by key and follows MOVED by itself.
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Managed(c) => c.req_packed_command(cmd),
            Self::Direct(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Managed(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Direct(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Managed(c) => c.get_db(),
            Self::Direct(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
        }
    }
}

/// Where dedicated connections for blocking reads come from.
/// Boxed: both clients are large and the store holds one for its whole life.
pub(super) enum Source {
    Single(Box<Client>),
    /// Built without a response timeout: the caller bounds each blocking read itself, because
    /// the block time varies per call.
    Cluster(Box<ClusterClient>),
}

impl Source {
    /// A fresh connection with no response timeout of its own. The caller must bound every
    /// command on it (`tokio::time::timeout`) and drop the connection when that fires.
    pub(super) async fn blocking_connection(&self) -> RedisResult<Conn> {
        match self {
            Self::Single(client) => {
                let config = AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(CONNECT_TIMEOUT))
                    .set_response_timeout(None);
                Ok(Conn::Direct(client.get_multiplexed_async_connection_with_config(&config).await?))
            }
            Self::Cluster(client) => Ok(Conn::Cluster(client.get_async_connection().await?)),
        }
    }
}

/// redis-rs retries a reconnect 6 times with exponential backoff by default, and a command
/// waits for that: seconds of hanging while Redis is down. One quick retry keeps failures fast;
/// the next command starts a new attempt, so the store recovers when Redis is back.
fn manager_config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        .set_number_of_retries(1)
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_millis(500))
}

/// Connects to a standalone Redis (`redis://` or `rediss://`).
pub(super) async fn single(url: &str) -> RedisResult<(Conn, Source)> {
    let client = Client::open(url)?;
    let manager = ConnectionManager::new_with_config(client.clone(), manager_config()).await?;
    Ok((Conn::Managed(manager), Source::Single(Box::new(client))))
}

/// One shared connection per thread, for a standalone Redis.
///
/// A connection's I/O runs in a task on the runtime that created it. Each actix worker thread
/// has a runtime of its own, so with one connection for the whole process every webhook would
/// hop to another thread and back; on two cores those wake-ups cost more than the command. A
/// connection created by the thread that uses it keeps the whole request on one thread.
#[derive(Default)]
pub(super) struct PerThread {
    conns: std::sync::Mutex<std::collections::HashMap<std::thread::ThreadId, ConnectionManager>>,
}

impl PerThread {
    /// This thread's connection, created on first use; `None` when it cannot be created (the
    /// caller then uses the process-wide one, which reports the failure).
    pub(super) async fn get(&self, source: &Source) -> Option<Conn> {
        let Source::Single(client) = source else { return None };
        let id = std::thread::current().id();
        if let Some(conn) = self.conns.lock().expect("not poisoned").get(&id) {
            return Some(Conn::Managed(conn.clone()));
        }
        let conn = ConnectionManager::new_with_config((**client).clone(), manager_config()).await.ok()?;
        // A thread ends with its runtime (an actix worker at shutdown); its connection goes
        // with it. Drop connections of threads that no longer run so the map stays small.
        let mut conns = self.conns.lock().expect("not poisoned");
        if conns.len() > 64 {
            conns.clear();
        }
        conns.insert(id, conn.clone());
        Some(Conn::Managed(conn))
    }
}

/// Connects to Redis Cluster through its seed nodes (`redis://host:port` each).
pub(super) async fn cluster(nodes: &[String]) -> RedisResult<(Conn, Source)> {
    // The defaults retry 16 times with waits growing to minutes; keep a few short retries, enough
    // to ride out a MOVED/slot refresh, and fail fast otherwise.
    let builder = || {
        ClusterClientBuilder::new(nodes.iter().map(String::as_str))
            .connection_timeout(CONNECT_TIMEOUT)
            .retries(3)
            .min_retry_wait(20)
            .max_retry_wait(500)
    };
    let shared =
        builder().response_timeout(RESPONSE_TIMEOUT).overall_response_timeout(Some(RESPONSE_TIMEOUT * 2)).build()?;
    let blocking = builder().overall_response_timeout(None).build()?;
    let conn = shared.get_async_connection().await?;
    Ok((Conn::Cluster(conn), Source::Cluster(Box::new(blocking))))
}
