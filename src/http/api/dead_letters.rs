//! `POST /api/dead-letters/{id}/replay`: the merchant puts one of the shop's dead letters back
//! (a webhook to process again, an effect to send again), from the activity page. Another
//! shop's dead letter, or none of that id, is a 404: ids say nothing across shops.

use actix_web::{HttpResponse, web};

use super::{ApiError, ShopSession};
use crate::state::AppState;
use crate::store::DeadLetter;

/// The shop's dead letters, oldest first: those kept by the retention, filtered by shop.
pub async fn of_shop(state: &AppState, shop: &str) -> Result<Vec<DeadLetter>, ApiError> {
    let max = usize::try_from(state.settings.queue.dead_letters_max).unwrap_or(usize::MAX).min(100_000);
    let all = state.queue.dead_letters(max).await?;
    Ok(all.into_iter().filter(|d| d.shop() == shop).collect())
}

pub async fn replay(
    session: ShopSession,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let missing = || ApiError::NotFound(format!("no dead letter {id} for this shop"));
    if !of_shop(&state, &session.shop).await?.iter().any(|d| d.id == id) {
        return Err(missing());
    }
    match state.queue.replay_dead_letters(Some(&id)).await? {
        0 => Err(missing()),
        n => Ok(HttpResponse::Ok().json(serde_json::json!({ "replayed": n }))),
    }
}
