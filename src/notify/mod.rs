//! What customers and merchants are told: ETAs (SPEC 6), emails through a durable outbox
//! (SPEC 3.7), the status page's signed links.

pub mod eta;
pub mod outbox;
pub mod owner;
pub mod plan;
pub mod queue;
pub mod standing;
pub mod status_token;
pub mod template_failures;
pub mod templates;
pub mod transport;

/// What can go wrong while working out or sending what people are told.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Record(#[from] crate::ledger::records::RecordError),
}
