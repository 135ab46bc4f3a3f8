//! Part (b): flash sales over many shops on a Redis Cluster, and what (c) shares with it.
//!
//! (b) One closed-loop sender per shop (its own shop's orders, to the instances in turn, as a
//! load balancer would) for the phase, then the wait until every order is committed: orders
//! committed per second from the first send to the last commit, events that failed (refused,
//! dead-lettered or never committed), and where the intake landed: each lane's stream counts
//! the entries ever added to it (`XINFO STREAM`), summed by the node that serves the lane.
//! (c) is in `flood.rs`.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use reqwest::header::HeaderValue;

use super::setup;
use crate::bench::intake::webhooks_url;
use crate::bench::load::{Bodies, Tally, Target, closed_loop};
use crate::bench::payload::{ORDINALS_PER_RUN, Template};
use crate::books::Books;
use crate::store::{SharedStore, StoreUrl, keys::Keys};

#[derive(Debug, Clone)]
pub struct SaleRun {
    pub instances: usize,
    pub sent: u64,
    pub committed: u64,
    pub failed: u64,
    pub commits_per_sec: f64,
    /// Intake entries per cluster node, in the order of the store URL's nodes.
    pub per_node: Vec<u64>,
}

/// A target sending fresh orders of `shop` to `url`.
pub(super) fn target(url: &str, shop: &str, connections: usize) -> Result<Arc<Target>, String> {
    Ok(Arc::new(Target {
        client: crate::bench::client(connections).map_err(|e| e.to_string())?,
        url: webhooks_url(url).map_err(|e| e.to_string())?,
        shop: HeaderValue::from_str(shop).map_err(|e| e.to_string())?,
        api_version: HeaderValue::from_static(crate::bench::API_VERSION),
        bodies: Bodies::Fresh {
            template: Template::from_fixture().map_err(|e| e.to_string())?,
            secret: setup::SECRET.as_bytes().to_vec(),
            next_ordinal: AtomicU64::new(fastrand::u64(1..1000) * ORDINALS_PER_RUN),
        },
    }))
}

/// A fresh namespace with `shops` installed and enrolled.
pub(super) async fn prepared(url: &str, prefix: &str, shops: &[String]) -> Result<SharedStore, String> {
    let settings = setup::settings(url, prefix, &[])?;
    let sealer = settings.sealer().ok_or("no sealer")?;
    let store = crate::store::open_with(url, prefix, settings.queue.shards).await.map_err(|e| e.to_string())?;
    let books = Books::new(store.clone());
    setup::install_all(&books, &sealer, shops, "shpat_bench_scale").await?;
    setup::enrol_all(&books, shops).await?;
    Ok(store)
}

/// Instance settings of the sales: effects off (the sale measures the ledger), workers as asked.
pub(super) fn instance(url: &str, prefix: &str, workers: usize) -> Result<crate::config::Settings, String> {
    setup::settings(
        url,
        prefix,
        &[
            ("BACKORDER__EFFECTS__SWEEP_MS", "0".into()),
            ("BACKORDER__QUEUE__WORKERS", workers.to_string()),
            ("BACKORDER__QUEUE__LEASE_MS", "2000".into()),
        ],
    )
}

/// Waits until `expected` orders are committed; the time of the last one seen.
pub(super) async fn wait_committed(
    store: &SharedStore,
    shops: &[String],
    expected: u64,
    timeout: Duration,
) -> (u64, Instant) {
    let deadline = Instant::now() + timeout;
    let mut last = (0, Instant::now());
    loop {
        let now = setup::committed(store, shops).await.unwrap_or(last.0);
        if now != last.0 {
            last = (now, Instant::now());
        }
        if now >= expected || Instant::now() > deadline {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// (b): one sale with `n` instances.
pub async fn sale(
    url: &str,
    run: u32,
    shops: usize,
    n: usize,
    workers: usize,
    duration: Duration,
) -> Result<SaleRun, String> {
    let prefix = format!("scale-sale-{run:08x}-{n}");
    let names = setup::shop_names(run, &format!("sale{n}"), shops);
    let store = prepared(url, &prefix, &names).await?;
    let mut apps = Vec::new();
    for _ in 0..n {
        apps.push(setup::start(instance(url, &prefix, workers)?).await?);
    }
    setup::lanes_shared(&apps, store.shards(), Duration::from_secs(30)).await?;
    let before = setup::committed(&store, &names).await?;

    let started = Instant::now();
    let senders: Vec<_> = names
        .iter()
        .enumerate()
        .map(|(i, shop)| {
            let t = target(&apps[i % n].url(), shop, 1);
            async move { Ok::<Tally, String>(closed_loop(t?, 1, duration).await) }
        })
        .collect();
    let mut tally = Tally::default();
    for result in futures_util::future::join_all(senders).await {
        tally.merge(result?);
    }
    let refused: u64 = tally.non_2xx.values().sum::<u64>() + tally.errors;
    let sent = tally.accepted();
    let (committed, last) = wait_committed(&store, &names, before + sent, Duration::from_secs(300)).await;
    let committed = committed - before;
    let dead = store.queue_stats().await.map_err(|e| e.to_string())?.dead;
    let per_node = intake_per_node(url, &prefix, store.shards()).await?;
    for app in apps {
        app.stop().await;
    }
    Ok(SaleRun {
        instances: n,
        sent,
        committed,
        failed: refused + dead + sent.saturating_sub(committed),
        commits_per_sec: committed as f64 / last.duration_since(started).as_secs_f64().max(1e-9),
        per_node,
    })
}

/// Entries ever added to each lane's stream, summed by the node that serves the lane.
async fn intake_per_node(url: &str, prefix: &str, shards: u16) -> Result<Vec<u64>, String> {
    let nodes = nodes(url)?;
    let keys = Keys::with_shards(prefix, shards);
    let mut per_node = vec![0u64; nodes.len()];
    for (i, node) in nodes.iter().enumerate() {
        let client = redis::Client::open(node.as_str()).map_err(|e| e.to_string())?;
        let mut conn = client.get_multiplexed_async_connection().await.map_err(|e| e.to_string())?;
        for s in 0..shards {
            let key = keys.queue(crate::store::Lane::Shard(s));
            // Another node's key answers MOVED: not this node's.
            let info: Result<redis::Value, _> =
                redis::cmd("XINFO").arg("STREAM").arg(&key).query_async(&mut conn).await;
            if let Ok(value) = info {
                per_node[i] += entries_added(&value).unwrap_or(0);
            }
        }
    }
    Ok(per_node)
}

/// The Redis nodes of a store URL (none for the embedded store).
pub(super) fn nodes(url: &str) -> Result<Vec<String>, String> {
    Ok(match StoreUrl::parse(url).map_err(|e| e.to_string())? {
        StoreUrl::RedisCluster(nodes) => nodes,
        StoreUrl::Redis(url) => vec![url],
        StoreUrl::File(_) => Vec::new(),
    })
}

/// `entries-added` of an `XINFO STREAM` reply (Redis 7).
fn entries_added(value: &redis::Value) -> Option<u64> {
    let items: Vec<&redis::Value> = match value {
        redis::Value::Array(items) => items.iter().collect(),
        redis::Value::Map(pairs) => pairs.iter().flat_map(|(k, v)| [k, v]).collect(),
        _ => return None,
    };
    items.chunks(2).find_map(|pair| match pair {
        [redis::Value::BulkString(name), redis::Value::Int(n)] if name == b"entries-added" => Some(*n as u64),
        [redis::Value::SimpleString(name), redis::Value::Int(n)] if name == "entries-added" => Some(*n as u64),
        _ => None,
    })
}
