//! The two ways of loading a server: closed loop (each connection sends as soon as its previous
//! answer arrived: finds the maximum rate) and open loop (sends on a fixed schedule: shows the
//! latency a given arrival rate really gets, queueing included).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use reqwest::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use reqwest::{Client, StatusCode, Url};

use super::ids::{rfc3339_utc, uuid_like};
use super::payload::{Signed, Template, sign};

const TOPIC: HeaderName = HeaderName::from_static("x-shopify-topic");
const HMAC: HeaderName = HeaderName::from_static("x-shopify-hmac-sha256");
const SHOP: HeaderName = HeaderName::from_static("x-shopify-shop-domain");
const WEBHOOK_ID: HeaderName = HeaderName::from_static("x-shopify-webhook-id");
const EVENT_ID: HeaderName = HeaderName::from_static("x-shopify-event-id");
const API_VERSION: HeaderName = HeaderName::from_static("x-shopify-api-version");
const TRIGGERED_AT: HeaderName = HeaderName::from_static("x-shopify-triggered-at");

/// After a transport error, a sender pauses this long so a dead target does not turn the
/// generator into a busy loop of instant `connection refused`s.
const ERROR_BACKOFF: Duration = Duration::from_millis(10);

/// Where to send, and the bodies to send.
pub struct Target {
    pub client: Client,
    pub url: Url,
    pub shop: HeaderValue,
    pub api_version: HeaderValue,
    pub bodies: Bodies,
}

/// What a target sends.
pub enum Bodies {
    /// Pre-signed bodies, cycled through: the generator spends no CPU on them while it measures.
    Pool(Vec<Signed>),
    /// A new order on every send, rendered and signed on the spot (a few µs each), for runs
    /// where each send must be a distinct order (the ledger would take a recycled one as an
    /// update of an order it has).
    Fresh { template: Template, secret: Vec<u8>, next_ordinal: AtomicU64 },
}

impl Bodies {
    fn get(&self, index: usize) -> Signed {
        match self {
            Bodies::Pool(pool) => pool[index % pool.len()].clone(),
            Bodies::Fresh { template, secret, next_ordinal } => {
                let mut buf = Vec::new();
                template.render(next_ordinal.fetch_add(1, Ordering::Relaxed), &mut buf);
                sign(secret, buf)
            }
        }
    }

    /// The next `count` fresh orders rendered and signed now, sent later as a pool: a flood's
    /// generator then spends its CPU sending, not signing, on the machine it measures. Each
    /// body is still a distinct order until the pool runs out (then they recycle).
    pub fn ahead(self, count: usize) -> Bodies {
        match self {
            Bodies::Fresh { .. } => Bodies::Pool((0..count.max(1)).map(|i| self.get(i)).collect()),
            pool => pool,
        }
    }

    /// Mean body size in bytes.
    pub fn mean_len(&self) -> usize {
        match self {
            Bodies::Pool(pool) => pool.iter().map(|s| s.body.len()).sum::<usize>() / pool.len().max(1),
            Bodies::Fresh { template, .. } => {
                let mut buf = Vec::new();
                template.render(0, &mut buf);
                buf.len()
            }
        }
    }
}

impl Target {
    /// Sends body `index` (modulo the pool) as a fresh delivery: new webhook and event ids, so
    /// the service never treats a recycled body as a duplicate. Returns the status once the
    /// response body is read, which is when the connection can carry the next request.
    pub async fn send(&self, index: usize) -> Result<StatusCode, reqwest::Error> {
        let signed = self.bodies.get(index);
        let resp =
            delivery(&self.client, &self.url, &self.shop, &self.api_version, "orders/create", signed).send().await?;
        let status = resp.status();
        resp.bytes().await?;
        Ok(status)
    }
}

/// A delivery as Shopify sends one: signed body, fresh webhook and event ids, trigger time now.
pub fn delivery(
    client: &Client,
    url: &Url,
    shop: &HeaderValue,
    api_version: &HeaderValue,
    topic: &'static str,
    signed: Signed,
) -> reqwest::RequestBuilder {
    client
        .post(url.clone())
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .header(TOPIC, HeaderValue::from_static(topic))
        .header(HMAC, signed.hmac)
        .header(SHOP, shop.clone())
        .header(WEBHOOK_ID, uuid_like())
        .header(EVENT_ID, uuid_like())
        .header(API_VERSION, api_version.clone())
        .header(TRIGGERED_AT, rfc3339_utc(SystemTime::now()))
        .body(signed.body)
}

/// What one phase saw. Latencies are in microseconds, one per answered request.
#[derive(Debug, Default)]
pub struct Tally {
    pub latencies_us: Vec<u32>,
    /// Answers that were not 2xx, by status code.
    pub non_2xx: BTreeMap<u16, u64>,
    /// Requests that got no answer (refused, reset, timed out).
    pub errors: u64,
    pub first_error: Option<String>,
    /// Open loop only: sends that could not leave on time because the connection's previous
    /// request was still waiting for its answer (the server fell behind the schedule).
    pub late_sends: u64,
    /// Open loop only: scheduled sends given up at the hard stop (twice the planned duration),
    /// because the server was so far behind that the phase would never end.
    pub unsent: u64,
    /// From the first send to the last answer.
    pub elapsed: Duration,
}

impl Tally {
    /// Requests answered 2xx: the deliveries the service took.
    pub fn accepted(&self) -> u64 {
        self.latencies_us.len() as u64 - self.non_2xx.values().sum::<u64>()
    }

    fn record(&mut self, started: Instant, result: Result<StatusCode, reqwest::Error>) -> bool {
        match result {
            Ok(status) => {
                let us = started.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
                self.latencies_us.push(us);
                if !status.is_success() {
                    *self.non_2xx.entry(status.as_u16()).or_default() += 1;
                }
                true
            }
            Err(e) => {
                self.errors += 1;
                self.first_error.get_or_insert_with(|| crate::telemetry::error_chain(&e));
                false
            }
        }
    }

    pub(crate) fn merge(&mut self, other: Tally) {
        self.latencies_us.extend(other.latencies_us);
        for (code, n) in other.non_2xx {
            *self.non_2xx.entry(code).or_default() += n;
        }
        self.errors += other.errors;
        self.late_sends += other.late_sends;
        self.unsent += other.unsent;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }
}

/// `connections` senders, each sending its next request as soon as the previous one is answered,
/// until `duration` has passed. Requests still in flight at the deadline are waited for.
pub async fn closed_loop(target: Arc<Target>, connections: usize, duration: Duration) -> Tally {
    let start = Instant::now();
    let deadline = start + duration;
    let tasks: Vec<_> = (0..connections)
        .map(|k| {
            let target = target.clone();
            tokio::spawn(async move {
                let mut tally = Tally::default();
                // Interleaved indices: the senders walk the pool together without sharing a counter.
                let mut index = k;
                while Instant::now() < deadline {
                    let started = Instant::now();
                    if !tally.record(started, target.send(index).await) {
                        tokio::time::sleep(ERROR_BACKOFF).await;
                    }
                    index += connections;
                }
                tally
            })
        })
        .collect();
    join(tasks, start).await
}

/// `rate` requests per second in total for `duration`, spread over up to `connections` senders.
/// Sender k sends at `start + k/rate + j*senders/rate`. Latency counts from that *scheduled*
/// time whenever a send leaves late because the previous answer had not arrived, so a slow server
/// cannot hide its queueing by slowing the generator down (coordinated omission). When a sender
/// merely wakes up late from its timer (tokio's timer has 1 ms granularity), the delay is ours,
/// not the server's, and latency counts from the actual send.
pub async fn open_loop(target: Arc<Target>, connections: usize, rate: u32, duration: Duration) -> Tally {
    let senders = connections.min(rate as usize).max(1);
    let spacing = Duration::from_secs_f64(1.0 / f64::from(rate));
    let interval = spacing * senders as u32;
    let start = Instant::now() + Duration::from_millis(5);
    let end = start + duration;
    let hard_stop = end + duration;
    let tasks: Vec<_> = (0..senders)
        .map(|k| {
            let target = target.clone();
            tokio::spawn(async move {
                let mut tally = Tally::default();
                let mut scheduled = start + spacing * k as u32;
                let mut index = k;
                while scheduled < end {
                    if Instant::now() >= hard_stop {
                        tally.unsent += 1;
                        scheduled += interval;
                        continue;
                    }
                    let started = if Instant::now() > scheduled {
                        tally.late_sends += 1;
                        scheduled
                    } else {
                        tokio::time::sleep_until(scheduled.into()).await;
                        Instant::now()
                    };
                    tally.record(started, target.send(index).await);
                    index += senders;
                    scheduled += interval;
                }
                tally
            })
        })
        .collect();
    join(tasks, start).await
}

async fn join(tasks: Vec<tokio::task::JoinHandle<Tally>>, start: Instant) -> Tally {
    let mut total = Tally::default();
    for task in tasks {
        match task.await {
            Ok(tally) => total.merge(tally),
            Err(e) => {
                total.errors += 1;
                total.first_error.get_or_insert_with(|| format!("sender task failed: {e}"));
            }
        }
    }
    total.elapsed = start.elapsed();
    total
}
