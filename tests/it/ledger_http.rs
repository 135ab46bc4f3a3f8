//! Signed webhooks over real HTTP all the way into the ledger, on Redis and the embedded store.

use std::collections::BTreeMap;

use backorder::books::apply::{Event, map_variant};
use backorder::ledger::input::VariantInfo;
use backorder::ledger::records::{VariantRecord, decode};
use backorder::store::Record;

use crate::support::shopify::{Line, Order, level_body, triggered_at};
use crate::support::webhooks::Delivery;
use crate::support::{Backend, SHOP, TestApp, eventually};

pub const VARIANT: u64 = 9_153_027_655_318_407_221;
pub const ITEM: u64 = 9_007_199_254_740_993;

pub fn order(id: u64, qty: u32, at: i64) -> Delivery {
    let order = Order {
        id,
        created_at: at,
        updated_at: at,
        tags: vec![],
        cancelled: false,
        lines: vec![Line { line_id: id * 10, variant_id: VARIANT, quantity: qty, fulfillable: qty, ..Line::default() }],
    };
    let mut d = Delivery::new("orders/create", order.body());
    d.triggered_at = Some(triggered_at(at, 0));
    d
}

pub fn level(available: i64, at: i64) -> Delivery {
    let mut d = Delivery::new("inventory_levels/update", level_body(ITEM, 1, available, at));
    d.triggered_at = Some(triggered_at(at, 1));
    d
}

/// Enrols the test variant in the test shop, as the settings page will.
pub async fn enrol(app: &TestApp) {
    let info = VariantInfo {
        variant_id: VARIANT,
        product_id: 1,
        inventory_item_id: Some(ITEM),
        title: "Tee".into(),
        options: vec![],
    };
    let event = Event::new(SHOP, "enrol".into(), "setup", std::time::Duration::from_secs(60));
    map_variant(&app.app.state.books, &event, &info, true).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_beyond_stock_delivered_out_of_order_are_attributed_oldest_first() {
    for backend in [Backend::Redis, Backend::Embedded] {
        let (app, _store) = TestApp::spawn(backend, &[]).await;
        enrol(&app).await;

        // Three orders of 2 against 3 in stock: Shopify's level goes 3 → 1 → -1 → -3.
        let deliveries =
            [order(1, 2, 10), level(1, 10), order(2, 2, 20), level(-1, 20), order(3, 2, 30), level(-3, 30)];
        // Newest first, and the last one twice: order and repetition must not matter.
        for d in deliveries.iter().rev().chain([&deliveries[0]]) {
            assert_eq!(app.deliver(d).await.status(), 200);
        }
        app.drained().await;

        let expected = BTreeMap::from([(2u64, 1u32), (3, 2)]);
        let backordered = eventually("the ledger to settle", || async {
            let bytes = app.store.ledger_get(SHOP, &[Record::Variant(VARIANT)]).await.ok()?.remove(0);
            let record: VariantRecord = decode(bytes.as_deref()).ok()??;
            let lines = app.store.ledger_lines(SHOP, VARIANT, None, usize::MAX).await.ok()?;
            let per_order: BTreeMap<u64, u32> = lines
                .lines
                .iter()
                .map(|(k, q)| (k.order_id, record.header.backordered_of(k, *q)))
                .filter(|(_, b)| *b > 0)
                .collect();
            (per_order == expected).then_some(per_order)
        })
        .await;
        assert_eq!(backordered, expected);
        let dirty = app.store.ledger_dirty(SHOP).await.unwrap();
        assert_eq!(dirty.orders, [1, 2, 3]);
        assert_eq!(dirty.variants, [VARIANT]);
        app.app.stop().await;
    }
}
