//! Webhook intake: verify the signature over the raw bytes, read the `X-Shopify-*` headers, and
//! queue the delivery durably. Nothing here calls the platform, and only the privacy and
//! lifecycle bodies are parsed (to check the shop they name, `body_shop`), and an order body is
//! cut to the fields the ledger reads (`ledger::kept`) before it is queued.

pub mod body_shop;
pub mod intake;
pub mod verify;
