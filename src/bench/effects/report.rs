//! The effects bench's report: the share of the restore rate used, throttling, throughput of
//! effects and the time to drain.

use super::EffectsArgs;
use super::measure::Measured;

pub fn print(args: &EffectsArgs, m: &Measured) {
    println!("backorder bench effects");
    println!(
        "  dev shop: bucket {:.0} points restoring {:.0}/s, {} ms latency per call; settle {} ms, sweep {} ms",
        args.bucket, args.restore_rate, args.latency_ms, args.settle_ms, args.sweep_ms
    );
    println!(
        "  backlog: {} orders beyond stock over {} variant(s) ({} webhooks, accepted in {:.1} s)",
        m.orders,
        args.variants,
        m.webhooks,
        m.delivered.as_secs_f64()
    );
    println!();
    println!(
        "  drained in {:.1} s from the first webhook; effect calls for {:.1} s, {:.0} points in all",
        m.drained.as_secs_f64(),
        m.span.as_secs_f64(),
        m.points_total
    );
    println!(
        "  after the {} s warm-up ({:.1} s measured): {:.1} points/s = {:.1} % of the restore rate{}",
        m.warmup.as_secs(),
        m.window.as_secs_f64(),
        m.rate(),
        100.0 * m.ratio(),
        if m.ratio() >= 0.9 { "" } else { "  (below 90 %)" }
    );
    if let Some((min, max)) = m.steady_range() {
        println!("  whole seconds after the warm-up: {min:.0} to {max:.0} points each");
    }
    println!("  THROTTLED replies: {} after the warm-up, {} in all", m.throttled_after_warmup, m.throttled);
    let seconds = m.span.as_secs_f64().max(f64::EPSILON);
    println!(
        "  effects applied: {} ({:.1}/s over the effect calls), orders settled {:.1}/s",
        m.effects,
        m.effects as f64 / seconds,
        m.orders as f64 / seconds
    );
    let ops: Vec<String> = m.ok_by_operation.iter().map(|(op, n)| format!("{op} {n}")).collect();
    println!("  admitted calls: {}", ops.join(", "));
    if m.other_outcomes > 0 {
        println!("  other replies (errors, faults): {}", m.other_outcomes);
    }
    println!("  points per second from the first call:");
    for (i, chunk) in m.per_second.chunks(10).enumerate() {
        let row: Vec<String> = chunk.iter().map(|p| format!("{p:>5.0}")).collect();
        println!("    {:>4} s {}", i * 10, row.join(""));
    }
    if m.errors.is_empty() {
        println!("  end state: every backordered order held and tagged exactly once, every policy back to DENY");
    } else {
        println!("  end state WRONG:");
        for e in &m.errors {
            println!("    {e}");
        }
    }
}
