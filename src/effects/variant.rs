//! A variant's effects: its inventory policy (`CONTINUE` while it may be sold on backorder),
//! sent one call per product for all of the product's changed variants, and the
//! `$app.backorder_eta` metafield (the date a new order would get), 25 per call.

use std::collections::BTreeMap;

use serde_json::json;

use super::desired::Restore;
use super::{Ctx, EffectError};
use crate::books::{Books, key};
use crate::ledger::eta;
use crate::ledger::records::VariantRecord;
use crate::platform::ops::{ETA_METAFIELDS, ETA_METAFIELDS_DELETE, VARIANTS_POLICY};
use crate::platform::reads::variant_info;
use crate::store::Record;

/// What the platform should show for a managed variant.
pub struct Desired {
    /// Its product, if the ledger knows it.
    pub product: Option<u64>,
    pub policy: &'static str,
    /// The ETA a new order would get (SPEC 6), for the `backorder_eta` metafield.
    pub eta: Option<String>,
    /// What the waiting lines' ETAs derive from, digested.
    pub eta_inputs: u64,
}

/// Whether the variant's platform batches must be read again before an arrival is measured:
/// its stock rose above the mark and it has some. A shipment's receipt raises the mark by its
/// units as it is read, so they consume no merchant batch, whichever webhook came first (SPEC 6).
pub fn awaits_platform_read(record: &VariantRecord) -> bool {
    let rose = record.settings.supply_mark.is_some_and(|mark| eta::stock_position(record) > mark);
    rose && record.settings.supply.iter().any(|b| b.is_platform())
}

/// A digest of the settings every waiting line's ETA derives from.
fn eta_inputs(record: &VariantRecord) -> u64 {
    use sha2::Digest;
    let s = &record.settings;
    let bytes = serde_json::to_vec(&(&s.supply, s.lead_time_days, s.handling_days)).expect("plain data serializes");
    u64::from_be_bytes(sha2::Sha256::digest(&bytes)[..8].try_into().expect("8 bytes"))
}

/// Supply consumed by arrivals, then what the platform should show. Consumption happens here,
/// once the variant's state has held for the settle time, and not in the webhook path: webhooks
/// arrive out of order (an order before its level update, a restock before its cancellation),
/// and the stock position `S` peaks for a moment in between; a settled `S` is a real arrival.
pub async fn read(
    books: &Books,
    shop: &str,
    variant: u64,
    today: time::Date,
    platform_read: bool,
) -> Result<Option<(Desired, VariantRecord)>, EffectError> {
    let reads = books.read(shop, &[Record::Variant(variant)]).await?;
    let Some(mut record) = reads.get(key::Variant(variant))? else { return Ok(None) };
    let before = record.settings.clone();
    // Not before its platform batches are read again, when it has any (`platform_read`).
    if platform_read || !awaits_platform_read(&record) {
        eta::consume_arrivals(&mut record, crate::store::now_ms() as i64);
    }
    // A conflict means the book moved meanwhile: its new mark brings the variant back here.
    if record.settings != before && !books.commit(shop, reads.change().put(key::Variant(variant), &record)).await? {
        return Ok(None);
    }
    let desired = Desired {
        product: record.product_id,
        policy: record.settings.policy(record.header.backordered()),
        eta: eta::new_order_eta(&record, today).map(eta::format),
        eta_inputs: eta_inputs(&record),
    };
    Ok(Some((desired, record)))
}

/// `metafieldsSet` takes at most 25 metafields per call.
const METAFIELDS_PER_CALL: usize = 25;

/// What of a batch of variant changes went through, by variant: recorded even when a later call
/// of the batch fails, so the next pass does not send it again.
#[derive(Debug, Default)]
pub struct Sent {
    pub policies: std::collections::BTreeSet<u64>,
    pub etas: std::collections::BTreeSet<u64>,
}

/// After a pass that failed, perhaps with a reply lost after the platform applied a change: the
/// variant's policy and ETA metafield as the platform has them.
pub async fn on_platform(ctx: &Ctx<'_>, variant: u64) -> Result<Option<(String, Option<String>)>, EffectError> {
    Ok(crate::platform::reads::variant_effects(ctx.platform, ctx.shop, ctx.token, variant).await?)
}

/// Sends the policies, grouped by product, then the ETA metafields in batches of 25, noting in
/// `sent` each change as its call goes through. A variant whose product the ledger does not know
/// yet is looked up on the platform first.
pub async fn apply(
    ctx: &Ctx<'_>,
    changes: &[(u64, Option<u64>, &'static str)],
    etas: &[(u64, String)],
    sent: &mut Sent,
) -> Result<(), EffectError> {
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
        sent.policies.extend(variants.iter().map(|(v, _)| *v));
    }
    for batch in etas.chunks(METAFIELDS_PER_CALL) {
        let metafields: Vec<_> = batch
            .iter()
            .map(|(v, eta)| {
                json!({"ownerId": format!("gid://shopify/ProductVariant/{v}"), "namespace": "$app",
                       "key": "backorder_eta", "type": "date", "value": eta})
            })
            .collect();
        ctx.call(&ETA_METAFIELDS, json!({"metafields": metafields})).await?;
        sent.etas.extend(batch.iter().map(|(v, _)| *v));
    }
    Ok(())
}

/// Gives unenrolled variants (`id`, what to give back, whether we set a date on it) their
/// policy from before, one call per product, and deletes our dates, 25 per call. Both calls
/// set a state, so sending them again after a lost reply does no harm.
pub async fn restore(ctx: &Ctx<'_>, variants: &[(u64, Restore, bool)]) -> Result<(), EffectError> {
    let policies: Vec<(u64, Option<u64>, &'static str)> = variants
        .iter()
        .filter_map(|(id, r, _)| {
            let policy = match r.policy.as_deref()? {
                "CONTINUE" => "CONTINUE",
                _ => "DENY",
            };
            Some((*id, r.product, policy))
        })
        .collect();
    apply(ctx, &policies, &[], &mut Sent::default()).await?;
    let dated: Vec<u64> = variants.iter().filter(|(_, _, dated)| *dated).map(|(id, ..)| *id).collect();
    for batch in dated.chunks(METAFIELDS_PER_CALL) {
        let metafields: Vec<_> = batch
            .iter()
            .map(|v| json!({"ownerId": format!("gid://shopify/ProductVariant/{v}"), "namespace": "$app", "key": "backorder_eta"}))
            .collect();
        ctx.call(&ETA_METAFIELDS_DELETE, json!({"metafields": metafields})).await?;
    }
    Ok(())
}
