//! Reads the service's own numbers from its Prometheus text: a histogram's buckets, diffed
//! between two scrapes, give the distribution of what happened in between.

use reqwest::{Client, Url};

/// Cumulative buckets of one histogram at one scrape: `(upper bound in seconds, count)`,
/// ascending, `+Inf` last.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Buckets {
    pub bounds: Vec<(f64, u64)>,
}

impl Buckets {
    /// The histogram `name` (without `_bucket`) in Prometheus text format.
    pub fn parse(text: &str, name: &str) -> Option<Self> {
        let prefix = format!("{name}_bucket{{le=\"");
        let mut bounds = Vec::new();
        for line in text.lines() {
            let Some(rest) = line.strip_prefix(&prefix) else { continue };
            let (le, count) = rest.split_once("\"}")?;
            let le = if le == "+Inf" { f64::INFINITY } else { le.parse().ok()? };
            bounds.push((le, count.trim().parse::<f64>().ok()? as u64));
        }
        (!bounds.is_empty()).then_some(Self { bounds })
    }

    pub fn count(&self) -> u64 {
        self.bounds.last().map_or(0, |b| b.1)
    }

    /// What was observed after `earlier` and up to `self`.
    pub fn since(&self, earlier: &Buckets) -> Buckets {
        let bounds = self
            .bounds
            .iter()
            .map(|(le, n)| {
                let before = earlier.bounds.iter().find(|(l, _)| l == le).map_or(0, |b| b.1);
                (*le, n.saturating_sub(before))
            })
            .collect();
        Buckets { bounds }
    }

    /// The upper bound of the bucket holding the `p`-th percentile, in seconds: an upper
    /// estimate, at most one bucket (20 %) above the true value. `None` when empty.
    pub fn percentile(&self, p: f64) -> Option<f64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = (p / 100.0 * total as f64).ceil().max(1.0) as u64;
        self.bounds.iter().find(|(_, n)| *n >= rank).map(|(le, _)| *le)
    }
}

/// The text of `/metrics`.
pub async fn metrics_text(client: &Client, url: &Url) -> Result<String, String> {
    let resp = client.get(url.clone()).send().await.map_err(|e| format!("cannot read {url}: {e}"))?;
    if !resp.status().is_success() {
        return Err(format!("{url} answered {}", resp.status()));
    }
    resp.text().await.map_err(|e| format!("cannot read {url}: {e}"))
}

/// One scrape of the histogram `name`.
pub async fn histogram(client: &Client, url: &Url, name: &str) -> Result<Buckets, String> {
    let text = metrics_text(client, url).await?;
    Buckets::parse(&text, name).ok_or_else(|| format!("{url} has no histogram {name}: is the service this version?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# TYPE backorder_x_seconds histogram\n\
        backorder_x_seconds_sum 1.5\nbackorder_x_seconds_count 10\n\
        backorder_x_seconds_bucket{le=\"0.001\"} 2\nbackorder_x_seconds_bucket{le=\"0.0012\"} 9\n\
        backorder_x_seconds_bucket{le=\"+Inf\"} 10\nbackorder_y_bucket{le=\"1\"} 3\n";

    #[test]
    fn percentiles_come_from_the_diff_of_two_scrapes() {
        let now = Buckets::parse(TEXT, "backorder_x_seconds").unwrap();
        assert_eq!(now.count(), 10);
        assert_eq!(now.percentile(50.0), Some(0.0012));
        assert_eq!(now.percentile(99.0), Some(f64::INFINITY));
        let before = Buckets { bounds: vec![(0.001, 2), (0.0012, 2), (f64::INFINITY, 2)] };
        let diff = now.since(&before);
        assert_eq!(diff.count(), 8);
        assert_eq!(diff.percentile(50.0), Some(0.0012));
        assert_eq!(diff.percentile(99.0), Some(f64::INFINITY));
        assert_eq!(Buckets::default().percentile(50.0), None);
        assert!(Buckets::parse(TEXT, "backorder_z").is_none());
    }
}
