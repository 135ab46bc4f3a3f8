//! `Store::forget_shop` (shop/redact), run unchanged against the embedded store, a standalone
//! Redis and a local 3-node Redis Cluster.

use std::time::Duration;

use backorder::ledger::FillKey;
use backorder::store::{
    Buried, Envelope, EnvelopeMeta, EventMark, LedgerCommit, LineWrite, Mark, Record, SharedStore, now_ms,
};
use bytes::Bytes;

const SHOP: &str = "forget.myshopify.com";
const OTHER: &str = "keep.myshopify.com";
const TTL: Duration = Duration::from_secs(3600);

fn envelope(shop: &str, id: &str) -> Envelope {
    Envelope {
        meta: EnvelopeMeta {
            topic: "orders/create".into(),
            shop: shop.into(),
            webhook_id: id.into(),
            event_id: None,
            api_version: None,
            triggered_at: None,
            received_at_ms: now_ms(),
            attempts: 0,
        },
        body: Bytes::from_static(b"{\"email\":\"buyer@example.com\"}"),
    }
}

/// Records, lines, levels, dirty marks, processed marks and counts, a lease, and the dead
/// letters of a webhook and of an effect.
async fn fill(store: &SharedStore, shop: &str) {
    let key = FillKey { priority: 0, created_at_ms: 1, order_id: 1, line_id: 10 };
    let commit = LedgerCommit {
        event: Some(EventMark { key: "ev:1".into(), topic: "orders/create".into(), ttl: TTL }),
        writes: vec![
            (Record::Order(1), Some(b"order".to_vec())),
            (Record::Level { item: 7, location: 2 }, Some(b"level".to_vec())),
            (Record::Install, Some(b"sealed".to_vec())),
        ],
        lines: vec![LineWrite { variant: 3, key, old: 0, qty: 2 }],
        marks: vec![Mark::Order(1), Mark::Variant(3)],
        ..LedgerCommit::default()
    };
    store.ledger_commit(shop, &commit).await.unwrap();
    assert!(store.commit_event(shop, "ev:2", "app/uninstalled", TTL).await.unwrap());
    assert!(store.try_lease(shop, "effects", "holder-a", TTL).await.unwrap());
    store.enqueue(&envelope(shop, &format!("wh-{shop}")), TTL).await.unwrap();
    let entry = store.dequeue("c", store.lane_of(shop), 1, Duration::from_secs(5)).await.unwrap().remove(0);
    store.dead_letter(&entry, "bad").await.unwrap();
    store.bury_effect(shop, Mark::Order(1), "gave up").await.unwrap();
}

async fn summary(store: &SharedStore, shop: &str) -> String {
    let records = store
        .ledger_get(shop, &[Record::Order(1), Record::Level { item: 7, location: 2 }, Record::Install])
        .await
        .unwrap();
    let lines = store.ledger_lines(shop, 3, None, 10).await.unwrap().lines.len();
    let levels = store.ledger_levels(shop, 7).await.unwrap().len();
    let dirty = store.ledger_dirty(shop).await.unwrap();
    let counts = store.processed_counts(shop).await.unwrap();
    let dead = store.dead_letters(100).await.unwrap().iter().filter(|d| d.shop() == shop).count();
    let listed = store.shops().await.unwrap().contains(&shop.to_string());
    format!("{records:?} lines={lines} levels={levels} {dirty:?} {counts:?} dead={dead} listed={listed}")
}

async fn forgetting_a_shop_removes_everything_of_it_and_nothing_else(store: SharedStore) {
    fill(&store, SHOP).await;
    fill(&store, OTHER).await;
    let other_before = summary(&store, OTHER).await;
    assert!(store.forget_shop(SHOP).await.unwrap() > 0);
    let nothing = backorder::store::Dirty::default();
    assert_eq!(
        summary(&store, SHOP).await,
        format!("[None, None, None] lines=0 levels=0 {nothing:?} {{}} dead=0 listed=false")
    );
    assert_eq!(summary(&store, OTHER).await, other_before);
    assert!(store.try_lease(SHOP, "effects", "holder-b", TTL).await.unwrap(), "its lease went too");
    assert!(!store.try_lease(OTHER, "effects", "holder-b", TTL).await.unwrap(), "the other's stays");
    // The event marks went with it: the same event is new again.
    assert!(store.commit_event(SHOP, "ev:2", "app/uninstalled", TTL).await.unwrap());
    assert_eq!(store.forget_shop("never.myshopify.com").await.unwrap(), 0);
}

/// The shop's dead letters: a webhook by its id, an effect by its mark.
async fn dead_of(store: &SharedStore, shop: &str) -> Vec<String> {
    let dead = store.dead_letters(100).await.unwrap();
    let mut ids: Vec<String> = dead
        .into_iter()
        .filter(|d| d.shop() == shop)
        .map(|d| match d.buried {
            Buried::Webhook(envelope) => envelope.meta.webhook_id,
            Buried::Effect { mark, .. } => format!("effect {mark}"),
        })
        .collect();
    ids.sort();
    ids
}

async fn purging_dead_letters_removes_only_the_shops_that_name_the_address(store: SharedStore) {
    fill(&store, SHOP).await;
    fill(&store, OTHER).await;
    let mut other_buyer = envelope(SHOP, "wh-other-buyer");
    other_buyer.body = Bytes::from_static(b"{\"email\":\"someone@example.com\"}");
    store.enqueue(&other_buyer, TTL).await.unwrap();
    let entry = store.dequeue("c", store.lane_of(SHOP), 1, Duration::from_secs(5)).await.unwrap().remove(0);
    store.dead_letter(&entry, "bad").await.unwrap();

    assert_eq!(store.purge_dead_letters(SHOP, b"BUYER@example.com").await.unwrap(), 1);
    // An effect holds no customer data: only forgetting the shop removes it.
    assert_eq!(dead_of(&store, SHOP).await, ["effect o:1", "wh-other-buyer"], "another customer's stays");
    assert_eq!(dead_of(&store, OTHER).await, ["effect o:1".to_string(), format!("wh-{OTHER}")], "another shop's stays");
}

on_every_backend!(
    forgetting_a_shop_removes_everything_of_it_and_nothing_else,
    purging_dead_letters_removes_only_the_shops_that_name_the_address
);
