//! A shop's lease kept for as long as some work on the platform runs, not just taken at its start.
//!
//! A lease taken once and renewed only between orders lapses under a holder that is alive but
//! slow (calls waiting for the cost bucket, a platform answering late): another instance then
//! reads the orders whose calls are still on their way and sends them again. So a holder renews
//! its lease in the background every quarter of its length, and its calls ask [`Lease::held`]
//! before each attempt. Held means: renewed by a request *sent* less than three quarters of the
//! length ago. The last quarter is the margin in which a call already started still reaches the
//! platform before the lease can lapse in the store (a store that cannot be reached stops the
//! renewals, and the work stops starting calls before another holder can take the shop).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::{BookError, Books};

/// A lease that renews itself until it is released or dropped.
pub struct Lease {
    books: Books,
    shop: String,
    name: &'static str,
    holder: String,
    /// Until when calls may start; `None` once another holder has the lease.
    until: Arc<Mutex<Option<Instant>>>,
    renewer: tokio::task::JoinHandle<()>,
}

impl Lease {
    /// Takes `name` on `shop` for `holder`; `None`: another holder has it.
    pub async fn take(
        books: &Books,
        shop: &str,
        name: &'static str,
        holder: &str,
        length: Duration,
    ) -> Result<Option<Lease>, BookError> {
        let asked = Instant::now();
        if !books.try_lease(shop, name, holder, length).await? {
            return Ok(None);
        }
        let until = Arc::new(Mutex::new(Some(asked + length * 3 / 4)));
        let renewer =
            tokio::spawn(renew(books.clone(), shop.to_string(), name, holder.to_string(), length, until.clone()));
        Ok(Some(Lease {
            books: books.clone(),
            shop: shop.to_string(),
            name,
            holder: holder.to_string(),
            until,
            renewer,
        }))
    }

    /// The lease is ours and no other holder can take it before a call started now arrives.
    pub fn held(&self) -> bool {
        held(&self.until)
    }

    /// Gives the lease up at once, for the next holder.
    pub async fn release(self) -> Result<(), BookError> {
        self.renewer.abort();
        self.books.release_lease(&self.shop, self.name, &self.holder).await
    }
}

impl Drop for Lease {
    /// A lease dropped without [`Lease::release`] (a pass cut short) is no longer renewed and
    /// lapses after its length: calls cut short may still reach the platform until then.
    fn drop(&mut self) {
        self.renewer.abort();
    }
}

fn held(until: &Mutex<Option<Instant>>) -> bool {
    let until = *until.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    until.is_some_and(|u| Instant::now() < u)
}

async fn renew(
    books: Books,
    shop: String,
    name: &'static str,
    holder: String,
    length: Duration,
    until: Arc<Mutex<Option<Instant>>>,
) {
    let mut every = tokio::time::interval(length / 4);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every.tick().await;
    loop {
        every.tick().await;
        let asked = Instant::now();
        let renewed = books.try_lease(&shop, name, &holder, length).await;
        let mut until = until.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // A lease that lapsed here stays lapsed, even if a late renewal finds the key free:
        // another holder may have taken and released the shop in between, and the work
        // that held it read the shop before that.
        if !until.is_some_and(|u| Instant::now() < u) {
            *until = None;
            return;
        }
        match renewed {
            Ok(true) => *until = Some(asked + length * 3 / 4),
            Ok(false) => {
                tracing::warn!(shop, lease = name, "lease: another holder has taken it; this one's work stops");
                *until = None;
                return;
            }
            // The store cannot be reached: the lease may lapse there, so it lapses here first.
            Err(e) => tracing::warn!(shop, lease = name, error = %e, "lease: could not renew it"),
        }
    }
}
