//! The access scopes the features need, and no more (`shopify.app.toml` lists the same, a test
//! keeps them in step). Worked out from the operations in `platform/ops`:
//! - `write_orders`: `tagsAdd`/`tagsRemove` on orders; reading orders and their webhooks;
//! - `read_customers`: the customer's tags an order is ranked by (`customer { tags }`);
//! - `write_products`: `productVariantsBulkUpdate` (inventory policy) and `metafieldsSet` on variants;
//! - `read_inventory`: inventory levels and `inventory_levels/update`;
//! - `write_merchant_managed_fulfillment_orders`: holds on the shop's own fulfillment orders;
//! - optional, `read_inventory_transfers` and `read_inventory_shipments`: expected supply;
//! - optional, `write_discounts`: the consolation codes (SPEC 10.3).

/// Scopes of features a shop can do without (SPEC 10.2: expected supply from transfers and
/// shipments; SPEC 10.3: consolation codes). Asked for at install; a shop that has not granted them keeps working, and the
/// app asks the merchant for them.
pub const OPTIONAL: [&str; 3] = ["read_inventory_shipments", "read_inventory_transfers", "write_discounts"];

pub const REQUIRED: [&str; 5] =
    ["read_customers", "read_inventory", "write_merchant_managed_fulfillment_orders", "write_orders", "write_products"];

/// The required scopes `granted` lacks. A `write_` scope includes its `read_` scope.
pub fn missing(granted: &[String]) -> Vec<&'static str> {
    let has = |scope: &str| {
        granted.iter().any(|g| g == scope)
            || scope.strip_prefix("read_").is_some_and(|rest| granted.iter().any(|g| *g == format!("write_{rest}")))
    };
    REQUIRED.into_iter().filter(|s| !has(s)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_scope_covers_its_read_scope() {
        let granted: Vec<String> = REQUIRED.iter().map(|s| s.replace("read_", "write_")).collect();
        assert!(missing(&granted).is_empty());
        assert_eq!(missing(&["write_orders".to_string()]).len(), 4);
    }
}
