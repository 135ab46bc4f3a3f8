//! Reads of platform state the ledger needs, turned into the ledger's plain types.

use serde_json::{Value, json};

use super::ops::PRODUCT_VARIANT_ITEM;
use super::{AdminClient, PlatformError};
use crate::ledger::input::VariantInfo;
use crate::secret::Secret;

/// The number at the end of a GID (`gid://shopify/InventoryItem/42` → 42).
pub fn gid_number(v: &Value) -> Option<u64> {
    v.as_str()?.strip_prefix("gid://shopify/")?.rsplit('/').next()?.parse().ok()
}

/// The variant's product and inventory item; `None` when the platform has no such variant.
pub async fn variant_info(
    client: &AdminClient,
    shop: &str,
    token: &Secret,
    variant: u64,
) -> Result<Option<VariantInfo>, PlatformError> {
    let vars = json!({"id": format!("gid://shopify/ProductVariant/{variant}")});
    let data = client.call(shop, token, &PRODUCT_VARIANT_ITEM, vars).await?;
    let v = &data["productVariant"];
    if v.is_null() {
        return Ok(None);
    }
    let malformed =
        |what: &str| PlatformError::Malformed { operation: PRODUCT_VARIANT_ITEM.name, message: format!("no {what}") };
    Ok(Some(VariantInfo {
        variant_id: variant,
        product_id: gid_number(&v["product"]["id"]).ok_or_else(|| malformed("product id"))?,
        inventory_item_id: Some(gid_number(&v["inventoryItem"]["id"]).ok_or_else(|| malformed("inventory item id"))?),
        title: String::new(),
    }))
}
