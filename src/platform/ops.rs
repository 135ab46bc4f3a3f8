//! Every Admin GraphQL operation the service sends, one `.graphql` file each, so a test can
//! validate all of them against the platform's schema.

/// One operation: its document and what the pacer assumes it costs before the platform says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    pub name: &'static str,
    pub document: &'static str,
    /// Requested cost as Shopify calculates it (objects 1, connections by `first`, mutations
    /// 10); corrected by each response's `extensions.cost`.
    pub estimated_cost: u32,
}

macro_rules! operation {
    ($const:ident, $name:literal, $cost:expr) => {
        pub const $const: Operation = Operation {
            name: $name,
            document: include_str!(concat!("ops/", $name, ".graphql")),
            estimated_cost: $cost,
        };
    };
}

operation!(PRODUCT_VARIANT_ITEM, "ProductVariantItem", 3);
operation!(TAGS_ADD, "TagsAdd", 10);
operation!(TAGS_REMOVE, "TagsRemove", 10);
operation!(VARIANTS_POLICY, "VariantsPolicy", 10);
operation!(ETA_METAFIELDS, "EtaMetafields", 10);
operation!(ORDER_FULFILLMENT_ORDERS, "OrderFulfillmentOrders", 20);
operation!(FULFILLMENT_ORDER_HOLD, "FulfillmentOrderHold", 10);
operation!(FULFILLMENT_ORDER_RELEASE_HOLD, "FulfillmentOrderReleaseHold", 10);
operation!(INVENTORY_ITEM_LEVELS, "InventoryItemLevels", 20);
operation!(OPEN_ORDERS, "OpenOrders", 300);
operation!(ORDER_STATE, "OrderState", 10);
operation!(WEBHOOK_SUBSCRIPTION_CREATE, "WebhookSubscriptionCreate", 10);
operation!(SHOP_ID, "ShopId", 1);

pub const ALL: [Operation; 13] = [
    PRODUCT_VARIANT_ITEM,
    TAGS_ADD,
    TAGS_REMOVE,
    VARIANTS_POLICY,
    ETA_METAFIELDS,
    ORDER_FULFILLMENT_ORDERS,
    FULFILLMENT_ORDER_HOLD,
    FULFILLMENT_ORDER_RELEASE_HOLD,
    INVENTORY_ITEM_LEVELS,
    OPEN_ORDERS,
    ORDER_STATE,
    WEBHOOK_SUBSCRIPTION_CREATE,
    SHOP_ID,
];
