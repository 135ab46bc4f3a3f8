//! `GET /api/variants/{id}/onboarding-preview`: what enrolling the variant would do to the
//! orders already open (SPEC 9): which would wait, and whether each would be tagged, held and
//! emailed by default. Read from the platform; nothing is stored or sent.

use actix_web::{HttpResponse, web};

use super::{ApiError, ShopSession};
use crate::state::AppState;
use crate::sync::onboard::preview;

pub async fn show(
    session: ShopSession,
    path: web::Path<u64>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let variant = path.into_inner();
    match preview(&state, &session.shop, variant).await? {
        Some(preview) => Ok(HttpResponse::Ok().json(preview)),
        None => Err(ApiError::NotFound(format!("variant {variant} is not a variant of this shop"))),
    }
}
