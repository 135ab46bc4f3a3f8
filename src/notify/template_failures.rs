//! The merchant's record of templates that failed at send time (`template_failures` in the
//! shop's settings): which kind and part, when and why. The email went out in the built-in
//! template; the record tells the merchant, and keeps the failing template from being rendered
//! again on every pass while it is unchanged (see `templates::merchant`).

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::NotifyError;
use super::templates::{self, TemplateError};
use crate::books::{Edit, key};
use crate::shop::{ShopSettings, Template, TemplateFailure};
use crate::state::AppState;

/// Records that `template` (the shop's template of `error.kind`) failed with `error`. Nothing is
/// written if the merchant has saved another template meanwhile: that one has not failed.
pub async fn record(
    state: &AppState,
    shop: &str,
    template: &Template,
    error: &TemplateError,
) -> Result<(), NotifyError> {
    let kind = error.kind.as_str();
    let sha = templates::fingerprint(template);
    let recorded = state.books.update(shop, key::Settings, |settings| {
        let mut settings: ShopSettings = settings.unwrap_or_default();
        let current = settings.templates.get(kind).map(templates::fingerprint);
        let known = settings.template_failures.get(kind).is_some_and(|f| f.template_sha256 == sha);
        if current.as_deref() != Some(sha.as_str()) || known {
            return Edit::Leave(());
        }
        let at = OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_default();
        let failure = TemplateFailure {
            part: error.part.to_string(),
            reason: error.to_string(),
            at,
            template_sha256: sha.clone(),
        };
        settings.template_failures.insert(kind.to_string(), failure);
        Edit::put(settings, ())
    });
    match recorded.await {
        // Settings saved that often meanwhile: the next failure records it.
        Err(crate::books::BookError::Contended) => Ok(()),
        other => Ok(other?),
    }
}
