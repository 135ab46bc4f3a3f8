//! `backorder bench scale`: the service spread over instances and a Redis Cluster's nodes
//! (issue 18, SCALING.md). Every instance runs in this process with a state, a runtime and
//! threads of its own (its own consumers, its own share of the lanes), as machines behind a load
//! balancer would; they share the machine's CPUs with each other, Redis and the load.
//! - (a) `idle`: 10,000 installed shops, 1 % active: an idle effects pass, the old way and
//!   through the due index, and the delay from a settled change to its effect;
//! - (b) `sale`: flash sales over 50 shops with 1, 2 and 3 instances: commits per second,
//!   failed events and each node's share of the intake;
//! - (c) `flood`: the ledger's drain rate alone and while the intake is held at twice it.

mod cpu;
mod flood;
mod idle;
mod report;
mod sale;
mod setup;

use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct ScaleArgs {
    /// The store: redis+cluster://host:port,… for the sales (each node's share is read from it);
    /// redis://… works too, with one node.
    #[arg(long, env = "BACKORDER__STORE__URL")]
    pub store_url: String,
    /// The parts to run: a (idle shops), b (sales over instances), c (flooded intake).
    #[arg(long, value_delimiter = ',', default_value = "a,b,c")]
    pub parts: Vec<String>,
    /// Installed shops in (a).
    #[arg(long, default_value_t = 10_000)]
    pub shops: usize,
    /// Active shops in (a), as a percentage of them.
    #[arg(long, default_value_t = 1.0)]
    pub active_percent: f64,
    /// Shops of each sale in (b) and (c).
    #[arg(long, default_value_t = 50)]
    pub sale_shops: usize,
    /// Instance counts in (b).
    #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
    pub instances: Vec<usize>,
    /// Runs of each instance count in (b), interleaved.
    #[arg(long, default_value_t = 5)]
    pub runs: u32,
    /// Length of each sale in (b).
    #[arg(long, default_value_t = 10)]
    pub duration_secs: u64,
    /// Runs of (c), one after the other.
    #[arg(long, default_value_t = 5)]
    pub flood_runs: u32,
    /// How long the backlog of (c) is queued for.
    #[arg(long, default_value_t = 5)]
    pub backlog_secs: u64,
    /// Ledger workers of each instance in (b) and (c).
    #[arg(long, default_value_t = 4)]
    pub workers: usize,
    /// (c): keep the draining instance's threads to this CPU, as a machine of its own; run the
    /// bench itself under `taskset` on the others (scripts/bench-scale does).
    #[arg(long)]
    pub ledger_cpu: Option<usize>,
    /// The bounds that decide the exit status: idle (a's pass), delay (a's change to effect),
    /// share (b's intake per node), failed (b's failed events with 3 instances), ratio (b's
    /// commits with more instances), flood (c). The others are reported.
    #[arg(long, value_delimiter = ',', default_value = "idle,delay,share,failed,ratio,flood")]
    pub enforce: Vec<String>,
}

pub async fn run(args: ScaleArgs) -> ExitCode {
    match bench(&args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("backorder bench scale: {e}");
            ExitCode::from(2)
        }
    }
}

async fn bench(args: &ScaleArgs) -> Result<bool, String> {
    crate::init_crypto();
    let run = fastrand::u32(..);
    let wants = |part: &str| args.parts.iter().any(|p| p == part);
    let idle = if wants("a") {
        let active = ((args.shops as f64) * args.active_percent / 100.0).round().max(1.0) as usize;
        Some(idle::run(&args.store_url, run, args.shops, active).await?)
    } else {
        None
    };
    let mut sales = Vec::new();
    if wants("b") {
        for r in 0..args.runs {
            for &n in &args.instances {
                let sale = sale::sale(
                    &args.store_url,
                    run.wrapping_add(r),
                    args.sale_shops,
                    n.max(1),
                    args.workers,
                    secs(args.duration_secs),
                )
                .await?;
                eprintln!(
                    "(b) run {r}, {n} instance(s): {:.0} commits/s, {} failed, intake per node {:?}",
                    sale.commits_per_sec, sale.failed, sale.per_node
                );
                sales.push(sale);
            }
        }
    }
    let mut floods = Vec::new();
    if wants("c") {
        for r in 0..args.flood_runs {
            let c = flood::flood(
                &args.store_url,
                run.wrapping_add(r),
                args.sale_shops,
                args.backlog_secs,
                args.workers,
                args.ledger_cpu,
            )
            .await?;
            eprintln!(
                "(c) run {r}: alone {:.0}/s, flooded {:.0}/s at {} orders/s",
                c.alone_per_sec, c.flooded_per_sec, c.flood_rate
            );
            floods.push(c);
        }
    }
    let verdict = report::render(idle.as_ref(), &sales, &floods, &args.enforce);
    print!("{}", verdict.text);
    Ok(verdict.held)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}
