//! Talking to the platform: the Admin GraphQL client, its pacing, and the operations it sends.

pub mod bulk;
pub mod client;
pub mod cost;
pub mod discount;
pub mod error;
pub mod history;
pub mod ops;
pub mod pacing;
pub mod reads;
pub mod search;
pub mod supply;

pub use client::{AdminClient, ClientConfig};
pub use error::PlatformError;
