//! Turns the phases' tallies into a readable report and a Markdown table to paste.

use std::fmt::Write as _;

use super::load::Tally;

/// One measured phase.
pub struct Phase {
    /// "a", "b", "c".
    pub key: &'static str,
    pub what: &'static str,
    pub load: String,
    pub tally: Tally,
}

/// The numbers of one phase, latencies in microseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub answered: u64,
    /// 2xx answers per second of the phase.
    pub ok_rate: f64,
    pub p50: u32,
    pub p99: u32,
    pub max: u32,
    pub non_2xx: u64,
    pub errors: u64,
}

impl Summary {
    /// Sorts the tally's samples in place (they are not needed in order afterwards).
    pub fn of(tally: &mut Tally) -> Self {
        tally.latencies_us.sort_unstable();
        let samples = &tally.latencies_us;
        let non_2xx = tally.non_2xx.values().sum::<u64>();
        let answered = samples.len() as u64;
        let secs = tally.elapsed.as_secs_f64().max(1e-9);
        Self {
            answered,
            ok_rate: (answered - non_2xx) as f64 / secs,
            p50: percentile(samples, 50.0),
            p99: percentile(samples, 99.0),
            max: samples.last().copied().unwrap_or(0),
            non_2xx,
            errors: tally.errors,
        }
    }

    pub fn clean(&self) -> bool {
        self.non_2xx == 0 && self.errors == 0 && self.answered > 0
    }
}

/// Nearest-rank percentile of sorted samples: the smallest sample with at least `p` % at or below it.
pub fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(us: u32) -> String {
    format!("{:.3}", f64::from(us) / 1000.0)
}

/// `12345.6` → `12,346`.
fn thousands(n: f64) -> String {
    let digits = format!("{:.0}", n.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Intake's closed-loop maximum as a share of the bare handler's, in percent.
pub fn ratio(intake: &Summary, bare: &Summary) -> Option<f64> {
    (bare.ok_rate > 0.0).then(|| intake.ok_rate / bare.ok_rate * 100.0)
}

/// The report: a plain table, details on anything that went wrong, then the Markdown block.
/// `context` is one line saying what was sent from where; `ratio` compares phases b and a;
/// `notes` are extra observations (queue drains).
pub fn render(context: &str, phases: &[(Phase, Summary)], ratio: Option<f64>, notes: &[String]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "\n{context}\n");
    let _ = writeln!(
        out,
        "  {:<34} {:<30} {:>9} {:>10} {:>8} {:>8} {:>8} {:>7} {:>6}",
        "phase", "load", "answered", "2xx/s", "p50 ms", "p99 ms", "max ms", "non-2xx", "errors"
    );
    for (phase, s) in phases {
        let _ = writeln!(
            out,
            "  {:<34} {:<30} {:>9} {:>10} {:>8} {:>8} {:>8} {:>7} {:>6}",
            format!("{}. {}", phase.key, phase.what),
            phase.load,
            s.answered,
            thousands(s.ok_rate),
            ms(s.p50),
            ms(s.p99),
            ms(s.max),
            s.non_2xx,
            s.errors
        );
    }
    if let Some(r) = ratio {
        let _ = writeln!(out, "\n  intake / bare (closed-loop maximum, b / a): {r:.1} %");
    }
    let details = details(phases, notes);
    for d in &details {
        let _ = writeln!(out, "  {d}");
    }
    let _ = writeln!(out, "\nMarkdown:\n\n{}", markdown(context, phases, ratio, &details));
    out
}

/// What the table does not show: anything that went wrong, then the notes.
fn details(phases: &[(Phase, Summary)], notes: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for (phase, s) in phases {
        let (k, t) = (phase.key, &phase.tally);
        if t.late_sends > 0 || t.unsent > 0 {
            out.push(format!(
                "{k}: {} sends left late because the previous answer on their connection had not \
                 arrived yet (timed from their schedule); {} never sent",
                t.late_sends, t.unsent
            ));
        }
        if !t.non_2xx.is_empty() {
            let codes: Vec<String> = t.non_2xx.iter().map(|(code, n)| format!("{n} × {code}")).collect();
            out.push(format!("{k}: non-2xx answers: {}", codes.join(", ")));
        }
        if let Some(e) = &t.first_error {
            out.push(format!("{k}: {} requests got no answer; the first error: {e}", t.errors));
        }
        if !s.clean() {
            out.push(format!("{k}: NOT a valid measurement (every request must be answered with a 2xx)"));
        }
    }
    out.extend(notes.iter().cloned());
    out
}

fn markdown(context: &str, phases: &[(Phase, Summary)], ratio: Option<f64>, details: &[String]) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "{context}\n");
    md.push_str("| Phase | Load | Answered | 2xx/s | p50 (ms) | p99 (ms) | max (ms) | non-2xx | errors |\n");
    md.push_str("|---|---|--:|--:|--:|--:|--:|--:|--:|\n");
    for (phase, s) in phases {
        let _ = writeln!(
            md,
            "| {}. {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            phase.key,
            phase.what,
            phase.load,
            thousands(s.answered as f64),
            thousands(s.ok_rate),
            ms(s.p50),
            ms(s.p99),
            ms(s.max),
            s.non_2xx,
            s.errors
        );
    }
    if let Some(r) = ratio {
        let _ = writeln!(md, "\nIntake / bare handler (closed-loop maximum): **{r:.1} %**");
    }
    if !details.is_empty() {
        md.push('\n');
    }
    for d in details {
        let _ = writeln!(md, "- {d}");
    }
    md
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let samples: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&samples, 50.0), 50);
        assert_eq!(percentile(&samples, 99.0), 99);
        assert_eq!(percentile(&samples, 100.0), 100);
        assert_eq!(percentile(&[7], 99.0), 7);
        assert_eq!(percentile(&[], 50.0), 0);
    }

    #[test]
    fn a_summary_counts_only_2xx_in_the_rate_and_flags_failures() {
        let mut tally =
            Tally { latencies_us: vec![300, 100, 200, 400], elapsed: Duration::from_secs(2), ..Tally::default() };
        let s = Summary::of(&mut tally);
        assert_eq!((s.answered, s.p50, s.max, s.ok_rate), (4, 200, 400, 2.0));
        assert!(s.clean());
        tally.non_2xx.insert(503, 2);
        let s = Summary::of(&mut tally);
        assert_eq!(s.ok_rate, 1.0);
        assert!(!s.clean());
        assert_eq!(thousands(1234567.4), "1,234,567");
        assert_eq!(thousands(999.0), "999");
    }
}
