//! Webhook intake: verify the signature over the raw bytes, read the `X-Shopify-*` headers, and
//! queue the delivery durably. Nothing here parses the body or calls the platform.

pub mod intake;
pub mod topic;
pub mod verify;

pub use topic::Topic;
