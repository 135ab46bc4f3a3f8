//! The OAuth `state` nonce: 32 random bytes in hex, kept in the browser in a signed, short-lived
//! cookie scoped to the callback, so a callback is only taken from the browser that started the
//! install (no login CSRF). The cookie value binds the nonce to the shop and an expiry:
//! `<nonce>.<shop>.<expiry, Unix s>.<hex HMAC-SHA256 of the rest under a key derived from the app
//! secret for this purpose>`.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

pub const COOKIE: &str = "backorder_oauth_state";

/// How long a merchant has between starting the install and approving it.
pub const LIFETIME_SECS: i64 = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NonceError {
    #[error("the install was not started in this browser (no state cookie)")]
    Missing,
    #[error("the state cookie is not ours")]
    Forged,
    #[error("the install took too long; start it again")]
    Expired,
    #[error("the state does not match the one this browser was given")]
    Mismatch,
}

/// Under a key derived for the cookie alone: a value the merchant can read must not sign
/// anything else (a webhook of its own text, under the raw secret).
fn mac(secret: &[u8], body: &str) -> Hmac<Sha256> {
    let mut mac = crate::derive::mac(secret, crate::derive::Purpose::OAuthState);
    mac.update(body.as_bytes());
    mac
}

/// A fresh nonce for `shop` and the cookie value that carries it.
pub fn issue(secret: &[u8], shop: &str, now: i64) -> (String, String) {
    // From the operating system's generator: `fastrand` is fast but predictable.
    let mut bytes = [0u8; 32];
    aes_gcm::aead::rand_core::RngCore::fill_bytes(&mut aes_gcm::aead::OsRng, &mut bytes);
    let nonce: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let body = format!("{nonce}.{shop}.{}", now + LIFETIME_SECS);
    let tag: String = mac(secret, &body).finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    (nonce.clone(), format!("{body}.{tag}"))
}

/// Checks the cookie's signature and age, that it was issued for `shop`, and that `state`
/// is its nonce (in constant time). Returns the nonce.
pub fn check(secret: &[u8], cookie: Option<&str>, shop: &str, state: &str, now: i64) -> Result<String, NonceError> {
    let cookie = cookie.ok_or(NonceError::Missing)?;
    let (body, tag) = cookie.rsplit_once('.').ok_or(NonceError::Forged)?;
    let tag = (0..tag.len())
        .step_by(2)
        .map(|i| tag.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect::<Option<Vec<u8>>>()
        .ok_or(NonceError::Forged)?;
    mac(secret, body).verify_slice(&tag).map_err(|_| NonceError::Forged)?;
    // Signed by us, so the shape is ours: nonce, shop (dots inside), expiry.
    let (nonce, rest) = body.split_once('.').ok_or(NonceError::Forged)?;
    let (cookie_shop, expiry) = rest.rsplit_once('.').ok_or(NonceError::Forged)?;
    let expiry: i64 = expiry.parse().map_err(|_| NonceError::Forged)?;
    if now > expiry {
        return Err(NonceError::Expired);
    }
    let same_state = nonce.as_bytes().ct_eq(state.as_bytes());
    let same_shop = cookie_shop.as_bytes().ct_eq(shop.as_bytes());
    if !bool::from(same_state & same_shop) {
        return Err(NonceError::Mismatch);
    }
    Ok(nonce.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: &[u8] = b"secret";
    const SHOP: &str = "a.myshopify.com";

    #[test]
    fn an_issued_cookie_checks_with_its_state_only() {
        let (nonce, cookie) = issue(S, SHOP, 1000);
        assert_eq!(nonce.len(), 64);
        assert_eq!(check(S, Some(&cookie), SHOP, &nonce, 1100), Ok(nonce.clone()));
        assert_eq!(check(S, Some(&cookie), SHOP, "other", 1100), Err(NonceError::Mismatch));
        assert_eq!(check(S, Some(&cookie), "b.myshopify.com", &nonce, 1100), Err(NonceError::Mismatch));
        assert_eq!(check(S, Some(&cookie), SHOP, &nonce, 1000 + LIFETIME_SECS + 1), Err(NonceError::Expired));
        assert_eq!(check(b"other", Some(&cookie), SHOP, &nonce, 1100), Err(NonceError::Forged));
        assert_eq!(check(S, None, SHOP, &nonce, 1100), Err(NonceError::Missing));
        assert_eq!(check(S, Some("x.y"), SHOP, "x", 1100), Err(NonceError::Forged));
    }
}
