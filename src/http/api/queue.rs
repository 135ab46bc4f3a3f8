//! A variant's queue as the API shows it: backordered lines from the front, with positions and
//! order names. Reads start at the book's boundary and page forward, so lines already covered
//! are never read.

use std::ops::Bound;

use serde::Serialize;

use super::ApiError;
use crate::ledger::records::{VariantRecord, decode};
use crate::ledger::rules::OrderRecord;
use crate::notify::eta;
use crate::store::{Record, Store};

const PAGE: usize = 1000;

#[derive(Debug, Clone, Serialize)]
pub struct QueueEntry {
    pub order_id: u64,
    pub order_name: String,
    pub line_item_id: u64,
    pub backordered: u32,
    /// Backordered units ahead of and including this line's first one (1 = filled next).
    pub position: u64,
    pub eta: Option<String>,
}

/// The queue from the front, stopping once it holds `enough` backordered units (all without).
pub async fn read(
    store: &dyn Store,
    shop: &str,
    variant: u64,
    record: &VariantRecord,
    enough: Option<u64>,
) -> Result<Vec<QueueEntry>, ApiError> {
    let header = &record.header;
    let today = eta::today();
    let mut queue = Vec::new();
    let Some(boundary) = header.boundary else { return Ok(queue) };
    let mut ahead = 0u64;
    let mut from = Bound::Included(boundary);
    'pages: loop {
        let page = store.ledger_scan(shop, variant, from, PAGE).await?;
        for (key, qty) in &page {
            if enough.is_some_and(|units| ahead >= units) {
                break 'pages;
            }
            let backordered = header.backordered_of(key, *qty);
            if backordered == 0 {
                continue;
            }
            queue.push(QueueEntry {
                order_id: key.order_id,
                order_name: String::new(),
                line_item_id: key.line_id,
                backordered,
                position: ahead + 1,
                eta: eta::line_eta(record, ahead + 1, backordered, today).map(eta::format),
            });
            ahead += u64::from(backordered);
        }
        match page.last() {
            Some((last, _)) if page.len() == PAGE => from = Bound::Excluded(*last),
            _ => break,
        }
    }
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
