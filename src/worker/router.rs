//! Routes a queued delivery to the handler of its topic.
//!
//! Ledger topics go through [`super::ledger`], whose commit records the event as processed
//! together with its changes; `app/uninstalled` and `shop/redact` through [`super::lifecycle`].
//! The customer privacy topics only record the event once for now.

use std::time::Duration;

use super::HandlerError;
use crate::books::apply::{self, Event, Outcome};
use crate::ledger::input::{self, InputError};
use crate::shopify::Topic;
use crate::state::AppState;
use crate::store::{Envelope, EventMark, LEGACY_EFFECT_TOPIC};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    Done,
    /// The event was processed before (a redelivery after a crash, or the same event under
    /// another delivery id that slipped past intake dedupe): nothing changed.
    AlreadyDone,
}

impl From<Outcome> for Handled {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::Applied => Handled::Done,
            Outcome::AlreadyProcessed => Handled::AlreadyDone,
        }
    }
}

/// Shape problems are permanent: retrying the same bytes cannot fix them, so the entry goes to
/// the dead-letter list whole, to be replayed once the code or the data is fixed.
fn bad_input(e: InputError) -> HandlerError {
    HandlerError::Permanent(e.to_string())
}

pub async fn handle(state: &AppState, envelope: &Envelope) -> Result<Handled, HandlerError> {
    let meta = &envelope.meta;
    if meta.topic == LEGACY_EFFECT_TOPIC {
        return legacy_effect(state, envelope).await;
    }
    let topic =
        Topic::parse(&meta.topic).ok_or_else(|| HandlerError::Permanent(format!("unknown topic {:?}", meta.topic)))?;
    state.panics.hit("webhook", topic.as_str());
    let body = &envelope.body;
    let triggered = meta.triggered_at.as_deref();
    let event = |key: String| Event::new(&meta.shop, key, topic.as_str(), state.dedupe_ttl());
    if let Topic::Supply(name) = topic {
        // Platform reads, not a ledger event: outside the shop's lock, so a slow read holds up
        // none of the shop's orders.
        return supply_hint(state, envelope, topic, name).await;
    }
    let books = &state.books;
    let lock = state.shop_lock(&meta.shop);
    let _serial = lock.lock().await;
    match topic {
        Topic::OrdersCreate | Topic::OrdersUpdated | Topic::OrdersCancelled | Topic::OrdersFulfilled => {
            let order = input::parse_order(body, triggered).map_err(bad_input)?;
            let outcome = apply::apply_order(books, &event(envelope.event_key()), &order).await?;
            Ok(committed(state, envelope, outcome))
        }
        Topic::InventoryLevelsUpdate => {
            let level = input::parse_level(body, triggered).map_err(bad_input)?;
            let outcome = apply::apply_level(books, &event(envelope.event_key()), &level).await?;
            Ok(committed(state, envelope, outcome))
        }
        Topic::ProductsUpdate => {
            let variants = input::parse_product(body).map_err(bad_input)?;
            // One commit per variant, each under its own mark, so a redelivery after a crash
            // half-way redoes only the variants not yet done.
            let mut handled = Handled::AlreadyDone;
            for info in &variants {
                let key = format!("{}:v{}", envelope.event_key(), info.variant_id);
                if apply::map_variant(books, &event(key), info, false).await? == Outcome::Applied {
                    handled = Handled::Done;
                }
            }
            // A policy a person changed by hand is theirs until the app wants another (SPEC 9).
            // Idempotent: a redelivery finds it recorded already.
            let policies = input::product_policies(body).map_err(bad_input)?;
            crate::effects::people::policies_seen(state, &meta.shop, &policies)
                .await
                .map_err(|e| HandlerError::Transient(e.to_string()))?;
            Ok(handled)
        }
        Topic::AppUninstalled => {
            names_its_shop(topic, envelope)?;
            super::lifecycle::uninstalled(state, envelope).await?;
            record_once(state, envelope, topic, state.dedupe_ttl()).await
        }
        Topic::ShopRedact => {
            names_its_shop(topic, envelope)?;
            super::lifecycle::redact_shop(state, envelope).await
        }
        Topic::CustomersRedact => {
            names_its_shop(topic, envelope)?;
            super::customers::redact(state, envelope).await?;
            record_once(state, envelope, topic, state.dedupe_ttl()).await
        }
        Topic::Supply(_) => unreachable!("handled above, outside the shop's lock"),
        Topic::CustomersDataRequest => {
            names_its_shop(topic, envelope)?;
            super::customers::data_request(state, envelope).await?;
            record_once(state, envelope, topic, state.dedupe_ttl()).await
        }
    }
}

/// A transfer or shipment webhook: the variants it touches read their expected supply again.
/// The read is of the platform's state now, so a repeat or a late delivery changes nothing more.
async fn supply_hint(state: &AppState, envelope: &Envelope, topic: Topic, name: &str) -> Result<Handled, HandlerError> {
    use crate::supply::SupplyError;
    let body: serde_json::Value = serde_json::from_slice(&envelope.body)
        .map_err(|e| HandlerError::Permanent(format!("{name} body is not JSON: {e}")))?;
    let ids = crate::supply::hinted(name, &body);
    if ids.is_empty() {
        return Err(HandlerError::Permanent(format!("{name} names no transfer or shipment")));
    }
    match crate::supply::on_hint(state, &envelope.meta.shop, &ids).await {
        Ok(_) => {}
        // Uninstalled since: nothing of the shop's to keep up to date.
        Err(SupplyError::NotInstalled(_)) => {}
        Err(SupplyError::Platform(e)) if !e.is_retryable() => return Err(HandlerError::Permanent(e.to_string())),
        Err(e) => return Err(HandlerError::Transient(e.to_string())),
    }
    record_once(state, envelope, topic, state.dedupe_ttl()).await
}

/// An effect dead letter of the old, webhook-shaped form that an earlier `dlq replay` had put
/// in the queue before the upgrade: marked again, as a replay does now. Marking twice is
/// harmless, so a redelivery needs no processed mark.
async fn legacy_effect(state: &AppState, envelope: &Envelope) -> Result<Handled, HandlerError> {
    let mark = crate::store::legacy_effect(envelope)
        .ok_or_else(|| HandlerError::Permanent("dead-lettered effect: malformed mark".into()))?;
    state.books.mark(&envelope.meta.shop, [mark]).await?;
    Ok(Handled::Done)
}

/// Intake refuses these deliveries already (401); an entry queued before that check existed, or
/// put back by `dlq replay`, is held to the same rule here and kept in the dead letters.
fn names_its_shop(topic: Topic, envelope: &Envelope) -> Result<(), HandlerError> {
    if crate::webhook::body_shop::names_shop(topic, &envelope.body, &envelope.meta.shop) {
        Ok(())
    } else {
        Err(HandlerError::Permanent(format!("{} body names another shop than {}", topic.as_str(), envelope.meta.shop)))
    }
}

/// Observes the time from the webhook's receipt to its ledger commit. `received_at_ms` has whole
/// milliseconds, so the time observed is up to 1 ms longer than the true one.
fn committed(state: &AppState, envelope: &Envelope, outcome: Outcome) -> Handled {
    if outcome == Outcome::Applied {
        let now_us =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64);
        let since_us = now_us.saturating_sub(envelope.meta.received_at_ms.saturating_mul(1000));
        state.metrics.ledger_committed(since_us as f64 / 1e6);
    }
    outcome.into()
}

async fn record_once(
    state: &AppState,
    envelope: &Envelope,
    topic: Topic,
    ttl: Duration,
) -> Result<Handled, HandlerError> {
    let event = EventMark { key: envelope.event_key(), topic: topic.as_str().to_string(), ttl };
    let first = state.books.record_event(&envelope.meta.shop, &event).await?;
    Ok(if first { Handled::Done } else { Handled::AlreadyDone })
}
