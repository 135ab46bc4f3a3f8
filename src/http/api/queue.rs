//! A variant's queue as the API shows it: the backordered lines from the front (read by
//! `notify::queue`), with order names.

use super::ApiError;
pub use crate::books::queue::QueuedLine;
use crate::books::queue::{PAGE, scan};
use crate::books::{Books, key};
use crate::ledger::records::VariantRecord;
use crate::store::Record;

/// The queue from the front, stopping once it holds `enough` backordered units (all without).
pub async fn read(
    books: &Books,
    shop: &str,
    variant: u64,
    record: &VariantRecord,
    enough: Option<u64>,
) -> Result<Vec<QueuedLine>, ApiError> {
    let mut queue = scan(books, shop, variant, record, enough).await?;
    name_orders(books, shop, &mut queue).await?;
    Ok(queue)
}

/// Fills in each entry's order name (`#1001`), reading each order once.
pub(crate) async fn name_orders(books: &Books, shop: &str, queue: &mut [QueuedLine]) -> Result<(), ApiError> {
    let mut ids: Vec<u64> = queue.iter().map(|q| q.order_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut names = std::collections::HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(PAGE) {
        let records: Vec<Record> = chunk.iter().map(|id| Record::Order(*id)).collect();
        let reads = books.read(shop, &records).await?;
        for id in chunk {
            names.insert(*id, reads.get(key::Order(*id))?.map(|o| o.name).unwrap_or_default());
        }
    }
    for entry in queue {
        entry.order_name = names.get(&entry.order_id).cloned().unwrap_or_default();
    }
    Ok(())
}
