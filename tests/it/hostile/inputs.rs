//! The random and hostile parts of a request: JSON with deep nesting, huge and edge numbers,
//! wrong types, unicode and duplicated keys; path segments; query strings; headers; bodies up to
//! a route's limit, bad UTF-8 included.

use backorder::shopify::Topic;
use proptest::prelude::*;
use serde_json::{Value, json};

/// Field names the service reads somewhere, so random objects reach its parsers' checks.
const FIELDS: &[&str] = &[
    "enabled",
    "discontinued",
    "cap",
    "cap_mode",
    "lead_time_days",
    "handling_days",
    "supply",
    "qty",
    "eta",
    "existing_orders",
    "tag",
    "hold",
    "email",
    "variant_ids",
    "product_ids",
    "out_of_stock",
    "priority_tags",
    "counted_locations",
    "tags",
    "holds",
    "settle_ms",
    "owner_email",
    "templates",
    "subject",
    "priority",
    "text",
    "html",
    "reminder_days",
    "eta_change_threshold_days",
    "id",
    "name",
    "created_at",
    "updated_at",
    "line_items",
    "variant_id",
    "quantity",
    "fulfillable_quantity",
    "current_quantity",
    "refunds",
    "inventory_item_id",
    "location_id",
    "available",
    "variants",
    "product_id",
    "inventory_policy",
    "shop_domain",
    "customer",
    "orders_to_redact",
    "orders_requested",
    "csrf",
    "units",
    "limit",
    "cursor",
    "shop",
    "code",
    "state",
    "timestamp",
    "host",
    "id_token",
];

/// Numbers at and beyond every edge a parser might have.
fn edge_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!(0)),
        Just(json!(-1)),
        Just(json!(i64::MIN)),
        Just(json!(i64::MAX)),
        Just(json!(u64::MAX)),
        Just(json!(9_223_372_036_854_775_808u64)),
        Just(json!(1.5)),
        Just(json!(-0.0)),
        Just(json!(1e300)),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,40}",
        Just(String::new()),
        Just("2026-02-30".to_string()),
        Just("9999-12-31".to_string()),
        Just("<script>alert(1)</script>{{ 7*7 }}{% for x in range(9999999) %}".to_string()),
        Just("\u{202e}\u{0}\u{fffd}é漢🙂".to_string()),
        (1usize..=4).prop_map(|k| "x".repeat(k * 4096)),
    ]
}

/// Any JSON value, a few levels deep, with the service's field names for keys.
fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        edge_number(),
        text().prop_map(Value::String)
    ];
    leaf.prop_recursive(4, 48, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(prop::sample::select(FIELDS).prop_map(str::to_string), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Bodies of every hostile kind, at most `limit` bytes long.
fn body(limit: usize) -> impl Strategy<Value = Vec<u8>> {
    let big = limit.saturating_sub(64).max(1);
    prop_oneof![
        4 => value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        1 => (1usize..100_000).prop_map(|depth| format!("{}{}", "[".repeat(depth), "]".repeat(depth)).into_bytes()),
        1 => (1usize..50_000).prop_map(|depth| format!("{}1", "{\"a\":".repeat(depth)).into_bytes()),
        1 => Just(br#"{"cap": 1e999, "lead_time_days": 18446744073709551616, "id": -9223372036854775809}"#.to_vec()),
        1 => Just(br#"{"enabled": true, "enabled": "yes", "supply": [{"qty": -5, "eta": "2026-01-01"}], "supply": 7}"#.to_vec()),
        1 => prop::collection::vec(any::<u8>(), 0..256),
        1 => Just(vec![0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
        1 => Just(json!({"x": "a".repeat(big)}).to_string().into_bytes()),
        1 => Just(Vec::new()),
    ]
    .prop_map(move |mut b| {
        b.truncate(limit);
        b
    })
}

/// A path segment: numbers beyond every integer type, signs, unicode, escapes, long runs.
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<u64>().prop_map(|n| n.to_string()),
        Just("18446744073709551616".to_string()),
        Just("9223372036854775808".to_string()),
        Just("-1".to_string()),
        Just("0".to_string()),
        Just("%FF%FE".to_string()),
        Just("..%2F..%2Fetc%2Fpasswd".to_string()),
        // Real names, so that routes named by one (an email kind) are reached past their 404.
        prop::sample::select(&["backordered", "eta_changed", "ready", "reminder"][..]).prop_map(str::to_string),
        "[a-zA-Z0-9._~-]{1,64}",
        "\\PC{1,12}".prop_map(|s| url::form_urlencoded::byte_serialize(s.as_bytes()).collect()),
        (1usize..=3).prop_map(|k| "9".repeat(k * 1000)),
    ]
}

/// Query pairs: the route's own keys and others, duplicated, with hostile values.
fn query() -> impl Strategy<Value = Vec<(String, String)>> {
    let value = prop_oneof![text(), segment(), edge_number().prop_map(|n| n.to_string())];
    prop::collection::vec((prop::sample::select(FIELDS).prop_map(str::to_string), value), 0..6)
}

pub fn encode(pairs: &[(String, String)]) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        out.append_pair(k, v);
    }
    out.finish()
}

/// Headers a client may send in any shape: oversized, repeated, contradictory.
fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
    let name = prop::sample::select(
        &[
            "content-type",
            "x-shopify-topic",
            "x-shopify-webhook-id",
            "x-shopify-event-id",
            "x-shopify-triggered-at",
            "x-shopify-api-version",
            "origin",
            "sec-fetch-site",
            "x-forwarded-for",
            "accept",
            "x-request-id",
        ][..],
    );
    let value = prop_oneof![
        "[ -~]{0,80}",
        Just("application/json".to_string()),
        Just("application/x-www-form-urlencoded".to_string()),
        Just("orders/create".to_string()),
        (1usize..=2).prop_map(|k| "h".repeat(k * 4000)),
    ];
    prop::collection::vec((name.prop_map(str::to_string), value), 0..4)
}

/// One request's random parts; the route decides how they are put together and signed.
#[derive(Debug, Clone)]
pub struct Parts {
    pub segments: Vec<String>,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub topic: String,
    /// Sign (or give a valid token) so the parsers are reached; otherwise what is sent is sent.
    pub signed: bool,
}

pub fn parts(limit: usize) -> impl Strategy<Value = Parts> {
    let topic = prop_oneof![
        4 => prop::sample::select(Topic::ALL.to_vec()).prop_map(|t| t.as_str().to_string()),
        1 => "[a-z/_]{0,24}",
    ];
    (prop::collection::vec(segment(), 2), query(), headers(), body(limit), topic, prop::bool::weighted(0.85)).prop_map(
        |(segments, query, headers, body, topic, signed)| Parts { segments, query, headers, body, topic, signed },
    )
}
