//! `backorder bench insight` (SPEC 10.1): a seeded simulation of a catalogue over two years
//! ([`demand`], [`sim`]), run twice (customers who wait on backorder, then a share who cancel
//! when told a long ETA), and what the insight makes of it ([`eval`]):
//! how far the demand rate estimated from (a) sales, (b) sales on in-stock days and (c) this
//! service's backorder-inclusive history is from the demand that reached checkout, each method's
//! RMSSE, the cycle service level the reorder points achieved against the target, and the time
//! the forecasting takes per variant.

mod demand;
mod eval;
mod sim;

use std::process::ExitCode;
use std::time::Instant;

use eval::{Estimate, Source};
use sim::{GiveUp, VariantRun};

use crate::forecast::{Method, auto, rate};

#[derive(Debug, clap::Args)]
pub struct InsightArgs {
    /// Variants in the catalogue (a quarter each smooth, intermittent, lumpy and trending).
    #[arg(long, default_value_t = 400, value_parser = clap::value_parser!(u64).range(4..=100_000))]
    pub variants: u64,
    /// Days simulated: the first year reordered by feel, the rest by the advice.
    #[arg(long, default_value_t = 730, value_parser = clap::value_parser!(u64).range(400..=3_650))]
    pub days: u64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The service level the reorder points aim at.
    #[arg(long, default_value_t = 0.95)]
    pub service_level: f64,
    /// In the second run, the share of customers told a long wait who cancel their order...
    #[arg(long, default_value_t = 0.3)]
    pub give_up_share: f64,
    /// ...when the ETA is more than this many days away.
    #[arg(long, default_value_t = 14)]
    pub give_up_after_days: u32,
    /// Fail when a timing misses its bound (off for a debug build's short form).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub timing_bounds: bool,
    /// Fail when the service level misses its bound (off for a short form, whose few hundred
    /// cycles cannot tell 2 points apart).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub service_bound: bool,
}

/// (c) within this of the demand that reached checkout, in the run without give-ups.
const BIAS_BOUND: f64 = 0.03;
/// The achieved cycle service level within this of the target.
const SERVICE_BOUND: f64 = 0.02;
const INCREMENTAL_BOUND_US: f64 = 50.0;
const SELECTION_BOUND_US: f64 = 2_000.0;

pub async fn run(args: InsightArgs) -> ExitCode {
    if !(0.5..1.0).contains(&args.service_level) || !(0.0..=1.0).contains(&args.give_up_share) {
        eprintln!("backorder bench insight: --service-level is in [0.5, 1) and --give-up-share in [0, 1]");
        return ExitCode::from(2);
    }
    let ok = tokio::task::spawn_blocking(move || bench(&args)).await.unwrap_or(false);
    if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// One simulated catalogue.
struct Outcome {
    name: &'static str,
    runs: Vec<VariantRun>,
    /// (a), (b), (c) by their trailing rates, then (c) by `auto`'s forecast.
    biases: [f64; 4],
    service_level: (f64, u32),
    gave_up: u64,
    checkout: u64,
}

fn simulate(args: &InsightArgs, name: &'static str, give_up: Option<GiveUp>) -> Outcome {
    // The same customers and suppliers in both runs: only the give-ups differ.
    let mut profiles = fastrand::Rng::with_seed(args.seed);
    let mut chance = fastrand::Rng::with_seed(args.seed ^ 0x5eed);
    let runs: Vec<VariantRun> = (0..args.variants as usize)
        .map(|i| {
            let profile = demand::profile(&mut profiles, i, args.days as usize);
            sim::run(&profile, give_up, args.service_level, &mut chance)
        })
        .collect();
    let [a, b, c] = Source::ALL.map(|s| eval::bias(&runs, s, Estimate::Trailing));
    let biases = [a, b, c, eval::bias(&runs, Source::Ledger, Estimate::Auto)];
    let service_level = eval::cycle_service_level(&runs);
    let gave_up = runs.iter().map(|r| r.gave_up).sum();
    let checkout = runs.iter().map(|r| r.checkout.iter().sum::<u64>()).sum();
    Outcome { name, runs, biases, service_level, gave_up, checkout }
}

/// Microseconds per variant: (an incremental update, a full `auto` selection), on each
/// variant's last year of history, the fastest of three passes.
fn timings(runs: &[VariantRun]) -> (f64, f64) {
    let histories: Vec<Vec<f64>> = runs
        .iter()
        .map(|r| r.ordered[r.ordered.len().saturating_sub(365)..].iter().map(|u| *u as f64).collect())
        .collect();
    let chosen: Vec<Method> = histories.iter().map(|h| auto(h)).collect();
    let per_variant = |f: &dyn Fn() -> f64| {
        (0..3)
            .map(|_| {
                let start = Instant::now();
                std::hint::black_box(f());
                start.elapsed().as_secs_f64() * 1e6 / histories.len() as f64
            })
            .fold(f64::INFINITY, f64::min)
    };
    // The day's record folded in: the chosen method's rate on the history with it.
    let incremental = per_variant(&|| histories.iter().zip(&chosen).map(|(h, m)| rate(*m, h)).sum());
    let selection = per_variant(&|| histories.iter().map(|h| rate(auto(h), h)).sum());
    (incremental, selection)
}

fn pct(x: f64) -> String {
    format!("{:+.1} %", x * 100.0)
}

fn bench(args: &InsightArgs) -> bool {
    let started = Instant::now();
    let give_up = GiveUp { share: args.give_up_share, after_days: args.give_up_after_days };
    let outcomes = [simulate(args, "customers wait", None), simulate(args, "some cancel at a long ETA", Some(give_up))];
    let (incremental, selection) = timings(&outcomes[0].runs);
    let mut ok = true;

    println!("backorder bench insight: {} variants over {} days, seed {}", args.variants, args.days, args.seed);
    println!();
    println!("Bias of the demand rate against the demand that reached checkout over the next 28 days, at every");
    println!("28th day from day 84: each history's units per day over the 28 days before (b: per in-stock day),");
    println!("and the forecast the advice uses (auto's method on the whole of history (c)):");
    println!();
    println!(
        "| run | units at checkout | cancelled for the wait | {} | {} | {} | (c) by auto's forecast |",
        Source::ALL[0].label(),
        Source::ALL[1].label(),
        Source::ALL[2].label()
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for o in &outcomes {
        let [a, b, c, forecast] = o.biases;
        println!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            o.name,
            o.checkout,
            o.gave_up,
            pct(a),
            pct(b),
            pct(c),
            pct(forecast)
        );
        if c.abs() >= a.abs() || c.abs() >= b.abs() {
            println!("MISSED: in \"{}\", (c) is not closer than (a) and (b)", o.name);
            ok = false;
        }
    }
    for (c, what) in [(outcomes[0].biases[2], "(c)"), (outcomes[0].biases[3], "(c) by auto's forecast")] {
        if c.abs() > BIAS_BOUND {
            println!("MISSED: {what} {} is outside ±{:.0} % in the run without give-ups", pct(c), BIAS_BOUND * 100.0);
            ok = false;
        }
    }
    println!();
    println!(
        "Cycle service level of the reorder points (target {:.3}; lead times vary, their spread read from the receipts):",
        args.service_level
    );
    println!();
    println!("| run | cycles | achieved | off target |");
    println!("|---|---:|---:|---:|");
    for o in &outcomes {
        let (level, cycles) = o.service_level;
        let off = level - args.service_level;
        println!("| {} | {cycles} | {level:.3} | {:+.1} points |", o.name, off * 100.0);
        if off.abs() > SERVICE_BOUND {
            let what = if args.service_bound { "MISSED" } else { "note (not enforced)" };
            let bound = SERVICE_BOUND * 100.0;
            println!("{what}: in \"{}\", {level:.3} is more than {bound:.0} points from the target", o.name);
            ok &= !args.service_bound;
        }
    }
    println!();
    println!("| shape (run without cancellations) | cycles | achieved | (c) bias by auto's forecast |");
    println!("|---|---:|---:|---:|");
    for shape in demand::Shape::ALL {
        let runs: Vec<VariantRun> = outcomes[0].runs.iter().filter(|r| r.shape == Some(shape)).cloned().collect();
        let (level, cycles) = eval::cycle_service_level(&runs);
        println!(
            "| {} | {cycles} | {level:.3} | {} |",
            shape.name(),
            pct(eval::bias(&runs, Source::Ledger, Estimate::Auto))
        );
    }
    println!();
    println!("RMSSE on this service's history, 28 days ahead against checkout (mean over origins and variants):");
    println!();
    println!("| run | ses | croston | sba | tsb | adida | auto |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for o in &outcomes {
        let each: Vec<String> = Method::ALL.iter().map(|m| format!("{:.3}", eval::rmsse(&o.runs, Some(*m)))).collect();
        println!("| {} | {} | {:.3} |", o.name, each.join(" | "), eval::rmsse(&o.runs, None));
    }
    println!();
    println!(
        "Per variant, on a year of daily history: an incremental update {incremental:.1} µs (bound {INCREMENTAL_BOUND_US} µs), a full auto selection {selection:.1} µs (bound {SELECTION_BOUND_US} µs)"
    );
    if incremental > INCREMENTAL_BOUND_US || selection > SELECTION_BOUND_US {
        println!("{}: a timing is over its bound", if args.timing_bounds { "MISSED" } else { "note (not enforced)" });
        ok &= !args.timing_bounds;
    }
    println!();
    println!("{} in {:.1} s", if ok { "within bounds" } else { "OUT OF BOUNDS" }, started.elapsed().as_secs_f64());
    ok
}
