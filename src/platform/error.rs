//! What can go wrong talking to the platform, split by what the caller should do about it.

#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// 5xx, timeouts, dropped connections, throttling that outlasted the retry budget: the
    /// effect waits and tries again later (and is dead-lettered after its own budget).
    #[error("platform unavailable: {0}")]
    Unavailable(String),
    /// A mutation's request may have reached the platform but its reply was lost (a timeout, a
    /// dropped connection): it may or may not have been applied. Worth another pass, after
    /// reading the platform back, never a blind resend.
    #[error("platform outcome unknown: {0}")]
    Uncertain(String),
    /// The token was refused (401/403): nothing for this shop can succeed until it is renewed.
    #[error("access denied by the platform (HTTP {0})")]
    Denied(u16),
    /// The platform understood the call and refused it (`userErrors`, GraphQL errors, 4xx):
    /// retrying the same call cannot help.
    #[error("{operation} refused: {message}")]
    Refused { operation: &'static str, message: String },
    /// The shop has not granted the scope this read needs (`ACCESS_DENIED` on a field): an
    /// optional feature waits for the merchant, nothing else of the shop is affected.
    #[error("{operation} needs an access scope the shop has not granted: {scope}")]
    MissingScope { operation: &'static str, scope: String },
    /// The reply did not have the shape the operation expects.
    #[error("unexpected reply to {operation}: {message}")]
    Malformed { operation: &'static str, message: String },
}

impl PlatformError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, PlatformError::Unavailable(_) | PlatformError::Uncertain(_))
    }
}
