//! Signed deliveries shaped like Shopify's.

use backorder::webhook::verify::sign;

use super::{SECRET, SHOP};

#[derive(Debug, Clone)]
pub struct Delivery {
    pub topic: String,
    pub shop: String,
    pub webhook_id: String,
    pub event_id: Option<String>,
    pub body: Vec<u8>,
    /// `None`: sign correctly. `Some(v)`: send this header value instead (`""` omits it).
    pub hmac: Option<String>,
    /// `X-Shopify-Triggered-At`; a fixed instant when `None`.
    pub triggered_at: Option<String>,
}

pub fn new_id() -> String {
    format!("{:016x}-{:08x}", fastrand::u64(..), fastrand::u32(..))
}

impl Delivery {
    pub fn new(topic: &str, body: impl Into<Vec<u8>>) -> Self {
        Self {
            topic: topic.into(),
            shop: SHOP.into(),
            webhook_id: new_id(),
            event_id: Some(new_id()),
            body: body.into(),
            hmac: None,
            triggered_at: None,
        }
    }

    /// A small, valid `orders/create` body.
    pub fn order(order_id: u64) -> Self {
        let body = serde_json::json!({
            "id": order_id,
            "name": format!("#{order_id}"),
            "created_at": "2026-11-20T10:00:00-05:00",
            "updated_at": "2026-11-20T10:00:00-05:00",
            "line_items": [{"id": order_id * 10, "variant_id": 4711, "quantity": 1, "fulfillable_quantity": 1}]
        });
        Self::new("orders/create", serde_json::to_vec_pretty(&body).expect("json"))
    }

    pub fn redelivered(&self) -> Self {
        Self { webhook_id: new_id(), ..self.clone() }
    }

    pub async fn send(&self, client: &reqwest::Client, url: &str) -> reqwest::Response {
        self.try_send(client, url).await.expect("request reaches the app")
    }

    /// Sends, letting the caller see a connection that fails (the app died mid-request).
    pub async fn try_send(&self, client: &reqwest::Client, url: &str) -> reqwest::Result<reqwest::Response> {
        let mut req = client
            .post(url)
            .header("Content-Type", "application/json")
            .header("X-Shopify-Topic", &self.topic)
            .header("X-Shopify-Shop-Domain", &self.shop)
            .header("X-Shopify-API-Version", "2026-10")
            .header("X-Shopify-Webhook-Id", &self.webhook_id)
            .header("X-Shopify-Triggered-At", self.triggered_at.as_deref().unwrap_or("2026-11-20T15:00:00.000Z"));
        if let Some(event) = &self.event_id {
            req = req.header("X-Shopify-Event-Id", event);
        }
        match &self.hmac {
            None => req = req.header("X-Shopify-Hmac-Sha256", sign(SECRET.as_bytes(), &self.body)),
            Some(v) if v.is_empty() => {}
            Some(v) => req = req.header("X-Shopify-Hmac-Sha256", v),
        }
        req.body(self.body.clone()).send().await
    }
}
