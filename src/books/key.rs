//! Typed names of the shop's records: each key knows the record it names and the type stored
//! there, so a read cannot decode a record as the wrong thing. The ledger's own records are
//! named here; a module that owns a record of its own (the outboxes, the applied effects, the
//! install) names it next to its type with [`record_key!`].

use std::collections::BTreeSet;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ledger::input::{self, LevelState};
use crate::ledger::records::{ItemRecord, VariantRecord};
use crate::ledger::rules::{OrderRecord, ShopRules};
use crate::shop::ShopSettings;
use crate::store::Record;

/// A record of a shop and the type of its value.
pub trait Key: Copy + Send + Sync {
    type Value: Serialize + DeserializeOwned + Send;
    fn record(&self) -> Record;
}

/// Declares a key type: `record_key!(Name => Value, Record::Variant)` for a shop-wide record,
/// `record_key!(Name(u64) => Value, Record::Variant)` for one per id.
#[macro_export]
macro_rules! record_key {
    ($(#[$doc:meta])* $name:ident => $value:ty, $record:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name;
        impl $crate::books::Key for $name {
            type Value = $value;
            fn record(&self) -> $crate::store::Record {
                $record
            }
        }
    };
    ($(#[$doc:meta])* $name:ident(u64) => $value:ty, $record:path) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name(pub u64);
        impl $crate::books::Key for $name {
            type Value = $value;
            fn record(&self) -> $crate::store::Record {
                $record(self.0)
            }
        }
    };
}

record_key!(
    /// The settings the rules read (priority map, counted locations).
    Rules => ShopRules, Record::Rules
);
record_key!(
    /// The shop's settings the rules do not read (tags, holds, timings, emails).
    Settings => ShopSettings, Record::Settings
);
record_key!(
    /// Every managed variant of the shop.
    Variants => BTreeSet<u64>, Record::Variants
);
record_key!(Order(u64) => OrderRecord, Record::Order);
record_key!(Variant(u64) => VariantRecord, Record::Variant);
record_key!(Item(u64) => ItemRecord, Record::Item);
record_key!(
    /// Whom an order's emails go to: the personal data `customers/redact` erases.
    Contact(u64) => input::Contact, Record::Contact
);
record_key!(
    /// When the customer asked, on the status page, to cancel the order.
    CancelRequest(u64) => u64, Record::CancelRequest
);

/// The latest level of an inventory item at a location.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level {
    pub item: u64,
    pub location: u64,
}

impl Key for Level {
    type Value = LevelState;
    fn record(&self) -> Record {
        Record::Level { item: self.item, location: self.location }
    }
}

/// One month (`yyyymm`) of a variant's daily record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Daily {
    pub variant: u64,
    pub month: u32,
}

impl Key for Daily {
    type Value = crate::ledger::daily::Month;
    fn record(&self) -> Record {
        Record::Daily { variant: self.variant, month: self.month }
    }
}
