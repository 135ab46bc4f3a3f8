//! Who is asking, and what the service may do for a shop: installs (OAuth, token exchange, custom
//! apps), their sealed tokens and refreshes, session tokens of the embedded admin, signed queries.

pub mod install;
pub mod nonce;
pub mod oauth;
pub mod query;
pub mod scopes;
pub mod session_token;
pub mod subscriptions;
pub mod tokens;
