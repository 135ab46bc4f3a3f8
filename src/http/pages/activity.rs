//! `GET /app/activity`: what went wrong and can be tried again: the shop's dead letters (a
//! webhook that could not be processed, a change the platform kept refusing), each with a
//! button that puts it back (`POST /api/dead-letters/{id}/replay`).

use actix_web::{HttpResponse, web};
use serde::Serialize;

use super::{Frame, PageSession, page};
use crate::state::AppState;
use crate::store::{Buried, Mark};

#[derive(Debug, Serialize)]
struct Letter {
    id: String,
    kind: &'static str,
    what: String,
    when: String,
    reason: String,
    action: String,
}

/// What an effect was about, in the merchant's words.
fn about(mark: &Mark) -> String {
    match mark {
        Mark::Order(id) => format!("Tags and holds of order {id}"),
        Mark::Variant(id) => format!("Selling policy and date of variant {id}"),
        Mark::Mail(id) => format!("Email about order {id}"),
        Mark::ShopMail => "An email to you".into(),
    }
}

fn when(ms: u64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    at.format(&format).unwrap_or_default()
}

pub(super) async fn show(session: PageSession, state: web::Data<AppState>) -> HttpResponse {
    let shop = &session.shop;
    let letters = match crate::http::api::dead_letters::of_shop(&state, shop).await {
        Ok(letters) => letters,
        Err(e) => {
            tracing::warn!(shop, error = %e, "pages: the dead letters could not be read");
            return super::unavailable_page();
        }
    };
    let letters: Vec<Letter> = letters
        .iter()
        .rev()
        .map(|d| {
            let (kind, what) = match &d.buried {
                Buried::Webhook(envelope) => ("Webhook", format!("{} from Shopify", envelope.meta.topic)),
                Buried::Effect { mark, .. } => ("Change", about(mark)),
            };
            Letter {
                id: d.id.clone(),
                kind,
                what,
                when: when(d.failed_at_ms),
                reason: d.reason.clone(),
                action: format!("/api/dead-letters/{}/replay", d.id),
            }
        })
        .collect();
    let frame = Frame::new(&state, shop, "/app/activity", "Activity");
    page(&state, shop, "pages/activity.html", serde_json::json!({"frame": frame, "letters": letters}))
}
