//! Keys the app derives from its secret, one per purpose. Shopify signs webhooks and signed
//! queries with the raw app secret, so any value the app MACs with that same raw secret and shows
//! to someone (a form value, a cookie) would be a valid webhook signature of its own text. Every
//! MAC the app makes for itself uses a key derived here instead: `HMAC-SHA256(secret, label)`,
//! with a label per purpose, so no two purposes share a key and none shares Shopify's.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// What a derived key is for. The labels are part of stored and sent values (status links in
/// emails already sent): changing one invalidates everything made with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The customer's status page link (`notify::status_token`).
    StatusLink,
    /// The cancellation form's anti-forgery value on the status page.
    StatusForm,
    /// The OAuth `state` cookie.
    OAuthState,
    /// A waiting order's consolation discount code (`notify::consolation`).
    ConsolationCode,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::StatusLink => b"backorder status page v1",
            Purpose::StatusForm => b"backorder status form v2",
            Purpose::OAuthState => b"backorder oauth state v2",
            Purpose::ConsolationCode => b"backorder consolation code v1",
        }
    }
}

/// The key for `purpose`, derived from the app secret.
pub fn key(app_secret: &[u8], purpose: Purpose) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret).expect("HMAC takes any key length");
    mac.update(purpose.label());
    mac.finalize().into_bytes().into()
}

/// A MAC under the key of `purpose`, ready for the message.
pub fn mac(app_secret: &[u8], purpose: Purpose) -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(&key(app_secret, purpose)).expect("HMAC takes any key length")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_purpose_has_a_key_of_its_own_and_none_is_the_secret() {
        let secret = b"app-secret";
        let keys = [Purpose::StatusLink, Purpose::StatusForm, Purpose::OAuthState, Purpose::ConsolationCode]
            .map(|p| key(secret, p));
        for (i, a) in keys.iter().enumerate() {
            assert_ne!(a.as_slice(), secret.as_slice());
            for b in &keys[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_ne!(key(b"another secret", Purpose::StatusLink), keys[0], "the key follows the secret");
    }
}
