//! Every Admin GraphQL operation the service sends, one `.graphql` file each, so a test can
//! validate all of them against the platform's schema.

/// One operation: its name and its document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    pub name: &'static str,
    pub document: &'static str,
}

impl Operation {
    /// The points Shopify will ask for this call before running it (SPEC 3.5): what the pacer
    /// takes from the shop's bucket, corrected by each reply's `extensions.cost`.
    /// A mutation changes the platform: after a lost reply it must be read back, not resent.
    pub fn is_mutation(&self) -> bool {
        super::cost::Document::parse(self.document).is_ok_and(|d| d.mutation)
    }

    pub fn requested_cost(&self, variables: &serde_json::Value) -> u64 {
        // Every document parses: a test sends each one to the dev shop, which parses it too.
        super::cost::Document::parse(self.document).map_or(super::cost::MAX_COST, |d| d.requested(variables))
    }
}

macro_rules! operation {
    ($const:ident, $name:literal) => {
        pub const $const: Operation =
            Operation { name: $name, document: include_str!(concat!("ops/", $name, ".graphql")) };
    };
}

operation!(PRODUCT_VARIANT_ITEM, "ProductVariantItem");
operation!(TAGS_ADD, "TagsAdd");
operation!(TAGS_REMOVE, "TagsRemove");
operation!(VARIANTS_POLICY, "VariantsPolicy");
operation!(ETA_METAFIELDS, "EtaMetafields");
operation!(ETA_METAFIELDS_DELETE, "EtaMetafieldsDelete");
operation!(ORDER_FULFILLMENT_ORDERS, "OrderFulfillmentOrders");
operation!(FULFILLMENT_ORDER_LINE_ITEMS, "FulfillmentOrderLineItems");
operation!(FULFILLMENT_ORDER_HOLD, "FulfillmentOrderHold");
operation!(FULFILLMENT_ORDER_RELEASE_HOLD, "FulfillmentOrderReleaseHold");
operation!(INVENTORY_ITEM_LEVELS, "InventoryItemLevels");
operation!(OPEN_ORDERS, "OpenOrders");
operation!(ORDER_STATE, "OrderState");
operation!(ORDER_LINE_ITEMS, "OrderLineItems");
operation!(WEBHOOK_SUBSCRIPTION_CREATE, "WebhookSubscriptionCreate");
operation!(SHOP_ID, "ShopId");
operation!(ORDER_TAGS, "OrderTags");
operation!(SHOP_TIMEZONE, "ShopTimezone");
operation!(ORDERS_COUNT, "OrdersCount");
operation!(BULK_RUN_QUERY, "BulkRunQuery");
operation!(BULK_OPERATION, "BulkOperation");
operation!(PRODUCT_VARIANT_IDS, "ProductVariantIds");
operation!(PRODUCT_VARIANT_SEARCH, "ProductVariantSearch");
operation!(LOCATIONS, "Locations");
operation!(INCOMING_TRANSFERS, "IncomingTransfers");
operation!(INVENTORY_SHIPMENT_LINES, "InventoryShipmentLines");
operation!(INVENTORY_TRANSFER_ITEMS, "InventoryTransferItems");
operation!(CONSOLATION_CODE, "ConsolationCode");
operation!(DISCOUNT_CODE_BASIC_CREATE, "DiscountCodeBasicCreate");
operation!(DISCOUNT_CODE_FREE_SHIPPING_CREATE, "DiscountCodeFreeShippingCreate");

pub const ALL: [Operation; 30] = [
    PRODUCT_VARIANT_ITEM,
    TAGS_ADD,
    TAGS_REMOVE,
    VARIANTS_POLICY,
    ETA_METAFIELDS,
    ETA_METAFIELDS_DELETE,
    ORDER_FULFILLMENT_ORDERS,
    FULFILLMENT_ORDER_LINE_ITEMS,
    FULFILLMENT_ORDER_HOLD,
    FULFILLMENT_ORDER_RELEASE_HOLD,
    INVENTORY_ITEM_LEVELS,
    OPEN_ORDERS,
    ORDER_STATE,
    ORDER_LINE_ITEMS,
    WEBHOOK_SUBSCRIPTION_CREATE,
    SHOP_ID,
    ORDER_TAGS,
    SHOP_TIMEZONE,
    ORDERS_COUNT,
    BULK_RUN_QUERY,
    BULK_OPERATION,
    PRODUCT_VARIANT_IDS,
    PRODUCT_VARIANT_SEARCH,
    LOCATIONS,
    INCOMING_TRANSFERS,
    INVENTORY_SHIPMENT_LINES,
    INVENTORY_TRANSFER_ITEMS,
    CONSOLATION_CODE,
    DISCOUNT_CODE_BASIC_CREATE,
    DISCOUNT_CODE_FREE_SHIPPING_CREATE,
];

/// The queries run as bulk operations (`BulkRunQuery`'s `query`): validated against the schema
/// like the operations, never sent as a query of their own.
pub const BULK_OPEN_ORDERS: Operation =
    Operation { name: "BulkOpenOrders", document: include_str!("ops/bulk/OpenOrders.graphql") };

/// Every order since `{SINCE}` with its line items' quantities (`platform::history`).
pub const BULK_ORDER_HISTORY: Operation =
    Operation { name: "BulkOrderHistory", document: include_str!("ops/bulk/OrderHistory.graphql") };

pub const BULK_QUERIES: [Operation; 2] = [BULK_OPEN_ORDERS, BULK_ORDER_HISTORY];
