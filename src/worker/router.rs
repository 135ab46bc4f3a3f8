//! Routes a queued delivery to the handler of its topic.
//!
//! The handlers are stubs that later work fills in (ledger, installs, privacy); what is real here is
//! the routing, the validation of the body, and the once-only commit of each event.

use super::HandlerError;
use crate::state::AppState;
use crate::store::Envelope;
use crate::webhook::Topic;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    Done,
    /// The event was processed before (a redelivery after a crash, or the same event under
    /// another delivery id that slipped past intake dedupe): nothing changed.
    AlreadyDone,
}

pub async fn handle(state: &AppState, envelope: &Envelope) -> Result<Handled, HandlerError> {
    let topic = Topic::parse(&envelope.meta.topic)
        .ok_or_else(|| HandlerError::Permanent(format!("unknown topic {:?}", envelope.meta.topic)))?;
    // Shape problems are permanent: retrying the same bytes cannot fix them, so the entry goes to
    // the dead-letter list whole, to be replayed once the code or the data is fixed.
    let body: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&envelope.body)
        .map_err(|e| HandlerError::Permanent(format!("body is not a JSON object: {e}")))?;
    match topic {
        Topic::OrdersCreate
        | Topic::OrdersUpdated
        | Topic::OrdersCancelled
        | Topic::OrdersFulfilled
        | Topic::InventoryLevelsUpdate
        | Topic::ProductsUpdate
        | Topic::AppUninstalled
        | Topic::CustomersDataRequest
        | Topic::CustomersRedact
        | Topic::ShopRedact => {
            let _ = body;
        }
    }
    let first = state
        .store
        .commit_event(&envelope.meta.shop, &envelope.event_key(), topic.as_str(), state.dedupe_ttl())
        .await
        .map_err(|e| HandlerError::Transient(e.to_string()))?;
    Ok(if first { Handled::Done } else { Handled::AlreadyDone })
}
