//! A verified webhook delivery as it is kept in the queue and the dead-letter list: the
//! `X-Shopify-*` headers plus the raw body, byte for byte (the body may not even be JSON).

use bytes::Bytes;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeMeta {
    pub topic: String,
    pub shop: String,
    pub webhook_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triggered_at: Option<String>,
    pub received_at_ms: u64,
    /// Explicit retries so far (not counting deliveries to consumers that died).
    #[serde(default)]
    pub attempts: u32,
}

#[derive(Clone, PartialEq, Eq)]
pub struct Envelope {
    pub meta: EnvelopeMeta,
    pub body: Bytes,
}

// The body holds customer data (emails, addresses); Debug shows its size only.
impl std::fmt::Debug for Envelope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Envelope").field("meta", &self.meta).field("body_len", &self.body.len()).finish()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("undecodable queue entry: {0}")]
pub struct DecodeError(String);

impl Envelope {
    /// The key under which processing is deduplicated: the event when Shopify names one (the same
    /// event can arrive under several delivery ids), the delivery otherwise.
    pub fn event_key(&self) -> String {
        match &self.meta.event_id {
            Some(event) => format!("ev:{event}"),
            None => format!("wh:{}", self.meta.webhook_id),
        }
    }

    /// One JSON line of metadata, then the raw body. serde_json escapes newlines inside strings,
    /// so the first `\n` always ends the metadata.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec(&self.meta).expect("metadata serializes");
        out.reserve(1 + self.body.len());
        out.push(b'\n');
        out.extend_from_slice(&self.body);
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let split = bytes.iter().position(|b| *b == b'\n').ok_or_else(|| DecodeError("no metadata line".into()))?;
        let meta = serde_json::from_slice(&bytes[..split]).map_err(|e| DecodeError(e.to_string()))?;
        Ok(Self { meta, body: Bytes::copy_from_slice(&bytes[split + 1..]) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn meta(topic: String, event_id: Option<String>) -> EnvelopeMeta {
        EnvelopeMeta {
            topic,
            shop: "a.myshopify.com".into(),
            webhook_id: "w\n1".into(),
            event_id,
            api_version: Some("2026-10".into()),
            triggered_at: None,
            received_at_ms: 7,
            attempts: 2,
        }
    }

    proptest! {
        #[test]
        fn any_envelope_survives_encoding(topic in ".*", event in proptest::option::of(".*"), body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let env = Envelope { meta: meta(topic, event), body: Bytes::from(body) };
            prop_assert_eq!(Envelope::decode(&env.encode()).unwrap(), env);
        }

        #[test]
        fn garbage_never_panics_the_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = Envelope::decode(&bytes);
        }
    }

    #[test]
    fn debug_output_hides_the_body() {
        let env = Envelope { meta: meta("orders/create".into(), None), body: Bytes::from_static(b"jane@example.com") };
        assert!(!format!("{env:?}").contains("jane"));
    }
}
