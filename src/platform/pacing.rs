//! A cost bucket per shop, mirroring Shopify's leaky bucket, so the client waits before sending
//! instead of being throttled.
//!
//! Shopify admits a query only if the bucket holds its *requested* cost, refunds the difference
//! to the *actual* cost afterwards, and refills at `restoreRate` points per second. Every reply
//! carries `extensions.cost.throttleStatus`, so the local copy is corrected on each response;
//! until the first reply it assumes a small bucket (the one of the smallest plan would be
//! larger), which costs a few milliseconds of warm-up and never a `THROTTLED` reply.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;

/// Before the platform has said otherwise.
const SEED_MAX: f64 = 50.0;
const SEED_RESTORE: f64 = 10.0;
/// Far above any plan's bucket and restore rate: a reply claiming more is clamped to this, so
/// the arithmetic on the bucket stays finite.
const MOST_POINTS: f64 = 1e9;
/// The longest the pacer asks a caller to wait before asking again.
const MOST_WAIT_SECS: f64 = 60.0;

/// `secs` as a wait of at most `most` seconds; `None` when it is not a finite number (NaN or
/// infinite, as a reply may say), so the caller treats it as absent instead of panicking in
/// `Duration::from_secs_f64`.
pub fn wait_secs(secs: f64, most: f64) -> Option<Duration> {
    if !secs.is_finite() {
        return None;
    }
    Duration::try_from_secs_f64(secs.clamp(0.0, most)).ok()
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThrottleStatus {
    pub maximum_available: f64,
    pub currently_available: f64,
    pub restore_rate: f64,
}

impl ThrottleStatus {
    /// The status within bounds the bucket's arithmetic can take, or `None` (treated as absent)
    /// when a figure is not a finite number.
    pub fn sane(self) -> Option<Self> {
        let figures = [self.maximum_available, self.currently_available, self.restore_rate];
        if !figures.iter().all(|f| f.is_finite()) {
            return None;
        }
        let max = self.maximum_available.clamp(1.0, MOST_POINTS);
        Some(Self {
            maximum_available: max,
            currently_available: self.currently_available.clamp(-max, max),
            restore_rate: self.restore_rate.clamp(0.1, MOST_POINTS),
        })
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    max: f64,
    available: f64,
    restore: f64,
    at: Instant,
    /// Points taken by calls not answered yet: a status read by one reply does not know them.
    in_flight: f64,
    /// Points of all calls answered so far. Replies can arrive out of order: a call admitted
    /// after another's reply was written may be answered first, and then neither that status
    /// nor `in_flight` counts it. So a status is lowered by what was answered while its call
    /// was out (the difference of this counter), which can only err on the safe side.
    answered: f64,
}

/// What a call took from the bucket, handed back with its reply.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ticket {
    pub cost: f64,
    answered_before: f64,
}

impl Ticket {
    /// A ticket for a call that took nothing from the pacer's view (tests).
    pub fn untracked(cost: f64) -> Self {
        Self { cost, answered_before: f64::INFINITY }
    }
}

impl Bucket {
    fn seed(now: Instant) -> Self {
        Self { max: SEED_MAX, available: SEED_MAX, restore: SEED_RESTORE, at: now, in_flight: 0.0, answered: 0.0 }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.available = (self.available + elapsed * self.restore).min(self.max);
        self.at = now;
    }
}

#[derive(Debug, Default)]
pub struct Pacer {
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl Pacer {
    /// Takes `cost` points from the shop's bucket, or says how long to wait before asking again.
    /// A cost above the whole bucket is admitted once the bucket is full (the platform decides).
    pub fn take(&self, shop: &str, cost: f64, now: Instant) -> Result<Ticket, Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let bucket = buckets.entry(shop.to_string()).or_insert_with(|| Bucket::seed(now));
        bucket.refill(now);
        let need = cost.min(bucket.max);
        if bucket.available >= need {
            bucket.available -= cost;
            bucket.in_flight += cost;
            Ok(Ticket { cost, answered_before: bucket.answered })
        } else {
            let secs = (need - bucket.available) / bucket.restore.max(0.1);
            Err(wait_secs(secs, MOST_WAIT_SECS).unwrap_or(Duration::from_secs(1)))
        }
    }

    /// Waits until `cost` points are available, then takes them.
    pub async fn acquire(&self, shop: &str, cost: f64) -> Ticket {
        loop {
            match self.take(shop, cost, Instant::now()) {
                Ok(ticket) => return ticket,
                // Looked at again soon: a reply may correct the estimate meanwhile (the first
                // one replaces the small seed bucket), and a long wait computed from a stale
                // estimate would hold the call for nothing.
                Err(wait) => tokio::time::sleep(wait.clamp(Duration::from_millis(1), Duration::from_millis(100))).await,
            }
        }
    }

    /// A call that took `cost` got its reply; with the platform's word on the bucket, that
    /// replaces the local estimate. Points of calls still in flight are taken again, so
    /// concurrent callers stay under it. `actual` is what the platform kept of the requested
    /// cost (it refunds the rest), which is what a later status has already counted; `None`
    /// when nobody knows (the connection broke), which keeps every point taken.
    pub fn answered(
        &self,
        shop: &str,
        ticket: Ticket,
        status: Option<ThrottleStatus>,
        actual: Option<f64>,
        now: Instant,
    ) {
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let bucket = buckets.entry(shop.to_string()).or_insert_with(|| Bucket::seed(now));
        bucket.in_flight = (bucket.in_flight - ticket.cost).max(0.0);
        let overtaken = (bucket.answered - ticket.answered_before).max(0.0);
        bucket.answered += actual.filter(|a| a.is_finite() && *a >= 0.0).map_or(ticket.cost, |a| a.min(ticket.cost));
        if status.is_none() {
            // A reply without the platform's word on the bucket (a 5xx, a plain 429): what it
            // did not keep comes back, or a failed call would hold its points until they refill.
            if let Some(kept) = actual.filter(|a| a.is_finite() && *a >= 0.0) {
                bucket.available = (bucket.available + (ticket.cost - kept).max(0.0)).min(bucket.max);
            }
        }
        if let Some(status) = status.and_then(ThrottleStatus::sane) {
            bucket.max = status.maximum_available.max(1.0);
            bucket.restore = status.restore_rate.max(0.1);
            bucket.available = (status.currently_available - bucket.in_flight - overtaken).min(bucket.max);
            bucket.at = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_bucket_says_how_long_to_wait_for_the_missing_points() {
        let pacer = Pacer::default();
        let t0 = Instant::now();
        assert!(pacer.take("s", 40.0, t0).is_ok());
        let wait = pacer.take("s", 30.0, t0).unwrap_err();
        assert_eq!(wait, Duration::from_secs(2), "20 points missing at 10 points/s");
        assert!(pacer.take("s", 30.0, t0 + Duration::from_secs(2)).is_ok());
    }

    #[test]
    fn the_platforms_status_replaces_the_estimate() {
        let pacer = Pacer::default();
        let t0 = Instant::now();
        let status = ThrottleStatus { maximum_available: 2000.0, currently_available: 1000.0, restore_rate: 100.0 };
        pacer.answered("s", Ticket::untracked(0.0), Some(status), None, t0);
        assert!(pacer.take("s", 1000.0, t0).is_ok());
        assert_eq!(pacer.take("s", 100.0, t0).unwrap_err(), Duration::from_secs(1));
    }

    #[test]
    fn points_of_calls_still_in_flight_stay_taken_after_another_reply() {
        let pacer = Pacer::default();
        let t0 = Instant::now();
        let first = pacer.take("s", 10.0, t0).unwrap();
        assert!(pacer.take("s", 10.0, t0).is_ok());
        // The first reply reports the bucket before the second call reached the platform.
        let status = ThrottleStatus { maximum_available: 50.0, currently_available: 40.0, restore_rate: 10.0 };
        pacer.answered("s", first, Some(status), None, t0);
        assert!(pacer.take("s", 30.0, t0).is_ok());
        assert!(pacer.take("s", 1.0, t0).is_err(), "the second call's 10 points are still spoken for");
    }

    #[test]
    fn a_reply_overtaken_by_a_later_call_does_not_give_back_its_points() {
        let pacer = Pacer::default();
        let t0 = Instant::now();
        let status =
            |available| ThrottleStatus { maximum_available: 50.0, currently_available: available, restore_rate: 10.0 };
        let a = pacer.take("s", 10.0, t0).unwrap();
        let c = pacer.take("s", 10.0, t0).unwrap();
        // The platform admits a (40 left), writes a's reply, admits c (30 left); c's reply comes first.
        pacer.answered("s", c, Some(status(30.0)), None, t0);
        pacer.answered("s", a, Some(status(40.0)), None, t0);
        assert!(pacer.take("s", 30.0, t0).is_ok());
        assert!(pacer.take("s", 1.0, t0).is_err(), "a's stale 40 must not count c's 10 points again");
    }

    #[test]
    fn a_call_answered_without_running_gives_its_points_back() {
        let pacer = Pacer::default();
        let t0 = Instant::now();
        let failed = pacer.take("s", 40.0, t0).unwrap();
        pacer.answered("s", failed, None, Some(0.0), t0);
        let broken = pacer.take("s", 50.0, t0).expect("the 503 kept nothing");
        pacer.answered("s", broken, None, None, t0);
        assert!(pacer.take("s", 1.0, t0).is_err(), "a broken connection may have run: its points stay taken");
    }

    #[test]
    fn throttle_figures_that_are_not_finite_or_are_extreme_never_make_a_wait_panic() {
        let extremes = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, f64::MAX, f64::MIN, -1.7e308, 0.0, -0.0, 1e-300];
        let t0 = Instant::now();
        for max in extremes {
            for available in extremes {
                for restore in extremes {
                    let pacer = Pacer::default();
                    let status = ThrottleStatus {
                        maximum_available: max,
                        currently_available: available,
                        restore_rate: restore,
                    };
                    let ticket = pacer.take("s", 10.0, t0).expect("the seed bucket admits 10 points");
                    pacer.answered("s", ticket, Some(status), None, t0);
                    for cost in [1.0, 1000.0, f64::MAX] {
                        if let Err(wait) = pacer.take("s", cost, t0) {
                            assert!(wait <= Duration::from_secs(60), "{status:?} cost {cost}: {wait:?}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_status_with_a_figure_that_is_not_a_number_is_treated_as_absent() {
        let pacer = Pacer::default();
        let t0 = Instant::now();
        let status = ThrottleStatus { maximum_available: 2000.0, currently_available: f64::NAN, restore_rate: 100.0 };
        pacer.answered("s", Ticket::untracked(0.0), Some(status), None, t0);
        assert!(pacer.take("s", 50.0, t0).is_ok(), "the seed bucket still holds its 50 points");
        assert_eq!(pacer.take("s", 10.0, t0).unwrap_err(), Duration::from_secs(1), "10 points at the seed's 10/s");
    }

    #[test]
    fn a_wait_in_seconds_that_is_not_finite_is_no_wait_at_all() {
        assert_eq!(wait_secs(f64::NAN, 60.0), None);
        assert_eq!(wait_secs(f64::INFINITY, 60.0), None);
        assert_eq!(wait_secs(f64::NEG_INFINITY, 60.0), None);
        assert_eq!(wait_secs(1e300, 60.0), Some(Duration::from_secs(60)));
        assert_eq!(wait_secs(-5.0, 60.0), Some(Duration::ZERO));
        assert_eq!(wait_secs(1.5, 60.0), Some(Duration::from_millis(1500)));
    }

    #[test]
    fn shops_have_buckets_of_their_own() {
        let pacer = Pacer::default();
        let t0 = Instant::now();
        assert!(pacer.take("a", 50.0, t0).is_ok());
        assert!(pacer.take("b", 50.0, t0).is_ok());
        assert!(pacer.take("a", 1.0, t0).is_err());
    }
}
