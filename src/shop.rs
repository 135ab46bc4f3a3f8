//! A shop's settings beyond the ledger's rules (SPEC 3.3 `/api/settings`): how the service marks
//! orders, when it acts, and whom it tells. The rules part (priority map, counted locations)
//! lives in `ledger::rules::ShopRules`, the record every ledger event reads.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ShopSettings {
    pub tags: TagNames,
    /// Place fulfillment holds on backordered quantities.
    pub holds: bool,
    /// Overrides the configured settle time; `None` = the configured one.
    pub settle_ms: Option<u64>,
    /// An ETA moving later by more than this many days tells the customer.
    pub eta_change_threshold_days: u32,
    /// Remind waiting customers every N days; `None` = never.
    pub reminder_days: Option<u32>,
    /// Backordered units of a variant at which the owner is told to reorder; `None` = never.
    pub alert_threshold_units: Option<u64>,
    pub owner_email: Option<String>,
    /// Email kind → merchant-edited template; a kind not here uses the built-in one.
    pub templates: BTreeMap<String, Template>,
    /// Email kind → the merchant's template of that kind failed when an email was rendered
    /// (and the built-in one went out instead). Read-only for the merchant; cleared when the
    /// template is saved anew. Absent from the record while empty.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub template_failures: BTreeMap<String, TemplateFailure>,
    /// A rules change whose rework of the books has not finished yet.
    pub rework: Option<PendingRework>,
    /// Raised by every change of the rules, so each rework's commits have keys of their own.
    pub rules_revision: u64,
    /// The shop's IANA time zone (`shop.ianaTimezone`): ETAs are its calendar days. Read from
    /// the platform at install, at enrolment and by the drift pass; `None` until then (UTC).
    /// Read-only for the merchant. Absent from the record while unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// The scope the platform asked for when expected supply was last read and refused
    /// (`read_inventory_transfers`, `read_inventory_shipments`): the merchant is asked to grant
    /// it; merchant batches work meanwhile. Read-only; absent while the reads work.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supply_scope_missing: Option<String>,
    /// `write_discounts`, when the last consolation code could not be made for want of it: the
    /// merchant is asked to grant it; no code is made meanwhile. Read-only; absent while it works.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discount_scope_missing: Option<String>,
    /// The share of lead times the reorder point should cover without running out (SPEC 10.1),
    /// in thousandths: 500–999 (`service_level` 0.5–0.999 in the API). Records written before it
    /// read the default, 950.
    #[serde(default = "default_service_level")]
    pub service_level_permille: u16,
    pub consolation: Consolation,
}

fn default_service_level() -> u16 {
    950
}

/// A discount for those who wait long (SPEC 10.3); the rule is `notify::consolation`'s.
/// What the merchant offers (`consolation` in the shop settings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Consolation {
    pub enabled: bool,
    /// Days of waiting after which an order qualifies.
    pub after_days: u32,
    /// Days its ETA may slip later, in total, before it qualifies.
    pub slip_days: u32,
    pub kind: ConsolationKind,
    /// Percent off for `percentage`; unused for `free_shipping`.
    pub value: u32,
    /// Days the code stays usable.
    pub expires_days: u32,
    /// Orders placed before the app was installed qualify too.
    pub before_install: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsolationKind {
    Percentage,
    FreeShipping,
}

impl Default for Consolation {
    fn default() -> Self {
        Self {
            enabled: false,
            after_days: 21,
            slip_days: 7,
            kind: ConsolationKind::Percentage,
            value: 10,
            expires_days: 60,
            before_install: false,
        }
    }
}

impl ShopSettings {
    /// Today in the shop's time zone.
    pub fn today(&self) -> time::Date {
        crate::ledger::eta::today(self.timezone.as_deref())
    }

    /// The service level as a share (0.95).
    pub fn service_level(&self) -> f64 {
        f64::from(self.service_level_permille) / 1000.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagNames {
    pub backordered: String,
    pub ready: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Why a merchant's template was set aside at send time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateFailure {
    /// `subject`, `text` or `html`.
    pub part: String,
    /// What went wrong, for people (`templates.backordered.text, line 3: …`).
    pub reason: String,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// The failing template's fingerprint: while the template is unchanged the built-in one is
    /// used directly, so a template that fails is not rendered again on every pass.
    pub template_sha256: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRework {
    pub revision: u64,
    pub rekey: bool,
    pub recount: bool,
    /// The job running it (`GET /api/jobs/{id}`), once started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<u64>,
}

/// The email kinds a template can be set for.
pub const TEMPLATE_KINDS: [&str; 5] = ["backordered", "eta_changed", "ready", "reminder", "consolation"];

impl Default for TagNames {
    fn default() -> Self {
        Self { backordered: "backorder".into(), ready: "backorder-ready".into() }
    }
}

impl Default for ShopSettings {
    fn default() -> Self {
        Self {
            tags: TagNames::default(),
            holds: true,
            settle_ms: None,
            eta_change_threshold_days: 3,
            reminder_days: None,
            alert_threshold_units: Some(20),
            owner_email: None,
            templates: BTreeMap::new(),
            template_failures: BTreeMap::new(),
            rework: None,
            rules_revision: 0,
            timezone: None,
            supply_scope_missing: None,
            discount_scope_missing: None,
            service_level_permille: default_service_level(),
            consolation: Consolation::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Settings as the version before time zones wrote them: the zone is unknown (UTC) until the
    /// platform is read, and the record written back carries no zone field.
    #[test]
    fn settings_written_before_time_zones_read_with_no_zone() {
        let old = r#"{"tags":{"backordered":"backorder","ready":"backorder-ready"},"holds":true,
                      "settle_ms":null,"eta_change_threshold_days":3,"reminder_days":null,
                      "alert_threshold_units":20,"owner_email":null,"templates":{},"rework":null,
                      "rules_revision":0}"#;
        let settings: ShopSettings = serde_json::from_str(old).unwrap();
        assert_eq!(settings.timezone, None);
        assert_eq!(settings.today(), crate::ledger::eta::today(None));
        assert!(!serde_json::to_string(&settings).unwrap().contains("timezone"));
        // Nor the fields added since: the service level is the default, no scope is missing.
        assert_eq!((settings.service_level(), settings.supply_scope_missing), (0.95, None));
    }
}
