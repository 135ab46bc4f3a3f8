//! The dev shop's admin, as much of it as the merchant's app needs (the demo and the browser
//! tests): `GET /store/{handle}/apps/backorder` embeds the app in a frame the way Shopify's admin
//! does (its first load signed, with a session token), and answers the app's App Bridge stand-in
//! (`app-bridge.js`, served here too) with session tokens minted with the app's secret.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::{Shared, lock};
use crate::auth::{query, session_token};

/// The app's title in the admin.
const TITLE: &str = "Backorder";

/// Name, content type, content.
const FILES: [(&str, &str, &str); 3] = [
    ("app-bridge.js", "text/javascript; charset=utf-8", include_str!("app-bridge.js")),
    ("admin.js", "text/javascript; charset=utf-8", include_str!("admin.js")),
    ("admin.css", "text/css; charset=utf-8", include_str!("admin.css")),
];

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/store/{handle}/apps/backorder", web::get().to(frame))
        .route("/admin/session-token", web::post().to(mint))
        .route("/admin/{file}", web::get().to(file));
}

fn now_secs() -> i64 {
    crate::store::now_ms() as i64 / 1000
}

/// A session token for `shop`, as the admin hands App Bridge one: a minute long.
fn session_token(shop: &str, api_key: &str, secret: &str) -> String {
    session_token::mint(shop, api_key, secret.as_bytes())
}

async fn frame(handle: web::Path<String>, shared: web::Data<Shared>) -> HttpResponse {
    let shop = format!("{handle}.myshopify.com");
    let oauth = lock(&shared.oauth).clone();
    if oauth.api_key.is_empty() || oauth.app_url.is_empty() || !lock(&shared.shops).contains_key(&shop) {
        return HttpResponse::NotFound().content_type("text/plain; charset=utf-8").body("No such store, or no app.");
    }
    let host = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD_NO_PAD,
        format!("admin.shopify.com/store/{handle}"),
    );
    // The admin's first load of an embedded app: a signed query with a session token.
    let mut params: Vec<(String, String)> = [
        ("embedded", "1".to_string()),
        ("host", host),
        ("id_token", session_token(&shop, &oauth.api_key, &oauth.secret)),
        ("locale", "en".to_string()),
        ("shop", shop.clone()),
        ("timestamp", now_secs().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let hmac = query::sign(oauth.secret.as_bytes(), &params);
    params.push(("hmac".into(), hmac));
    let query = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&params).finish();
    let app_url = format!("{}/app?{query}", oauth.app_url.trim_end_matches('/'));
    match crate::view::render("devshop/admin.html", minijinja::context! { shop, app_url, title => TITLE }) {
        Ok(body) => HttpResponse::Ok().content_type("text/html; charset=utf-8").body(body),
        Err(e) => HttpResponse::InternalServerError().content_type("text/plain; charset=utf-8").body(e.to_string()),
    }
}

#[derive(Debug, Deserialize)]
struct Mint {
    shop: String,
}

/// `POST /admin/session-token {"shop"}`: what the admin frame asks for App Bridge.
async fn mint(body: web::Json<Mint>, shared: web::Data<Shared>) -> HttpResponse {
    let oauth = lock(&shared.oauth).clone();
    if oauth.api_key.is_empty() || !lock(&shared.shops).contains_key(&body.shop) {
        return HttpResponse::NotFound().json(json!({"errors": "Not Found"}));
    }
    HttpResponse::Ok().json(json!({"token": session_token(&body.shop, &oauth.api_key, &oauth.secret)}))
}

async fn file(name: web::Path<String>) -> HttpResponse {
    match FILES.iter().find(|(n, ..)| *n == name.as_str()) {
        Some((_, content_type, content)) => HttpResponse::Ok().content_type(*content_type).body(*content),
        None => HttpResponse::NotFound().content_type("text/plain; charset=utf-8").body("No such file."),
    }
}
