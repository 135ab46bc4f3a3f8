//! The shop a privacy or lifecycle body names must be the shop of the `X-Shopify-Shop-Domain`
//! header. The HMAC covers the body only, so without this one signed delivery of any shop,
//! replayed with another shop in the header, could erase that shop (`shop/redact`) or drop its
//! tokens (`app/uninstalled`).

use serde_json::{Map, Value};

use crate::shopify::Topic;

/// The body fields that name the shop, most telling first: the privacy payloads carry
/// `shop_domain`; `app/uninstalled` is the shop object, whose `myshopify_domain` is the shop and
/// whose `domain` may be its own storefront domain (used only when the other is absent).
fn fields(topic: Topic) -> Option<&'static [&'static str]> {
    match topic {
        Topic::ShopRedact | Topic::CustomersRedact | Topic::CustomersDataRequest => Some(&["shop_domain"]),
        Topic::AppUninstalled => Some(&["myshopify_domain", "domain"]),
        _ => None,
    }
}

/// `true` when `topic` needs no such check, or its body is a JSON object whose shop field is
/// `shop` (ASCII case aside). A body that names no shop proves nothing, so it fails.
pub fn names_shop(topic: Topic, body: &[u8], shop: &str) -> bool {
    let Some(fields) = fields(topic) else { return true };
    let Ok(object) = serde_json::from_slice::<Map<String, Value>>(body) else { return false };
    let named = fields.iter().find_map(|f| object.get(*f).filter(|v| !v.is_null()));
    named.and_then(Value::as_str).is_some_and(|named| named.eq_ignore_ascii_case(shop))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    const SHOP: &str = "tiny-tee.myshopify.com";

    fn body(v: Value) -> Vec<u8> {
        v.to_string().into_bytes()
    }

    #[test]
    fn privacy_bodies_must_name_the_header_shop() {
        for topic in [Topic::ShopRedact, Topic::CustomersRedact, Topic::CustomersDataRequest] {
            assert!(names_shop(topic, &body(json!({"shop_id": 1, "shop_domain": SHOP})), SHOP));
            assert!(names_shop(topic, &body(json!({"shop_domain": "Tiny-Tee.myshopify.com"})), SHOP));
            for other in [
                json!({"shop_id": 1, "shop_domain": "victim.myshopify.com"}),
                json!({"shop_id": 1}),
                json!({"shop_domain": null}),
                json!({"shop_domain": 7}),
                json!({"myshopify_domain": SHOP}),
                json!([SHOP]),
            ] {
                assert!(!names_shop(topic, &body(other.clone()), SHOP), "{topic:?} {other}");
            }
            assert!(!names_shop(topic, b"not json", SHOP));
        }
    }

    #[test]
    fn an_uninstall_names_its_shop_by_myshopify_domain_or_else_domain() {
        let t = Topic::AppUninstalled;
        assert!(names_shop(t, &body(json!({"id": 1, "domain": "tiny.example", "myshopify_domain": SHOP})), SHOP));
        assert!(names_shop(t, &body(json!({"id": 1, "domain": SHOP, "myshopify_domain": null})), SHOP));
        assert!(names_shop(t, &body(json!({"id": 1, "domain": SHOP})), SHOP));
        // The shop's own field wins: a matching storefront domain cannot vouch for another shop.
        assert!(!names_shop(t, &body(json!({"domain": SHOP, "myshopify_domain": "a.myshopify.com"})), SHOP));
        // Shopify's documentation sample has both null: it names no shop.
        assert!(!names_shop(t, &body(json!({"id": 1, "domain": null, "myshopify_domain": null})), SHOP));
        assert!(!names_shop(t, &body(json!({"id": 1, "shop_domain": SHOP})), SHOP));
    }

    #[test]
    fn other_topics_are_not_checked() {
        assert!(names_shop(Topic::OrdersCreate, b"{\"id\": 1}", SHOP));
        assert!(names_shop(Topic::ProductsUpdate, b"not json", SHOP));
    }

    proptest! {
        #[test]
        fn a_checked_body_passes_only_when_it_names_the_header_shop(
            named in "[a-zA-Z0-9-]{1,12}\\.myshopify\\.com",
            header in "[a-z0-9-]{1,12}\\.myshopify\\.com",
            field in prop::sample::select(vec!["shop_domain", "myshopify_domain", "domain"]),
            topic in prop::sample::select(vec![
                Topic::ShopRedact, Topic::CustomersRedact, Topic::CustomersDataRequest, Topic::AppUninstalled,
            ]),
        ) {
            let mut object = Map::new();
            object.insert(field.to_string(), Value::from(named.clone()));
            let passes = names_shop(topic, &body(Value::Object(object)), &header);
            let right_field = fields(topic).is_some_and(|f| f.contains(&field));
            prop_assert_eq!(passes, right_field && named.eq_ignore_ascii_case(&header));
        }

        #[test]
        fn arbitrary_bytes_never_pass_a_checked_topic_unless_they_name_the_shop(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            if names_shop(Topic::ShopRedact, &bytes, SHOP) {
                let v: Value = serde_json::from_slice(&bytes).unwrap();
                prop_assert!(v["shop_domain"].as_str().is_some_and(|s| s.eq_ignore_ascii_case(SHOP)));
            }
        }
    }
}
