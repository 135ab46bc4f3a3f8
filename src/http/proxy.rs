//! The storefront, through the platform's app proxy (`/apps/backorder/…` on the shop's domain):
//! `GET /proxy/availability` answers whether a variant is in stock, on backorder (with the ETA
//! a new order would get) or sold out; `GET /proxy/badge.js` shows that next to a product's
//! add-to-cart button.
//!
//! The platform signs every proxied request (`signature`: hex HMAC-SHA256 of the sorted `k=v`
//! pairs joined with nothing, multi-values joined by `,`), so the `shop` it names can be trusted.

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

use crate::books::key;
use crate::ledger::eta;
use crate::ledger::records::VariantRecord;
use crate::notify::outbox::human_date;
use crate::state::AppState;
use crate::store::Record;

const BADGE: &str = include_str!("proxy/badge.js");
/// A signed request older (or newer) than this is refused, as the platform's own libraries do.
const TOLERANCE_SECS: i64 = 90;

pub(super) fn routes(r: &mut crate::http::routes::Routes<'_>) {
    use crate::http::routes::Access;
    use actix_web::http::Method;
    r.route(Method::GET, "/proxy/availability", Access::ProxySignature, availability).route(
        Method::GET,
        "/proxy/badge.js",
        Access::Open,
        badge,
    );
}

/// The query's pairs, each key's values in order; `None` when it is not a valid query string.
fn pairs(query: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        out.entry(k.into_owned()).or_default().push(v.into_owned());
    }
    out
}

/// The shop a correctly signed, fresh proxy request comes from.
pub fn verify(secret: &[u8], query: &str, now_secs: i64) -> Option<(String, BTreeMap<String, Vec<String>>)> {
    let mut params = pairs(query);
    let signature = params.remove("signature")?.pop()?;
    let expected = hex_decode(&signature)?;
    let message: String = params.iter().map(|(k, v)| format!("{k}={}", v.join(","))).collect();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(message.as_bytes());
    mac.verify_slice(&expected).ok()?;
    let timestamp: i64 = params.get("timestamp")?.first()?.parse().ok()?;
    // A timestamp anywhere near the ends of i64 is stale, not an overflow.
    if now_secs.checked_sub(timestamp).is_none_or(|d| d.unsigned_abs() > TOLERANCE_SECS.unsigned_abs()) {
        return None;
    }
    let shop = params.get("shop")?.first()?.clone();
    crate::shopify::is_myshopify_domain(&shop).then_some((shop, params))
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok()).collect()
}

fn answer(status: u16, body: serde_json::Value) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("a valid status"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}

pub async fn availability(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let now = (crate::store::now_ms() / 1000) as i64;
    let Some((shop, params)) = verify(state.webhook_secret(), req.query_string(), now) else {
        return answer(401, json!({"error": "the request is not signed by the platform's app proxy"}));
    };
    let variant = params.get("variant_id").and_then(|v| v.first()).and_then(|v| v.parse::<u64>().ok());
    let Some(variant) = variant else {
        return answer(400, json!({"error": "variant_id must be a variant's numeric id"}));
    };
    let record = match load(&state, &shop, variant).await {
        Ok(r) => r,
        Err(e) if e.is_transient() => {
            tracing::warn!(error = %e, "proxy: store unavailable");
            return answer(503, json!({"error": "temporarily unavailable, retry later"}));
        }
        Err(e) => {
            tracing::error!(shop, variant, error = %e, "proxy: unreadable variant record");
            return answer(500, json!({"error": "internal error"}));
        }
    };
    // No badge for a variant the service does not manage, or whose stock it has not read yet:
    // the storefront then shows what the platform shows, never a guess of ours.
    match record {
        (Some(record), settings) if record.levels_read => answer(200, status_of(&record, settings.today())),
        _ => answer(404, json!({"error": "the app does not manage this variant"})),
    }
}

/// The variant's record and the shop's settings (its time zone), in one read.
async fn load(
    state: &AppState,
    shop: &str,
    variant: u64,
) -> Result<(Option<VariantRecord>, crate::shop::ShopSettings), crate::books::BookError> {
    let reads = state.books.read(shop, &[Record::Variant(variant), Record::Settings]).await?;
    Ok((reads.get(key::Variant(variant))?, reads.get(key::Settings)?.unwrap_or_default()))
}

/// `in_stock` while stock is left; `backorder` while the merchant sells it on backorder under the
/// cap; `sold_out` otherwise (cap reached, disabled, discontinued). ETAs count from `today`, the
/// shop's.
fn status_of(record: &VariantRecord, today: time::Date) -> serde_json::Value {
    if record.header.stock > 0 {
        return json!({"status": "in_stock", "eta": null, "message": "In stock"});
    }
    if record.settings.policy(record.header.backordered()) != "CONTINUE" {
        let message = if record.settings.discontinued { "No longer available" } else { "Sold out" };
        return json!({"status": "sold_out", "eta": null, "message": message});
    }
    let eta = eta::new_order_eta(record, today);
    let message = match eta {
        Some(d) => format!("Backorder: ships by {}", human_date(d)),
        None => "Backorder: ship date to be confirmed".to_string(),
    };
    json!({"status": "backorder", "eta": eta.map(eta::format), "message": message})
}

pub async fn badge() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(BADGE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sign(secret: &[u8], pairs: &[(&str, &str)]) -> String {
        let mut sorted: Vec<_> = pairs.to_vec();
        sorted.sort();
        let message: String = sorted.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
        mac.update(message.as_bytes());
        let sig: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
        q.append_pair("signature", &sig);
        q.finish()
    }

    const NOW: i64 = 1_700_000_000;

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("shop", "a-shop.myshopify.com"),
            ("path_prefix", "/apps/backorder"),
            ("timestamp", "1700000000"),
            ("variant_id", "12"),
        ]
    }

    #[test]
    fn a_signed_request_names_its_shop() {
        let q = sign(b"hush", &base());
        assert_eq!(verify(b"hush", &q, NOW).map(|(s, _)| s), Some("a-shop.myshopify.com".into()));
        assert_eq!(verify(b"other", &q, NOW), None);
        assert_eq!(verify(b"hush", &q, NOW + 91), None, "stale");
    }

    #[test]
    fn pairs_join_with_nothing_and_multi_values_with_commas() {
        // Signed over `extra=1,2path_prefix=…`: a signature over `&`-joined pairs would not match.
        let mut pairs = base();
        pairs.push(("extra", "1"));
        pairs.push(("extra", "2"));
        let mut message = String::from("extra=1,2");
        let mut sorted = base();
        sorted.sort();
        for (k, v) in sorted {
            message.push_str(&format!("{k}={v}"));
        }
        let mut mac = Hmac::<Sha256>::new_from_slice(b"hush").unwrap();
        mac.update(message.as_bytes());
        let sig: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &pairs {
            q.append_pair(k, v);
        }
        q.append_pair("signature", &sig);
        assert!(verify(b"hush", &q.finish(), NOW).is_some());
    }

    #[test]
    fn a_foreign_shop_domain_is_refused_even_when_signed() {
        let mut pairs = base();
        pairs[0] = ("shop", "shop.myshopify.com.evil.com");
        assert_eq!(verify(b"hush", &sign(b"hush", &pairs), NOW), None);
    }

    proptest! {
        #[test]
        fn any_query_string_is_answered_without_panicking(q in ".{0,300}") {
            let _ = verify(b"hush", &q, NOW);
        }

        #[test]
        fn a_changed_parameter_breaks_the_signature(v in "[0-9]{1,6}") {
            prop_assume!(v != "12");
            let q = sign(b"hush", &base()).replace("variant_id=12", &format!("variant_id={v}"));
            prop_assert_eq!(verify(b"hush", &q, NOW), None);
        }
    }
}
