//! Unenrolment in the books (SPEC 9): the variant leaves the managed set and its item's index
//! and its record goes, in one checked commit, so from then on no event books a line of it; then
//! its book's lines are removed a page at a time, each page telling which orders held them (their
//! effects are looked at again, and give back what the app put on them).

use std::ops::Bound;

use super::{BookError, Books, Change, MAX_TRIES, key};
use crate::ledger::records::VariantRecord;
use crate::store::{Mark, Record};

/// Takes the variant out of management; answers the record it had (`None`: it was not managed).
/// The variant is marked, so its effects give the platform back what it had.
pub async fn unmanage(books: &Books, shop: &str, variant: u64) -> Result<Option<VariantRecord>, BookError> {
    for _ in 0..MAX_TRIES {
        let mut reads = books.read(shop, &[Record::Variant(variant), Record::Variants]).await?;
        let Some(record) = reads.get(key::Variant(variant))? else { return Ok(None) };
        let mut managed = reads.get(key::Variants)?.unwrap_or_default();
        managed.remove(&variant);
        let mut index = None;
        if let Some(item) = record.inventory_item_id {
            reads.load(&[Record::Item(item)]).await?;
            let mut backs = reads.get(key::Item(item))?.unwrap_or_default();
            backs.variants.remove(&variant);
            index = Some((item, backs));
        }
        let mut change = reads.change().remove(key::Variant(variant)).put(key::Variants, &managed);
        if let Some((item, backs)) = index {
            change = change.put(key::Item(item), &backs);
        }
        if books.commit(shop, change.mark(Mark::Variant(variant))).await? {
            return Ok(Some(record));
        }
    }
    Err(BookError::Contended)
}

/// Removes up to `limit` lines of an unmanaged variant's book, marking the orders that held
/// them; answers how many went (0: the book is empty).
pub async fn clear_lines(books: &Books, shop: &str, variant: u64, limit: usize) -> Result<usize, BookError> {
    let page = books.lines(shop, variant, Bound::Unbounded, limit).await?;
    let mut change = Change::unchecked();
    let mut orders: Vec<u64> = page.iter().map(|(k, _)| k.order_id).collect();
    orders.sort_unstable();
    orders.dedup();
    for (line, qty) in &page {
        change = change.line(variant, *line, *qty, 0);
    }
    for order in orders {
        change = change.mark(Mark::Order(order));
    }
    if !page.is_empty() {
        books.commit(shop, change).await?;
    }
    Ok(page.len())
}
