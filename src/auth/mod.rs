//! Who is asking: session tokens of the embedded admin (later: OAuth, app proxy signatures).

pub mod install;
pub mod seal;
pub mod session_token;
