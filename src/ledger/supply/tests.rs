use proptest::prelude::*;

use super::*;
use crate::ledger::eta::{consume_arrivals, eta_at, parse};
use crate::ledger::records::{SUPPLY_RULE, VariantRecord};

fn shipment(id: u64, units: u64, accepted: u64, arrives: Option<&str>) -> Shipment {
    Shipment {
        id: format!("gid://shopify/InventoryShipment/{id}"),
        units,
        accepted,
        unreceived: units - accepted,
        arrives: arrives.map(String::from),
    }
}

fn transfer(id: u64, units: u64, destination: u64, shipments: Vec<Shipment>) -> Transfer {
    Transfer {
        id: format!("gid://shopify/InventoryTransfer/{id}"),
        name: format!("#T{id:04}"),
        destination: Some(destination),
        units,
        shipments,
    }
}

#[test]
fn a_transfer_gives_its_shipments_at_their_dates_and_its_unshipped_units_undated() {
    let t = transfer(4, 20, 1, vec![shipment(9, 12, 0, Some("2026-12-15"))]);
    let lots = lots(&[t], &[], |_| true);
    assert_eq!(lots.len(), 2);
    assert_eq!(
        (lots[0].qty, lots[0].date.as_deref(), lots[0].name.as_str()),
        (12, Some("2026-12-15"), "#T0004, shipment 1")
    );
    assert_eq!((lots[1].qty, lots[1].date.as_deref()), (8, None));
}

#[test]
fn a_transfer_into_a_location_not_counted_brings_nothing() {
    let t = transfer(4, 20, 2, vec![shipment(9, 12, 0, Some("2026-12-15"))]);
    assert!(lots(&[t], &[], |l| l == 1).is_empty());
}

fn settings_with(merchant: &[(u64, &str)]) -> VariantSettings {
    VariantSettings {
        supply: merchant.iter().map(|(q, d)| SupplyBatch::merchant(*q, d)).collect(),
        supply_mark: Some(-20),
        ..VariantSettings::default()
    }
}

fn lot(id: &str, qty: u64, date: Option<&str>, received: u64) -> Lot {
    Lot { id: id.into(), name: id.into(), qty, date: date.map(String::from), received }
}

#[test]
fn platform_batches_sit_next_to_the_merchants_in_date_order_and_undated_last() {
    let mut s = settings_with(&[(5, "2027-01-10")]);
    merge(&mut s, &[lot("a", 12, Some("2026-12-15"), 0), lot("b", 3, None, 0)], Some(20));
    let order: Vec<(u64, &str, Source)> = s.supply.iter().map(|b| (b.qty, b.eta.as_str(), b.source)).collect();
    assert_eq!(
        order,
        [
            (12, "2026-12-15", Source::Platform),
            (5, "2027-01-10", Source::Merchant),
            (3, "", Source::Platform),
            (5, "", Source::Platform)
        ],
        "20 incoming, 15 explained by transfers: 5 on no transfer"
    );
    assert_eq!(s.supply[3].id.as_deref(), Some(INCOMING));
}

#[test]
fn an_override_stands_until_the_platforms_date_changes() {
    let mut s = settings_with(&[]);
    merge(&mut s, &[lot("a", 12, Some("2026-12-15"), 0)], None);
    s.supply[0].eta_override = Some("2026-12-20".into());
    s.supply[0].eta = "2026-12-20".into();
    merge(&mut s, &[lot("a", 12, Some("2026-12-15"), 0)], None);
    assert_eq!(s.supply[0].eta, "2026-12-20", "the same platform date: the merchant's stands");
    merge(&mut s, &[lot("a", 12, Some("2026-12-23"), 0)], None);
    assert_eq!((s.supply[0].eta.as_str(), s.supply[0].eta_override.as_deref()), ("2026-12-23", None));
}

#[test]
fn a_receipt_removes_its_batch_and_raises_the_mark_so_no_merchant_batch_is_consumed() {
    let mut r = VariantRecord { supply_rule: SUPPLY_RULE, taken: 20, ..VariantRecord::default() };
    r.header.stock = -20;
    r.settings = settings_with(&[(5, "2027-01-10")]);
    r.settings.supply_mark = Some(0);
    merge(&mut r.settings, &[lot("a", 12, Some("2026-12-15"), 0)], None);
    // Whichever comes first: the receipt read, then the stock; or (the effects re-read before
    // measuring) the stock, then the receipt read before the measure.
    let before = r.settings.clone();
    let merged = merge(&mut r.settings, &[lot("a", 0, Some("2026-12-15"), 12)], None);
    assert_eq!(merged.received, 12);
    assert_eq!(received_dates(&before, &r.settings), ["2026-12-15"], "its lateness is measured from its date");
    r.header.stock = -8;
    consume_arrivals(&mut r, 0);
    assert_eq!(r.settings.supply, [SupplyBatch::merchant(5, "2027-01-10")]);
    // The same read again changes nothing more.
    assert_eq!(merge(&mut r.settings, &[lot("a", 0, Some("2026-12-15"), 12)], None).received, 0);
    assert_eq!(r.settings.supply_mark, Some(12));
}

#[test]
fn arrivals_never_consume_a_platform_batch() {
    let mut r = VariantRecord { supply_rule: SUPPLY_RULE, ..VariantRecord::default() };
    r.settings = settings_with(&[(5, "2027-01-10")]);
    r.settings.supply_mark = Some(0);
    merge(&mut r.settings, &[lot("a", 12, Some("2026-12-15"), 0)], None);
    r.header.stock = 7;
    consume_arrivals(&mut r, 0);
    assert_eq!(r.settings.supply.len(), 1);
    assert_eq!((r.settings.supply[0].qty, r.settings.supply[0].is_platform()), (12, true));
}

#[test]
fn an_undated_batch_takes_the_lead_time() {
    let mut s = settings_with(&[]);
    merge(&mut s, &[lot("a", 4, None, 0)], None);
    let today = parse("2026-12-05").unwrap();
    assert_eq!(eta_at(3, &s.supply, Some(10), 2, today), parse("2026-12-17"));
    assert_eq!(eta_at(3, &s.supply, None, 2, today), None, "no lead time: to be confirmed");
}

#[test]
fn a_batch_written_before_platform_supply_reads_as_the_merchants() {
    let old: SupplyBatch = serde_json::from_str(r#"{"qty":5,"eta":"2027-01-10"}"#).unwrap();
    assert_eq!(old, SupplyBatch::merchant(5, "2027-01-10"));
    assert_eq!(serde_json::to_string(&old).unwrap(), r#"{"qty":5,"eta":"2027-01-10","source":"merchant"}"#);
}

fn any_lot() -> impl Strategy<Value = Lot> {
    (0u8..5, 0u64..30, proptest::option::of(1u8..28), 0u64..30).prop_map(|(id, qty, day, received)| {
        lot(&format!("s{id}"), qty, day.map(|d| format!("2027-01-{d:02}")).as_deref(), received)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(crate::ledger::proptest_cases(256)))]

    /// Any sequence of platform reads leaves the merchant's batches as they were, holds exactly
    /// the last read's batches, and raises the mark by the accepted units it saw grow.
    #[test]
    fn reads_never_touch_the_merchants_batches(reads in proptest::collection::vec((proptest::collection::vec(any_lot(), 0..4), proptest::option::of(0u64..60)), 1..6)) {
        let mut s = settings_with(&[(5, "2027-01-10"), (7, "2027-02-01")]);
        let merchant: Vec<SupplyBatch> = s.supply.clone();
        for (lots, incoming) in &reads {
            // One lot per id, as the platform has one shipment per id.
            let mut seen = std::collections::BTreeSet::new();
            let lots: Vec<Lot> = lots.iter().filter(|l| seen.insert(l.id.clone())).cloned().collect();
            let mark = s.supply_mark;
            let merged = merge(&mut s, &lots, *incoming);
            prop_assert_eq!(s.supply_mark, mark.map(|m| m + merged.received as i64));
            let kept: Vec<&SupplyBatch> = s.supply.iter().filter(|b| !b.is_platform()).collect();
            prop_assert_eq!(kept, merchant.iter().collect::<Vec<_>>());
            let from_lots: u64 = s.supply.iter().filter(|b| b.is_platform() && b.id.as_deref() != Some(INCOMING)).map(|b| b.qty).sum();
            prop_assert_eq!(from_lots, lots.iter().map(|l| l.qty).sum::<u64>());
            prop_assert!(s.supply.iter().all(|b| b.qty > 0));
        }
    }
}
