//! The shop's time zone (`shop.ianaTimezone`): the ETAs a customer sees are its calendar days
//! (SPEC 6). Read at install, at an enrolment while still unknown, and by every drift pass (a
//! merchant may move the store); kept in the shop's settings, which every reader of an ETA
//! already has at hand, so no ETA costs a platform call. The ledger's rules keep a copy: the
//! daily record counts the shop's calendar days.

use super::reconcile::ReconcileError;
use crate::books::{Edit, key};
use crate::platform::reads::shop_timezone;
use crate::secret::Secret;
use crate::state::AppState;
use crate::store::Mark;

/// Reads the shop's zone and keeps it when it changed. A new zone can move a lead-time date by a
/// day: every managed variant is marked, so its date on the storefront is worked out again.
pub async fn refresh(state: &AppState, shop: &str, token: &Secret) -> Result<(), ReconcileError> {
    let zone = shop_timezone(&state.platform, shop, token).await?;
    let books = &state.books;
    let variants = books.get_or_default(shop, key::Variants).await?;
    books
        .update(shop, key::Settings, |settings| {
            let mut settings = settings.unwrap_or_default();
            if settings.timezone.as_deref() == Some(zone.as_str()) {
                return Edit::Leave(());
            }
            settings.timezone = Some(zone.clone());
            variants.iter().fold(Edit::put(settings, ()), |edit, v| edit.mark(Mark::Variant(*v)))
        })
        .await?;
    // The ledger's copy, which its daily record counts days by.
    books
        .update(shop, key::Rules, |rules| {
            let mut rules = rules.unwrap_or_default();
            if rules.timezone.as_deref() == Some(zone.as_str()) {
                return Edit::Leave(());
            }
            rules.timezone = Some(zone.clone());
            Edit::put(rules, ())
        })
        .await?;
    Ok(())
}

/// As [`refresh`], where the zone is a nicety of the moment (an install, an enrolment): a
/// failure is logged and left to the next drift pass.
pub async fn refresh_or_log(state: &AppState, shop: &str, token: &Secret) {
    if let Err(e) = refresh(state, shop, token).await {
        tracing::warn!(shop, error = %e, "the shop's time zone could not be read; the drift pass reads it again");
    }
}
