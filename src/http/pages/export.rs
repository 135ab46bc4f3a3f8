//! `GET /app/backlog.csv`: every waiting line of the shop, variant by variant in fill order, as
//! a CSV file. Read a page of a queue at a time and streamed as it is read, so the file's size
//! never sits in memory.

use actix_web::{HttpResponse, web};
use futures_util::stream;

use super::PageSession;
use crate::books::apply::managed_variants;
use crate::books::queue::{Resume, scan_page};
use crate::state::AppState;

/// Lines read (and written) at a time.
const CHUNK: usize = 500;

const HEADER: &str = "variant_id,variant,order,line_item_id,units,position,eta\n";

/// One field: quoted when it holds a comma, a quote or a line break; a leading `=`, `+`, `-` or
/// `@` is kept from a spreadsheet's formula reading by a leading `'`.
fn field(raw: &str) -> String {
    let safe = if raw.starts_with(['=', '+', '-', '@']) { format!("'{raw}") } else { raw.to_string() };
    if safe.contains([',', '"', '\n', '\r']) { format!("\"{}\"", safe.replace('"', "\"\"")) } else { safe }
}

/// Where the export stands: the variants left, and where in the current one's queue.
struct Cursor {
    state: web::Data<AppState>,
    shop: String,
    variants: Vec<(u64, crate::ledger::records::VariantRecord)>,
    after: Option<Resume>,
    header: bool,
}

/// The next chunk of the file, or `None` at its end.
async fn next(mut c: Cursor) -> Option<(Result<web::Bytes, std::io::Error>, Cursor)> {
    if c.header {
        c.header = false;
        return Some((Ok(web::Bytes::from_static(HEADER.as_bytes())), c));
    }
    let (id, record) = c.variants.first().cloned()?;
    let (mut lines, more) = match scan_page(&c.state.books, &c.shop, id, &record, c.after, CHUNK).await {
        Ok(page) => page,
        // Cut short: the file ends here, and the browser reports the download failed.
        Err(e) => return Some((Err(std::io::Error::other(e.to_string())), Cursor { variants: Vec::new(), ..c })),
    };
    let _ = crate::http::api::queue::name_orders(&c.state.books, &c.shop, &mut lines).await;
    let name = record.title.clone().unwrap_or_default();
    let mut out = String::new();
    for l in &lines {
        let order = if l.order_name.is_empty() { l.order_id.to_string() } else { l.order_name.clone() };
        out.push_str(&format!(
            "{id},{},{},{},{},{},{}\n",
            field(&name),
            field(&order),
            l.line_item_id,
            l.backordered,
            l.position,
            field(l.eta.as_deref().unwrap_or_default())
        ));
    }
    match more {
        Some(resume) => c.after = Some(resume),
        None => {
            c.variants.remove(0);
            c.after = None;
        }
    }
    Some((Ok(web::Bytes::from(out)), c))
}

pub(super) async fn backlog(session: PageSession, state: web::Data<AppState>) -> HttpResponse {
    let variants = match managed_variants(&state.books, &session.shop).await {
        Ok(v) => v.into_iter().filter(|(_, r)| r.header.backordered() > 0).collect(),
        Err(e) => return super::unavailable(&e),
    };
    let cursor = Cursor { state, shop: session.shop, variants, after: None, header: true };
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("Content-Disposition", "attachment; filename=\"backlog.csv\""))
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .streaming(stream::unfold(cursor, next))
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn a_field_is_quoted_when_it_must_be_and_never_read_as_a_formula() {
        assert_eq!(field("Tee"), "Tee");
        assert_eq!(field("Tee, red"), "\"Tee, red\"");
        assert_eq!(field("The \"best\" tee"), "\"The \"\"best\"\" tee\"");
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("-3"), "'-3");
        assert_eq!(field("@me"), "'@me");
    }
}
