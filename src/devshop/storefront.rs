//! The dev shop's storefront, as much of it as the badge needs: a product page a test (or the
//! demo) renders with the theme block, and the app proxy (`/apps/backorder/*`), which forwards
//! to the app's `/proxy/*` with the query Shopify adds (`shop`, `logged_in_customer_id`,
//! `path_prefix`, `timestamp`) signed as Shopify signs it: HMAC-SHA256 of the sorted `k=v`
//! pairs joined with no separator, hex, as `signature`.

use actix_web::{HttpRequest, HttpResponse, web};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{Shared, lock};

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/store/{handle}/products/{product}", web::get().to(page))
        .route("/store/{handle}/apps/backorder/{tail:.*}", web::get().to(proxy));
}

async fn page(path: web::Path<(String, String)>, shared: web::Data<Shared>) -> HttpResponse {
    let (handle, product) = path.into_inner();
    let shop = format!("{handle}.myshopify.com");
    let shops = lock(&shared.shops);
    match shops.get(&shop).and_then(|a| a.world.storefront_pages.get(&product)) {
        Some(html) => HttpResponse::Ok().content_type("text/html; charset=utf-8").body(html.clone()),
        None => HttpResponse::NotFound().body("No such product"),
    }
}

/// The query the app receives through the proxy: the shopper's own parameters and Shopify's,
/// signed.
pub fn signed_query(secret: &[u8], shop: &str, own: &[(String, String)], now_secs: i64) -> String {
    let mut pairs: Vec<(String, String)> = own.iter().filter(|(k, _)| k != "signature").cloned().collect();
    pairs.push(("shop".into(), shop.into()));
    pairs.push(("logged_in_customer_id".into(), String::new()));
    pairs.push(("path_prefix".into(), "/apps/backorder".into()));
    pairs.push(("timestamp".into(), now_secs.to_string()));
    pairs.sort();
    let message: String = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(message.as_bytes());
    let signature: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in &pairs {
        q.append_pair(k, v);
    }
    q.append_pair("signature", &signature);
    q.finish()
}

async fn proxy(req: HttpRequest, path: web::Path<(String, String)>, shared: web::Data<Shared>) -> HttpResponse {
    let (handle, tail) = path.into_inner();
    let shop = format!("{handle}.myshopify.com");
    let oauth = lock(&shared.oauth).clone();
    if oauth.app_url.is_empty() {
        return HttpResponse::NotFound().body("The app has no proxy here");
    }
    let own: Vec<(String, String)> = url::form_urlencoded::parse(req.query_string().as_bytes()).into_owned().collect();
    let query = signed_query(oauth.secret.as_bytes(), &shop, &own, crate::store::now_ms() as i64 / 1000);
    // The app's proxy URL is `{app}/proxy` (`shopify.app.toml`).
    let base = oauth.app_url.trim_end_matches('/').trim_end_matches("/app");
    let url = format!("{base}/proxy/{tail}?{query}");
    match reqwest::Client::new().get(&url).send().await {
        Ok(resp) => {
            let status = actix_web::http::StatusCode::from_u16(resp.status().as_u16())
                .unwrap_or(actix_web::http::StatusCode::BAD_GATEWAY);
            let kind =
                resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("text/plain").to_string();
            let body = resp.bytes().await.unwrap_or_default();
            HttpResponse::build(status).content_type(kind).body(body)
        }
        Err(_) => HttpResponse::BadGateway().body("The app did not answer"),
    }
}
