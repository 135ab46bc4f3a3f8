//! Tokens at rest: sealed with AES-256-GCM under the configured key, a fresh random nonce per
//! seal. A sealed value names its key by a short fingerprint, so after a key rotation values
//! sealed under the previous key still open (and are re-sealed under the new one when next
//! written).
//!
//! Format: `v2.<key fingerprint, 8 hex>.<base64 of nonce ‖ ciphertext ‖ tag>`, sealed with the
//! value's place as associated data (audit L6: the shop and the field, so a sealed token moved
//! to another shop, or from one field to another, no longer opens). Values of the first format
//! (`v1`, no associated data) still open, and ask to be re-sealed.

use aes_gcm::aead::{Aead, KeyInit, OsRng, Payload};
use aes_gcm::{AeadCore, Aes256Gcm, Key, Nonce};
use base64::Engine;
use sha2::{Digest, Sha256};

use super::Secret;

const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("sealed value is malformed")]
    Malformed,
    #[error("sealed under a key that is neither the current nor the previous one")]
    UnknownKey,
    #[error("sealed value failed authentication (tampered, or the wrong key)")]
    Forged,
}

struct SealKey {
    fingerprint: String,
    cipher: Aes256Gcm,
}

impl SealKey {
    fn new(key: &[u8; 32]) -> Self {
        let digest = Sha256::digest(key);
        let fingerprint = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
        Self { fingerprint, cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key)) }
    }
}

/// The current key, and the previous one during a rotation.
pub struct Sealer {
    current: SealKey,
    previous: Option<SealKey>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer").field("current", &self.current.fingerprint).finish_non_exhaustive()
    }
}

impl Sealer {
    pub fn new(current: &[u8; 32], previous: Option<&[u8; 32]>) -> Self {
        Self { current: SealKey::new(current), previous: previous.map(SealKey::new) }
    }

    /// Seals `plain` for its place `context` (`{shop}\0{field}`): it opens only there.
    pub fn seal(&self, plain: &Secret, context: &str) -> String {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let payload = Payload { msg: plain.expose().as_bytes(), aad: &aad(context) };
        let sealed = self.current.cipher.encrypt(&nonce, payload).expect("AES-GCM seals any length");
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        format!("v2.{}.{}", self.current.fingerprint, base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes))
    }

    /// The plain value sealed for `context`, and whether to re-seal it (sealed under the
    /// previous key, or in the first format).
    pub fn open(&self, sealed: &str, context: &str) -> Result<(Secret, bool), SealError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some(version @ ("v1" | "v2")), Some(fingerprint), Some(body)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(SealError::Malformed);
        };
        let (key, stale) = if fingerprint == self.current.fingerprint {
            (&self.current, false)
        } else {
            match &self.previous {
                Some(p) if p.fingerprint == fingerprint => (p, true),
                _ => return Err(SealError::UnknownKey),
            }
        };
        let bytes = base64::engine::general_purpose::STANDARD_NO_PAD.decode(body).map_err(|_| SealError::Malformed)?;
        if bytes.len() < NONCE_LEN + 16 {
            return Err(SealError::Malformed);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let aad = if version == "v2" { aad(context) } else { Vec::new() };
        let payload = Payload { msg: ciphertext, aad: &aad };
        let plain = key.cipher.decrypt(Nonce::from_slice(nonce), payload).map_err(|_| SealError::Forged)?;
        let plain = String::from_utf8(plain).map_err(|_| SealError::Malformed)?;
        Ok((Secret::new(plain), stale || version == "v1"))
    }
}

/// The associated data of a value sealed for `context`, versioned with the format.
fn aad(context: &str) -> Vec<u8> {
    format!("backorder seal v2\0{context}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const K1: [u8; 32] = [7; 32];
    const K2: [u8; 32] = [9; 32];
    const CTX: &str = "tiny-tee.myshopify.com\0access_token";

    #[test]
    fn a_sealed_token_opens_and_never_shows_in_the_sealed_text() {
        let s = Sealer::new(&K1, None);
        let sealed = s.seal(&Secret::new("shpat_0123456789abcdef"), CTX);
        assert!(!sealed.contains("shpat"), "{sealed}");
        assert_ne!(sealed, s.seal(&Secret::new("shpat_0123456789abcdef"), CTX), "a fresh nonce per seal");
        assert_eq!(s.open(&sealed, CTX).unwrap(), (Secret::new("shpat_0123456789abcdef"), false));
    }

    #[test]
    fn after_a_rotation_old_values_open_and_ask_to_be_resealed() {
        let old = Sealer::new(&K1, None).seal(&Secret::new("t"), CTX);
        let rotated = Sealer::new(&K2, Some(&K1));
        assert_eq!(rotated.open(&old, CTX).unwrap(), (Secret::new("t"), true));
        assert_eq!(Sealer::new(&K2, None).open(&old, CTX), Err(SealError::UnknownKey));
    }

    #[test]
    fn a_tampered_value_is_refused() {
        let s = Sealer::new(&K1, None);
        let sealed = s.seal(&Secret::new("token"), CTX);
        let mut bytes = sealed.into_bytes();
        let last = bytes.len() - 2;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(s.open(&String::from_utf8(bytes).unwrap(), CTX), Err(SealError::Forged));
    }

    #[test]
    fn a_token_moved_to_another_shop_or_field_does_not_open() {
        let s = Sealer::new(&K1, None);
        let sealed = s.seal(&Secret::new("shpat_x"), CTX);
        assert_eq!(s.open(&sealed, "other.myshopify.com\0access_token"), Err(SealError::Forged));
        assert_eq!(s.open(&sealed, "tiny-tee.myshopify.com\0refresh_token"), Err(SealError::Forged));
    }

    /// A token sealed by the version before associated data (`v1`): it opens anywhere, as it
    /// did, and asks to be re-sealed in the current form.
    #[test]
    fn a_token_sealed_in_the_first_format_opens_and_asks_to_be_resealed() {
        let key = SealKey::new(&K1);
        let nonce = [3u8; NONCE_LEN];
        let mut bytes = nonce.to_vec();
        bytes.extend(key.cipher.encrypt(Nonce::from_slice(&nonce), b"shpat_old".as_slice()).unwrap());
        let v1 = format!("v1.{}.{}", key.fingerprint, base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes));
        assert_eq!(Sealer::new(&K1, None).open(&v1, CTX).unwrap(), (Secret::new("shpat_old"), true));
    }

    proptest! {
        /// Outside input (a stored value): anything opens or is refused, never panics.
        #[test]
        fn any_text_opens_or_is_refused(text in ".{0,80}") {
            let _ = Sealer::new(&K1, None).open(&text, CTX);
        }

        #[test]
        fn every_token_round_trips(token in ".{0,200}") {
            let s = Sealer::new(&K1, None);
            prop_assert_eq!(s.open(&s.seal(&Secret::new(token.clone()), CTX), CTX).unwrap().0, Secret::new(token));
        }
    }
}
