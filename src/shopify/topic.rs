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
}

impl Topic {
    pub const ALL: [Topic; 10] = [
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

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The privacy topics every public app must handle; they are subscribed in
    /// `shopify.app.toml` only, never through the API.
    pub fn is_compliance(self) -> bool {
        matches!(self, Topic::CustomersDataRequest | Topic::CustomersRedact | Topic::ShopRedact)
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
        assert_eq!(Topic::parse("ORDERS/CREATE"), None);
    }
}
