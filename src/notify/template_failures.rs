//! The merchant's record of templates that failed at send time (`template_failures` in the
//! shop's settings): which kind and part, when and why. The email went out in the built-in
//! template; the record tells the merchant, and keeps the failing template from being rendered
//! again on every pass while it is unchanged (see `templates::merchant`).

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::NotifyError;
use super::templates::{self, TemplateError};
use crate::ledger::records::{decode, encode};
use crate::shop::{ShopSettings, Template, TemplateFailure};
use crate::state::AppState;
use crate::store::{CommitOutcome, LedgerCommit, Record};

/// Tries against concurrent settings changes before leaving it to the next failure.
const ATTEMPTS: usize = 8;

/// Records that `template` (the shop's template of `error.kind`) failed with `error`. Nothing is
/// written if the merchant has saved another template meanwhile: that one has not failed.
pub async fn record(
    state: &AppState,
    shop: &str,
    template: &Template,
    error: &TemplateError,
) -> Result<(), NotifyError> {
    let store = state.store.as_ref();
    let kind = error.kind.as_str();
    let sha = templates::fingerprint(template);
    for _ in 0..ATTEMPTS {
        let bytes = store.ledger_get(shop, &[Record::Settings]).await?.remove(0);
        let mut settings: ShopSettings = decode(bytes.as_deref())?.unwrap_or_default();
        let current = settings.templates.get(kind).map(templates::fingerprint);
        let known = settings.template_failures.get(kind).is_some_and(|f| f.template_sha256 == sha);
        if current.as_deref() != Some(sha.as_str()) || known {
            return Ok(());
        }
        let at = OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_default();
        let failure = TemplateFailure {
            part: error.part.to_string(),
            reason: error.to_string(),
            at,
            template_sha256: sha.clone(),
        };
        settings.template_failures.insert(kind.to_string(), failure);
        let commit = LedgerCommit {
            event: None,
            expect: vec![(Record::Settings, bytes)],
            writes: vec![(Record::Settings, Some(encode(&settings)))],
            ..LedgerCommit::default()
        };
        if store.ledger_commit(shop, &commit).await? != CommitOutcome::Conflict {
            return Ok(());
        }
    }
    Ok(())
}
