use proptest::prelude::*;
use serde_json::json;

use super::*;

const KEY: &str = "api-key";
const SECRET: &[u8] = b"app-secret";
const NOW: i64 = 1_800_000_000;

fn claims(shop: &str) -> serde_json::Value {
    json!({
        "iss": format!("https://{shop}/admin"),
        "dest": format!("https://{shop}"),
        "aud": KEY,
        "sub": "42",
        "exp": NOW + 60,
        "nbf": NOW - 1,
        "iat": NOW - 1,
        "jti": "f8912129-1af6-4cad-9ca3-76b0f7621087",
        "sid": "aaea182f2732d44c23057c0fea584021a4485b2bd25d3eb7fd349313ad24c685",
    })
}

fn with(field: &str, value: serde_json::Value) -> serde_json::Value {
    let mut c = claims("a-shop.myshopify.com");
    c[field] = value;
    c
}

#[test]
fn a_valid_token_names_its_shop() {
    let token = sign(&claims("a-shop.myshopify.com"), SECRET);
    let session = verify(&token, KEY, SECRET, NOW).unwrap();
    assert_eq!(session, Session { shop: "a-shop.myshopify.com".into(), user: Some("42".into()) });
}

#[test]
fn expiry_and_not_before_allow_ten_seconds_of_leeway() {
    let token = sign(&with("exp", json!(NOW)), SECRET);
    assert!(verify(&token, KEY, SECRET, NOW + 10).is_ok());
    assert_eq!(verify(&token, KEY, SECRET, NOW + 11), Err(SessionError::Expired));
    let token = sign(&with("nbf", json!(NOW + 10)), SECRET);
    assert!(verify(&token, KEY, SECRET, NOW).is_ok());
    let token = sign(&with("nbf", json!(NOW + 11)), SECRET);
    assert_eq!(verify(&token, KEY, SECRET, NOW), Err(SessionError::NotYetValid));
}

#[test]
fn wrong_audience_key_or_algorithm_are_refused() {
    assert_eq!(verify(&sign(&with("aud", json!("other-app")), SECRET), KEY, SECRET, NOW), Err(SessionError::Audience));
    let good = sign(&claims("a-shop.myshopify.com"), SECRET);
    assert_eq!(verify(&good, KEY, b"another-secret", NOW), Err(SessionError::Signature));
    // `alg: none` with an empty signature: the classic forgery.
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims("a-shop.myshopify.com").to_string());
    assert_eq!(verify(&format!("{header}.{payload}."), KEY, SECRET, NOW), Err(SessionError::Algorithm));
}

#[test]
fn a_tampered_payload_breaks_the_signature() {
    let token = sign(&claims("a-shop.myshopify.com"), SECRET);
    let mut parts: Vec<&str> = token.split('.').collect();
    let forged = URL_SAFE_NO_PAD.encode(claims("b-shop.myshopify.com").to_string());
    parts[1] = &forged;
    assert_eq!(verify(&parts.join("."), KEY, SECRET, NOW), Err(SessionError::Signature));
}

#[test]
fn the_shop_must_be_a_plain_https_host_matching_the_issuer() {
    for dest in ["http://a-shop.myshopify.com", "https://a{b}.myshopify.com", "not a url"] {
        assert_eq!(
            verify(&sign(&with("dest", json!(dest)), SECRET), KEY, SECRET, NOW),
            Err(SessionError::Shop),
            "{dest}"
        );
    }
    let token = sign(&with("iss", json!("https://b-shop.myshopify.com/admin")), SECRET);
    assert_eq!(verify(&token, KEY, SECRET, NOW), Err(SessionError::Shop));
}

proptest! {
    #[test]
    fn arbitrary_strings_never_verify_or_panic(token in ".{0,300}") {
        prop_assert!(verify(&token, KEY, SECRET, NOW).is_err());
    }

    #[test]
    fn any_signed_shop_round_trips(name in "[a-z0-9][a-z0-9-]{0,30}") {
        let shop = format!("{name}.myshopify.com");
        let token = sign(&claims(&shop), SECRET);
        prop_assert_eq!(verify(&token, KEY, SECRET, NOW).map(|s| s.shop), Ok(shop));
    }
}
