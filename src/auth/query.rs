//! Signed query strings of the admin (install, OAuth callback, embedded app load): `hmac` is the
//! lower-case hex HMAC-SHA256, under the app secret, of every other parameter sorted by key and
//! joined as `k=v&k=v`, form-encoded but with spaces as `%20` (Shopify's rule since 2026-03).
//! A `timestamp` more than 90 s off is refused, so a captured URL cannot be replayed later.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Shopify's tolerance for the clock of a signed query (`HMAC_TIMESTAMP_PERMITTED_CLOCK_TOLERANCE_SEC`).
pub const TIMESTAMP_TOLERANCE_SECS: i64 = 90;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("the request is not signed (no hmac parameter)")]
    Unsigned,
    #[error("the request signature does not match")]
    Signature,
    #[error("the request has no valid timestamp")]
    NoTimestamp,
    #[error("the request is too old or from the future (timestamp more than 90 s off)")]
    Stale,
    #[error("the shop is not a myshopify.com domain")]
    Shop,
}

/// The decoded parameters of a query string, in the order given.
pub fn parse(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// The first value of `name`.
pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn encode(s: &str) -> String {
    // byte_serialize writes a literal `+` as %2B, so every `+` left stands for a space.
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>().replace('+', "%20")
}

/// The text that is signed: every parameter but `hmac` and `signature`, sorted.
fn message(params: &[(String, String)]) -> String {
    let mut pairs: Vec<(&str, &str)> =
        params.iter().filter(|(k, _)| k != "hmac" && k != "signature").map(|(k, v)| (k.as_str(), v.as_str())).collect();
    pairs.sort();
    pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&")
}

fn mac(secret: &[u8], params: &[(String, String)]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(message(params).as_bytes());
    mac
}

/// The `hmac` value for `params` (the dev shop and the tests sign with it).
pub fn sign(secret: &[u8], params: &[(String, String)]) -> String {
    mac(secret, params).finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks the signature (in constant time), then the timestamp. `now` is Unix seconds.
pub fn verify(secret: &[u8], params: &[(String, String)], now: i64) -> Result<(), QueryError> {
    let given = param(params, "hmac").ok_or(QueryError::Unsigned)?;
    let bytes = decode_hex(given).ok_or(QueryError::Signature)?;
    mac(secret, params).verify_slice(&bytes).map_err(|_| QueryError::Signature)?;
    let timestamp: i64 = param(params, "timestamp").and_then(|t| t.parse().ok()).ok_or(QueryError::NoTimestamp)?;
    // A timestamp anywhere near the ends of i64 is stale, not an overflow.
    if now.checked_sub(timestamp).is_none_or(|d| d.unsigned_abs() > TIMESTAMP_TOLERANCE_SECS.unsigned_abs()) {
        return Err(QueryError::Stale);
    }
    Ok(())
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok()).collect()
}

/// The shop of a signed query, checked.
pub fn shop(params: &[(String, String)]) -> Result<&str, QueryError> {
    param(params, "shop").filter(|s| crate::shopify::is_myshopify_domain(s)).ok_or(QueryError::Shop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pairs(q: &str) -> Vec<(String, String)> {
        parse(q)
    }

    #[test]
    fn the_reference_vector_signs_as_shopify_does() {
        let p = pairs(
            "code=0907a61c0c8d55e99db179b68161bc00&host=YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvZXhhbXBsZQ&shop=example.myshopify.com&state=abc123&timestamp=1700000000",
        );
        assert_eq!(sign(b"hush", &p), "ac0f68db420324a1fdaf3577af12c7ef67ca273f2a9dde97152cd8499b4bdc3f");
        let mut signed = p.clone();
        signed.insert(0, ("hmac".into(), sign(b"hush", &p)));
        assert_eq!(verify(b"hush", &signed, 1_700_000_050), Ok(()));
        assert_eq!(verify(b"hush", &signed, 1_700_000_091), Err(QueryError::Stale));
        assert_eq!(verify(b"other", &signed, 1_700_000_000), Err(QueryError::Signature));
    }

    #[test]
    fn spaces_are_signed_as_percent_20() {
        assert_eq!(message(&pairs("b=x+y&a=1&hmac=zz")), "a=1&b=x%20y");
    }

    #[test]
    fn only_myshopify_domains_are_shops() {
        for good in ["tiny-tee.myshopify.com", "a.myshopify.com", "shop1.myshopify.com"] {
            assert!(crate::shopify::is_myshopify_domain(good), "{good}");
        }
        for bad in [
            "evil.example.com",
            "shop.myshopify.com.evil.com",
            ".myshopify.com",
            "-x.myshopify.com",
            "a.b.myshopify.com",
            "Shop.myshopify.com",
            "a_b.myshopify.com",
            "x.myshopify.com/",
        ] {
            assert!(!crate::shopify::is_myshopify_domain(bad), "{bad}");
        }
    }

    proptest! {
        /// Outside input: any query verifies or is refused, never panics.
        #[test]
        fn any_query_is_checked_without_panicking(q in ".{0,120}") {
            let _ = verify(b"k", &parse(&q), 0);
        }
    }
}
