//! A variant's effects: its inventory policy (`CONTINUE` while it may be sold on backorder),
//! sent one call per product for all of the product's changed variants.

use std::collections::BTreeMap;

use serde_json::json;

use super::{Ctx, EffectError};
use crate::ledger::records::{VariantRecord, decode};
use crate::platform::ops::VARIANTS_POLICY;
use crate::platform::reads::variant_info;
use crate::store::{Record, Store};

/// What a managed variant's policy should be, with its product if the ledger knows it.
pub async fn desired(
    store: &dyn Store,
    shop: &str,
    variant: u64,
) -> Result<Option<(Option<u64>, &'static str)>, EffectError> {
    let bytes = store.ledger_get(shop, &[Record::Variant(variant)]).await?.remove(0);
    let Some(record) = decode::<VariantRecord>(bytes.as_deref())? else { return Ok(None) };
    Ok(Some((record.product_id, record.settings.policy(record.header.backordered()))))
}

/// Sends the policies, grouped by product. A variant whose product the ledger does not know yet
/// is looked up on the platform first.
pub async fn apply(ctx: &Ctx<'_>, changes: &[(u64, Option<u64>, &'static str)]) -> Result<(), EffectError> {
    let mut by_product: BTreeMap<u64, Vec<(u64, &'static str)>> = BTreeMap::new();
    for (variant, product, policy) in changes {
        let product = match product {
            Some(p) => *p,
            None => match variant_info(ctx.platform, ctx.shop, ctx.token, *variant).await? {
                Some(info) => info.product_id,
                None => {
                    tracing::warn!(
                        shop = ctx.shop,
                        variant,
                        "effects: the platform has no such variant; policy not set"
                    );
                    continue;
                }
            },
        };
        by_product.entry(product).or_default().push((*variant, policy));
    }
    for (product, variants) in by_product {
        let inputs: Vec<_> = variants
            .iter()
            .map(|(v, policy)| json!({"id": format!("gid://shopify/ProductVariant/{v}"), "inventoryPolicy": policy}))
            .collect();
        ctx.call(
            &VARIANTS_POLICY,
            json!({"productId": format!("gid://shopify/Product/{product}"), "variants": inputs}),
        )
        .await?;
    }
    Ok(())
}
