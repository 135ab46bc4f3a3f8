//! Part (c): the ledger under an intake flood.
//!
//! The ledger's rate on its own: a backlog queued through an intake-only instance, then drained
//! by one instance with workers; then the same drain while the intake is held at twice that
//! rate, open loop, with orders of other shops. The drain's commits per second under the flood
//! against those without it, and where the CPU went in each phase (`cpu.rs`).
//!
//! With `ledger_cpu`, the draining instance's threads are kept to that CPU as a machine of its
//! own would be; the caller keeps the rest of the process (the intake-only instance and the
//! generator) to the other CPUs. The Redis nodes go where the script puts them.
//!
//! The flood's orders are rendered and signed before it starts, a distinct order each: on a
//! machine of two cores, a generator signing 8 KB bodies as it sends takes CPU from what it
//! measures (Shopify signs its own deliveries).

use std::time::{Duration, Instant};

use super::cpu::{self, Usage};
use super::sale::{instance, nodes, prepared, target, wait_committed};
use super::setup;
use crate::bench::load::{Tally, Target, closed_loop, open_loop};

#[derive(Debug, Clone)]
pub struct Flood {
    pub backlog: u64,
    pub alone_per_sec: f64,
    pub flood_rate: u32,
    pub flooded_per_sec: f64,
    /// The CPU the draining instance was kept to, if any.
    pub ledger_cpu: Option<usize>,
    /// The CPUs the Redis nodes were kept to, when they run on this machine.
    pub redis_cpus: Option<String>,
    /// Orders committed and CPU used while draining alone.
    pub alone: Phase,
    /// Orders committed, webhooks accepted and CPU used under the flood.
    pub flooded: Phase,
}

#[derive(Debug, Clone, Default)]
pub struct Phase {
    pub committed: u64,
    pub accepted: u64,
    pub cpu: Usage,
}

/// (c) on `url`: `shops` shops in the sale and as many flooding, a backlog queued for
/// `backlog_secs`, `workers` ledger workers.
pub async fn flood(
    url: &str,
    run: u32,
    shops: usize,
    backlog_secs: u64,
    workers: usize,
    ledger_cpu: Option<usize>,
) -> Result<Flood, String> {
    let prefix = format!("scale-flood-{run:08x}");
    let nodes = nodes(url)?;
    let sale_shops = setup::shop_names(run, "flood-sale", shops);
    let flood_shops = setup::shop_names(run, "flood-load", shops);
    let all: Vec<String> = sale_shops.iter().chain(&flood_shops).cloned().collect();
    let store = prepared(url, &prefix, &all).await?;
    let intake = setup::start(instance(url, &prefix, 0)?).await?;

    // The ledger's rate alone: a backlog queued first, then drained whole by one instance.
    let backlog = fill_backlog(&intake, &sale_shops, Duration::from_secs(backlog_secs)).await?;
    // Counted before the worker starts: it commits while the lanes are being shared out, and
    // the end is the whole backlog committed, not the backlog past the first count.
    let base = setup::committed(&store, &all).await?;
    let worker = setup::start_on(instance(url, &prefix, workers)?, ledger_cpu).await?;
    setup::lanes_shared(std::slice::from_ref(&worker), store.shards(), Duration::from_secs(30)).await?;
    let (before, started, cpu_before) =
        (setup::committed(&store, &all).await?, Instant::now(), cpu::usage(&nodes, ledger_cpu).await);
    let (done, last) = wait_committed(&store, &all, base + backlog, Duration::from_secs(600)).await;
    let cpu_alone = cpu::usage(&nodes, ledger_cpu).await - cpu_before;
    let took = last.duration_since(started);
    let alone_per_sec = (done - before) as f64 / took.as_secs_f64().max(1e-9);
    let alone = Phase { committed: done - before, accepted: 0, cpu: cpu_alone };
    worker.stop().await;

    // The same backlog drained while the intake takes other shops' orders at twice that rate,
    // open loop; commits counted over most of the time the backlog lasted alone, so the
    // backlog never runs dry inside the window.
    let flood_rate = (alone_per_sec * 2.0).round().max(1.0) as u32;
    let window = took.mul_f64(0.8);
    let per_shop = (flood_rate / flood_shops.len().max(1) as u32).max(1);
    // Rendered and signed before the flood starts, a distinct order each (the sends of one
    // shop over the window, and a few more for a late start).
    let each = (f64::from(per_shop) * window.as_secs_f64()).ceil() as usize + 16;
    let targets: Vec<_> =
        flood_shops.iter().map(|shop| ahead(target(&intake.url(), shop, 2)?, each)).collect::<Result<_, _>>()?;
    fill_backlog(&intake, &sale_shops, Duration::from_secs(backlog_secs)).await?;
    let worker = setup::start_on(instance(url, &prefix, workers)?, ledger_cpu).await?;
    setup::lanes_shared(std::slice::from_ref(&worker), store.shards(), Duration::from_secs(30)).await?;
    let senders: Vec<_> = targets
        .into_iter()
        .map(|t| async move { Ok::<Tally, String>(open_loop(t, 2, per_shop, window).await) })
        .collect();
    let flooding = tokio::spawn(futures_util::future::join_all(senders));
    let (before, cpu_before) = (setup::committed(&store, &all).await?, cpu::usage(&nodes, ledger_cpu).await);
    tokio::time::sleep(window).await;
    let (after, cpu_after) = (setup::committed(&store, &all).await?, cpu::usage(&nodes, ledger_cpu).await);
    let flooded_per_sec = (after - before) as f64 / window.as_secs_f64().max(1e-9);
    let accepted = accepted(flooding.await.map_err(|e| e.to_string())?)?;
    let flooded = Phase { committed: after - before, accepted, cpu: cpu_after - cpu_before };
    worker.stop().await;
    intake.stop().await;
    let redis_cpus = cpu::redis_cpus(&nodes).await;
    // The flood's unprocessed entries and the run's records would otherwise stay behind, and the
    // next run would queue onto a store fuller than this one's.
    crate::bench::prefix::remove(&nodes, &prefix).await?;
    Ok(Flood {
        backlog,
        alone_per_sec,
        flood_rate: per_shop * flood_shops.len() as u32,
        flooded_per_sec,
        ledger_cpu,
        redis_cpus,
        alone,
        flooded,
    })
}

/// `target` with its next `count` bodies rendered and signed now.
fn ahead(target: std::sync::Arc<Target>, count: usize) -> Result<std::sync::Arc<Target>, String> {
    let target = std::sync::Arc::try_unwrap(target).map_err(|_| "a target in use".to_string())?;
    Ok(std::sync::Arc::new(Target { bodies: target.bodies.ahead(count), ..target }))
}

/// Sends the shops' orders through the intake-only instance for `length`; the number accepted.
async fn fill_backlog(intake: &setup::Instance, shops: &[String], length: Duration) -> Result<u64, String> {
    let senders: Vec<_> = shops
        .iter()
        .map(|shop| {
            let t = target(&intake.url(), shop, 1);
            async move { Ok::<Tally, String>(closed_loop(t?, 1, length).await) }
        })
        .collect();
    accepted(futures_util::future::join_all(senders).await)
}

/// Deliveries the service took, over the senders' tallies.
fn accepted(tallies: Vec<Result<Tally, String>>) -> Result<u64, String> {
    tallies.into_iter().map(|t| t.map(|t| t.accepted())).sum()
}
