//! The topics the service acts on (SPEC 3.4). Anything else is acknowledged and ignored.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    OrdersCreate,
    OrdersUpdated,
    OrdersCancelled,
    OrdersFulfilled,
    InventoryLevelsUpdate,
    ProductsUpdate,
    AppUninstalled,
    CustomersDataRequest,
    CustomersRedact,
    ShopRedact,
    /// An inventory transfer or shipment changed what is expected to arrive (SPEC 10.2): the
    /// full topic name, one of [`SUPPLY_TOPICS`].
    Supply(&'static str),
}

/// The transfer and shipment topics that change expected supply. Their payloads are hints: the
/// service reads the transfer or shipment again.
pub const SUPPLY_TOPICS: [&str; 14] = [
    "inventory_transfers/add_items",
    "inventory_transfers/remove_items",
    "inventory_transfers/update_item_quantities",
    "inventory_transfers/ready_to_ship",
    "inventory_transfers/cancel",
    "inventory_transfers/complete",
    "inventory_shipments/create",
    "inventory_shipments/add_items",
    "inventory_shipments/remove_items",
    "inventory_shipments/update_item_quantities",
    "inventory_shipments/mark_in_transit",
    "inventory_shipments/receive_items",
    "inventory_shipments/update_tracking",
    "inventory_shipments/delete",
];

impl Topic {
    /// Every topic handled: the ledger's, the lifecycle's and privacy's, then supply's.
    pub const ALL: [Topic; 24] = {
        let mut all = [Topic::OrdersCreate; 24];
        let first = [
            Topic::OrdersCreate,
            Topic::OrdersUpdated,
            Topic::OrdersCancelled,
            Topic::OrdersFulfilled,
            Topic::InventoryLevelsUpdate,
            Topic::ProductsUpdate,
            Topic::AppUninstalled,
            Topic::CustomersDataRequest,
            Topic::CustomersRedact,
            Topic::ShopRedact,
        ];
        let mut i = 0;
        while i < first.len() {
            all[i] = first[i];
            i += 1;
        }
        while i < all.len() {
            all[i] = Topic::Supply(SUPPLY_TOPICS[i - first.len()]);
            i += 1;
        }
        all
    };

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The privacy topics every public app must handle; they are subscribed in
    /// `shopify.app.toml` only, never through the API.
    pub fn is_compliance(self) -> bool {
        matches!(self, Topic::CustomersDataRequest | Topic::CustomersRedact | Topic::ShopRedact)
    }

    /// The topics whose body is a whole order (`crate::ledger::input::parse_order`).
    pub fn carries_an_order(self) -> bool {
        matches!(self, Topic::OrdersCreate | Topic::OrdersUpdated | Topic::OrdersCancelled | Topic::OrdersFulfilled)
    }

    /// The `WebhookSubscriptionTopic` enum value (`orders/create` → `ORDERS_CREATE`).
    pub fn graphql_enum(self) -> String {
        self.as_str().replace('/', "_").to_ascii_uppercase()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Topic::OrdersCreate => "orders/create",
            Topic::OrdersUpdated => "orders/updated",
            Topic::OrdersCancelled => "orders/cancelled",
            Topic::OrdersFulfilled => "orders/fulfilled",
            Topic::InventoryLevelsUpdate => "inventory_levels/update",
            Topic::ProductsUpdate => "products/update",
            Topic::AppUninstalled => "app/uninstalled",
            Topic::CustomersDataRequest => "customers/data_request",
            Topic::CustomersRedact => "customers/redact",
            Topic::ShopRedact => "shop/redact",
            Topic::Supply(topic) => topic,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_topic_round_trips_and_others_are_unknown() {
        for t in Topic::ALL {
            assert_eq!(Topic::parse(t.as_str()), Some(t));
        }
        assert_eq!(Topic::parse("carts/create"), None);
        assert_eq!(
            Topic::parse("inventory_shipments/update_tracking"),
            Some(Topic::Supply("inventory_shipments/update_tracking"))
        );
        assert_eq!(Topic::parse("ORDERS/CREATE"), None);
    }
}
