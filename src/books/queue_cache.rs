//! Queues kept for a short while across requests, for the customer's status page (audit M3).
//!
//! A line's position needs the queue ahead of it, so one page of a line far back in a long queue
//! would read thousands of lines; anyone with one status link could repeat that at will. Here a
//! variant's queue is read at most once per `ttl` in this process, whatever the number of pages
//! asked, and concurrent requests for it wait for the one read rather than each making their
//! own. A page may so be up to `ttl` behind the ledger: it shows where the line stood then.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::standing::{QueueIndex, QueueSource, read_index};
use super::{BookError, Books};
use crate::ledger::records::VariantRecord;

/// Variants kept at most; past it, expired and unused entries go first.
const MAX_QUEUES: usize = 10_000;
/// A line missing from a kept queue (it joined after the read) has the queue read again, but
/// not more often than this: a missing line is a race, and cannot force a read per request.
const MIN_REREAD: Duration = Duration::from_secs(1);

struct Kept {
    at: Instant,
    index: Arc<QueueIndex>,
}

/// One variant's entry: the lock is held while its queue is read, so one read serves all.
type Slot = Arc<tokio::sync::Mutex<Option<Kept>>>;

pub struct QueueCache {
    ttl: Duration,
    slots: Mutex<HashMap<(String, u64), Slot>>,
}

impl QueueCache {
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, slots: Mutex::default() }
    }

    fn slot(&self, shop: &str, variant: u64) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        if slots.len() >= MAX_QUEUES && !slots.contains_key(&(shop.to_string(), variant)) {
            let ttl = self.ttl;
            // An entry in use (another request holds it) or still fresh stays.
            slots.retain(|_, slot| {
                Arc::strong_count(slot) > 1
                    || slot.try_lock().map_or(true, |kept| kept.as_ref().is_some_and(|k| k.at.elapsed() < ttl))
            });
            if slots.len() >= MAX_QUEUES {
                slots.retain(|_, slot| Arc::strong_count(slot) > 1);
            }
        }
        slots.entry((shop.to_string(), variant)).or_default().clone()
    }

    /// Queues kept now, for tests and metrics.
    pub fn len(&self) -> usize {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl QueueSource for QueueCache {
    async fn index(
        &self,
        books: &Books,
        shop: &str,
        (variant, record): (u64, &VariantRecord),
        stale: bool,
    ) -> Result<Arc<QueueIndex>, BookError> {
        let slot = self.slot(shop, variant);
        let mut kept = slot.lock().await;
        if let Some(k) = kept.as_ref() {
            let age = k.at.elapsed();
            if age < self.ttl && !(stale && age >= MIN_REREAD) {
                return Ok(k.index.clone());
            }
        }
        let index = Arc::new(read_index(books, shop, (variant, record)).await?);
        *kept = Some(Kept { at: Instant::now(), index: index.clone() });
        Ok(index)
    }
}
