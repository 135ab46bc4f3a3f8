//! Shopify's webhook signature: base64(HMAC-SHA256(app secret, raw body)).

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing X-Shopify-Hmac-Sha256 header")]
    Missing,
    #[error("X-Shopify-Hmac-Sha256 is not base64 of a SHA-256 HMAC")]
    Malformed,
    #[error("X-Shopify-Hmac-Sha256 does not match the body")]
    Mismatch,
}

/// The header value Shopify would send for `body`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Checks `header` against `body` in constant time (`verify_slice` compares with `subtle`).
pub fn verify(secret: &[u8], body: &[u8], header: Option<&[u8]>) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let claimed =
        base64::engine::general_purpose::STANDARD.decode(header.trim_ascii()).map_err(|_| SignatureError::Malformed)?;
    if claimed.len() != 32 {
        return Err(SignatureError::Malformed);
    }
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    mac.verify_slice(&claimed).map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Shopify's `shop/redact` sample, byte for byte (SPEC issue 2 known answer).
    const SHOP_REDACT: &[u8] = b"{\n  \"shop_id\": 954889,\n  \"shop_domain\": \"{shop}.myshopify.com\"\n}\n";

    #[test]
    fn the_known_answer_for_the_shop_redact_sample_matches() {
        assert_eq!(SHOP_REDACT.len(), 65);
        assert_eq!(sign(b"hush", SHOP_REDACT), "Kbbu7606o0W+MAMZj4PbzE/y2m8BZX+oA4gXQWbvzxU=");
        assert_eq!(verify(b"hush", SHOP_REDACT, Some(b"Kbbu7606o0W+MAMZj4PbzE/y2m8BZX+oA4gXQWbvzxU=")), Ok(()));
    }

    #[test]
    fn missing_malformed_and_wrong_headers_are_told_apart() {
        assert_eq!(verify(b"hush", SHOP_REDACT, None), Err(SignatureError::Missing));
        assert_eq!(verify(b"hush", SHOP_REDACT, Some(b"not base64!")), Err(SignatureError::Malformed));
        assert_eq!(verify(b"hush", SHOP_REDACT, Some(b"c2hvcnQ=")), Err(SignatureError::Malformed));
        let other = sign(b"other", SHOP_REDACT);
        assert_eq!(verify(b"hush", SHOP_REDACT, Some(other.as_bytes())), Err(SignatureError::Mismatch));
    }

    proptest! {
        #[test]
        fn a_signature_verifies_only_its_own_body(body in proptest::collection::vec(any::<u8>(), 0..300), flip in any::<usize>()) {
            let sig = sign(b"secret", &body);
            prop_assert!(verify(b"secret", &body, Some(sig.as_bytes())).is_ok());
            if !body.is_empty() {
                let mut tampered = body.clone();
                tampered[flip % body.len()] ^= 1;
                prop_assert_eq!(verify(b"secret", &tampered, Some(sig.as_bytes())), Err(SignatureError::Mismatch));
            }
        }

        #[test]
        fn arbitrary_headers_never_verify_or_panic(header in proptest::collection::vec(any::<u8>(), 0..80)) {
            prop_assert!(verify(b"secret", b"{}", Some(&header)).is_err(), "a random header verified");
        }
    }
}
