use proptest::prelude::*;
use serde_json::{Value, json};

use super::order_body;
use crate::ledger::input::parse_order;

const ORDER: &[u8] = include_bytes!("../../../fixtures/orders_create.json");
const TRIGGERED: Option<&str> = Some("2026-03-14T16:27:41.123456789Z");

/// The parser's verdicts on the whole body and the kept one agree: the same state, or both
/// refused (the messages may name other columns).
fn same_reading(whole: &[u8], kept: &[u8]) -> Result<(), TestCaseError> {
    match (parse_order(whole, TRIGGERED), parse_order(kept, TRIGGERED)) {
        (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
        (Err(_), Err(_)) => {}
        (a, b) => prop_assert!(false, "whole {:?}, kept {:?}", a.map(|_| ()), b.map(|_| ())),
    }
    Ok(())
}

#[test]
fn the_kept_fixture_is_a_tenth_of_the_body_and_reads_the_same() {
    let kept = order_body(ORDER).expect("an order body");
    assert!(kept.len() * 10 < ORDER.len(), "{} of {} bytes", kept.len(), ORDER.len());
    assert_eq!(parse_order(&kept, TRIGGERED).unwrap(), parse_order(ORDER, TRIGGERED).unwrap());
    // What the emails need stays: the customer's address and first name, the lines' titles.
    let order = parse_order(&kept, None).unwrap();
    assert!(order.contact.email.is_some() && order.contact.first_name.is_some());
    assert_eq!(order.contact.titles.len(), 2);
}

#[test]
fn kept_values_are_the_bodys_own_text_byte_for_byte() {
    // Re-encoded, the first would lose digits as a float and the second its escapes.
    let body = br#"{"id": 123456789012345678901234567890, "customer": {"first_name": "J\u00e9r\u00f4me"}, "note": "a long note the ledger never reads, long enough to make keeping worth it"}"#;
    let kept = String::from_utf8(order_body(body).expect("an order body")).unwrap();
    assert!(kept.contains("123456789012345678901234567890"), "{kept}");
    assert!(kept.contains(r#""J\u00e9r\u00f4me""#), "{kept}");
    assert!(!kept.contains("note"), "{kept}");
}

#[test]
fn a_body_that_is_not_an_order_object_is_queued_whole() {
    for body in [&b"not json"[..], b"[1,2]", b"\"s\"", b"{\"line_items\": null}", b"{\"customer\": 3}"] {
        assert_eq!(order_body(body), None, "{}", String::from_utf8_lossy(body));
    }
}

/// A JSON value of any kind the platform or an attacker could put in a field.
fn any_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        Just(json!(18446744073709551615u64)),
        Just(json!("2026-03-15T10:00:00-07:00")),
        Just(json!("yesterday")),
        Just(json!("VIP, newsletter,,vip ")),
        ".{0,12}".prop_map(Value::from),
        Just(json!([])),
        Just(json!({})),
        Just(json!([{"id": 1}])),
    ]
}

/// A path to a field the parser reads, or to one next to them it ignores.
fn any_path() -> impl Strategy<Value = Vec<Value>> {
    let top = prop_oneof![
        Just("id"),
        Just("name"),
        Just("created_at"),
        Just("updated_at"),
        Just("cancelled_at"),
        Just("closed_at"),
        Just("email"),
        Just("contact_email"),
        Just("customer"),
        Just("line_items"),
        Just("refunds"),
        Just("tags"),
        Just("total_price"),
    ];
    let customer = prop_oneof![Just("id"), Just("tags"), Just("first_name"), Just("email")];
    let line = prop_oneof![
        Just("id"),
        Just("variant_id"),
        Just("fulfillable_quantity"),
        Just("current_quantity"),
        Just("name"),
        Just("title"),
        Just("sku"),
        Just("quantity"),
    ];
    let refund_line = prop_oneof![Just("line_item_id"), Just("quantity"), Just("restock_type"), Just("subtotal")];
    prop_oneof![
        top.prop_map(|k| vec![json!(k)]),
        customer.prop_map(|k| vec![json!("customer"), json!(k)]),
        (0usize..3, line).prop_map(|(i, k)| vec![json!("line_items"), json!(i), json!(k)]),
        (0usize..2, 0usize..2, refund_line).prop_map(|(r, i, k)| vec![
            json!("refunds"),
            json!(r),
            json!("refund_line_items"),
            json!(i),
            json!(k)
        ]),
    ]
}

/// The fixture with two refunds, so refund lines exist to change.
fn base() -> Value {
    let mut v: Value = serde_json::from_slice(ORDER).unwrap();
    let line = v["line_items"][1]["id"].clone();
    v["refunds"] = json!([
        {"refund_line_items": [{"line_item_id": line, "quantity": 2, "restock_type": "no_restock"}]},
        {"refund_line_items": [{"line_item_id": line, "quantity": 1, "restock_type": "cancel"}]},
    ]);
    v
}

/// Sets (or, with `None`, removes) the field at `path`, where the path exists.
fn change(v: &mut Value, path: &[Value], to: Option<Value>) {
    let (last, parents) = path.split_last().expect("a path");
    let mut at = v;
    for step in parents {
        let next = match step {
            Value::String(k) => at.get_mut(k.as_str()),
            Value::Number(i) => at.get_mut(i.as_u64().unwrap_or(0) as usize),
            _ => None,
        };
        match next {
            Some(n) => at = n,
            None => return,
        }
    }
    if let (Value::String(k), Some(map)) = (last, at.as_object_mut()) {
        match to {
            Some(to) => map.insert(k.clone(), to),
            None => map.remove(k.as_str()),
        };
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(crate::ledger::proptest_cases(512)))]

    #[test]
    fn the_ledger_reads_a_kept_body_as_it_reads_the_whole_one(
        changes in proptest::collection::vec((any_path(), proptest::option::of(any_value())), 0..6),
    ) {
        let mut v = base();
        for (path, to) in &changes {
            change(&mut v, path, to.clone());
        }
        let whole = serde_json::to_vec(&v).unwrap();
        if let Some(kept) = order_body(&whole) {
            prop_assert!(kept.len() < whole.len());
            same_reading(&whole, &kept)?;
        } else {
            // Queued whole: the ledger then refuses it, as it would have.
            prop_assert!(parse_order(&whole, TRIGGERED).is_err(), "a readable order was queued whole");
        }
    }

    #[test]
    fn bytes_of_any_kind_never_panic_the_keeper(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Some(kept) = order_body(&bytes) {
            same_reading(&bytes, &kept)?;
        }
    }
}
