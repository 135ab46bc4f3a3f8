//! Changes to a dev shop's world that queue the webhooks Shopify fires for them, so a test or
//! the demo says "a customer orders" and gets both the new truth and its deliveries.
//!
//! Like Shopify, one change can fire several topics: an order lowers `available`, so it fires
//! `inventory_levels/update` as well as `orders/create`; a cancellation fires
//! `orders/cancelled` and `orders/updated` (and, with restock, the level). Each is its own
//! event, stamped with the instant of the change it reports.

use std::collections::BTreeSet;

use super::sender::Sender;
use super::world::{MAIN_LOCATION, WorldError};
use super::{DevShop, World, payloads, rfc3339};

fn queue_order(sender: &mut Sender, w: &World, topics: &[&str], order: u64) -> Result<(), WorldError> {
    let body = payloads::order(w, order)?;
    let at = rfc3339(w.orders[&order].updated_at_ms);
    for topic in topics {
        sender.queue(topic, body.clone(), at.clone());
    }
    Ok(())
}

/// One `inventory_levels/update` per inventory item of `variants` at the main location.
fn queue_levels(sender: &mut Sender, w: &World, variants: impl IntoIterator<Item = u64>) {
    let items: BTreeSet<u64> =
        variants.into_iter().filter_map(|v| w.variants.get(&v)).map(|v| v.inventory_item_id).collect();
    for item in items {
        if let Some(level) = w.levels.get(&(item, MAIN_LOCATION)) {
            sender.queue(
                "inventory_levels/update",
                payloads::level(item, MAIN_LOCATION, level),
                rfc3339(level.updated_at_ms),
            );
        }
    }
}

fn variants_of(w: &World, order: u64) -> Vec<u64> {
    w.orders.get(&order).map(|o| o.lines.iter().map(|l| l.variant_id).collect()).unwrap_or_default()
}

impl DevShop {
    /// Runs `f` on the world of the sender's shop (the sender is lent back to `f`, which
    /// queues into it while the world is locked, so the bodies match the change exactly).
    fn in_world<T>(&self, sender: &mut Sender, f: impl FnOnce(&mut World, &mut Sender) -> T) -> T {
        let shop = sender.shop().to_owned();
        self.world(&shop, |w| f(w, sender))
    }

    /// Places an order in the sender's shop and queues `orders/create` and the level updates.
    pub fn place_order_notify(
        &self,
        sender: &mut Sender,
        email: &str,
        customer_tags: &[&str],
        lines: &[(u64, u32)],
    ) -> Result<u64, WorldError> {
        self.in_world(sender, |w, sender| {
            let id = w.place_order(email, customer_tags, lines)?;
            queue_levels(sender, w, lines.iter().map(|(v, _)| *v));
            queue_order(sender, w, &["orders/create"], id)?;
            Ok(id)
        })
    }

    /// Sets a variant's stock (a receipt or a count) and queues the level update.
    pub fn set_stock_notify(&self, sender: &mut Sender, variant: u64, available: i64) -> Result<(), WorldError> {
        self.in_world(sender, |w, sender| {
            w.set_stock(variant, available)?;
            queue_levels(sender, w, [variant]);
            Ok(())
        })
    }

    /// Cancels an order and queues `orders/cancelled`, `orders/updated` and, when the units go
    /// back to stock, the level updates.
    pub fn cancel_order_notify(&self, sender: &mut Sender, order: u64, restock: bool) -> Result<(), WorldError> {
        self.in_world(sender, |w, sender| {
            w.cancel_order(order, restock)?;
            if restock {
                queue_levels(sender, w, variants_of(w, order));
            }
            queue_order(sender, w, &["orders/cancelled", "orders/updated"], order)
        })
    }

    /// Ships an order and queues `orders/fulfilled` and `orders/updated` (no level changes).
    pub fn fulfill_order_notify(&self, sender: &mut Sender, order: u64) -> Result<(), WorldError> {
        self.in_world(sender, |w, sender| {
            w.fulfill_order(order)?;
            queue_order(sender, w, &["orders/fulfilled", "orders/updated"], order)
        })
    }

    /// Ships `units` of `variant` on a new transfer into the main location, tracked to arrive
    /// at `arrives_at_ms`, and queues `inventory_shipments/create`. (transfer, shipment).
    pub fn ship_notify(
        &self,
        sender: &mut Sender,
        variant: u64,
        units: u64,
        arrives_at_ms: Option<i64>,
    ) -> Result<(u64, u64), WorldError> {
        self.in_world(sender, |w, sender| {
            let transfer = w.add_transfer(MAIN_LOCATION, &[(variant, units)])?;
            let shipment = w.ship(transfer, &[(variant, units)], arrives_at_ms)?;
            let at = rfc3339(w.tick());
            sender.queue("inventory_transfers/ready_to_ship", w.transfer_payload(transfer), at.clone());
            sender.queue("inventory_shipments/create", w.shipment_payload(shipment), at);
            Ok((transfer, shipment))
        })
    }

    /// A shipment's new tracked arrival, and `inventory_shipments/update_tracking`.
    pub fn track_notify(
        &self,
        sender: &mut Sender,
        shipment: u64,
        arrives_at_ms: Option<i64>,
    ) -> Result<(), WorldError> {
        self.in_world(sender, |w, sender| {
            w.set_arrival(shipment, arrives_at_ms)?;
            let at = rfc3339(w.tick());
            sender.queue("inventory_shipments/update_tracking", w.shipment_payload(shipment), at);
            Ok(())
        })
    }

    /// Receives `units` of `variant` on `shipment` and queues `inventory_shipments/receive_items`
    /// and the level update.
    pub fn receive_notify(
        &self,
        sender: &mut Sender,
        shipment: u64,
        variant: u64,
        units: u64,
    ) -> Result<(), WorldError> {
        self.in_world(sender, |w, sender| {
            w.receive(shipment, variant, units, 0)?;
            queue_levels(sender, w, [variant]);
            let at = rfc3339(w.tick());
            sender.queue("inventory_shipments/receive_items", w.shipment_payload(shipment), at);
            Ok(())
        })
    }

    /// Queues `products/update` for the product of `variant`, as of now.
    pub fn product_notify(&self, sender: &mut Sender, variant: u64) -> Result<(), WorldError> {
        self.in_world(sender, |w, sender| {
            let product = w.variants.get(&variant).ok_or(WorldError::NoVariant(variant))?.product_id;
            let at = w.tick();
            sender.queue("products/update", payloads::product(w, product, at)?, rfc3339(at));
            Ok(())
        })
    }
}
