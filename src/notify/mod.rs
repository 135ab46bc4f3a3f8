//! What customers and merchants are told: ETAs (SPEC 6), emails through a durable outbox
//! (SPEC 3.7), the status page's signed links.

pub mod consolation;
pub mod outbox;
pub mod owner;
pub mod plan;
pub mod status_token;
pub mod template_failures;
pub mod templates;

crate::record_key!(
    /// An order's emails: those sent, those waiting in its outbox, the ETAs last told.
    MailKey(u64) => plan::MailState, crate::store::Record::Mail
);
crate::record_key!(
    /// The shop owner's emails: sent and waiting.
    ShopMailKey => plan::MailState, crate::store::Record::ShopMail
);

/// An outbox: an order's (customer emails) or the shop owner's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mailbox {
    Order(u64),
    Shop,
}

impl crate::books::Key for Mailbox {
    type Value = plan::MailState;
    fn record(&self) -> crate::store::Record {
        match self {
            Mailbox::Order(id) => crate::store::Record::Mail(*id),
            Mailbox::Shop => crate::store::Record::ShopMail,
        }
    }
}

/// What can go wrong while working out or sending what people are told.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Record(#[from] crate::ledger::records::RecordError),
    #[error(transparent)]
    Books(#[from] crate::books::BookError),
}
