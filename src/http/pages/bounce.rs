//! `GET /app/bounce?shopify-reload=…`: the page Shopify documents for server-rendered embedded
//! apps. It holds nothing but App Bridge, which fetches a session token from the admin and loads
//! the `shopify-reload` URL again with it (as `id_token`). It shows no data, so it needs no token.

use actix_web::{HttpResponse, web};

use crate::state::AppState;

/// App Bridge reads `shopify-reload` from the page's own URL; the page passes nothing on.
pub(super) async fn show(state: web::Data<AppState>) -> HttpResponse {
    let ctx = minijinja::context! {
        api_key => &state.settings.shopify.api_key,
        bridge_url => &state.settings.app.bridge_url,
    };
    match crate::view::render("pages/bounce.html", ctx) {
        Ok(body) => HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .insert_header(("Referrer-Policy", "no-referrer"))
            .content_type("text/html; charset=utf-8")
            .body(body),
        Err(e) => {
            tracing::error!(error = %e, "pages: the bounce page does not render");
            HttpResponse::InternalServerError().content_type("text/plain; charset=utf-8").body("Something went wrong.")
        }
    }
}
