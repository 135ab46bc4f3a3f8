//! Expected supply read from the platform (SPEC 10.2), as pure rules: what the variant's
//! transfers and shipments into counted locations say is on its way ([`lots`]), and how that
//! replaces the variant's platform batches while the merchant's own stay as they are
//! ([`merge`]).
//!
//! A platform batch is consumed by its own receipt, never by inference (SPEC 6): each re-read
//! replaces it with what is still unreceived. The units its shipment accepted since the last
//! read raise the supply mark by as many, so the same rise of `available` consumes no merchant
//! batch, whichever of the two the service saw first (the effects re-read a variant's platform
//! supply before they measure an arrival, see `sync::supply`).

use std::collections::BTreeMap;

use super::records::{INCOMING, Source, SupplyBatch, VariantSettings, sort_supply};

/// A transfer into a location, as the platform has it, with the variant's units on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    pub id: String,
    /// `#T0004`.
    pub name: String,
    pub destination: Option<u64>,
    /// The variant's units on the transfer.
    pub units: u64,
    pub shipments: Vec<Shipment>,
}

/// A shipment of a transfer, with the variant's units on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shipment {
    pub id: String,
    /// The variant's units shipped.
    pub units: u64,
    pub accepted: u64,
    pub unreceived: u64,
    /// `tracking.arrivesAt` as a day in the shop's zone.
    pub arrives: Option<String>,
}

/// One batch as the platform has it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lot {
    pub id: String,
    pub name: String,
    /// Units still to arrive.
    pub qty: u64,
    pub date: Option<String>,
    /// Units accepted into stock so far.
    pub received: u64,
}

/// The lots of `transfers` that go to a counted location: each shipment's unreceived units at
/// its tracked date, and each transfer's units on no shipment yet without a date. A shipment
/// whose transfer was not read (its transfer is complete) still counts: its receipt matters.
pub fn lots(transfers: &[Transfer], finished: &[Shipment], counted: impl Fn(u64) -> bool) -> Vec<Lot> {
    // A finished shipment keeps the name it had (an empty one here).
    let mut out: Vec<Lot> = finished
        .iter()
        .map(|s| Lot {
            id: s.id.clone(),
            name: String::new(),
            qty: s.unreceived,
            date: s.arrives.clone(),
            received: s.accepted,
        })
        .collect();
    for t in transfers.iter().filter(|t| t.destination.is_none_or(&counted)) {
        let mut shipped = 0u64;
        for (n, s) in t.shipments.iter().enumerate() {
            shipped = shipped.saturating_add(s.units);
            out.push(Lot {
                id: s.id.clone(),
                name: format!("{}, shipment {}", t.name, n + 1),
                qty: s.unreceived,
                date: s.arrives.clone(),
                received: s.accepted,
            });
        }
        let unshipped = t.units.saturating_sub(shipped);
        if unshipped > 0 {
            out.push(Lot {
                id: t.id.clone(),
                name: format!("{}, not shipped yet", t.name),
                qty: unshipped,
                date: None,
                received: 0,
            });
        }
    }
    out
}

/// What a merge changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Merged {
    /// Units accepted since the last read: the supply mark rose by as many.
    pub received: u64,
}

/// Replaces the platform batches of `settings` with `lots` and, when `incoming` was read, one
/// undated batch of the incoming units no lot explains (a purchase order's, which has no API).
/// A merchant's date override stays while the platform's date is the one it overrode. The
/// merchant's batches are left alone.
pub fn merge(settings: &mut VariantSettings, lots: &[Lot], incoming: Option<u64>) -> Merged {
    let before: BTreeMap<String, SupplyBatch> =
        settings.supply.iter().filter(|b| b.is_platform()).filter_map(|b| Some((b.id.clone()?, b.clone()))).collect();
    let mut received = 0u64;
    let mut fresh = Vec::new();
    let mut batch = |id: &str, name: &str, qty: u64, date: Option<String>, accepted: u64| {
        let old = before.get(id);
        if let Some(old) = old {
            received = received.saturating_add(accepted.saturating_sub(old.received));
        }
        if qty == 0 {
            return;
        }
        let eta_override = old.filter(|o| o.platform_eta == date).and_then(|o| o.eta_override.clone());
        let name = if name.is_empty() { old.and_then(|o| o.name.clone()) } else { Some(name.to_string()) };
        fresh.push(SupplyBatch {
            qty,
            eta: eta_override.clone().or_else(|| date.clone()).unwrap_or_default(),
            source: Source::Platform,
            id: Some(id.to_string()),
            name,
            platform_eta: date,
            eta_override,
            received: accepted,
        });
    };
    for lot in lots {
        batch(&lot.id, &lot.name, lot.qty, lot.date.clone(), lot.received);
    }
    let explained = lots.iter().fold(0u64, |sum, l| sum.saturating_add(l.qty));
    match incoming {
        Some(incoming) => batch(INCOMING, "Incoming on Shopify", incoming.saturating_sub(explained), None, 0),
        // Not read this time: the last count stands.
        None => fresh.extend(before.get(INCOMING).cloned()),
    }
    settings.supply.retain(|b| !b.is_platform());
    settings.supply.extend(fresh);
    sort_supply(&mut settings.supply);
    if received > 0
        && let Some(mark) = settings.supply_mark.as_mut()
    {
        *mark = mark.saturating_add(i64::try_from(received).unwrap_or(i64::MAX));
    }
    Merged { received }
}

/// The promised dates of the platform batches a merge ended by their receipts (in `before`,
/// not in `after`, with units received since), for their lateness.
pub fn received_dates(before: &VariantSettings, after: &VariantSettings) -> Vec<String> {
    before
        .supply
        .iter()
        .filter(|b| b.is_platform() && b.id.as_deref() != Some(INCOMING))
        .filter(|b| !after.supply.iter().any(|a| a.id == b.id))
        .filter_map(|b| b.platform_eta.clone())
        .collect()
}

/// The ids of the variant's shipments that a read must look at even when no open transfer
/// lists them any more: their receipt is how their batch ends.
pub fn known_shipments(settings: &VariantSettings) -> Vec<String> {
    settings
        .supply
        .iter()
        .filter(|b| b.is_platform())
        .filter_map(|b| b.id.clone())
        .filter(|id| id.contains("/InventoryShipment/"))
        .collect()
}

#[cfg(test)]
mod tests;
