//! Requests per key and minute, counted in this process (audit M3, L7): a token bucket per key
//! that holds a minute's worth and refills continuously. Several instances each count their own,
//! so the limit a client meets across a fleet is this times the instances it reaches.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Keys counted at most: past it, keys whose bucket has refilled go (they hold nothing), and if
/// that is not enough the count starts over, so a flood of made-up keys cannot grow memory.
const MAX_KEYS: usize = 100_000;

struct Bucket {
    tokens: f64,
    at: Instant,
}

pub struct RateLimit {
    per_minute: u32,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimit {
    /// `per_minute` requests per key and minute; 0 counts nothing and refuses nothing.
    pub fn per_minute(per_minute: u32) -> Self {
        Self { per_minute, buckets: Mutex::default() }
    }

    fn rate(&self) -> f64 {
        f64::from(self.per_minute) / 60.0
    }

    /// Takes one request of `key`; `Err(wait)` when its bucket is empty, with how long until it
    /// holds one again.
    pub fn take(&self, key: &str) -> Result<(), Duration> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let (full, rate, now) = (f64::from(self.per_minute), self.rate(), Instant::now());
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() >= MAX_KEYS && !buckets.contains_key(key) {
            buckets.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * rate < full);
            if buckets.len() >= MAX_KEYS {
                buckets.clear();
            }
        }
        let bucket = buckets.entry(key.to_string()).or_insert(Bucket { tokens: full, at: now });
        bucket.tokens = (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * rate).min(full);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / rate))
        }
    }
}

/// Seconds to tell a refused client in `Retry-After`: at least one.
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_gets_a_minutes_worth_then_waits_while_another_key_is_untouched() {
        let limit = RateLimit::per_minute(3);
        for _ in 0..3 {
            assert_eq!(limit.take("a"), Ok(()));
        }
        let wait = limit.take("a").expect_err("the fourth in a minute is refused");
        assert!(wait > Duration::from_secs(15) && wait <= Duration::from_secs(20), "{wait:?}");
        assert_eq!(limit.take("b"), Ok(()), "another key has its own bucket");
    }

    #[test]
    fn zero_refuses_nothing() {
        let limit = RateLimit::per_minute(0);
        assert!((0..1000).all(|_| limit.take("a").is_ok()));
    }

    #[test]
    fn made_up_keys_beyond_the_bound_do_not_grow_the_map() {
        let limit = RateLimit::per_minute(1);
        for n in 0..MAX_KEYS + 10 {
            let _ = limit.take(&n.to_string());
        }
        assert!(limit.buckets.lock().unwrap().len() <= MAX_KEYS);
    }

    #[test]
    fn a_retry_after_is_whole_seconds_and_never_zero() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1500)), 2);
    }
}
