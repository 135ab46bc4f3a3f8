//! A variant's queue: the backordered lines from the front, with positions and ETAs. Reads start
//! at the book's boundary and page forward, so lines already covered are never read.

use std::ops::Bound;

use serde::Serialize;

use super::{BookError, Books};
use crate::ledger::FillKey;
use crate::ledger::eta;
use crate::ledger::records::VariantRecord;
use crate::store::Mark;

pub const PAGE: usize = 1000;

/// One backordered line of a variant's queue, as the API and the emails show it (not to be
/// confused with `store::QueueEntry`, a webhook in the intake queue).
#[derive(Debug, Clone, Serialize)]
pub struct QueuedLine {
    /// Its place in the fill order (where a page ends and the next starts).
    #[serde(skip)]
    pub key: FillKey,
    pub order_id: u64,
    /// Filled in by readers that show it; empty from [`scan`].
    pub order_name: String,
    pub line_item_id: u64,
    pub backordered: u32,
    /// Backordered units ahead of and including this line's first one (1 = filled next).
    pub position: u64,
    pub eta: Option<String>,
}

/// The queue from the front, stopping once it holds `enough` backordered units (all without).
pub async fn scan(
    books: &Books,
    shop: &str,
    variant: u64,
    record: &VariantRecord,
    enough: Option<u64>,
) -> Result<Vec<QueuedLine>, BookError> {
    scan_while(books, shop, variant, record, Dates::Shop, |_, ahead| enough.is_none_or(|units| ahead < units)).await
}

/// Where a page of a queue ended: the last line's key and the backordered units up to and
/// including it, so the next page starts there without reading what lies before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resume {
    pub key: FillKey,
    pub ahead: u64,
}

/// Up to `limit` lines of the queue after `after` (from the front without), and where the next
/// page starts if there are more.
pub async fn scan_page(
    books: &Books,
    shop: &str,
    variant: u64,
    record: &VariantRecord,
    after: Option<Resume>,
    limit: usize,
) -> Result<(Vec<QueuedLine>, Option<Resume>), BookError> {
    // One line more than asked tells whether another page follows.
    let chunk = (limit + 1).clamp(1, PAGE);
    let mut lines =
        scan_from(books, shop, variant, record, (after, chunk), Dates::Shop, |_, _, taken| taken <= limit).await?;
    if lines.len() <= limit {
        return Ok((lines, None));
    }
    lines.truncate(limit);
    let last = lines.last().expect("limit > 0 lines");
    let resume = Resume { key: last.key, ahead: last.position + u64::from(last.backordered) - 1 };
    Ok((lines, Some(resume)))
}

/// Whether a scan's lines get their ETAs: the dates cost a read of the shop's settings (its time
/// zone), which the scans that only need positions skip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dates {
    Shop,
    None,
}

/// The queue from the front while `go_on(next line's key, units ahead of it)`.
async fn scan_while(
    books: &Books,
    shop: &str,
    variant: u64,
    record: &VariantRecord,
    dates: Dates,
    go_on: impl Fn(&FillKey, u64) -> bool,
) -> Result<Vec<QueuedLine>, BookError> {
    scan_from(books, shop, variant, record, (None, PAGE), dates, |key, ahead, _| go_on(key, ahead)).await
}

/// The queue after `after` (from the front without) while `go_on(next line's key, units ahead
/// of it, lines taken so far)`, reading `chunk` lines a round trip (a page asks for what it
/// shows, a scan of the whole queue for many).
async fn scan_from(
    books: &Books,
    shop: &str,
    variant: u64,
    record: &VariantRecord,
    (after, chunk): (Option<Resume>, usize),
    dates: Dates,
    go_on: impl Fn(&FillKey, u64, usize) -> bool,
) -> Result<Vec<QueuedLine>, BookError> {
    let header = &record.header;
    let mut queue = Vec::new();
    let Some(boundary) = header.boundary else { return Ok(queue) };
    let today = match dates {
        Dates::Shop => Some(books.today(shop).await?),
        Dates::None => None,
    };
    // A page boundary now behind the book's boundary (stock arrived between two pages) starts
    // the next page at the book's boundary; positions carry on from the cursor's count.
    let (mut ahead, mut from) = match after {
        Some(r) if r.key >= boundary => (r.ahead, Bound::Excluded(r.key)),
        Some(r) => (r.ahead, Bound::Included(boundary)),
        None => (0, Bound::Included(boundary)),
    };
    'pages: loop {
        let page = books.lines(shop, variant, from, chunk).await?;
        for (key, qty) in &page {
            if !go_on(key, ahead, queue.len()) {
                break 'pages;
            }
            let backordered = header.backordered_of(key, *qty);
            if backordered == 0 {
                continue;
            }
            queue.push(QueuedLine {
                key: *key,
                order_id: key.order_id,
                order_name: String::new(),
                line_item_id: key.line_id,
                backordered,
                position: ahead + 1,
                eta: today.and_then(|t| eta::line_eta(record, ahead + 1, backordered, t)).map(eta::format),
            });
            ahead += u64::from(backordered);
        }
        match page.last() {
            Some((last, _)) if page.len() == chunk => from = Bound::Excluded(*last),
            _ => break,
        }
    }
    Ok(queue)
}

/// Marks every order waiting on `variant` dirty, so the effects look at each again (an ETA that
/// moved, a reminder come due).
pub async fn mark_waiting(books: &Books, shop: &str, variant: u64, record: &VariantRecord) -> Result<(), BookError> {
    let mut orders: Vec<u64> = scan_while(books, shop, variant, record, Dates::None, |_, _| true)
        .await?
        .into_iter()
        .map(|e| e.order_id)
        .collect();
    orders.sort_unstable();
    orders.dedup();
    for chunk in orders.chunks(200) {
        books.mark(shop, chunk.iter().copied().map(Mark::Order)).await?;
    }
    Ok(())
}

/// What the waiting lines' ETAs depend on, digested: `inputs` (the variant's supply plan, lead
/// and handling times) and, along the queue up to the first line beyond all supply, the lines
/// where the covering batch changes. A line that moves into a later batch (an order placed
/// ahead of it by priority, a batch shrunk) changes it; an order joining the back of the queue
/// or a new day does not. Reads only as far as the supply reaches.
pub async fn eta_fingerprint(
    books: &Books,
    shop: &str,
    variant: u64,
    record: &VariantRecord,
    inputs: u64,
) -> Result<u64, BookError> {
    use sha2::Digest;
    let supply = &record.settings.supply;
    let total: u64 = supply.iter().map(|b| b.qty).sum();
    let mut edges = Vec::new();
    let mut last_batch = None;
    for e in scan_while(books, shop, variant, record, Dates::None, |_, ahead| ahead < total + 1).await? {
        let batch = eta::batch_of(supply, e.position + u64::from(e.backordered.max(1)) - 1);
        if edges.is_empty() || batch != last_batch {
            edges.push((e.order_id, e.line_item_id, batch));
            last_batch = batch;
        }
    }
    let bytes = serde_json::to_vec(&(inputs, edges)).expect("plain data serializes");
    Ok(u64::from_be_bytes(sha2::Sha256::digest(&bytes)[..8].try_into().expect("8 bytes")))
}
