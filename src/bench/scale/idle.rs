//! Part (a): many installed shops, few of them active. What an effects pass over them costs when
//! none has work, the old way (every shop visited: its marks and its settings read) against the
//! due index read lane by lane; and how long after a change settles its effect reaches the
//! platform, with one instance serving them all.

use std::time::{Duration, Instant};

use futures_util::{StreamExt, stream};

use super::setup;
use crate::bench::ledger::fill::{ITEM, VARIANT};
use crate::books::Books;
use crate::devshop::DevShop;
use crate::devshop::sender::{Batch, Sender};
use crate::devshop::world::{Ids, Policy};
use crate::store::{Record, SharedStore, now_ms};

/// Reads in flight at once in the old pass (it read shops one after the other; this is kinder).
const OLD_CONCURRENCY: usize = 16;
/// Settle time of the delay measure.
pub const SETTLE_MS: u64 = 1000;
const SWEEP_MS: u64 = 250;

#[derive(Debug)]
pub struct Idle {
    pub shops: usize,
    pub active: usize,
    pub lanes: usize,
    /// One pass the old way: the time, and the store reads it made.
    pub old_pass: Duration,
    pub old_reads: u64,
    /// One pass through the due index (mean of many).
    pub new_pass: Duration,
    pub new_reads: u64,
    /// Per active shop: from the order's webhook answered to its tag on the platform, less the
    /// settle time.
    pub beyond_settle_ms: Vec<u64>,
}

pub async fn run(url: &str, run: u32, shops: usize, active: usize) -> Result<Idle, String> {
    let prefix = format!("scale-idle-{run:08x}");
    let devshop = DevShop::start(100_000.0, 10_000.0).await.map_err(|e| format!("dev shop: {e}"))?;
    let base = devshop.admin_base_url();
    let extra = [
        ("BACKORDER__SHOPIFY__ADMIN_BASE_URL", base),
        ("BACKORDER__LEDGER__SETTLE_MS", SETTLE_MS.to_string()),
        ("BACKORDER__EFFECTS__SWEEP_MS", SWEEP_MS.to_string()),
        ("BACKORDER__EFFECTS__SHOPS_IN_FLIGHT", "32".into()),
    ];
    let settings = setup::settings(url, &prefix, &extra)?;
    let sealer = settings.sealer().ok_or("no sealer")?;
    let store = crate::store::open_with(url, &prefix, settings.queue.shards).await.map_err(|e| e.to_string())?;
    let books = Books::new(store.clone());
    let names = setup::shop_names(run, "idle", shops);
    let token = "shpat_bench_scale";
    let started = Instant::now();
    setup::install_all(&books, &sealer, &names, token).await?;
    let busy = &names[..active.min(shops)];
    setup::enrol_all(&books, busy).await?;
    for shop in busy {
        devshop.install_as(shop, token);
        let ids = Ids { variant: VARIANT, product: 1, item: ITEM };
        devshop.world(shop, |w| {
            // Orders placed now, after the enrolment, as a live shop's are.
            w.advance_clock((now_ms() as i64 - w.clock_ms()).max(0));
            w.add_variant_as(ids, "Tee", 0, Policy::Continue)
        });
    }
    eprintln!("(a) {shops} shops installed, {} enrolled, in {:.1}s", busy.len(), started.elapsed().as_secs_f64());

    let lanes = setup::every_lane(store.shards());
    // Every shop is due once at first (the index's seeding); served, they leave it.
    let (old_pass, old_reads) = old_pass(&books).await?;
    let app = setup::start(settings).await?;
    drain_due(&store, &lanes, Duration::from_secs(600)).await?;
    let new_pass = new_pass(&store, &lanes).await?;
    eprintln!("(a) idle pass: old {:.1} ms, new {:.3} ms", ms(old_pass), ms(new_pass));

    let beyond_settle_ms = delays(&app, &store, &devshop, busy).await?;
    app.stop().await;
    devshop.stop().await;
    Ok(Idle {
        shops,
        active: busy.len(),
        lanes: lanes.len(),
        old_pass,
        old_reads,
        new_pass,
        new_reads: lanes.len() as u64,
        beyond_settle_ms,
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The sweep before the due index: every shop listed, then each one's settled marks and its
/// settings (for its timed jobs) read, whether or not it has work.
async fn old_pass(books: &Books) -> Result<(Duration, u64), String> {
    let mut best = Duration::MAX;
    let mut reads = 0;
    for _ in 0..3 {
        let started = Instant::now();
        let shops = books.shops().await.map_err(|e| e.to_string())?;
        let results: Vec<Result<(), String>> = stream::iter(&shops)
            .map(|shop| async move {
                books.settled(shop, now_ms(), 64).await.map_err(|e| e.to_string())?;
                books.read(shop, &[Record::Settings]).await.map_err(|e| e.to_string())?;
                Ok(())
            })
            .buffer_unordered(OLD_CONCURRENCY)
            .collect()
            .await;
        results.into_iter().collect::<Result<(), String>>()?;
        best = best.min(started.elapsed());
        reads = 1 + 2 * shops.len() as u64;
    }
    Ok((best, reads))
}

/// One pass's read of the due index over every lane, timed over many passes.
async fn new_pass(store: &SharedStore, lanes: &[crate::store::Lane]) -> Result<Duration, String> {
    const PASSES: u32 = 200;
    let started = Instant::now();
    for _ in 0..PASSES {
        store.due_shops(lanes, now_ms(), 64).await.map_err(|e| e.to_string())?;
    }
    Ok(started.elapsed() / PASSES)
}

/// Waits until no shop is due: the instance has served the seeding of the index.
async fn drain_due(store: &SharedStore, lanes: &[crate::store::Lane], timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    loop {
        let due = store.due_shops(lanes, now_ms(), 1).await.map_err(|e| e.to_string())?;
        if due.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err("shops still due after the timeout".into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// One order in each of up to 20 active shops, one after the other: the time from its webhook
/// being answered to the order's tag on the platform, less the settle time.
async fn delays(
    app: &setup::Instance,
    store: &SharedStore,
    devshop: &DevShop,
    shops: &[String],
) -> Result<Vec<u64>, String> {
    let mut out = Vec::new();
    for shop in shops.iter().take(20) {
        let order = devshop
            .world(shop, |w| w.place_order("buyer@example.com", &[], &[(VARIANT, 1)]))
            .map_err(|e| e.to_string())?;
        // The order, then the stock it left (as Shopify sends both): the level says the unit
        // is not there, so the order waits.
        let (body, at, level) = devshop.world(shop, |w| {
            let body = crate::devshop::payloads::order(w, order);
            let at = w.orders.get(&order).map_or(0, |o| o.updated_at_ms);
            let level = w.levels.iter().find(|((item, _), _)| *item == ITEM).map(|((_, loc), l)| (*loc, *l));
            (body, at, level)
        });
        let body = body.map_err(|e| e.to_string())?;
        let (location, level) = level.ok_or("the dev shop has no level of the bench's item")?;
        let mut sender = Sender::new(&app.url(), setup::SECRET, shop);
        sender.queue("orders/create", body, exact(at));
        sender.queue(
            "inventory_levels/update",
            crate::devshop::payloads::level(ITEM, location, &level),
            exact(level.updated_at_ms),
        );
        let report = sender.send(&Batch::default()).await;
        if !report.all_delivered() {
            return Err(format!("{shop}: the order's webhook was not accepted"));
        }
        let answered = Instant::now();
        let deadline = answered + Duration::from_secs(30);
        loop {
            let tagged = devshop.world(shop, |w| w.orders.get(&order).is_some_and(|o| o.tags.contains("backorder")));
            if tagged {
                break;
            }
            if Instant::now() > deadline {
                let counts = store.processed_counts(shop).await.map_err(|e| e.to_string())?;
                let dirty = app.state.queue.queue_stats().await.map_err(|e| e.to_string())?;
                let calls = devshop.calls(shop);
                return Err(format!(
                    "{shop}: order {order} not tagged within 30 s (processed {counts:?}, queue {dirty:?}, platform calls {:?})",
                    calls
                ));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        out.push((answered.elapsed().as_millis() as u64).saturating_sub(SETTLE_MS));
    }
    Ok(out)
}

/// A platform time (ms) as a webhook's `X-Shopify-Triggered-At`.
fn exact(ms: i64) -> String {
    crate::bench::ids::rfc3339_utc(std::time::UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64))
}
