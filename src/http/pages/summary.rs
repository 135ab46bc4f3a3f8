//! What a page shows of one managed variant, worked out from its record alone (no other read),
//! so a list of them costs one batch read whatever the depth of their queues.

use serde::Serialize;

use crate::ledger::records::VariantRecord;

#[derive(Debug, Clone, Serialize)]
pub(super) struct VariantRow {
    pub id: u64,
    pub name: String,
    pub href: String,
    pub status: &'static str,
    /// `success`, `warning`, `critical` or `neutral`: the badge's colour.
    pub tone: &'static str,
    pub waiting: u64,
    pub available: i64,
    /// The cap in force, or an em dash.
    pub cap: String,
    pub lead_time: String,
    pub capped: bool,
    pub selling: bool,
}

impl VariantRow {
    pub fn of(id: u64, record: &VariantRecord) -> Self {
        let settings = &record.settings;
        let waiting = record.header.backordered();
        let cap = settings.effective_cap();
        let capped = settings.enabled && cap.is_some_and(|c| waiting >= c);
        let selling = settings.policy(waiting) == "CONTINUE";
        let (status, tone) = if settings.discontinued {
            ("Discontinued", "critical")
        } else if !settings.enabled {
            ("Disabled", "neutral")
        } else if capped {
            ("Cap reached", "warning")
        } else {
            ("Selling on backorder", "success")
        };
        Self {
            id,
            name: record.title.clone().filter(|t| !t.is_empty()).unwrap_or_else(|| format!("Variant {id}")),
            href: format!("/app/variants/{id}"),
            status,
            tone,
            waiting,
            available: record.header.stock,
            cap: cap.map_or_else(|| "—".to_string(), |c| c.to_string()),
            lead_time: settings.lead_time_days.map_or_else(|| "—".to_string(), |d| format!("{d} days")),
            capped,
            selling,
        }
    }
}
