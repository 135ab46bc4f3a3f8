//! `backorder bench effects`: how much of a shop's API budget the effects use while a backlog
//! drains. The dev shop runs with a Shopify plan's cost bucket (Standard: 2000 points restoring
//! 100 per second) and, optionally, a network latency per call; the real service runs next to it
//! with the embedded store and its effects sweeper, exactly as `backorder demo` starts them.
//!
//! One or a few variants are enrolled with a little stock and a cap of exactly the units the
//! sale will backorder, then the whole sale is delivered at once: every order beyond stock needs
//! a hold and a tag, and the last one reached per variant turns its policy back to `DENY`. All
//! those effects come due together, far more points than the bucket holds. Measured from the dev
//! shop's call log (what the platform admitted and charged), after a warm-up that spends the
//! full bucket: points per second of admitted calls as a share of the restore rate (the most any
//! client can sustain), `THROTTLED` replies, effects applied per second, and the time to drain.
//! The effects must end exactly right: each order held and tagged once.

mod measure;
mod report;

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::demo::{DemoOptions, Knobs, SHOP, Stage, new_variant};
use crate::devshop::{Batch, Faults};
use measure::Measured;

#[derive(Debug, clap::Args)]
pub struct EffectsArgs {
    /// The dev shop's bucket size in points (Shopify Standard: 2000).
    #[arg(long, default_value_t = 2000.0)]
    pub bucket: f64,
    /// Points the bucket restores per second (Shopify Standard: 100).
    #[arg(long, default_value_t = 100.0)]
    pub restore_rate: f64,
    /// Orders beyond stock in the backlog (each needs a hold and a tag).
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub orders: u32,
    /// Enrolled variants the orders are spread over (one policy change each).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub variants: u32,
    /// Units in stock per variant before the sale (one in-stock order each, no effects).
    #[arg(long, default_value_t = 5)]
    pub stock: u32,
    /// Added by the dev shop to every Admin API call, as the network and Shopify's own time would.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Excluded from the measurement, from the backlog's first call: the full bucket is spent
    /// faster than it restores, so the steady state starts once it is empty.
    #[arg(long, default_value_t = 20)]
    pub warmup_secs: u64,
    /// The service's `ledger.settle_ms` (its default: 2000).
    #[arg(long, default_value_t = 2000)]
    pub settle_ms: u64,
    /// The service's `effects.sweep_ms` (its default: 250).
    #[arg(long, default_value_t = 250)]
    pub sweep_ms: u64,
    #[arg(long, default_value_t = 900)]
    pub drain_timeout_secs: u64,
}

pub async fn run(args: EffectsArgs) -> ExitCode {
    match bench(&args).await {
        Ok(m) => {
            report::print(&args, &m);
            if m.throttled_after_warmup == 0 && m.ratio() >= 0.9 && m.errors.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("bench effects: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn bench(args: &EffectsArgs) -> Result<Measured, String> {
    let knobs = Knobs {
        bucket_max: args.bucket,
        restore_rate: args.restore_rate,
        settle_ms: Some(args.settle_ms),
        sweep_ms: Some(args.sweep_ms),
    };
    let options = DemoOptions { store_prefix: "bench-effects".into(), verbose: false, ..DemoOptions::default() };
    let mut stage = Stage::start_with(&options, &knobs).await.map_err(|e| e.to_string())?;
    let result = drain(&mut stage, args).await;
    stage.stop().await;
    result
}

/// Sets up, delivers the sale, waits for the effects to drain and measures.
async fn drain(stage: &mut Stage, args: &EffectsArgs) -> Result<Measured, String> {
    let step = |e: &dyn std::fmt::Display| e.to_string();
    // How many orders beyond stock each variant gets: the cap that ends its sale.
    let per_variant: Vec<u32> =
        (0..args.variants).map(|i| args.orders / args.variants + u32::from(i < args.orders % args.variants)).collect();
    let mut variants = Vec::new();
    for (i, backordered) in per_variant.iter().enumerate() {
        let settings = json!({"enabled": true, "cap": backordered});
        let title = format!("Bench tee {}", i + 1);
        variants.push(new_variant(stage, &title, i64::from(args.stock), settings).await.map_err(|e| step(&e))?);
    }
    // Let the bucket fill again after the setup's calls, so every run starts alike.
    tokio::time::sleep(Duration::from_secs_f64((args.bucket / args.restore_rate).min(30.0) * 0.1)).await;
    stage.devshop.set_faults(Faults { latency: Duration::from_millis(args.latency_ms), ..Faults::default() });
    let first_call = stage.devshop.calls(SHOP).len();

    let mut backordered_orders = Vec::new();
    for (variant, backordered) in variants.iter().zip(&per_variant) {
        for n in 0..(args.stock + backordered) {
            let email = format!("buyer{n}@example.com");
            let id = stage
                .devshop
                .place_order_notify(&mut stage.sender, &email, &[], &[(*variant, 1)])
                .map_err(|e| step(&e))?;
            if n >= args.stock {
                backordered_orders.push(id);
            }
        }
    }
    let started = Instant::now();
    let report = stage.sender.send(&Batch::default()).await;
    if !report.all_delivered() {
        return Err(format!("{} webhooks were not accepted", report.undelivered().len()));
    }
    let delivered = started.elapsed();
    stage.settled_within(Duration::from_secs(args.drain_timeout_secs)).await.map_err(|e| step(&e))?;
    let drained = started.elapsed();

    let calls = stage.devshop.calls(SHOP).split_off(first_call);
    let mut m = Measured::from_calls(&calls, args.restore_rate, Duration::from_secs(args.warmup_secs))?;
    m.webhooks = report.sent.len();
    m.delivered = delivered;
    m.drained = drained;
    m.orders = backordered_orders.len();
    m.errors = check(stage, &calls, &backordered_orders, &variants);
    Ok(m)
}

/// What is wrong with the end state: every backordered order held and tagged exactly once, every
/// variant back to `DENY` once its cap was reached.
fn check(stage: &Stage, calls: &[crate::devshop::Call], orders: &[u64], variants: &[u64]) -> Vec<String> {
    let mut per_order: BTreeMap<(u64, &str), usize> = BTreeMap::new();
    for c in calls.iter().filter(|c| c.outcome == "ok") {
        let id = match c.operation.as_str() {
            "TagsAdd" => crate::devshop::graphql::parse_gid("Order", &c.variables["id"]),
            "FulfillmentOrderHold" => crate::devshop::graphql::parse_gid("FulfillmentOrder", &c.variables["id"]),
            _ => None,
        };
        if let Some(id) = id {
            *per_order.entry((id, c.operation.as_str())).or_default() += 1;
        }
    }
    let mut errors = Vec::new();
    stage.devshop.world(SHOP, |w| {
        for id in orders {
            let o = &w.orders[id];
            let held: u32 = o.holds.iter().flat_map(|h| h.quantities.values()).sum();
            let tags = per_order.get(&(*id, "TagsAdd")).copied().unwrap_or(0);
            let holds: usize = o
                .fulfillment_orders
                .iter()
                .map(|f| per_order.get(&(f.id, "FulfillmentOrderHold")).copied().unwrap_or(0))
                .sum();
            if held != 1 || o.tags.is_empty() || tags != 1 || holds != 1 {
                errors.push(format!("order {id}: {held} units held, tags {:?}, tagged {tags}×, held {holds}×", o.tags));
            }
        }
        for v in variants {
            if w.variants[v].policy != crate::devshop::Policy::Deny {
                errors.push(format!("variant {v}: policy {:?} after its cap was reached", w.variants[v].policy));
            }
        }
    });
    errors.truncate(10);
    errors
}
