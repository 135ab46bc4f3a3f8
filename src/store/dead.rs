//! Dead letters: what could not be done, kept with the reason for an operator to list and replay.
//!
//! Two kinds live side by side in one list, so `dlq list` shows them in the order they failed:
//! a webhook kept whole (replayed through the queue), and a platform effect kept as the shop and
//! its dirty mark (replayed by marking it again in the shop's ledger).
//!
//! Before effects had a form of their own they were buried as webhook envelopes of the topic
//! [`LEGACY_EFFECT_TOPIC`] with the body `{"mark": "o:12"}`. Stores written then still hold
//! such entries (in the dead letters, or in the queue if a replay was under way at the upgrade),
//! so both backends read that form as the effect it stands for.

use serde::{Deserialize, Serialize};

use super::{Envelope, Mark};

/// The topic of an effect dead letter stored in the old, webhook-shaped form.
pub const LEGACY_EFFECT_TOPIC: &str = "effects/reconcile";

/// Where a dead letter came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadLetterKind {
    Webhook,
    /// A platform effect that failed through its whole retry budget.
    Effect,
}

impl DeadLetterKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            DeadLetterKind::Webhook => "webhook",
            DeadLetterKind::Effect => "effect",
        }
    }
}

/// What a dead letter holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Buried {
    /// A delivery kept whole (the body may not even be JSON); a replay queues it again.
    Webhook(Envelope),
    /// A platform effect out of retries; a replay marks it again in the shop's ledger, so the
    /// next effects pass compares and sends what is still missing.
    Effect { shop: String, mark: Mark },
}

impl Buried {
    /// A stored envelope as what it stands for: an effect in the old form is an effect.
    pub fn from_envelope(envelope: Envelope) -> Self {
        match legacy_effect(&envelope) {
            Some(mark) => Buried::Effect { shop: envelope.meta.shop, mark },
            None => Buried::Webhook(envelope),
        }
    }
}

/// One dead letter with the reason it failed.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    /// Backend-specific id, the one `dlq replay` takes.
    pub id: String,
    pub reason: String,
    pub failed_at_ms: u64,
    pub buried: Buried,
}

impl DeadLetter {
    pub fn kind(&self) -> DeadLetterKind {
        match self.buried {
            Buried::Webhook(_) => DeadLetterKind::Webhook,
            Buried::Effect { .. } => DeadLetterKind::Effect,
        }
    }

    /// The webhook kept whole; `None` for an effect.
    pub fn envelope(&self) -> Option<&Envelope> {
        match &self.buried {
            Buried::Webhook(envelope) => Some(envelope),
            Buried::Effect { .. } => None,
        }
    }

    /// The shop it belongs to (empty for a webhook whose envelope did not decode).
    pub fn shop(&self) -> &str {
        match &self.buried {
            Buried::Webhook(envelope) => &envelope.meta.shop,
            Buried::Effect { shop, .. } => shop,
        }
    }
}

/// The mark of an effect stored in the old form: an envelope of [`LEGACY_EFFECT_TOPIC`] whose
/// body is `{"mark": "<stored mark>"}`. `None` for anything else, a malformed one included (it
/// stays what it looks like, a webhook, and fails again with a reason when replayed).
pub fn legacy_effect(envelope: &Envelope) -> Option<Mark> {
    #[derive(Deserialize)]
    struct Body {
        mark: String,
    }
    if envelope.meta.topic != LEGACY_EFFECT_TOPIC {
        return None;
    }
    let body: Body = serde_json::from_slice(&envelope.body).ok()?;
    Mark::parse(&body.mark).ok()
}

/// `true` when the dead letter is the shop's and, with a `needle`, holds it (ASCII
/// case-insensitively): a redacted customer's address must not outlive the redaction there. An
/// effect holds no customer data, so only `shop/redact` (no needle) removes it.
pub(crate) fn belongs(buried: &Buried, shop: &str, needle: Option<&[u8]>) -> bool {
    match (buried, needle) {
        (Buried::Webhook(envelope), needle) => envelope.meta.shop == shop && body_mentions(envelope, needle),
        (Buried::Effect { shop: theirs, .. }, None) => theirs == shop,
        (Buried::Effect { .. }, Some(_)) => false,
    }
}

/// `true` when `needle` is absent (any dead letter) or appears, ASCII case-insensitively, in the
/// envelope's body.
fn body_mentions(envelope: &Envelope, needle: Option<&[u8]>) -> bool {
    needle.is_none_or(|n| !n.is_empty() && envelope.body.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::EnvelopeMeta;

    fn envelope(topic: &str, body: &'static [u8]) -> Envelope {
        Envelope {
            meta: EnvelopeMeta {
                topic: topic.into(),
                shop: "a.myshopify.com".into(),
                webhook_id: "effect-o:12-00000000000000ff".into(),
                event_id: None,
                api_version: None,
                triggered_at: None,
                received_at_ms: 1,
                attempts: 0,
            },
            body: bytes::Bytes::from_static(body),
        }
    }

    #[test]
    fn an_effect_in_the_old_webhook_form_reads_as_the_effect() {
        let buried = Buried::from_envelope(envelope(LEGACY_EFFECT_TOPIC, br#"{"mark":"o:12"}"#));
        assert_eq!(buried, Buried::Effect { shop: "a.myshopify.com".into(), mark: Mark::Order(12) });
    }

    #[test]
    fn anything_else_stays_a_webhook() {
        for (topic, body) in [
            ("orders/create", &br#"{"mark":"o:12"}"#[..]),
            (LEGACY_EFFECT_TOPIC, b"not json"),
            (LEGACY_EFFECT_TOPIC, br#"{"mark":"o:012"}"#),
            (LEGACY_EFFECT_TOPIC, br#"{"other":"o:12"}"#),
        ] {
            let env = Envelope { body: bytes::Bytes::copy_from_slice(body), ..envelope(topic, b"") };
            assert!(matches!(Buried::from_envelope(env), Buried::Webhook(_)), "{topic} {body:?}");
        }
    }

    #[test]
    fn a_needle_never_matches_an_effect_but_forgetting_the_shop_does() {
        let effect = Buried::Effect { shop: "a.myshopify.com".into(), mark: Mark::Variant(3) };
        assert!(belongs(&effect, "a.myshopify.com", None));
        assert!(!belongs(&effect, "b.myshopify.com", None));
        assert!(!belongs(&effect, "a.myshopify.com", Some(b"v:3")));
        let webhook = Buried::Webhook(envelope("orders/create", b"{\"email\":\"Jane@Example.com\"}"));
        assert!(belongs(&webhook, "a.myshopify.com", Some(b"jane@example.com")));
        assert!(!belongs(&webhook, "a.myshopify.com", Some(b"")));
    }
}
