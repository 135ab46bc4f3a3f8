//! The numbers of a drain, from the dev shop's call log: what the platform admitted, when, and
//! what it charged for it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::devshop::Call;

/// Operations that only read; every other one applies an effect.
const READS: [&str; 4] = ["OrderFulfillmentOrders", "ProductVariantItem", "InventoryItemLevels", "OpenOrders"];

#[derive(Debug, Default)]
pub struct Measured {
    pub restore_rate: f64,
    pub warmup: Duration,
    /// From the end of the warm-up to the last admitted call.
    pub window: Duration,
    /// Points charged for calls admitted inside `window`.
    pub points_in_window: f64,
    /// Points charged per whole second since the backlog's first call.
    pub per_second: Vec<f64>,
    /// From the backlog's first call to its last admitted one.
    pub span: Duration,
    pub points_total: f64,
    pub throttled: usize,
    pub throttled_after_warmup: usize,
    /// Calls answered neither `ok` nor `throttled` (errors, faults).
    pub other_outcomes: usize,
    pub ok_by_operation: BTreeMap<String, usize>,
    /// Admitted calls that change the shop (holds, tags, policies).
    pub effects: usize,
    pub webhooks: usize,
    /// From the first webhook sent to the last one accepted.
    pub delivered: Duration,
    /// From the first webhook sent until no effect was due any more.
    pub drained: Duration,
    /// Orders beyond stock.
    pub orders: usize,
    /// What the end state got wrong (empty: every effect applied, once).
    pub errors: Vec<String>,
}

impl Measured {
    pub fn from_calls(calls: &[Call], restore_rate: f64, warmup: Duration) -> Result<Self, String> {
        let first = calls.first().ok_or("the backlog made no Admin API call")?.at;
        let last = calls.iter().filter(|c| c.outcome == "ok").map(|c| c.at).max().unwrap_or(first);
        let span = last.saturating_duration_since(first);
        if span <= warmup + Duration::from_secs(5) {
            return Err(format!(
                "the backlog drained in {:.1} s, too soon after the {} s warm-up to measure; raise --orders",
                span.as_secs_f64(),
                warmup.as_secs()
            ));
        }
        let since = |at: Instant| at.saturating_duration_since(first);
        let mut m = Self { restore_rate, warmup, window: span - warmup, span, ..Self::default() };
        m.per_second = vec![0.0; span.as_secs() as usize + 1];
        for c in calls {
            match c.outcome {
                "ok" => {
                    m.points_total += c.cost;
                    m.per_second[since(c.at).as_secs() as usize] += c.cost;
                    if since(c.at) > warmup {
                        m.points_in_window += c.cost;
                    }
                    *m.ok_by_operation.entry(c.operation.clone()).or_default() += 1;
                    if !READS.contains(&c.operation.as_str()) {
                        m.effects += 1;
                    }
                }
                "throttled" => {
                    m.throttled += 1;
                    if since(c.at) > warmup {
                        m.throttled_after_warmup += 1;
                    }
                }
                _ => m.other_outcomes += 1,
            }
        }
        Ok(m)
    }

    /// Points per second after the warm-up.
    pub fn rate(&self) -> f64 {
        self.points_in_window / self.window.as_secs_f64()
    }

    /// The share of the restore rate used after the warm-up.
    pub fn ratio(&self) -> f64 {
        self.rate() / self.restore_rate
    }

    /// Seconds after the warm-up that were whole, and the least and most points one of them used.
    pub fn steady_range(&self) -> Option<(f64, f64)> {
        let from = self.warmup.as_secs() as usize + 1;
        let to = self.per_second.len().saturating_sub(1);
        let seconds = self.per_second.get(from..to)?;
        let min = seconds.iter().copied().reduce(f64::min)?;
        let max = seconds.iter().copied().reduce(f64::max)?;
        Some((min, max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn call(at: Instant, outcome: &'static str, operation: &str, cost: f64) -> Call {
        Call { operation: operation.into(), variables: Value::Null, outcome, at, cost }
    }

    #[test]
    fn points_after_the_warm_up_over_the_restore_rate() {
        let t0 = Instant::now();
        let s = |secs: f64| t0 + Duration::from_secs_f64(secs);
        let mut calls =
            vec![call(s(0.0), "ok", "OrderFulfillmentOrders", 2000.0), call(s(0.5), "throttled", "TagsAdd", 0.0)];
        // 10 points every 0.1 s from 1 s to 31 s: 100 points per second.
        calls.extend((10..=310).map(|i| call(s(f64::from(i) / 10.0), "ok", "TagsAdd", 10.0)));
        let m = Measured::from_calls(&calls, 100.0, Duration::from_secs(10)).unwrap();
        assert_eq!(m.window, Duration::from_secs(21));
        assert!((m.ratio() - 1.0).abs() < 0.01, "{}", m.ratio());
        assert_eq!((m.throttled, m.throttled_after_warmup), (1, 0));
        assert_eq!(m.effects, 301);
        assert_eq!(m.ok_by_operation["OrderFulfillmentOrders"], 1);
        let (min, max) = m.steady_range().unwrap();
        assert!((min - 100.0).abs() < 10.1 && (max - 100.0).abs() < 10.1, "{min} {max}");
    }

    #[test]
    fn a_backlog_shorter_than_the_warm_up_is_not_measured() {
        let t0 = Instant::now();
        let calls = [call(t0, "ok", "TagsAdd", 10.0), call(t0 + Duration::from_secs(3), "ok", "TagsAdd", 10.0)];
        assert!(Measured::from_calls(&calls, 100.0, Duration::from_secs(20)).is_err());
    }
}
