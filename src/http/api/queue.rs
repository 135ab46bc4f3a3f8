//! A variant's queue as the API shows it: the backordered lines from the front (read by
//! `notify::queue`), with order names.

use super::ApiError;
use crate::ledger::records::{VariantRecord, decode};
use crate::ledger::rules::OrderRecord;
pub use crate::notify::queue::QueueEntry;
use crate::notify::queue::{PAGE, scan};
use crate::store::{Record, Store};

/// The queue from the front, stopping once it holds `enough` backordered units (all without).
pub async fn read(
    store: &dyn Store,
    shop: &str,
    variant: u64,
    record: &VariantRecord,
    enough: Option<u64>,
) -> Result<Vec<QueueEntry>, ApiError> {
    let mut queue = scan(store, shop, variant, record, enough).await?;
    name_orders(store, shop, &mut queue).await?;
    Ok(queue)
}

/// Fills in each entry's order name (`#1001`), reading each order once.
async fn name_orders(store: &dyn Store, shop: &str, queue: &mut [QueueEntry]) -> Result<(), ApiError> {
    let mut ids: Vec<u64> = queue.iter().map(|q| q.order_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut names = std::collections::HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(PAGE) {
        let records: Vec<Record> = chunk.iter().map(|id| Record::Order(*id)).collect();
        for (id, bytes) in chunk.iter().zip(store.ledger_get(shop, &records).await?) {
            let order: Option<OrderRecord> = decode(bytes.as_deref()).map_err(|e| ApiError::Internal(e.to_string()))?;
            names.insert(*id, order.map(|o| o.name).unwrap_or_default());
        }
    }
    for entry in queue {
        entry.order_name = names.get(&entry.order_id).cloned().unwrap_or_default();
    }
    Ok(())
}
