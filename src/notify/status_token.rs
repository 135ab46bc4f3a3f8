//! The token of a customer's status page link: names the shop and order, signed with a key
//! derived from the app secret, so a link cannot be edited into another order's page.
//!
//! Shape: `<order id>.<shop, base64url>.<HMAC-SHA256, base64url>`. The key is derived (not the
//! app secret itself), so a status token can never serve as a webhook or session signature.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::derive::Purpose;

type HmacSha256 = Hmac<Sha256>;

fn mac(app_secret: &[u8], shop: &str, order_id: u64) -> HmacSha256 {
    let mut mac = crate::derive::mac(app_secret, Purpose::StatusLink);
    mac.update(format!("{shop}\n{order_id}").as_bytes());
    mac
}

pub fn sign(app_secret: &[u8], shop: &str, order_id: u64) -> String {
    let sig = mac(app_secret, shop, order_id).finalize().into_bytes();
    format!("{order_id}.{}.{}", URL_SAFE_NO_PAD.encode(shop), URL_SAFE_NO_PAD.encode(sig))
}

/// The shop and order a token names, if its signature holds (compared in constant time).
pub fn verify(app_secret: &[u8], token: &str) -> Option<(String, u64)> {
    let mut parts = token.split('.');
    let (order, shop, sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || token.len() > 512 {
        return None;
    }
    let order_id: u64 = order.parse().ok()?;
    if order_id.to_string() != order {
        return None;
    }
    let shop = String::from_utf8(URL_SAFE_NO_PAD.decode(shop).ok()?).ok()?;
    let sig = URL_SAFE_NO_PAD.decode(sig).ok()?;
    mac(app_secret, &shop, order_id).verify_slice(&sig).ok()?;
    Some((shop, order_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_signed_token_names_its_shop_and_order() {
        let t = sign(b"secret", "a.myshopify.com", 42);
        assert_eq!(verify(b"secret", &t), Some(("a.myshopify.com".into(), 42)));
        assert_eq!(verify(b"other", &t), None);
    }

    #[test]
    fn another_order_or_shop_in_a_token_is_refused() {
        let t = sign(b"secret", "a.myshopify.com", 42);
        let (_, rest) = t.split_once('.').unwrap();
        assert_eq!(verify(b"secret", &format!("43.{rest}")), None);
        let parts: Vec<&str> = t.split('.').collect();
        let other = URL_SAFE_NO_PAD.encode("b.myshopify.com");
        assert_eq!(verify(b"secret", &format!("{}.{other}.{}", parts[0], parts[2])), None);
        assert_eq!(verify(b"secret", &format!("042.{rest}")), None);
    }

    proptest! {
        #[test]
        fn any_edited_token_is_refused(i in 0usize..80, c in proptest::char::range('-', 'z')) {
            let t = sign(b"secret", "a.myshopify.com", 42);
            let mut chars: Vec<char> = t.chars().collect();
            let i = i % chars.len();
            prop_assume!(chars[i] != c);
            chars[i] = c;
            let edited: String = chars.into_iter().collect();
            prop_assert_eq!(verify(b"secret", &edited), None);
        }

        #[test]
        fn arbitrary_input_never_panics(s in ".{0,200}") {
            let _ = verify(b"secret", &s);
        }
    }
}
