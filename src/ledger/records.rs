//! The ledger's records as stored: plain serde data, encoded as JSON bytes.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize, de::DeserializeOwned};

use super::Header;

/// A managed variant: what the merchant set and where its book stands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantRecord {
    pub inventory_item_id: Option<u64>,
    /// The variant's product: policy changes go out one call per product.
    #[serde(default)]
    pub product_id: Option<u64>,
    pub header: Header,
    #[serde(default)]
    pub settings: VariantSettings,
    /// Units fulfilled since enrolment: the stock position of the first supply rule, no longer
    /// maintained (records written before [`SUPPLY_RULE`] 1 still carry it).
    #[serde(default)]
    pub fulfilled: u64,
    /// Units the lines of its orders have taken from `available` for good, counted since
    /// `counted_since_ms` (SPEC 6): with the stock, the supply position (`ledger::eta`).
    #[serde(default)]
    pub taken: i64,
    /// When the count of `taken` started (ms): orders placed before it are in the stock.
    #[serde(default)]
    pub counted_since_ms: i64,
    /// The rule the supply mark was measured by; a mark of an older rule is measured again.
    #[serde(default)]
    pub supply_rule: u8,
    /// The levels of its inventory item have been read (from the platform at enrolment, or from
    /// a level webhook): until then its stock is unknown, and the storefront shows no badge rather
    /// than a guess. Records written before this field knew their levels from webhooks.
    #[serde(default = "levels_were_read")]
    pub levels_read: bool,
    /// The inventory policy the variant had on the platform before it was enrolled (`CONTINUE`
    /// or `DENY`), given back when it is unenrolled; `None` when it could not be read.
    #[serde(default)]
    pub policy_before: Option<String>,
    /// The job reading the orders that were open when it was enrolled.
    #[serde(default)]
    pub onboarding_job: Option<u64>,
    /// Its name as the admin shows it ("Product - Variant"), from enrolment's read and from
    /// `products/update`; records written before it have none until one of those comes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// When its daily record started (ms): at enrolment, or for a record written before the
    /// daily record, at the first change of its book since (before, its days are unknown, not
    /// zero).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_since_ms: Option<i64>,
    /// Its product options (`Size` → `M`) as the platform last described it, for the board of
    /// what is in demand; empty for a product without options, and for records written before
    /// options were kept until enrolment's read or a `products/update` brings them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<(String, String)>,
    /// Days each of its latest receipts came after (negative: before) the date its batch was
    /// promised, the last [`LATENESS_KEPT`]: their spread is the spread of its lead times that
    /// the reorder advice adds (SPEC 10.1). Empty for records written before it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lateness_days: Vec<i32>,
    /// Its days before enrolment were read from the platform's order history (`backfill`).
    /// Records written before it read `false` and are filled at their next enrolment job.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub backfilled: bool,
}

/// Receipts whose lateness a variant keeps.
pub const LATENESS_KEPT: usize = 12;

impl VariantRecord {
    /// Keeps how late a batch promised for `promised` arrived on `arrived`.
    pub fn note_arrival(&mut self, promised: &str, arrived: time::Date) {
        if let Some(promised) = super::eta::parse(promised) {
            let late = (arrived - promised).whole_days().clamp(-3650, 3650) as i32;
            self.lateness_days.push(late);
            let over = self.lateness_days.len().saturating_sub(LATENESS_KEPT);
            self.lateness_days.drain(..over);
        }
    }

    /// The spread (sample standard deviation, days) of its receipts' lateness; `None` with
    /// fewer than two.
    pub fn lead_time_spread(&self) -> Option<f64> {
        let n = self.lateness_days.len();
        if n < 2 {
            return None;
        }
        let mean = self.lateness_days.iter().map(|d| f64::from(*d)).sum::<f64>() / n as f64;
        let sum: f64 = self.lateness_days.iter().map(|d| (f64::from(*d) - mean).powi(2)).sum();
        Some((sum / (n - 1) as f64).sqrt())
    }
}

/// The supply rule of this code: the position is `stock + taken`.
pub const SUPPLY_RULE: u8 = 1;

fn levels_were_read() -> bool {
    true
}

/// What the merchant sets for a variant (SPEC 3.3, `PUT /api/variants/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantSettings {
    pub enabled: bool,
    pub discontinued: bool,
    /// Most backordered units allowed; `None` = no cap.
    pub cap: Option<u64>,
    /// `fixed`, or `supply`: the cap is the total of the remaining supply.
    pub cap_mode: String,
    pub lead_time_days: Option<u32>,
    pub handling_days: u32,
    pub supply: Vec<SupplyBatch>,
    /// The highest stock position since the supply plan was set; arrivals above it consume
    /// the earliest batches. `None` until the plan is first set.
    #[serde(default)]
    pub supply_mark: Option<i64>,
}

/// Units expected to arrive (SPEC 6, 10.2): typed in by the merchant, or read from the
/// platform's inventory transfers and shipments. Records written before platform supply hold
/// merchant batches only, and read as such.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplyBatch {
    pub qty: u64,
    /// `YYYY-MM-DD`, the date in force: the merchant's, or for a platform batch the merchant's
    /// override, else the platform's. Empty: no date known, the units take the lead time.
    pub eta: String,
    #[serde(default)]
    pub source: Source,
    /// The platform's id of a platform batch: a shipment's or a transfer's GID, or
    /// [`INCOMING`] for incoming units no transfer explains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// What the merchant sees it as ("Transfer #T0004, shipment 1").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The platform's date (`tracking.arrivesAt`, as a day in the shop's zone), if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_eta: Option<String>,
    /// The merchant's date in place of the platform's: it stands until the platform's changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eta_override: Option<String>,
    /// Units of this shipment already accepted into stock: a rise of it explains a rise of
    /// `available`, which then consumes no merchant batch.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub received: u64,
}

/// The id of the platform batch of incoming units that no transfer explains.
pub const INCOMING: &str = "incoming";

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    #[default]
    Merchant,
    Platform,
}

impl SupplyBatch {
    /// A batch the merchant typed in.
    pub fn merchant(qty: u64, eta: &str) -> Self {
        Self { qty, eta: eta.into(), ..Self::default() }
    }

    pub fn is_platform(&self) -> bool {
        self.source == Source::Platform
    }
}

/// Dated batches by date, then the undated ones: the order in which arrivals fill the queue
/// (an undated batch takes the lead time, which the known dates come before).
pub fn sort_supply(supply: &mut [SupplyBatch]) {
    supply.sort_by(|a, b| (a.eta.is_empty(), &a.eta).cmp(&(b.eta.is_empty(), &b.eta)));
}

impl Default for VariantSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            discontinued: false,
            cap: None,
            cap_mode: "fixed".into(),
            lead_time_days: None,
            handling_days: 0,
            supply: Vec::new(),
            supply_mark: None,
        }
    }
}

impl VariantSettings {
    /// The cap in force: the fixed one, or the remaining supply.
    pub fn effective_cap(&self) -> Option<u64> {
        if self.cap_mode == "supply" { Some(self.supply.iter().map(|b| b.qty).sum()) } else { self.cap }
    }

    /// `CONTINUE` (keep selling) while enabled, not discontinued and under the cap.
    pub fn policy(&self, backordered: u64) -> &'static str {
        let under_cap = self.effective_cap().is_none_or(|cap| backordered < cap);
        if self.enabled && !self.discontinued && under_cap { "CONTINUE" } else { "DENY" }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A variant record as the version before onboarding wrote it: its levels came from
    /// webhooks, and no policy was recorded at enrolment.
    const BEFORE_ONBOARDING: &str = r#"{"inventory_item_id":42,"product_id":7,
        "header":{"units":3,"stock":-2,"boundary":null,"before":3},
        "settings":{"enabled":true,"discontinued":false,"cap":null,"cap_mode":"fixed",
                    "lead_time_days":10,"handling_days":0,"supply":[],"supply_mark":null},
        "fulfilled":1}"#;

    #[test]
    fn a_variant_written_before_onboarding_reads_with_its_levels_known_and_no_policy_to_give_back() {
        let old: VariantRecord = decode(Some(BEFORE_ONBOARDING.as_bytes())).unwrap().unwrap();
        assert!(old.levels_read, "its stock came from webhooks: the storefront keeps its badge");
        assert_eq!((old.policy_before.as_deref(), old.onboarding_job), (None, None));
        assert_eq!((old.inventory_item_id, old.header.stock, old.fulfilled), (Some(42), -2, 1));
        assert!(old.lateness_days.is_empty() && old.lead_time_spread().is_none(), "no receipts known yet");
        assert!(!old.backfilled, "its history before enrolment is still to read");
        let again: VariantRecord = decode(Some(&encode(&old))).unwrap().unwrap();
        assert_eq!(again, old, "written back, it reads the same");
    }

    /// The same record (and an order line of that version) read by the supply rule of SPEC 6
    /// revised: nothing counted yet, and a mark to measure again, which consumes nothing.
    #[test]
    fn a_variant_written_by_the_first_supply_rule_is_measured_again_before_anything_is_consumed() {
        let mut old: VariantRecord = decode(Some(BEFORE_ONBOARDING.as_bytes())).unwrap().unwrap();
        assert_eq!((old.taken, old.counted_since_ms, old.supply_rule), (0, 0, 0));
        old.settings.supply = vec![SupplyBatch::merchant(5, "2027-01-10")];
        old.settings.supply_mark = Some(-30);
        crate::ledger::eta::consume_arrivals(&mut old, 1_000);
        assert_eq!((old.supply_rule, old.settings.supply_mark, old.counted_since_ms), (SUPPLY_RULE, Some(-2), 1_000));
        assert_eq!(old.settings.supply.len(), 1, "the old mark's gap of 28 is no arrival");
        let line: crate::ledger::input::OrderLine =
            serde_json::from_str(r#"{"line_id":1,"variant_id":7,"open_qty":2}"#).unwrap();
        assert_eq!(line.taken, None, "an old line's count is unknown: no change is counted from it");
    }

    /// A record of the version before titles (every field that version wrote, none of this one's).
    #[test]
    fn a_variant_written_before_titles_reads_with_none_and_a_title_survives_a_write_back() {
        let before = r#"{"inventory_item_id":42,"product_id":7,
            "header":{"units":3,"stock":-2,"boundary":null,"before":3},
            "settings":{"enabled":true,"discontinued":false,"cap":null,"cap_mode":"fixed",
                        "lead_time_days":10,"handling_days":0,"supply":[],"supply_mark":null},
            "fulfilled":0,"taken":3,"counted_since_ms":5,"supply_rule":1,"levels_read":true,
            "policy_before":"DENY","onboarding_job":null}"#;
        let mut old: VariantRecord = decode(Some(before.as_bytes())).unwrap().unwrap();
        assert_eq!(old.title, None);
        assert!(!String::from_utf8(encode(&old)).unwrap().contains("title"), "no title written for none");
        old.title = Some("Tee - Small".into());
        let again: VariantRecord = decode(Some(&encode(&old))).unwrap().unwrap();
        assert_eq!(again.title.as_deref(), Some("Tee - Small"));
    }

    /// A variant whose plan was written before platform supply (batches of `qty` and `eta`
    /// only): every batch reads as the merchant's, keeps its date and its place, and arrivals
    /// still consume it.
    #[test]
    fn a_plan_written_before_platform_supply_reads_as_the_merchants_and_still_consumes() {
        let before = r#"{"inventory_item_id":42,"product_id":7,
            "header":{"units":3,"stock":-20,"boundary":null,"before":3},
            "settings":{"enabled":true,"discontinued":false,"cap":null,"cap_mode":"supply",
                        "lead_time_days":10,"handling_days":2,
                        "supply":[{"qty":12,"eta":"2027-01-10"},{"qty":5,"eta":"2027-02-01"}],"supply_mark":0},
            "fulfilled":0,"taken":20,"counted_since_ms":5,"supply_rule":1,"levels_read":true,
            "policy_before":"DENY","onboarding_job":null}"#;
        let mut old: VariantRecord = decode(Some(before.as_bytes())).unwrap().unwrap();
        assert!(old.settings.supply.iter().all(|b| !b.is_platform() && b.id.is_none()));
        assert_eq!(old.settings.supply[0], SupplyBatch::merchant(12, "2027-01-10"));
        assert_eq!(old.settings.effective_cap(), Some(17), "the supply cap counts them as before");
        old.header.stock = -8; // 12 arrived
        crate::ledger::eta::consume_arrivals(&mut old, 0);
        assert_eq!(old.settings.supply, [SupplyBatch::merchant(5, "2027-02-01")]);
        let again: VariantRecord = decode(Some(&encode(&old))).unwrap().unwrap();
        assert_eq!(again, old, "written back, it reads the same");
    }

    #[test]
    fn a_variant_enrolled_now_starts_with_its_levels_unknown() {
        assert!(!VariantRecord::default().levels_read);
    }
}
