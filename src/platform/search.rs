//! The catalogue search of the merchant's app: variants whose title or SKU match the merchant's
//! words, one request (`ProductVariantSearch`, 27 points), for the variants page to enrol from.

use serde::Serialize;
use serde_json::json;

use super::ops::PRODUCT_VARIANT_SEARCH;
use super::reads::gid_number;
use super::{AdminClient, PlatformError};
use crate::secret::Secret;

/// Most words of a search sent on: more narrows nothing a merchant means.
const MAX_LEN: usize = 200;

/// A variant the search found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Found {
    pub variant_id: u64,
    pub name: String,
    pub sku: String,
    /// Units in stock over all locations, as the platform counts them.
    pub quantity: i64,
}

/// The first variants matching `words` (their title or SKU). Quotes, colons and backslashes are
/// dropped, so the merchant's words are words and never the search syntax's filters.
pub async fn variants(
    client: &AdminClient,
    shop: &str,
    token: &Secret,
    words: &str,
) -> Result<Vec<Found>, PlatformError> {
    let query: String =
        words.chars().filter(|c| !matches!(c, '"' | '\'' | ':' | '\\' | '(' | ')')).take(MAX_LEN).collect();
    let data = client.call(shop, token, &PRODUCT_VARIANT_SEARCH, json!({"query": query.trim()})).await?;
    let nodes = data["productVariants"]["nodes"].as_array().cloned().unwrap_or_default();
    Ok(nodes
        .iter()
        .filter_map(|n| {
            Some(Found {
                variant_id: gid_number(&n["id"])?,
                name: n["displayName"].as_str().unwrap_or_default().to_string(),
                sku: n["sku"].as_str().unwrap_or_default().to_string(),
                quantity: n["inventoryQuantity"].as_i64().unwrap_or_default(),
            })
        })
        .collect())
}
