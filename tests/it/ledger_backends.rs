//! The reference-model property test of `ledger_model`, played through the worker's ledger
//! handlers against real stores: after every shuffled, duplicated delivery is processed, each
//! backend's ledger equals the model.

use std::collections::BTreeMap;
use std::time::Duration;

use backorder::books::apply::{Event, apply_level, apply_order, map_variant};
use backorder::ledger::input::{VariantInfo, parse_level, parse_order};
use backorder::ledger::records::{VariantRecord, decode, encode};
use backorder::ledger::rules::ShopRules;
use backorder::store::{EventMark, LedgerCommit, Record, SharedStore};
use proptest::prelude::*;

use crate::ledger_model::{Delivered, Expected, Platform, VARIANTS, history, item_of, model, scramble};
use crate::support::Backend;

pub const SHOP: &str = "model.myshopify.com";

fn event(key: String, topic: &'static str) -> Event<'static> {
    Event::new(SHOP, key, topic, Duration::from_secs(3600))
}

pub async fn enrol_all(store: &SharedStore, rules: &ShopRules) {
    let mut commit = LedgerCommit {
        event: Some(EventMark { key: "setup:rules".into(), topic: "setup".into(), ttl: Duration::from_secs(3600) }),
        ..LedgerCommit::default()
    };
    commit.writes.push((Record::Rules, Some(encode(rules))));
    store.ledger_commit(SHOP, &commit).await.expect("rules stored");
    for v in VARIANTS {
        let info = VariantInfo {
            variant_id: v,
            product_id: 1,
            inventory_item_id: Some(item_of(v)),
            title: String::new(),
            options: vec![],
        };
        let books = backorder::books::Books::new(store.clone());
        map_variant(&books, &event(format!("setup:{v}"), "setup"), &info, true).await.expect("enrolled");
        // The books start with the model's history, whose clock runs from BASE: its orders are
        // placed after the enrolment, as the model has it.
        books
            .update(SHOP, backorder::books::key::Variant(v), |record| {
                let mut record = record.expect("enrolled");
                record.counted_since_ms = crate::support::shopify::BASE * 1000;
                backorder::books::Edit::put(record, ())
            })
            .await
            .expect("dated");
    }
}

pub async fn feed(store: &SharedStore, deliveries: &[Delivered]) {
    for (n, (topic, body, triggered)) in deliveries.iter().enumerate() {
        // A duplicate carries the same event (here: its unique trigger time) and must be a no-op.
        let key = format!("ev:{triggered}");
        let ev = event(key, topic);
        let result = if topic.starts_with("orders/") {
            apply_order(&backorder::books::Books::new(store.clone()), &ev, &parse_order(body, Some(triggered)).unwrap())
                .await
        } else {
            apply_level(&backorder::books::Books::new(store.clone()), &ev, &parse_level(body, Some(triggered)).unwrap())
                .await
        };
        result.unwrap_or_else(|e| panic!("delivery {n} ({topic}) failed: {e}"));
    }
}

pub async fn ledger_view(store: &SharedStore) -> Expected {
    let mut out = Expected::new();
    for v in VARIANTS {
        let bytes = store.ledger_get(SHOP, &[Record::Variant(v)]).await.unwrap().remove(0);
        let record: VariantRecord = decode(bytes.as_deref()).unwrap().expect("enrolled variant");
        let lines = store.ledger_lines(SHOP, v, None, usize::MAX).await.unwrap();
        let per_line: BTreeMap<(u64, u64), u32> = lines
            .lines
            .iter()
            .map(|(k, q)| ((k.order_id, k.line_id), record.header.backordered_of(k, *q)))
            .filter(|(_, b)| *b > 0)
            .collect();
        let position = backorder::ledger::eta::stock_position(&record);
        out.insert(v, (per_line, record.header.unattributed(), position));
    }
    out
}

async fn variant_records(store: &SharedStore) -> Vec<(u64, VariantRecord)> {
    let mut out = Vec::new();
    for v in VARIANTS {
        let bytes = store.ledger_get(SHOP, &[Record::Variant(v)]).await.unwrap().remove(0);
        out.push((v, decode(bytes.as_deref()).unwrap().expect("enrolled variant")));
    }
    out
}

fn check(backend: fn() -> Backend, cases: u32) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let config =
        ProptestConfig::with_cases(std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(cases));
    proptest!(config, |((ops, dupes, seed, one_location) in history())| {
        let mut platform = Platform::default();
        for op in &ops {
            platform.play(op);
        }
        let (ledger, counted) = crate::ledger_model::setup(one_location);
        let test_store = backend().prepare();
        let (view, records) = runtime.block_on(async {
            let store = test_store.open().await;
            enrol_all(&store, &ledger.rules).await;
            feed(&store, &scramble(&platform.deliveries, &dupes, seed)).await;
            (ledger_view(&store).await, variant_records(&store).await)
        });
        let expected = model(&platform, 10, counted.as_ref());
        prop_assert_eq!(view, expected.clone());
        // A supply plan set at enrolment is consumed by exactly what arrived.
        for (v, record) in records {
            prop_assert_eq!(crate::ledger_model::consumed(record), crate::ledger_model::plan_left(expected[&v].2));
        }
    });
}

#[test]
fn on_the_embedded_store_shuffled_duplicated_deliveries_end_in_the_models_ledger() {
    check(|| Backend::Embedded, 1000);
}

#[test]
fn on_redis_shuffled_duplicated_deliveries_end_in_the_models_ledger() {
    check(|| Backend::Redis, 1000);
}

#[test]
fn on_a_redis_cluster_shuffled_duplicated_deliveries_end_in_the_models_ledger() {
    check(|| Backend::Url(crate::support::redis::shared_cluster().url()), 1000);
}
