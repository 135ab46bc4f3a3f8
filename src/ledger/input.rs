//! Shopify webhook bodies turned into the plain data the ledger rules take. Only the fields the
//! ledger needs are read; everything else in the payload is ignored. Ids are read as integers,
//! never through floating point (they exceed 2^53).

use serde::Deserialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("body is not the expected JSON: {0}")]
    Shape(String),
    #[error("`{field}` is not an RFC 3339 timestamp: {value:?}")]
    Timestamp { field: &'static str, value: String },
    #[error("`available` is {0}, beyond any real quantity (at most ±{MAX_QUANTITY})")]
    Quantity(i64),
}

/// Far beyond any quantity the platform allows (it caps them at 10⁹), and small enough that
/// sums over millions of locations and lines never overflow `i64` (L9).
pub const MAX_QUANTITY: i64 = 1_000_000_000_000;

/// How recent a state is. `updated_at` has whole seconds only, and a flash sale changes a level
/// several times a second, so the delivery's `X-Shopify-Triggered-At` (nanoseconds) breaks ties;
/// a digest of the state itself breaks any that remain, so every arrival order resolves alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct Version {
    pub updated_at_ms: i64,
    pub triggered_at_ns: i64,
    pub digest: u64,
}

impl Version {
    fn new(updated_at_ms: i64, triggered_at: Option<&str>, digest: u64) -> Self {
        let triggered_at_ns = triggered_at
            .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
            .map_or(0, |t| t.unix_timestamp_nanos().clamp(0, i128::from(i64::MAX)) as i64);
        Self { updated_at_ms, triggered_at_ns, digest }
    }
}

/// The latest known state of one order, as far as the ledger cares.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OrderState {
    pub order_id: u64,
    pub name: String,
    pub created_at_ms: i64,
    pub version: Version,
    pub customer_tags: Vec<String>,
    pub lines: Vec<OrderLine>,
    /// Cancelled: its open units went away without shipping (fulfillments are counted apart).
    #[serde(default)]
    pub cancelled: bool,
    /// Whom to tell and what to call the lines: personal data, kept apart from the ledger's
    /// records (and out of the version digest) so redaction never touches the books.
    #[serde(default)]
    pub contact: Contact,
}

/// What the emails need of an order besides the ledger: personal data, stored on its own
/// (`Record::Contact`) so `customers/redact` can erase it and leave the counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Contact {
    pub email: Option<String>,
    pub customer_id: Option<u64>,
    pub first_name: Option<String>,
    /// Line id → what the customer bought, as the order names it (`Product - Variant`).
    pub titles: std::collections::BTreeMap<u64, String>,
}

impl Contact {
    pub fn is_empty(&self) -> bool {
        self.email.is_none() && self.customer_id.is_none() && self.titles.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OrderLine {
    pub line_id: u64,
    pub variant_id: Option<u64>,
    /// `fulfillable_quantity`, or 0 once the order is cancelled or closed.
    pub open_qty: u32,
    /// Units the line has taken from `available` for good (SPEC 6): `current_quantity` plus
    /// units refunded without restock. An order, a cancellation with or without restock, a
    /// restocked return or an edit moves `available` and this in opposite directions, so only
    /// arriving stock moves their sum. `None` where the source does not say (a platform read,
    /// whose order query carries no refunds): no change is counted from or to an unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taken: Option<u32>,
}

/// The latest `available` of one inventory item at one location.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LevelState {
    pub inventory_item_id: u64,
    pub location_id: u64,
    /// `None` when the item is not tracked at the location.
    pub available: Option<i64>,
    pub version: Version,
}

/// A variant as `products/update` describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VariantInfo {
    pub variant_id: u64,
    pub product_id: u64,
    pub inventory_item_id: Option<u64>,
    pub title: String,
    /// Its product options (`Size` → `M`), for the board of what is in demand; empty when the
    /// product has only Shopify's default option.
    pub options: Vec<(String, String)>,
}

#[derive(Deserialize)]
struct RawOrder {
    id: u64,
    #[serde(default)]
    name: String,
    created_at: String,
    updated_at: String,
    #[serde(default)]
    cancelled_at: Option<String>,
    #[serde(default)]
    closed_at: Option<String>,
    #[serde(default)]
    customer: Option<RawCustomer>,
    #[serde(default)]
    line_items: Vec<RawLine>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    contact_email: Option<String>,
    #[serde(default)]
    refunds: Vec<RawRefund>,
}

#[derive(Deserialize)]
struct RawRefund {
    #[serde(default)]
    refund_line_items: Vec<RawRefundLine>,
}

#[derive(Deserialize)]
struct RawRefundLine {
    line_item_id: u64,
    #[serde(default)]
    quantity: i64,
    /// `no_restock`, `cancel`, `return` or `legacy_restock`.
    #[serde(default)]
    restock_type: Option<String>,
}

#[derive(Deserialize)]
struct RawCustomer {
    #[serde(default)]
    id: Option<u64>,
    #[serde(default)]
    tags: Option<String>,
    #[serde(default)]
    first_name: Option<String>,
}

#[derive(Deserialize)]
struct RawLine {
    id: u64,
    #[serde(default)]
    variant_id: Option<u64>,
    #[serde(default)]
    fulfillable_quantity: Option<i64>,
    #[serde(default)]
    current_quantity: Option<i64>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    title: Option<String>,
}

#[derive(Deserialize)]
struct RawLevel {
    inventory_item_id: u64,
    location_id: u64,
    #[serde(default)]
    available: Option<i64>,
    updated_at: String,
}

#[derive(Deserialize)]
struct RawProduct {
    id: u64,
    #[serde(default)]
    title: String,
    #[serde(default)]
    options: Vec<RawOption>,
    #[serde(default)]
    updated_at: Option<String>,
    #[serde(default)]
    variants: Vec<RawVariant>,
}

#[derive(Deserialize)]
struct RawOption {
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct RawVariant {
    id: u64,
    #[serde(default)]
    option1: Option<String>,
    #[serde(default)]
    option2: Option<String>,
    #[serde(default)]
    option3: Option<String>,
    #[serde(default)]
    inventory_item_id: Option<u64>,
    #[serde(default)]
    title: String,
    #[serde(default)]
    inventory_policy: Option<String>,
}

fn shape(e: serde_json::Error) -> InputError {
    InputError::Shape(e.to_string())
}

/// A timestamp as the Admin API writes it: UTC, whole seconds (`2026-03-14T16:27:41Z`).
pub fn admin_time(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .format(&Rfc3339)
        .unwrap_or_default()
}

pub fn timestamp_ms(field: &'static str, value: &str) -> Result<i64, InputError> {
    OffsetDateTime::parse(value, &Rfc3339)
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
        .map_err(|_| InputError::Timestamp { field, value: value.chars().take(64).collect() })
}

fn digest(parts: &impl serde::Serialize) -> u64 {
    let bytes = serde_json::to_vec(parts).expect("plain data serializes");
    let hash = Sha256::digest(&bytes);
    u64::from_be_bytes(hash[..8].try_into().expect("8 bytes"))
}

/// Where a state read from the platform sorts among the webhooks of its second. `updatedAt` has
/// whole seconds; the read reflects every change made before it was asked for (`asked_at_ms`,
/// our clock), and none after. So it sorts after the webhooks of changes made before the ask
/// (a late one does not undo a repair) and before those of changes made after it in the same
/// second (which are newer, and applied).
fn read_at_ns(updated_at_ms: i64, asked_at_ms: i64) -> i64 {
    let start = updated_at_ms.div_euclid(1000).saturating_mul(1_000_000_000);
    asked_at_ms.saturating_mul(1_000_000).clamp(start, end_of_second_ns(updated_at_ms))
}

impl OrderState {
    /// A state read from the platform (reconciliation) rather than a webhook, asked for at
    /// `asked_at_ms`: see [`read_at_ns`].
    #[allow(clippy::too_many_arguments)]
    pub fn from_platform(
        order_id: u64,
        name: String,
        created_at_ms: i64,
        updated_at_ms: i64,
        mut customer_tags: Vec<String>,
        lines: Vec<OrderLine>,
        cancelled: bool,
        asked_at_ms: i64,
    ) -> Self {
        customer_tags.sort();
        customer_tags.dedup();
        let digest = digest(&(&name, created_at_ms, &customer_tags, &lines));
        let version = Version { updated_at_ms, triggered_at_ns: read_at_ns(updated_at_ms, asked_at_ms), digest };
        Self { order_id, name, created_at_ms, version, customer_tags, lines, cancelled, contact: Contact::default() }
    }
}

impl LevelState {
    /// A level read from the platform (reconciliation) asked for at `asked_at_ms`; see
    /// [`read_at_ns`].
    pub fn from_platform(
        inventory_item_id: u64,
        location_id: u64,
        available: Option<i64>,
        updated_at_ms: i64,
        asked_at_ms: i64,
    ) -> Self {
        let version = Version { updated_at_ms, triggered_at_ns: read_at_ns(updated_at_ms, asked_at_ms), digest: 0 };
        let available = available.map(|n| n.clamp(-MAX_QUANTITY, MAX_QUANTITY));
        Self { inventory_item_id, location_id, available, version }
    }
}

/// The last nanosecond of the second holding `ms`.
fn end_of_second_ns(ms: i64) -> i64 {
    (ms.div_euclid(1000) * 1000 + 999).saturating_mul(1_000_000).saturating_add(999_999)
}

/// `orders/create`, `orders/updated`, `orders/cancelled` and `orders/fulfilled` all carry the
/// whole order. `triggered_at` is the delivery's `X-Shopify-Triggered-At`.
pub fn parse_order(body: &[u8], triggered_at: Option<&str>) -> Result<OrderState, InputError> {
    let raw: RawOrder = serde_json::from_slice(body).map_err(shape)?;
    let created_at_ms = timestamp_ms("created_at", &raw.created_at)?;
    let updated_at_ms = timestamp_ms("updated_at", &raw.updated_at)?;
    let closed = raw.cancelled_at.is_some() || raw.closed_at.is_some();
    let quantity = |q: i64| q.clamp(0, i64::from(u32::MAX)) as u32;
    // Units refunded without going back on sale, per line. A refund line that does not say
    // how it was restocked counts as restocked: a unit wrongly thought back on sale makes a
    // later arrival count short (a later date), never consume supply that has not come.
    let mut unrestocked: std::collections::BTreeMap<u64, i64> = std::collections::BTreeMap::new();
    for r in raw.refunds.iter().flat_map(|r| &r.refund_line_items) {
        if r.restock_type.as_deref() == Some("no_restock") {
            let units = unrestocked.entry(r.line_item_id).or_insert(0);
            *units = units.saturating_add(r.quantity.clamp(0, MAX_QUANTITY));
        }
    }
    let lines: Vec<OrderLine> = raw
        .line_items
        .iter()
        .map(|l| OrderLine {
            line_id: l.id,
            variant_id: l.variant_id,
            open_qty: if closed { 0 } else { quantity(l.fulfillable_quantity.unwrap_or(0)) },
            taken: l.current_quantity.map(|q| {
                quantity(q.clamp(0, MAX_QUANTITY).saturating_add(unrestocked.get(&l.id).copied().unwrap_or(0)))
            }),
        })
        .collect();
    let nonempty = |s: Option<String>| s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let contact = Contact {
        email: nonempty(raw.email).or(nonempty(raw.contact_email)),
        customer_id: raw.customer.as_ref().and_then(|c| c.id),
        first_name: nonempty(raw.customer.as_ref().and_then(|c| c.first_name.clone())),
        titles: raw
            .line_items
            .iter()
            .filter_map(|l| Some((l.id, nonempty(l.name.clone()).or(nonempty(l.title.clone()))?)))
            .collect(),
    };
    let mut customer_tags: Vec<String> = raw
        .customer
        .and_then(|c| c.tags)
        .unwrap_or_default()
        .split(',')
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
    customer_tags.sort();
    customer_tags.dedup();
    let digest = digest(&(&raw.name, created_at_ms, &customer_tags, &lines));
    Ok(OrderState {
        order_id: raw.id,
        name: raw.name,
        created_at_ms,
        version: Version::new(updated_at_ms, triggered_at, digest),
        customer_tags,
        lines,
        cancelled: raw.cancelled_at.is_some(),
        contact,
    })
}

pub fn parse_level(body: &[u8], triggered_at: Option<&str>) -> Result<LevelState, InputError> {
    let raw: RawLevel = serde_json::from_slice(body).map_err(shape)?;
    let updated_at_ms = timestamp_ms("updated_at", &raw.updated_at)?;
    if let Some(n) = raw.available.filter(|n| n.unsigned_abs() > MAX_QUANTITY as u64) {
        return Err(InputError::Quantity(n));
    }
    Ok(LevelState {
        inventory_item_id: raw.inventory_item_id,
        location_id: raw.location_id,
        available: raw.available,
        version: Version::new(updated_at_ms, triggered_at, digest(&raw.available)),
    })
}

/// The inventory policy a variant has on the platform as of a `products/update`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySeen {
    pub variant_id: u64,
    /// `CONTINUE` or `DENY`.
    pub policy: String,
    /// The product's `updated_at`.
    pub at_ms: i64,
}

/// The variants' inventory policies a `products/update` carries (those it names as `continue`
/// or `deny`), with the product's `updated_at`; none without one.
pub fn product_policies(body: &[u8]) -> Result<Vec<PolicySeen>, InputError> {
    let raw: RawProduct = serde_json::from_slice(body).map_err(shape)?;
    let Some(at) = raw.updated_at.as_deref() else { return Ok(Vec::new()) };
    let at_ms = timestamp_ms("updated_at", at)?;
    Ok(raw
        .variants
        .into_iter()
        .filter_map(|v| {
            let policy = v.inventory_policy?.to_ascii_uppercase();
            matches!(policy.as_str(), "CONTINUE" | "DENY").then_some(PolicySeen { variant_id: v.id, policy, at_ms })
        })
        .collect())
}

/// Shopify's option of a product without options (`Title` = `Default Title`).
pub fn is_default_option(name: &str, value: &str) -> bool {
    name == "Title" && value == "Default Title"
}

pub fn parse_product(body: &[u8]) -> Result<Vec<VariantInfo>, InputError> {
    let raw: RawProduct = serde_json::from_slice(body).map_err(shape)?;
    Ok(raw
        .variants
        .into_iter()
        .map(|v| VariantInfo {
            variant_id: v.id,
            product_id: raw.id,
            inventory_item_id: v.inventory_item_id,
            title: if v.title.is_empty() || v.title == "Default Title" {
                raw.title.clone()
            } else {
                format!("{} - {}", raw.title, v.title)
            },
            options: raw
                .options
                .iter()
                .zip([v.option1, v.option2, v.option3])
                .filter_map(|(o, value)| Some((o.name.clone(), value?)))
                .filter(|(name, value)| !name.is_empty() && !is_default_option(name, value))
                .collect(),
        })
        .collect())
}

#[cfg(test)]
mod tests;
