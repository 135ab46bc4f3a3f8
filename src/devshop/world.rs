//! The dev shop's data and Shopify's rules over it: products and variants with their inventory
//! policy, inventory levels per location, orders with tags and fulfillment orders with holds.
//!
//! Inventory accounting follows Shopify: an order lowers `available` at the location it is
//! assigned to (it may go below zero only for a `CONTINUE` variant; a `DENY` variant refuses an
//! order beyond stock), a cancellation with restock raises it again, and a fulfillment leaves it
//! alone (it only lowers `committed`, which the ledger does not read).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Policy {
    Deny,
    Continue,
}

/// The ids of a variant, its product and its inventory item.
#[derive(Debug, Clone, Copy)]
pub struct Ids {
    pub variant: u64,
    pub product: u64,
    pub item: u64,
}

#[derive(Debug, Clone)]
pub struct Variant {
    pub id: u64,
    pub product_id: u64,
    pub inventory_item_id: u64,
    pub title: String,
    /// Empty unless a test gives it one.
    pub sku: String,
    pub policy: Policy,
    /// Namespace/key → (type, value).
    pub metafields: BTreeMap<(String, String), (String, String)>,
    /// Its product options (`Size` → `M`), up to three; empty: Shopify's default `Title`.
    pub options: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy)]
pub struct Level {
    pub available: i64,
    /// Units on their way (transfers ready to ship, shipments, purchase orders).
    pub incoming: i64,
    /// Milliseconds since the epoch; strictly increasing per level, like Shopify's `updated_at`.
    pub updated_at_ms: i64,
}

#[derive(Debug, Clone)]
pub struct OrderLine {
    pub id: u64,
    pub variant_id: u64,
    pub quantity: u32,
    pub fulfilled: u32,
    /// Units refunded and back on sale (a cancellation with restock).
    pub restocked: u32,
    /// Units refunded without restock.
    pub unrestocked: u32,
}

#[derive(Debug, Clone)]
pub struct Hold {
    pub id: u64,
    /// The fulfillment order it holds.
    pub fulfillment_order_id: u64,
    pub handle: String,
    pub reason: String,
    /// Line item id → units held.
    pub quantities: BTreeMap<u64, u32>,
}

#[derive(Debug, Clone)]
pub struct Order {
    pub id: u64,
    pub name: String,
    pub email: String,
    pub customer_tags: Vec<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub cancelled: bool,
    pub lines: Vec<OrderLine>,
    pub tags: BTreeSet<String>,
    /// One at first; [`World::split_fulfillment`] divides the lines among more, as Shopify
    /// does for an order fulfilled from several locations.
    pub fulfillment_orders: Vec<FulfillmentOrder>,
    pub holds: Vec<Hold>,
}

#[derive(Debug, Clone)]
pub struct FulfillmentOrder {
    pub id: u64,
    /// The order's line items it fulfils (each line in exactly one).
    pub line_ids: Vec<u64>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WorldError {
    #[error("variant {0} does not exist")]
    NoVariant(u64),
    #[error("{title} is out of stock: {available} available, {wanted} ordered")]
    OutOfStock { title: String, available: i64, wanted: u32 },
    #[error("order {0} does not exist")]
    NoOrder(u64),
    #[error("transfer or shipment {0} does not exist")]
    NoTransfer(u64),
}

#[derive(Debug, Default)]
pub struct World {
    pub variants: BTreeMap<u64, Variant>,
    /// (inventory item, location) → level.
    pub levels: BTreeMap<(u64, u64), Level>,
    pub orders: BTreeMap<u64, Order>,
    /// Webhook subscriptions created by API: topic (GraphQL enum) → callback URI.
    pub subscriptions: BTreeMap<String, String>,
    /// The app's `shopify.app.toml` subscriptions apply to this shop: it was installed through
    /// Shopify's flow (OAuth, token exchange), not as a custom app's token.
    pub toml_subscriptions: bool,
    /// `shop.ianaTimezone`; empty is `Etc/UTC`, the dev shop's own.
    pub timezone: String,
    /// Inventory transfers and their shipments, by id (`devshop::transfers`).
    pub transfers: BTreeMap<u64, super::transfers::Transfer>,
    pub shipments: BTreeMap<u64, super::transfers::Shipment>,
    /// Storefront pages by product handle (`devshop::storefront`): a theme's product page.
    pub storefront_pages: BTreeMap<String, String>,
    /// Code discounts, by id (`devshop::discounts`).
    pub discounts: BTreeMap<u64, super::discounts::Discount>,
    /// The app's bulk operations, by id.
    pub bulk_operations: BTreeMap<u64, super::bulk::BulkOperation>,
    /// Where this shop's bulk results are served (`{dev shop}/bulk/{shop}`).
    pub bulk_base: String,
    /// The app may read every order (`read_all_orders`), not only the last 60 days'. Set from
    /// the token's scopes for each call.
    pub all_orders: bool,
    /// Mutations whose effect was already there when they came (a tag already on, a policy
    /// already set, a hold already placed): each one a change sent twice. The chaos run and the
    /// effects tests expect none.
    pub noops: Vec<String>,
    next_id: u64,
    clock_ms: i64,
}

/// The location orders are assigned to.
pub const MAIN_LOCATION: u64 = 1;

impl World {
    /// A new shop whose bulk results are served at `bulk_base`.
    pub fn with_bulk_base(bulk_base: String) -> Self {
        Self { bulk_base, ..Self::default() }
    }

    /// A fresh id (variants, orders, lines, holds share one sequence, as distinct as Shopify's).
    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Now, as the shop's clock has it (never before its latest timestamp).
    pub fn clock_ms(&self) -> i64 {
        (crate::store::now_ms() as i64).max(self.clock_ms)
    }

    /// Moves an order's creation to `created_at_ms` (an order placed before the app came).
    pub fn backdate(&mut self, order: u64, created_at_ms: i64) -> Result<(), WorldError> {
        let o = self.orders.get_mut(&order).ok_or(WorldError::NoOrder(order))?;
        o.created_at_ms = created_at_ms;
        Ok(())
    }

    /// A timestamp later than every earlier one, near the wall clock.
    pub fn tick(&mut self) -> i64 {
        let now = crate::store::now_ms() as i64;
        self.clock_ms = now.max(self.clock_ms + 1);
        self.clock_ms
    }

    /// Moves the shop's clock `ms` ahead: later changes carry later times (a test's "a second
    /// later", without waiting for one).
    pub fn advance_clock(&mut self, ms: i64) {
        self.clock_ms = self.clock_ms.max(crate::store::now_ms() as i64) + ms;
    }

    pub fn add_variant(&mut self, title: &str, stock: i64, policy: Policy) -> u64 {
        let (id, product_id, item) = (self.next_id(), self.next_id(), self.next_id());
        self.add_variant_as(Ids { variant: id, product: product_id, item }, title, stock, policy)
    }

    /// A variant with ids chosen by the caller (a benchmark whose webhooks name fixed ids).
    pub fn add_variant_as(&mut self, ids: Ids, title: &str, stock: i64, policy: Policy) -> u64 {
        let Ids { variant: id, product: product_id, item } = ids;
        let variant = Variant {
            id,
            product_id,
            inventory_item_id: item,
            title: title.into(),
            sku: String::new(),
            policy,
            metafields: BTreeMap::new(),
            options: Vec::new(),
        };
        self.variants.insert(id, variant);
        let at = self.tick();
        self.levels.insert((item, MAIN_LOCATION), Level { available: stock, incoming: 0, updated_at_ms: at });
        id
    }

    /// SPEC 4 worked out from the platform's own state, for tests and the chaos run to compare the
    /// ledger with: the open lines of `variant` in fill order (no priority tags: `created_at`,
    /// then order and line id), each as (order, line, backordered units), the last
    /// `max(0, -available)` units backordered.
    pub fn backordered(&self, variant: u64) -> Vec<(u64, u64, u32)> {
        let mut lines: Vec<((i64, u64, u64), u32)> = self
            .orders
            .values()
            .filter(|o| !o.cancelled)
            .flat_map(|o| {
                o.lines
                    .iter()
                    .filter(|l| l.variant_id == variant && l.quantity > l.fulfilled)
                    .map(|l| ((o.created_at_ms, o.id, l.id), l.quantity - l.fulfilled))
            })
            .collect();
        lines.sort();
        let mut uncovered = u32::try_from((-self.available(variant)).max(0)).unwrap_or(u32::MAX);
        let mut out = vec![(0, 0, 0); lines.len()];
        for (i, ((_, order, line), open)) in lines.iter().enumerate().rev() {
            let backordered = (*open).min(uncovered);
            uncovered -= backordered;
            out[i] = (*order, *line, backordered);
        }
        out
    }

    pub fn available(&self, variant: u64) -> i64 {
        let Some(v) = self.variants.get(&variant) else { return 0 };
        self.levels.range((v.inventory_item_id, 0)..=(v.inventory_item_id, u64::MAX)).map(|(_, l)| l.available).sum()
    }

    fn adjust(&mut self, variant: u64, delta: i64) -> Result<(u64, Level), WorldError> {
        let item = self.variants.get(&variant).ok_or(WorldError::NoVariant(variant))?.inventory_item_id;
        let at = self.tick();
        let level =
            self.levels.entry((item, MAIN_LOCATION)).or_insert(Level { available: 0, incoming: 0, updated_at_ms: at });
        level.available += delta;
        level.updated_at_ms = at;
        Ok((item, *level))
    }

    /// Sets a variant's stock at the main location (a receipt or a count).
    pub fn set_stock(&mut self, variant: u64, available: i64) -> Result<(u64, Level), WorldError> {
        let delta = available - self.available(variant);
        self.adjust(variant, delta)
    }

    /// Places an order as the checkout would: refused as a whole when a `DENY` variant lacks
    /// the stock. Returns the order id.
    pub fn place_order(
        &mut self,
        email: &str,
        customer_tags: &[&str],
        lines: &[(u64, u32)],
    ) -> Result<u64, WorldError> {
        for (variant, qty) in lines {
            let v = self.variants.get(variant).ok_or(WorldError::NoVariant(*variant))?;
            let wanted: u32 = lines.iter().filter(|(id, _)| id == variant).map(|(_, q)| q).sum();
            let available = self.available(*variant);
            if v.policy == Policy::Deny && i64::from(wanted) > available {
                return Err(WorldError::OutOfStock { title: v.title.clone(), available, wanted: *qty });
            }
        }
        for (variant, qty) in lines {
            self.adjust(*variant, -i64::from(*qty))?;
        }
        let id = self.next_id();
        let fulfillment_order_id = self.next_id();
        let lines: Vec<OrderLine> = lines
            .iter()
            .map(|(variant_id, quantity)| OrderLine {
                id: self.next_id(),
                variant_id: *variant_id,
                quantity: *quantity,
                fulfilled: 0,
                restocked: 0,
                unrestocked: 0,
            })
            .collect();
        let at = self.tick();
        let line_ids = lines.iter().map(|l| l.id).collect();
        let order = Order {
            id,
            name: format!("#{}", 1000 + self.orders.len() + 1),
            email: email.into(),
            customer_tags: customer_tags.iter().map(|t| t.to_string()).collect(),
            created_at_ms: at,
            updated_at_ms: at,
            cancelled: false,
            lines,
            tags: BTreeSet::new(),
            fulfillment_orders: vec![FulfillmentOrder { id: fulfillment_order_id, line_ids }],
            holds: Vec::new(),
        };
        self.orders.insert(id, order);
        Ok(id)
    }

    /// Cancels an order; with `restock`, its unfulfilled units go back to stock.
    pub fn cancel_order(&mut self, order: u64, restock: bool) -> Result<(), WorldError> {
        let o = self.orders.get(&order).ok_or(WorldError::NoOrder(order))?.clone();
        if o.cancelled {
            return Ok(());
        }
        if restock {
            for l in &o.lines {
                self.adjust(l.variant_id, i64::from(l.quantity - l.fulfilled))?;
            }
        }
        let at = self.tick();
        let o = self.orders.get_mut(&order).expect("checked");
        o.cancelled = true;
        o.holds.clear();
        o.updated_at_ms = at;
        // The unshipped units are refunded, put back on sale or not.
        for l in &mut o.lines {
            let unshipped = l.quantity - l.fulfilled - l.restocked - l.unrestocked;
            if restock {
                l.restocked += unshipped;
            } else {
                l.unrestocked += unshipped;
            }
        }
        Ok(())
    }

    /// Ships every unshipped unit of an open order. `available` stays as it is: Shopify already
    /// took the units from it when the order was placed (a fulfillment lowers `committed`).
    pub fn fulfill_order(&mut self, order: u64) -> Result<(), WorldError> {
        let at = self.tick();
        let o = self.orders.get_mut(&order).ok_or(WorldError::NoOrder(order))?;
        if o.cancelled {
            return Ok(());
        }
        for l in &mut o.lines {
            l.fulfilled = l.quantity;
        }
        o.holds.clear();
        o.updated_at_ms = at;
        Ok(())
    }

    /// Divides an open order's lines among fulfillment orders of `lines_each` lines, in line
    /// order, as an order fulfilled from several locations is. Its holds are released.
    pub fn split_fulfillment(&mut self, order: u64, lines_each: usize) -> Result<(), WorldError> {
        let line_ids: Vec<u64> =
            self.orders.get(&order).ok_or(WorldError::NoOrder(order))?.lines.iter().map(|l| l.id).collect();
        let mut split = Vec::new();
        for chunk in line_ids.chunks(lines_each.max(1)) {
            split.push(FulfillmentOrder { id: self.next_id(), line_ids: chunk.to_vec() });
        }
        let o = self.orders.get_mut(&order).expect("checked");
        o.fulfillment_orders = split;
        o.holds.clear();
        Ok(())
    }

    /// A person releases every hold of the order in the admin (ours included): the warehouse
    /// may ship what it has.
    pub fn release_holds_by_hand(&mut self, order: u64) -> Result<(), WorldError> {
        self.orders.get_mut(&order).ok_or(WorldError::NoOrder(order))?.holds.clear();
        Ok(())
    }

    /// Units of a line that are not held (what the warehouse could ship now).
    pub fn fulfillable(&self, order: &Order, line: &OrderLine) -> u32 {
        let held: u32 = order.holds.iter().filter_map(|h| h.quantities.get(&line.id)).sum();
        (line.quantity - line.fulfilled).saturating_sub(held)
    }
}

impl Order {
    /// The fulfillment order that holds `fulfillment_order`'s id, if the order has it.
    pub fn fulfillment_order(&self, id: u64) -> Option<&FulfillmentOrder> {
        self.fulfillment_orders.iter().find(|f| f.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deny_variant_refuses_an_order_beyond_stock_and_a_continue_variant_goes_negative() {
        let mut w = World::default();
        let deny = w.add_variant("Mug", 2, Policy::Deny);
        let cont = w.add_variant("Tee", 2, Policy::Continue);
        assert!(matches!(w.place_order("a@example.com", &[], &[(deny, 3)]), Err(WorldError::OutOfStock { .. })));
        assert_eq!(w.available(deny), 2, "a refused order takes nothing");
        w.place_order("a@example.com", &[], &[(cont, 5)]).unwrap();
        assert_eq!(w.available(cont), -3);
    }

    #[test]
    fn a_cancellation_with_restock_returns_the_units() {
        let mut w = World::default();
        let v = w.add_variant("Tee", 1, Policy::Continue);
        let o = w.place_order("a@example.com", &[], &[(v, 3)]).unwrap();
        w.cancel_order(o, true).unwrap();
        assert_eq!(w.available(v), 1);
        let o = w.place_order("a@example.com", &[], &[(v, 3)]).unwrap();
        w.cancel_order(o, false).unwrap();
        assert_eq!(w.available(v), -2);
    }
}
