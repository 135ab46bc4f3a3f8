//! The hot variant before the sale, set up the way a merchant and Shopify would: enrolled over
//! the merchant API with a signed session token, mapped to its inventory item by a
//! `products/update` webhook, and its level set by an `inventory_levels/update` webhook.

use std::time::{Duration, SystemTime};

use reqwest::header::{AUTHORIZATION, HeaderValue};
use reqwest::{Client, Url};
use serde_json::json;

use crate::auth::session_token;
use crate::bench::drain;
use crate::bench::ids::rfc3339_utc;
use crate::bench::load::delivery;
use crate::bench::payload::sign;
use crate::telemetry::error_chain;

/// The hot variant's inventory item and location, and its product.
pub const ITEM: u64 = 9_007_199_254_740_993;
pub const PRODUCT: u64 = 7_000_000_001;
pub const LOCATION: u64 = 1;

pub struct Service<'a> {
    pub client: &'a Client,
    /// `http://host:port/`
    pub base: &'a Url,
    pub shop: &'a str,
    pub api_key: &'a str,
    pub secret: &'a [u8],
}

impl Service<'_> {
    fn url(&self, path: &str) -> Result<Url, String> {
        self.base.join(path).map_err(|e| format!("{}{path}: {e}", self.base))
    }

    /// An App Bridge session token for the shop, valid for five minutes.
    fn token(&self) -> String {
        let now = crate::store::now_ms() as i64 / 1000;
        let claims = json!({
            "iss": format!("https://{}/admin", self.shop), "dest": format!("https://{}", self.shop),
            "aud": self.api_key, "sub": "bench", "exp": now + 300, "nbf": now - 5,
        });
        session_token::sign(&claims, self.secret)
    }

    pub async fn webhook(&self, topic: &'static str, body: &serde_json::Value) -> Result<(), String> {
        let url = self.url("webhooks")?;
        let shop = HeaderValue::from_str(self.shop).map_err(|e| e.to_string())?;
        let signed = sign(self.secret, serde_json::to_vec(body).expect("JSON serializes"));
        let version = HeaderValue::from_static(crate::bench::API_VERSION);
        let resp = delivery(self.client, &url, &shop, &version, topic, signed)
            .send()
            .await
            .map_err(|e| format!("{topic} to {url}: {}", error_chain(&e)))?;
        match resp.status() {
            s if s.is_success() => Ok(()),
            s => Err(format!("{url} answered {s} to a signed {topic}: is --secret the service's?")),
        }
    }

    /// Enrols `variant` and gives it `stock`; returns once the service has processed both.
    pub async fn prepare(&self, variant: u64, stock: i64, drain_timeout: Duration) -> Result<(), String> {
        let url = self.url(&format!("api/variants/{variant}"))?;
        let resp = self
            .client
            .put(url.clone())
            .header(AUTHORIZATION, format!("Bearer {}", self.token()))
            .json(&json!({ "enabled": true }))
            .send()
            .await
            .map_err(|e| format!("PUT {url}: {}", error_chain(&e)))?;
        if !resp.status().is_success() {
            let status = resp.status();
            let text = resp.text().await.unwrap_or_default();
            return Err(format!("PUT {url} answered {status}: {text} (is --api-key the service's?)"));
        }
        let product = json!({
            "id": PRODUCT, "title": "Flash tee",
            "variants": [{ "id": variant, "inventory_item_id": ITEM, "title": "Default Title" }],
        });
        self.webhook("products/update", &product).await?;
        // The level after the mapping: both orders give the same stock, this one is simpler to wait for.
        self.settle(drain_timeout).await?;
        let level = json!({
            "inventory_item_id": ITEM, "location_id": LOCATION, "available": stock,
            "updated_at": rfc3339_utc(SystemTime::now()),
        });
        self.webhook("inventory_levels/update", &level).await?;
        self.settle(drain_timeout).await.map(|_| ())
    }

    /// Waits until the service's queue is empty.
    pub async fn settle(&self, timeout: Duration) -> Result<Option<drain::Drained>, String> {
        let metrics = self.url("metrics")?;
        match drain::wait_for_empty_queue(self.client, &metrics, timeout).await? {
            Some(d) => Ok(Some(d)),
            None => Err(format!("{metrics} shows no queue depth: is {} a backorder service?", self.base)),
        }
    }
}
