//! The app's own stylesheet and script, compiled into the binary and served with a version in
//! their URL (a hash of the content), so a browser keeps them until they change.

use std::sync::LazyLock;

use actix_web::{HttpResponse, web};
use sha2::{Digest, Sha256};

/// Name, content type, content.
const ASSETS: [(&str, &str, &str); 2] = [
    ("app.css", "text/css; charset=utf-8", include_str!("app.css")),
    ("app.js", "text/javascript; charset=utf-8", include_str!("app.js")),
];

/// Each asset's version: the first 12 hex digits of its SHA-256.
static VERSIONS: LazyLock<Vec<String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|(_, _, content)| Sha256::digest(content.as_bytes()).iter().take(6).map(|b| format!("{b:02x}")).collect())
        .collect()
});

/// The URL a page links `name` by.
pub fn url(name: &str) -> String {
    let version = ASSETS.iter().position(|(n, ..)| *n == name).map(|i| VERSIONS[i].as_str()).unwrap_or_default();
    format!("/app/assets/{name}?v={version}")
}

pub(super) async fn serve(name: web::Path<String>) -> HttpResponse {
    match ASSETS.iter().find(|(n, ..)| *n == name.as_str()) {
        Some((_, content_type, content)) => HttpResponse::Ok()
            .content_type(*content_type)
            .insert_header(("Cache-Control", "public, max-age=31536000, immutable"))
            .insert_header(("X-Content-Type-Options", "nosniff"))
            .body(*content),
        None => HttpResponse::NotFound().content_type("text/plain; charset=utf-8").body("No such file."),
    }
}
