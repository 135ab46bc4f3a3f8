//! `GET /api/backorders?limit&cursor`: the shop's open backordered lines, by variant and in queue
//! order, a page at a time (SPEC 3.3: `limit` default 500, at most 5,000; `next` is the cursor of
//! the following page, or null on the last).

use actix_web::{HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::enrol::invalid;
use super::{ApiError, ShopSession, queue};
use crate::books::apply::managed_variants;
use crate::books::queue::{QueuedLine, Resume, scan_page};
use crate::ledger::FillKey;
use crate::state::AppState;

const DEFAULT_LIMIT: usize = 500;
const MAX_LIMIT: usize = 5000;

#[derive(Debug, Serialize)]
struct Line {
    variant_id: u64,
    #[serde(flatten)]
    entry: QueuedLine,
}

#[derive(Debug, Deserialize)]
pub struct Page {
    limit: Option<String>,
    cursor: Option<String>,
}

/// Where the next page starts: a variant, and where in its queue (none: at its front).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cursor {
    pub variant: u64,
    pub after: Option<Resume>,
}

impl Cursor {
    /// Opaque to clients: base64url of `variant`, then the fill key and the units ahead.
    pub(crate) fn encode(&self) -> String {
        let mut bytes = self.variant.to_be_bytes().to_vec();
        if let Some(r) = self.after {
            bytes.extend_from_slice(&r.key.encode());
            bytes.extend_from_slice(&r.ahead.to_be_bytes());
        }
        URL_SAFE_NO_PAD.encode(bytes)
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(s).ok()?;
        let variant = u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?);
        let after = match bytes.len() {
            8 => None,
            n if n == 8 + FillKey::ENCODED_LEN + 8 => {
                let key = FillKey::decode(&bytes[8..8 + FillKey::ENCODED_LEN])?;
                let ahead = u64::from_be_bytes(bytes[8 + FillKey::ENCODED_LEN..].try_into().ok()?);
                Some(Resume { key, ahead })
            }
            _ => return None,
        };
        Some(Self { variant, after })
    }
}

fn limit_of(page: &Page) -> Result<usize, ApiError> {
    let Some(limit) = page.limit.as_deref() else { return Ok(DEFAULT_LIMIT) };
    limit
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=MAX_LIMIT).contains(n))
        .ok_or_else(|| invalid("limit", &format!("must be a whole number from 1 to {MAX_LIMIT}")))
}

pub async fn list(
    session: ShopSession,
    page: web::Query<Page>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (books, shop) = (&state.books, session.shop.as_str());
    let limit = limit_of(&page)?;
    let start = match page.cursor.as_deref() {
        None => None,
        Some(c) => Some(Cursor::parse(c).ok_or_else(|| invalid("cursor", "is not a cursor this API gave"))?),
    };
    let (mut lines, mut backordered, mut unattributed, mut next) = (Vec::new(), 0u64, 0u64, None);
    for (variant, record) in managed_variants(books, shop).await? {
        backordered += record.header.backordered();
        unattributed += record.header.unattributed();
        let after = match start {
            Some(c) if variant < c.variant => continue,
            Some(c) if variant == c.variant => c.after,
            _ => None,
        };
        if next.is_some() {
            continue;
        }
        let room = limit - lines.len();
        if room == 0 {
            // Full: the next page starts at this variant's front, if it has anything waiting.
            if record.header.backordered() > 0 {
                next = Some(Cursor { variant, after: None });
            }
            continue;
        }
        let (mut entries, more) = scan_page(books, shop, variant, &record, after, room).await?;
        queue::name_orders(books, shop, &mut entries).await?;
        lines.extend(entries.into_iter().map(|entry| Line { variant_id: variant, entry }));
        if let Some(resume) = more {
            next = Some(Cursor { variant, after: Some(resume) });
        }
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "backorders": lines,
        "next": next.map(|c| c.encode()),
        "backordered_units": backordered,
        "unattributed_units": unattributed,
    })))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn a_cursor_reads_back_as_itself(variant in any::<u64>(), at in proptest::option::of((any::<u64>(), any::<u64>(), any::<u64>()))) {
            let after = at.map(|(order_id, line_id, ahead)| Resume {
                key: FillKey { priority: 3, created_at_ms: -5, order_id, line_id },
                ahead,
            });
            let cursor = Cursor { variant, after };
            prop_assert_eq!(Cursor::parse(&cursor.encode()), Some(cursor));
        }

        #[test]
        fn any_string_is_a_cursor_or_refused_never_a_panic(s in ".{0,80}") {
            let _ = Cursor::parse(&s);
        }
    }
}
