use proptest::prelude::*;

use super::*;

const ORDER: &[u8] = include_bytes!("../../../fixtures/orders_create.json");

#[test]
fn our_orders_create_fixture_parses_with_exact_ids() {
    let order = parse_order(ORDER, None).unwrap();
    assert_eq!(order.order_id, 6118402957331);
    assert_eq!(order.customer_tags, ["VIP", "newsletter"]);
    assert_eq!(order.lines.len(), 2);
    // Above 2^53: a float would have rounded it.
    assert_eq!(order.lines[1].variant_id, Some(9153027655318407221));
    assert_eq!(order.lines[1].open_qty, 3);
    assert_eq!(order.created_at_ms, timestamp_ms("t", "2026-03-14T16:27:41Z").unwrap());
}

#[test]
fn a_line_has_taken_its_current_quantity_and_the_units_refunded_without_restock() {
    let mut v: serde_json::Value = serde_json::from_slice(ORDER).unwrap();
    let line = v["line_items"][1]["id"].as_u64().unwrap();
    v["line_items"][1]["quantity"] = 5.into();
    v["line_items"][1]["current_quantity"] = 1.into();
    v["refunds"] = serde_json::json!([
        {"refund_line_items": [{"line_item_id": line, "quantity": 2, "restock_type": "no_restock"}]},
        {"refund_line_items": [{"line_item_id": line, "quantity": 1, "restock_type": "cancel"},
                               {"line_item_id": line, "quantity": 1, "restock_type": "return"}]},
    ]);
    let order = parse_order(&serde_json::to_vec(&v).unwrap(), None).unwrap();
    assert_eq!(order.lines[1].taken, Some(3), "1 still ordered + 2 refunded and not back on sale");
    // A refund line that does not say how it was restocked counts as restocked.
    v["refunds"] = serde_json::json!([{"refund_line_items": [{"line_item_id": line, "quantity": 2}]}]);
    assert_eq!(parse_order(&serde_json::to_vec(&v).unwrap(), None).unwrap().lines[1].taken, Some(1));
    // No current quantity: unknown.
    v["line_items"][1].as_object_mut().unwrap().remove("current_quantity");
    assert_eq!(parse_order(&serde_json::to_vec(&v).unwrap(), None).unwrap().lines[1].taken, None);
}

#[test]
fn enum_values_added_by_later_api_versions_do_not_stop_an_order_from_parsing() {
    // 2026-10 added FULFILLMENT_NOT_REQUIRED to the order's display fulfillment status; later
    // versions will add more. The ledger reads quantities, never these, so any value passes.
    let mut v: serde_json::Value = serde_json::from_slice(ORDER).unwrap();
    v["fulfillment_status"] = "fulfillment_not_required".into();
    v["display_fulfillment_status"] = "FULFILLMENT_NOT_REQUIRED".into();
    v["financial_status"] = "a_status_from_the_future".into();
    for line in v["line_items"].as_array_mut().unwrap() {
        line["fulfillment_status"] = "fulfillment_not_required".into();
    }
    let order = parse_order(&serde_json::to_vec(&v).unwrap(), None).unwrap();
    assert_eq!(order, parse_order(ORDER, None).unwrap());
}

#[test]
fn a_cancelled_or_closed_order_has_nothing_open() {
    for field in ["cancelled_at", "closed_at"] {
        let mut v: serde_json::Value = serde_json::from_slice(ORDER).unwrap();
        v[field] = "2026-03-15T10:00:00-07:00".into();
        let order = parse_order(&serde_json::to_vec(&v).unwrap(), None).unwrap();
        assert!(order.lines.iter().all(|l| l.open_qty == 0), "{field}");
    }
}

#[test]
fn equal_instants_in_different_offsets_compare_equal() {
    assert_eq!(
        timestamp_ms("t", "2026-03-14T09:27:41-07:00").unwrap(),
        timestamp_ms("t", "2026-03-14T16:27:41+00:00").unwrap()
    );
}

#[test]
fn two_states_in_the_same_second_are_still_ordered() {
    let a = parse_order(ORDER, None).unwrap();
    let mut v: serde_json::Value = serde_json::from_slice(ORDER).unwrap();
    v["line_items"][0]["fulfillable_quantity"] = 0.into();
    let b = parse_order(&serde_json::to_vec(&v).unwrap(), None).unwrap();
    assert_eq!(a.version.updated_at_ms, b.version.updated_at_ms);
    assert_ne!(a.version, b.version);
}

#[test]
fn bad_bodies_get_clear_errors() {
    assert!(matches!(parse_order(b"[]", None), Err(InputError::Shape(_))));
    assert!(matches!(parse_order(br#"{"id": 1.5}"#, None), Err(InputError::Shape(_))));
    let err = parse_order(br#"{"id": 1, "created_at": "yesterday", "updated_at": "x"}"#, None).unwrap_err();
    assert_eq!(err.to_string(), "`created_at` is not an RFC 3339 timestamp: \"yesterday\"");
    assert!(matches!(parse_level(br#"{"inventory_item_id": -1}"#, None), Err(InputError::Shape(_))));
}

#[test]
fn a_level_beyond_any_real_quantity_is_refused_and_one_at_the_bound_is_taken() {
    let level = |n: i64| {
        let body = format!(
            r#"{{"inventory_item_id": 1, "location_id": 7, "available": {n}, "updated_at": "2026-01-01T00:00:00Z"}}"#
        );
        parse_level(body.as_bytes(), None)
    };
    for n in [i64::MAX, i64::MIN, MAX_QUANTITY + 1, -MAX_QUANTITY - 1] {
        assert!(matches!(level(n), Err(InputError::Quantity(_))), "{n}");
    }
    assert_eq!(level(-MAX_QUANTITY).unwrap().available, Some(-MAX_QUANTITY));
    assert_eq!(LevelState::from_platform(1, 7, Some(i64::MIN), 0, 0).available, Some(-MAX_QUANTITY));
}

#[test]
fn an_untracked_level_has_no_available() {
    let level = parse_level(
        br#"{"inventory_item_id": 9007199254740993, "location_id": 7, "available": null, "updated_at": "2026-01-01T00:00:00Z"}"#,
        None,
    )
    .unwrap();
    assert_eq!(level.inventory_item_id, 9007199254740993);
    assert_eq!(level.available, None);
}

#[test]
fn product_variants_carry_their_inventory_items() {
    let body = br#"{"id": 5, "title": "Tee", "variants": [
        {"id": 9007199254740995, "title": "Small", "inventory_item_id": 77},
        {"id": 2, "title": "Default Title", "inventory_item_id": null}]}"#;
    let variants = parse_product(body).unwrap();
    assert_eq!(variants[0].variant_id, 9007199254740995);
    assert_eq!(variants[0].inventory_item_id, Some(77));
    assert_eq!(variants[0].title, "Tee - Small");
    assert_eq!(variants[1].title, "Tee");
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_a_parser(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = parse_order(&bytes, None);
        let _ = parse_level(&bytes, Some("garbage"));
        let _ = parse_product(&bytes);
    }

    #[test]
    fn any_quantity_parses_to_a_sane_open_quantity(q in any::<i64>(), id in any::<u64>()) {
        let body = serde_json::json!({
            "id": id, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
            "line_items": [{"id": 1, "variant_id": id, "fulfillable_quantity": q}]
        });
        let order = parse_order(&serde_json::to_vec(&body).unwrap(), None).unwrap();
        prop_assert_eq!(order.order_id, id);
        prop_assert_eq!(i64::from(order.lines[0].open_qty), q.clamp(0, i64::from(u32::MAX)));
    }

    #[test]
    fn timestamps_round_trip_through_any_offset(secs in 0i64..4_000_000_000, offset_min in -720i32..840) {
        let t = time::OffsetDateTime::from_unix_timestamp(secs).unwrap()
            .to_offset(time::UtcOffset::from_whole_seconds(offset_min * 60).unwrap());
        let text = t.format(&Rfc3339).unwrap();
        prop_assert_eq!(timestamp_ms("t", &text).unwrap(), secs * 1000);
    }
}

#[test]
fn the_delivery_time_orders_two_level_states_of_the_same_second() {
    let body = |avail: i64| {
        format!(
            r#"{{"inventory_item_id": 1, "location_id": 2, "available": {avail}, "updated_at": "2026-01-01T00:00:00Z"}}"#
        )
    };
    let first = parse_level(body(-2).as_bytes(), Some("2026-01-01T00:00:00.100000000Z")).unwrap();
    let second = parse_level(body(-3).as_bytes(), Some("2026-01-01T00:00:00.200000000Z")).unwrap();
    assert!(second.version > first.version);
}

#[test]
fn a_platform_read_sorts_after_the_webhooks_of_changes_before_it_and_before_those_after_it() {
    let second = timestamp_ms("t", "2026-01-01T00:00:00Z").unwrap();
    // The level changed at .100 (what the read shows), the read was asked for at .500, and the
    // level changed again at .700, all in one second of `updatedAt`.
    let read = LevelState::from_platform(1, 2, Some(-2), second, second + 500);
    let webhook = |avail: i64, at: &str| {
        let body = format!(
            r#"{{"inventory_item_id": 1, "location_id": 2, "available": {avail}, "updated_at": "2026-01-01T00:00:00Z"}}"#
        );
        parse_level(body.as_bytes(), Some(at)).unwrap()
    };
    assert!(webhook(-2, "2026-01-01T00:00:00.100000000Z").version < read.version, "a late webhook undoes no repair");
    assert!(webhook(-3, "2026-01-01T00:00:00.700000000Z").version > read.version, "a newer change is applied");
    // A read asked long after the change sorts after every webhook of that second.
    let later = LevelState::from_platform(1, 2, Some(-2), second, second + 60_000);
    assert!(webhook(-3, "2026-01-01T00:00:00.999000000Z").version < later.version);
}
