//! The one backoff every retry loop uses: queue entries, platform calls, token refreshes,
//! restarted tasks and backed-off shops. It lives at the bottom of the crate so none of them has
//! to import the layer that happens to retry most.

use std::time::Duration;

/// `base * 2^(n-1)`, capped, with full jitter over the upper half so retries of many entries
/// spread out instead of arriving together.
pub fn backoff(n: u32, base_ms: u64, max_ms: u64) -> Duration {
    let exp = base_ms.saturating_mul(1u64 << n.saturating_sub(1).min(30)).min(max_ms);
    let jittered = exp / 2 + fastrand::u64(0..=exp / 2);
    Duration::from_millis(jittered.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_stays_within_its_cap() {
        for n in 1..40 {
            let d = backoff(n, 500, 300_000).as_millis() as u64;
            let exp = (500u64 << (n - 1).min(30)).min(300_000);
            assert!(d >= exp / 2 && d <= exp, "attempt {n}: {d}ms");
        }
    }
}
