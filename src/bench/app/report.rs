//! The app bench's numbers: per page and depth, the p50 and p99 of a page's server time and
//! its speed as a share of the shallowest depth's; the overview's LCP and CLS per depth.

use std::fmt::Write as _;

use super::AppArgs;
use super::vitals::Load;
use crate::bench::report::percentile;
use crate::store::StoreUrl;

/// A page's speed at the deepest depth, as a share of the shallowest, at least (SPEC 11).
pub const MIN_RATIO: f64 = 0.5;
/// Built for Shopify's thresholds, at the 75th percentile.
const LCP_MS: f64 = 2500.0;
const CLS: f64 = 0.1;

pub struct PageResult {
    pub page: &'static str,
    pub depth: usize,
    /// Sorted latencies, microseconds.
    pub samples: Vec<u32>,
}

pub struct Vitals {
    pub depth: usize,
    pub loads: Vec<Load>,
}

fn ms(us: u32) -> String {
    format!("{:.2}", f64::from(us) / 1000.0)
}

fn p75(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(((values.len() as f64 * 0.75).ceil() as usize).saturating_sub(1)).copied().unwrap_or(0.0)
}

/// The report as Markdown, and whether every page and vital is within its bound.
pub fn render(args: &AppArgs, store: &StoreUrl, pages: &[PageResult], vitals: &[Vitals]) -> (String, bool) {
    let mut out = String::new();
    let mut pass = true;
    let store = match store {
        StoreUrl::File(_) => "embedded",
        _ => "redis",
    };
    let _ =
        writeln!(out, "## bench app: page server time by waiting lines ({store}, {} requests each)\n", args.requests);
    let _ = writeln!(out, "| page | waiting lines | p50 ms | p99 ms | speed vs {} lines |", args.depths[0]);
    let _ = writeln!(out, "|---|---:|---:|---:|---:|");
    for r in pages {
        let base = pages.iter().find(|b| b.page == r.page && b.depth == args.depths[0]);
        let (p50, p99) = (percentile(&r.samples, 50.0), percentile(&r.samples, 99.0));
        let ratio = base.map_or(1.0, |b| f64::from(percentile(&b.samples, 50.0)) / f64::from(p50.max(1)));
        let ok = ratio >= MIN_RATIO;
        pass &= ok;
        let mark = if ok { "" } else { " (below 0.5)" };
        let _ = writeln!(out, "| {} | {} | {} | {} | {ratio:.2}{mark} |", r.page, r.depth, ms(p50), ms(p99));
    }
    if !vitals.is_empty() {
        let _ = writeln!(out, "\n## bench app: the overview in Chromium on loopback (p75 of {} loads)\n", args.loads);
        let _ = writeln!(out, "| waiting lines | LCP ms | CLS |");
        let _ = writeln!(out, "|---:|---:|---:|");
        for v in vitals {
            let lcp = p75(v.loads.iter().map(|l| l.lcp_ms).collect());
            let cls = p75(v.loads.iter().map(|l| l.cls).collect());
            pass &= lcp <= LCP_MS && cls <= CLS;
            let _ = writeln!(out, "| {} | {lcp:.0} | {cls:.3} |", v.depth);
        }
    }
    let verdict = if pass { "within bounds" } else { "OUT OF BOUNDS" };
    let _ = writeln!(
        out,
        "\nBounds: speed at every depth ≥ {MIN_RATIO} of the first; LCP ≤ {LCP_MS} ms, CLS ≤ {CLS}: {verdict}."
    );
    (out, pass)
}
