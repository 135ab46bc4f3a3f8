//! The ledger's records as stored: plain serde data, encoded as JSON bytes.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize, de::DeserializeOwned};

use super::Header;

/// A managed variant: what the merchant set and where its book stands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantRecord {
    pub inventory_item_id: Option<u64>,
    pub header: Header,
}

/// The managed variants an inventory item backs (usually one).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemRecord {
    pub variants: BTreeSet<u64>,
    /// Raised by every level change of the item, so that recounting a variant's stock from the
    /// item's levels conflicts with a level change committed meanwhile.
    #[serde(default)]
    pub levels_rev: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("stored ledger record is unreadable: {0}")]
pub struct RecordError(String);

pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("ledger records serialize")
}

pub fn decode<T: DeserializeOwned>(bytes: Option<&[u8]>) -> Result<Option<T>, RecordError> {
    bytes.map(|b| serde_json::from_slice(b).map_err(|e| RecordError(e.to_string()))).transpose()
}
