//! The report of `bench scale`: a table per part and the bounds each must meet.

use std::fmt::Write;

use super::flood::Flood;
use super::idle::{Idle, SETTLE_MS};
use super::sale::SaleRun;

/// What the runs came to, and whether every bound held.
pub struct Verdict {
    pub text: String,
    pub held: bool,
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    match xs.len() {
        0 => 0.0,
        n if n % 2 == 1 => xs[n / 2],
        n => (xs[n / 2 - 1] + xs[n / 2]) / 2.0,
    }
}

pub fn render(idle: Option<&Idle>, sales: &[SaleRun], floods: &[Flood], enforce: &[String]) -> Verdict {
    let mut out = String::new();
    let mut held = true;
    let mut check = |out: &mut String, bound: &str, ok: bool, what: String| {
        let enforced = enforce.iter().any(|e| e == bound);
        held &= ok || !enforced;
        let mark = match (ok, enforced) {
            (true, _) => "ok",
            (false, true) => "FAILED",
            (false, false) => "not met (reported, not enforced)",
        };
        let _ = writeln!(out, "- [{mark}] {what}");
    };
    if let Some(a) = idle {
        let _ = writeln!(out, "## (a) {} installed shops, {} active, {} lanes\n", a.shops, a.active, a.lanes);
        let _ = writeln!(out, "| idle pass | time | store reads |\n|---|---:|---:|");
        let _ =
            writeln!(out, "| every shop visited (before the due index) | {:.1} ms | {} |", ms(a.old_pass), a.old_reads);
        let _ = writeln!(out, "| the due index, lane by lane | {:.3} ms | {} |", ms(a.new_pass), a.new_reads);
        let time = a.new_pass.as_secs_f64() / a.old_pass.as_secs_f64().max(1e-12);
        let reads = a.new_reads as f64 / a.old_reads.max(1) as f64;
        let _ = writeln!(out, "\nnew / old: time {:.3} %, reads {:.3} %", time * 100.0, reads * 100.0);
        let mut beyond = a.beyond_settle_ms.clone();
        beyond.sort_unstable();
        let worst = beyond.last().copied().unwrap_or(0);
        let _ = writeln!(
            out,
            "change to effect beyond the settle time ({SETTLE_MS} ms), {} orders: median {} ms, max {worst} ms\n",
            beyond.len(),
            beyond.get(beyond.len() / 2).copied().unwrap_or(0)
        );
        check(
            &mut out,
            "idle",
            time <= 0.01,
            format!("an idle pass costs at most 1 % of the old one ({:.3} %)", time * 100.0),
        );
        check(
            &mut out,
            "delay",
            worst <= 1000 && !beyond.is_empty(),
            format!("every change applied within settle + 1 s (worst +{worst} ms)"),
        );
    }
    if !sales.is_empty() {
        let mut by_n: std::collections::BTreeMap<usize, Vec<&SaleRun>> = Default::default();
        for s in sales {
            by_n.entry(s.instances).or_default().push(s);
        }
        let _ = writeln!(
            out,
            "\n## (b) flash sales, {} runs per instance count\n",
            by_n.values().map(Vec::len).max().unwrap_or(0)
        );
        let _ = writeln!(
            out,
            "| instances | commits/s (median) | runs | orders committed / accepted | failed events | largest node share of intake |\n|---:|---:|---|---:|---:|---:|"
        );
        let base = by_n.get(&1).map(|runs| median(runs.iter().map(|r| r.commits_per_sec).collect()));
        for (n, runs) in &by_n {
            let med = median(runs.iter().map(|r| r.commits_per_sec).collect());
            let list: Vec<String> = runs.iter().map(|r| format!("{:.0}", r.commits_per_sec)).collect();
            let failed: u64 = runs.iter().map(|r| r.failed).sum();
            let share = runs.iter().map(largest_share).fold(0.0, f64::max);
            let (committed, sent): (u64, u64) =
                runs.iter().map(|r| (r.committed, r.sent)).fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
            let _ = writeln!(
                out,
                "| {n} | {med:.0} | {} | {committed} / {sent} | {failed} | {:.1} % |",
                list.join(", "),
                share * 100.0
            );
        }
        let _ = writeln!(out);
        for (n, runs) in &by_n {
            let med = median(runs.iter().map(|r| r.commits_per_sec).collect());
            let share = runs.iter().map(largest_share).fold(0.0, f64::max);
            check(
                &mut out,
                "share",
                share <= 0.5,
                format!("{n} instance(s): no node takes more than half of the intake ({:.1} %)", share * 100.0),
            );
            if *n == 3 {
                let failed: u64 = runs.iter().map(|r| r.failed).sum();
                check(&mut out, "failed", failed == 0, format!("3 instances: 0 failed events ({failed})"));
            }
            if let (Some(base), true) = (base, *n > 1) {
                let ratio = med / base.max(1e-9);
                check(
                    &mut out,
                    "ratio",
                    ratio >= 0.9,
                    format!("{n} instances: commits/s {ratio:.2} × those of 1 (at least 0.9)"),
                );
            }
        }
    }
    if !floods.is_empty() {
        let ratio = flood_table(&mut out, floods);
        check(
            &mut out,
            "flood",
            ratio >= 0.75,
            format!("the ledger keeps at least 75 % of its rate under the flood ({:.0} %, median)", ratio * 100.0),
        );
    }
    Verdict { text: out, held }
}

/// (c), a row per run and their medians: the rates, and where the CPU went (per order committed
/// while draining alone, per webhook taken under the flood). Returns the median ratio.
fn flood_table(out: &mut String, floods: &[Flood]) -> f64 {
    let _ = writeln!(out, "\n## (c) the ledger under an intake flood\n");
    let _ = writeln!(
        out,
        "{} CPU in µs: the ledger's and Redis's per order committed alone; the intake's (with the \
         generator) and Redis's beyond the ledger's own per webhook taken under the flood.\n",
        layout(floods.first())
    );
    let _ = writeln!(
        out,
        "| run | backlog | alone commits/s | flood orders/s (accepted) | flooded commits/s | flooded / alone | \
         ledger µs | Redis µs | intake µs | Redis µs / webhook |"
    );
    let _ = writeln!(out, "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    let mut columns: [Vec<f64>; 7] = Default::default();
    for (i, c) in floods.iter().enumerate() {
        let (a, f) = (&c.alone, &c.flooded);
        let per = |seconds: f64, n: u64| seconds * 1e6 / n.max(1) as f64;
        // The flood's share of Redis: what Redis spent beyond the ledger's own cost per order.
        let ledger_redis = a.cpu.redis / a.committed.max(1) as f64 * f.committed as f64;
        let row = [
            c.alone_per_sec,
            c.flooded_per_sec,
            c.flooded_per_sec / c.alone_per_sec.max(1e-9),
            per(a.cpu.ledger, a.committed),
            per(a.cpu.redis, a.committed),
            per(f.cpu.intake, f.accepted),
            per((f.cpu.redis - ledger_redis).max(0.0), f.accepted),
        ];
        let _ = writeln!(
            out,
            "| {} | {} | {:.0} | {} ({}) | {:.0} | {:.2} | {:.0} | {:.0} | {:.0} | {:.0} |",
            i + 1,
            c.backlog,
            row[0],
            c.flood_rate,
            c.flooded.accepted,
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            row[6]
        );
        for (column, value) in columns.iter_mut().zip(row) {
            column.push(value);
        }
    }
    let m: Vec<f64> = columns.into_iter().map(median).collect();
    let _ = writeln!(
        out,
        "| **median** | | {:.0} | | {:.0} | **{:.2}** | {:.0} | {:.0} | {:.0} | {:.0} |\n",
        m[0], m[1], m[2], m[3], m[4], m[5], m[6]
    );
    m[2]
}

/// Where the parts of (c) ran, as the bench found it.
fn layout(flood: Option<&Flood>) -> String {
    let redis = match flood.and_then(|c| c.redis_cpus.as_deref()) {
        Some(cpus) => format!("the Redis nodes on CPU {cpus}"),
        None => "the Redis nodes where they run (not this machine's, or not readable)".to_string(),
    };
    match flood.and_then(|c| c.ledger_cpu) {
        Some(cpu) => format!(
            "The draining instance's threads on CPU {cpu}, the intake-only instance and the generator on the \
             others, {redis}."
        ),
        None => format!("Every part of this process on every CPU (not set apart), {redis}."),
    }
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn largest_share(run: &&SaleRun) -> f64 {
    let total: u64 = run.per_node.iter().sum();
    run.per_node.iter().map(|n| *n as f64 / total.max(1) as f64).fold(0.0, f64::max)
}
