//! Shopify's cost bucket: a query is admitted only if the bucket holds its requested cost; the
//! difference to the actual cost is refunded afterwards; the bucket refills at a fixed rate.

use std::time::Instant;

use serde_json::{Value, json};

#[derive(Debug, Clone, Copy)]
pub struct Bucket {
    pub max: f64,
    pub restore: f64,
    available: f64,
    at: Instant,
}

impl Bucket {
    pub fn new(max: f64, restore: f64) -> Self {
        Self { max, restore, available: max, at: Instant::now() }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.available = (self.available + elapsed * self.restore).min(self.max);
        self.at = now;
    }

    /// Takes `requested` points, or refuses (a `THROTTLED` reply) when the bucket is short.
    pub fn admit(&mut self, requested: f64, now: Instant) -> bool {
        self.refill(now);
        if self.available >= requested.min(self.max) {
            self.available -= requested;
            true
        } else {
            false
        }
    }

    pub fn refund(&mut self, points: f64, now: Instant) {
        self.refill(now);
        self.available = (self.available + points).min(self.max);
    }

    /// `extensions.cost` as Shopify sends it.
    pub fn extensions(&mut self, requested: f64, actual: Option<f64>, now: Instant) -> Value {
        self.refill(now);
        json!({"cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": {
                "maximumAvailable": self.max,
                "currentlyAvailable": self.available.floor(),
                "restoreRate": self.restore,
            }
        }})
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_short_bucket_refuses_until_it_has_refilled() {
        let t0 = Instant::now();
        let mut b = Bucket::new(50.0, 10.0);
        b.at = t0;
        assert!(b.admit(40.0, t0));
        assert!(!b.admit(20.0, t0));
        assert!(b.admit(20.0, t0 + Duration::from_secs(1)));
    }
}
