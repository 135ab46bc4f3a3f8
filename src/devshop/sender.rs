//! The dev shop's webhook sender: deliveries signed as Shopify signs them, posted over real
//! HTTP to `{app_url}/webhooks`, with the delivery faults Shopify is known for on demand:
//! redeliveries (same webhook id), duplicate events (same event id, new webhook id), late
//! deliveries and any order. Everything random is drawn from one seed, so a failing run can be
//! replayed exactly. A delivery answered non-2xx is retried with exponential backoff, as
//! Shopify does (8 retries over 4 hours there; scaled down here).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use tokio::time::Instant;

use crate::webhook::verify::sign;

pub const API_VERSION: &str = "2026-10";

/// One webhook as Shopify would deliver it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub topic: String,
    pub body: Vec<u8>,
    pub webhook_id: String,
    pub event_id: String,
    /// `X-Shopify-Triggered-At`: when the change happened, to the millisecond.
    pub triggered_at: String,
}

/// How a delivery came to be in a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Original,
    /// Sent again with the same webhook id, as after a reply Shopify never saw.
    Redelivery,
    /// The same event under a new webhook id, as with two subscriptions to one topic.
    SameEvent,
}

/// What to do to a batch; the default sends each delivery once, in order, at once.
#[derive(Debug, Clone)]
pub struct Batch {
    pub seed: u64,
    /// Share of deliveries also sent as a redelivery.
    pub redeliver: f64,
    /// Share of deliveries also sent as a duplicate event.
    pub same_event: f64,
    /// Share of sends held back by `delay`, arriving after the rest.
    pub delay_share: f64,
    pub delay: Duration,
    pub shuffle: bool,
}

impl Default for Batch {
    fn default() -> Self {
        Self { seed: 0, redeliver: 0.0, same_event: 0.0, delay_share: 0.0, delay: Duration::ZERO, shuffle: false }
    }
}

/// One send of a delivery and every answer it got, in order.
#[derive(Debug, Clone)]
pub struct Sent {
    pub delivery: Delivery,
    pub kind: Kind,
    pub delayed: bool,
    /// Status per attempt; `None` when no answer came (refused, timed out).
    pub answers: Vec<Option<u16>>,
    /// The body of the last answer.
    pub last_body: String,
}

impl Sent {
    pub fn delivered(&self) -> bool {
        self.answers.last().copied().flatten().is_some_and(|s| (200..300).contains(&s))
    }
}

/// The sends of a batch in the order they were first attempted.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub sent: Vec<Sent>,
}

impl Report {
    pub fn all_delivered(&self) -> bool {
        self.sent.iter().all(Sent::delivered)
    }

    pub fn count(&self, kind: Kind) -> usize {
        self.sent.iter().filter(|s| s.kind == kind).count()
    }

    pub fn undelivered(&self) -> Vec<&Sent> {
        self.sent.iter().filter(|s| !s.delivered()).collect()
    }
}

pub struct Sender {
    client: reqwest::Client,
    url: String,
    secret: Vec<u8>,
    shop: String,
    pending: Vec<Delivery>,
    retries: u32,
    backoff: Duration,
}

fn fresh_id(rng: &mut fastrand::Rng) -> String {
    format!("{:08x}-{:04x}-{:04x}-{:012x}", rng.u32(..), rng.u16(..), rng.u16(..), rng.u64(..) >> 16)
}

impl Sender {
    /// Shopify's timeouts: 1 s to connect, 5 s for the answer. 8 retries, starting at 50 ms.
    pub fn new(app_url: &str, api_secret: &str, shop: &str) -> Self {
        crate::init_crypto();
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(1))
            .timeout(Duration::from_secs(5))
            .build()
            .expect("a plain HTTP client builds");
        Self {
            client,
            url: format!("{}/webhooks", app_url.trim_end_matches('/')),
            secret: api_secret.as_bytes().to_vec(),
            shop: shop.to_string(),
            pending: Vec::new(),
            retries: 8,
            backoff: Duration::from_millis(50),
        }
    }

    /// Retries after a failed attempt, waiting `backoff`, then twice as long each time.
    pub fn with_retries(mut self, retries: u32, backoff: Duration) -> Self {
        (self.retries, self.backoff) = (retries, backoff);
        self
    }

    pub fn shop(&self) -> &str {
        &self.shop
    }

    /// Queues a webhook with fresh ids; `triggered_at` is `X-Shopify-Triggered-At`.
    pub fn queue(&mut self, topic: &str, body: Vec<u8>, triggered_at: String) -> &Delivery {
        // Ids need not be reproducible (the service only compares them), so they come from the
        // global generator and leave the batch's seeded draws alone.
        let mut rng = fastrand::Rng::new();
        let delivery = Delivery {
            topic: topic.into(),
            body,
            webhook_id: fresh_id(&mut rng),
            event_id: fresh_id(&mut rng),
            triggered_at,
        };
        self.pending.push(delivery);
        self.pending.last().expect("just pushed")
    }

    pub fn pending(&self) -> &[Delivery] {
        &self.pending
    }

    /// The sends of a batch in the order they will first be attempted, without sending.
    pub fn plan(deliveries: &[Delivery], batch: &Batch) -> Vec<(Delivery, Kind, bool)> {
        let mut rng = fastrand::Rng::with_seed(batch.seed);
        let mut sends = Vec::new();
        for d in deliveries {
            sends.push((d.clone(), Kind::Original));
            if rng.f64() < batch.redeliver {
                sends.push((d.clone(), Kind::Redelivery));
            }
            if rng.f64() < batch.same_event {
                sends.push((Delivery { webhook_id: fresh_id(&mut rng), ..d.clone() }, Kind::SameEvent));
            }
        }
        if batch.shuffle {
            rng.shuffle(&mut sends);
        }
        // Held-back sends keep their relative order and arrive after all the others.
        let (mut on_time, mut late): (Vec<_>, Vec<_>) =
            sends.into_iter().map(|(d, k)| (d, k, rng.f64() < batch.delay_share)).partition(|(_, _, delayed)| !delayed);
        on_time.append(&mut late);
        on_time
    }

    /// Sends everything queued as `batch` says and reports every answer. A failed attempt is
    /// retried later without holding up the sends behind it.
    pub async fn send(&mut self, batch: &Batch) -> Report {
        let deliveries = std::mem::take(&mut self.pending);
        let plan = Self::plan(&deliveries, batch);
        let start = Instant::now();
        let mut report = Report::default();
        // (due, plan index) → earliest first; the index keeps equal due times in plan order.
        let mut due: BinaryHeap<Reverse<(Instant, usize)>> = BinaryHeap::new();
        for (i, (delivery, kind, delayed)) in plan.into_iter().enumerate() {
            let at = if delayed { start + batch.delay } else { start };
            due.push(Reverse((at, i)));
            report.sent.push(Sent { delivery, kind, delayed, answers: Vec::new(), last_body: String::new() });
        }
        while let Some(Reverse((at, i))) = due.pop() {
            tokio::time::sleep_until(at).await;
            let sent = &mut report.sent[i];
            let (status, body) = self.post(&sent.delivery).await;
            sent.answers.push(status);
            sent.last_body = body;
            let failures = sent.answers.len() as u32;
            if !sent.delivered() && failures <= self.retries {
                let wait = self.backoff.saturating_mul(1 << (failures - 1).min(20));
                due.push(Reverse((Instant::now() + wait, i)));
            }
        }
        report
    }

    async fn post(&self, d: &Delivery) -> (Option<u16>, String) {
        let request = self
            .client
            .post(&self.url)
            .header("Content-Type", "application/json")
            .header("X-Shopify-Topic", &d.topic)
            .header("X-Shopify-Hmac-Sha256", sign(&self.secret, &d.body))
            .header("X-Shopify-Shop-Domain", &self.shop)
            .header("X-Shopify-API-Version", API_VERSION)
            .header("X-Shopify-Webhook-Id", &d.webhook_id)
            .header("X-Shopify-Event-Id", &d.event_id)
            .header("X-Shopify-Triggered-At", &d.triggered_at)
            .body(d.body.clone());
        match request.send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                (Some(status), resp.text().await.unwrap_or_default())
            }
            Err(e) => (None, e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests;
