//! Between phases, waits for the service's queue to empty. Every accepted webhook is processed
//! later by the service's own queue workers; a backlog left by one phase would otherwise take CPU
//! from the next one (on a 2-core machine, a lot of it). How fast the backlog drains is worth
//! knowing too: it is the workers' throughput with no HTTP load.

use std::time::{Duration, Instant};

use reqwest::{Client, Url};

const METRIC: &str = "backorder_queue_depth";
const POLL: Duration = Duration::from_millis(200);

/// A backlog that emptied.
#[derive(Debug, Clone, Copy)]
pub struct Drained {
    pub entries: u64,
    pub took: Duration,
}

/// `Ok(None)`: the target exposes no queue depth (e.g. the bare handler, or another service),
/// so there is nothing to wait for. `Err`: still not empty after `timeout`.
pub async fn wait_for_empty_queue(
    client: &Client,
    metrics: &Url,
    timeout: Duration,
) -> Result<Option<Drained>, String> {
    let start = Instant::now();
    let Some(entries) = depth(client, metrics).await else {
        return Ok(None);
    };
    let mut left = entries;
    while left > 0 {
        if start.elapsed() >= timeout {
            return Err(format!("the queue still held {left} webhooks after {}s", timeout.as_secs()));
        }
        tokio::time::sleep(POLL).await;
        // A failed poll counts as "not empty yet" until the timeout says otherwise.
        left = depth(client, metrics).await.unwrap_or(left);
    }
    Ok(Some(Drained { entries, took: start.elapsed() }))
}

async fn depth(client: &Client, metrics: &Url) -> Option<u64> {
    let resp = client.get(metrics.clone()).send().await.ok()?;
    if !resp.status().is_success() {
        return None;
    }
    parse_depth(&resp.text().await.ok()?)
}

/// The value of the `backorder_queue_depth` gauge in Prometheus text format.
fn parse_depth(text: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let value = line.strip_prefix(METRIC)?.strip_prefix(' ')?;
        value.trim().parse::<f64>().ok().map(|v| v.max(0.0) as u64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_depth_gauge_is_read_from_prometheus_text() {
        let text = "# HELP backorder_queue_depth Webhooks queued\n# TYPE backorder_queue_depth gauge\n\
                    backorder_queue_depth_other 9\nbackorder_queue_depth 28061\nbackorder_queue_delayed 0\n";
        assert_eq!(parse_depth(text), Some(28061));
        assert_eq!(parse_depth("backorder_queue_delayed 3\n"), None);
    }
}
