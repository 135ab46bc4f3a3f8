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

/// What an effect was about, in the merchant's words: an order by its name (`#1004`) when the
/// books still hold it.
fn about(mark: &Mark, names: &std::collections::BTreeMap<u64, String>) -> String {
    let order = |id: &u64| names.get(id).cloned().unwrap_or_else(|| format!("order {id}"));
    match mark {
        Mark::Order(id) => format!("Tags and holds of {}", order(id)),
        Mark::Variant(id) => format!("Selling policy and date of variant {id}"),
        Mark::Mail(id) => format!("Email about {}", order(id)),
        Mark::ShopMail => "An email to you".into(),
    }
}

/// The names of the orders the dead letters are about, in one read.
async fn order_names(
    state: &AppState,
    shop: &str,
    letters: &[crate::store::DeadLetter],
) -> std::collections::BTreeMap<u64, String> {
    let ids: std::collections::BTreeSet<u64> = letters
        .iter()
        .filter_map(|d| match &d.buried {
            Buried::Effect { mark: Mark::Order(id) | Mark::Mail(id), .. } => Some(*id),
            _ => None,
        })
        .collect();
    let records: Vec<crate::store::Record> = ids.iter().map(|id| crate::store::Record::Order(*id)).collect();
    let mut names = std::collections::BTreeMap::new();
    if let Ok(reads) = state.books.read(shop, &records).await {
        for id in ids {
            if let Ok(Some(order)) = reads.get(crate::books::key::Order(id)) {
                names.insert(id, order.name);
            }
        }
    }
    names
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
    let names = order_names(&state, shop, &letters).await;
    let letters: Vec<Letter> = letters
        .iter()
        .rev()
        .map(|d| {
            let (kind, what) = match &d.buried {
                Buried::Webhook(envelope) => ("Webhook", format!("{} from Shopify", envelope.meta.topic)),
                Buried::Effect { mark, .. } => ("Change", about(mark, &names)),
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
