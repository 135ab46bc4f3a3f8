//! Where an order's lines stand in their queues: what the emails and the status page tell.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;

use super::{BookError, Books, key};
use crate::books::queue::scan;
use crate::ledger::eta;
use crate::ledger::records::VariantRecord;
use crate::ledger::rules::OrderRecord;
use crate::store::Record;

pub use super::queue_cache::QueueCache;

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineStanding {
    pub line_id: u64,
    pub variant_id: Option<u64>,
    pub open: u32,
    pub backordered: u32,
    /// Backordered units ahead of and including the line's first one.
    pub position: Option<u64>,
    pub eta: Option<time::Date>,
}

/// Position and ETA by (order, line), of one variant's queue.
pub type QueueIndex = HashMap<(u64, u64), (u64, Option<time::Date>)>;

/// Where the queues an order's lines stand in come from: read once per pass ([`Queues`]), or
/// kept for a short while across requests ([`QueueCache`], the status page).
#[async_trait]
pub trait QueueSource: Send + Sync {
    /// The variant's queue; `stale` when a line the caller expected in it was missing, so an
    /// index read before that line joined is read again (if the source allows it now).
    async fn index(
        &self,
        books: &Books,
        shop: &str,
        variant: (u64, &VariantRecord),
        stale: bool,
    ) -> Result<Arc<QueueIndex>, BookError>;
}

/// The whole queue of one variant, as an index.
pub(super) async fn read_index(
    books: &Books,
    shop: &str,
    (variant, record): (u64, &VariantRecord),
) -> Result<QueueIndex, BookError> {
    Ok(scan(books, shop, variant, record, None)
        .await?
        .into_iter()
        .map(|e| ((e.order_id, e.line_item_id), (e.position, e.eta.as_deref().and_then(eta::parse))))
        .collect())
}

/// Queues read once and shared by every order looked at in one pass of one shop: a flash sale's
/// orders all wait on one variant, and each would otherwise read its whole queue again.
#[derive(Default)]
pub struct Queues {
    read: tokio::sync::Mutex<HashMap<u64, Arc<QueueIndex>>>,
}

#[async_trait]
impl QueueSource for Queues {
    async fn index(
        &self,
        books: &Books,
        shop: &str,
        (variant, record): (u64, &VariantRecord),
        stale: bool,
    ) -> Result<Arc<QueueIndex>, BookError> {
        let mut read = self.read.lock().await;
        if !stale && let Some(index) = read.get(&variant) {
            return Ok(index.clone());
        }
        let index = Arc::new(read_index(books, shop, (variant, record)).await?);
        read.insert(variant, index.clone());
        Ok(index)
    }
}

/// The order as the ledger knows it, with the records of its managed variants.
pub async fn with_variants(
    books: &Books,
    shop: &str,
    order_id: u64,
) -> Result<Option<(OrderRecord, HashMap<u64, VariantRecord>)>, BookError> {
    let Some(order) = books.get(shop, key::Order(order_id)).await? else { return Ok(None) };
    let mut variants: Vec<u64> = order.lines.iter().filter_map(|l| l.variant_id).collect();
    variants.sort_unstable();
    variants.dedup();
    let reads = books.read(shop, &variants.iter().map(|v| Record::Variant(*v)).collect::<Vec<_>>()).await?;
    let mut records = HashMap::new();
    for v in variants {
        if let Some(record) = reads.get(key::Variant(v))? {
            records.insert(v, record);
        }
    }
    Ok(Some((order, records)))
}

/// The order as the ledger knows it, with each line's standing; `None` for an unknown order.
pub async fn of_order(
    books: &Books,
    shop: &str,
    order_id: u64,
    queues: &dyn QueueSource,
) -> Result<Option<(OrderRecord, Vec<LineStanding>)>, BookError> {
    let Some((order, records)) = with_variants(books, shop, order_id).await? else { return Ok(None) };
    let mut lines = Vec::with_capacity(order.lines.len());
    for l in &order.lines {
        let record = l.variant_id.and_then(|v| records.get(&v));
        let backordered = record.map_or(0, |r| r.header.backordered_of(&order.key(order_id, l.line_id), l.open_qty));
        let mut standing = LineStanding {
            line_id: l.line_id,
            variant_id: l.variant_id,
            open: l.open_qty,
            backordered,
            position: None,
            eta: None,
        };
        if let (Some(record), Some(variant), true) = (record, l.variant_id, backordered > 0) {
            // A queue read earlier in the pass may predate this line: read it again then.
            for stale in [false, true] {
                let index = queues.index(books, shop, (variant, record), stale).await?;
                if let Some((position, eta)) = index.get(&(order_id, l.line_id)) {
                    standing.position = Some(*position);
                    standing.eta = *eta;
                    break;
                }
            }
        }
        lines.push(standing);
    }
    Ok(Some((order, lines)))
}
