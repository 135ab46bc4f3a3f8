//! What Shopify names and every layer speaks of: the shape of a shop's domain and the webhook
//! topics the service acts on. Pure, at the bottom of the crate, so the layers that check a
//! domain or count a topic (auth, metrics, the intake, the worker) need not import each other.

mod domain;
mod topic;

pub use domain::{is_myshopify_domain, is_shop_domain};
pub use topic::Topic;
