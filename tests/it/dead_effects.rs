//! Dead-lettered effects on every backend: kept as the shop and its mark, listed with the
//! webhooks, and replayed by marking them again in the shop's ledger, never through the webhook
//! queue. Effects dead-lettered by earlier versions, as webhook envelopes of the topic
//! `effects/reconcile`, are read and replayed the same way.

use std::time::Duration;

use backorder::store::keys::Keys;
use backorder::store::{
    Buried, DeadLetterKind, Envelope, EnvelopeMeta, LEGACY_EFFECT_TOPIC, Mark, SharedStore, now_ms,
};
use bytes::Bytes;

use crate::support::{self, Backend, TestApp, TestStore, eventually};

const SHOP: &str = "dead-effects.myshopify.com";
const TTL: Duration = Duration::from_secs(3600);

/// A webhook that failed, for lists that mix both kinds.
async fn dead_webhook(store: &SharedStore) {
    let envelope = Envelope {
        meta: EnvelopeMeta {
            topic: "orders/create".into(),
            shop: SHOP.into(),
            webhook_id: format!("wh-{:x}", fastrand::u64(..)),
            event_id: None,
            api_version: None,
            triggered_at: None,
            received_at_ms: now_ms(),
            attempts: 0,
        },
        body: Bytes::from_static(b"not json"),
    };
    store.enqueue(&envelope, TTL).await.unwrap();
    let entry = store.dequeue("c", store.lane_of(SHOP), 1, Duration::from_secs(5)).await.unwrap().remove(0);
    store.dead_letter(&entry, "body is not a JSON object").await.unwrap();
}

async fn a_dead_effect_is_listed_as_an_effect_naming_its_shop_and_mark(store: SharedStore) {
    let before = now_ms();
    store.bury_effect(SHOP, Mark::Order(12), "tagsAdd: out of retries").await.unwrap();
    let dead = store.dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].kind(), DeadLetterKind::Effect);
    assert_eq!(dead[0].buried, Buried::Effect { shop: SHOP.into(), mark: Mark::Order(12) });
    assert_eq!(dead[0].shop(), SHOP);
    assert_eq!(dead[0].reason, "tagsAdd: out of retries");
    assert!(dead[0].failed_at_ms >= before && dead[0].failed_at_ms <= now_ms());
    assert_eq!(store.queue_stats().await.unwrap().dead, 1);
}

async fn replaying_a_dead_effect_marks_it_in_the_shops_ledger_and_queues_nothing(store: SharedStore) {
    store.bury_effect(SHOP, Mark::Variant(7), "productVariantsBulkUpdate: out of retries").await.unwrap();
    let id = store.dead_letters(10).await.unwrap().remove(0).id;
    assert_eq!(store.replay_dead_letters(Some(&id)).await.unwrap(), 1);
    assert_eq!(store.ledger_dirty(SHOP).await.unwrap().variants, [7]);
    let stats = store.queue_stats().await.unwrap();
    assert_eq!((stats.queued, stats.delayed, stats.dead), (0, 0, 0));
    assert!(store.processed_counts(SHOP).await.unwrap().is_empty(), "a mark is no event");
    assert!(store.shops().await.unwrap().contains(&SHOP.to_string()), "the sweeps visit the shop");
    assert_eq!(store.replay_dead_letters(Some(&id)).await.unwrap(), 0, "replayed once only");
}

async fn replaying_a_dead_effect_twice_at_once_marks_it_once_and_counts_once(store: SharedStore) {
    store.bury_effect(SHOP, Mark::Order(3), "out of retries").await.unwrap();
    let id = store.dead_letters(10).await.unwrap().remove(0).id;
    let (a, b) = tokio::join!(store.replay_dead_letters(Some(&id)), store.replay_dead_letters(None));
    assert_eq!(a.unwrap() + b.unwrap(), 1);
    assert_eq!(store.ledger_dirty(SHOP).await.unwrap().orders, [3]);
    assert!(store.dead_letters(10).await.unwrap().is_empty());
}

async fn replaying_everything_marks_the_effects_and_queues_the_webhooks(store: SharedStore) {
    store.bury_effect(SHOP, Mark::Order(1), "out of retries").await.unwrap();
    dead_webhook(&store).await;
    store.bury_effect(SHOP, Mark::Variant(2), "out of retries").await.unwrap();
    let kinds: Vec<_> = store.dead_letters(10).await.unwrap().iter().map(|d| d.kind()).collect();
    assert_eq!(kinds, [DeadLetterKind::Effect, DeadLetterKind::Webhook, DeadLetterKind::Effect], "oldest first");

    assert_eq!(store.replay_dead_letters(None).await.unwrap(), 3);
    let dirty = store.ledger_dirty(SHOP).await.unwrap();
    assert_eq!((dirty.orders, dirty.variants), (vec![1], vec![2]));
    let stats = store.queue_stats().await.unwrap();
    assert_eq!((stats.queued, stats.dead), (1, 0), "only the webhook went back in the queue");
    let back = store.dequeue("c", store.lane_of(SHOP), 10, Duration::from_secs(5)).await.unwrap();
    assert_eq!(back[0].envelope.meta.topic, "orders/create");
}

/// The retention of the dead letters (audit H2): the oldest beyond the count go, then those
/// buried before the cutoff; what stays is the newest, in order.
async fn dead_letters_beyond_their_count_or_age_are_removed_oldest_first(store: SharedStore) {
    for _ in 0..4 {
        dead_webhook(&store).await;
    }
    store.bury_effect(SHOP, Mark::Order(7), "platform refused").await.unwrap();
    let all = store.dead_letters(10).await.unwrap();
    assert_eq!(all.len(), 5);
    assert_eq!(store.trim_dead_letters(3, 0).await.unwrap(), 2, "two beyond the count of three");
    let kept: Vec<String> = store.dead_letters(10).await.unwrap().into_iter().map(|d| d.id).collect();
    assert_eq!(kept, all[2..].iter().map(|d| d.id.clone()).collect::<Vec<_>>(), "the newest three");
    assert_eq!(store.trim_dead_letters(3, 0).await.unwrap(), 0, "within retention: nothing more");
    // Everything was buried before now + 1 s.
    assert_eq!(store.trim_dead_letters(100, now_ms() + 1_000).await.unwrap(), 3);
    assert!(store.dead_letters(10).await.unwrap().is_empty());
}

on_every_backend!(
    dead_letters_beyond_their_count_or_age_are_removed_oldest_first,
    a_dead_effect_is_listed_as_an_effect_naming_its_shop_and_mark,
    replaying_a_dead_effect_marks_it_in_the_shops_ledger_and_queues_nothing,
    replaying_a_dead_effect_twice_at_once_marks_it_once_and_counts_once,
    replaying_everything_marks_the_effects_and_queues_the_webhooks,
);

/// An effect's envelope as versions before effects had a form of their own built it.
fn old_form(mark: &str) -> Envelope {
    Envelope {
        meta: EnvelopeMeta {
            topic: LEGACY_EFFECT_TOPIC.into(),
            shop: SHOP.into(),
            webhook_id: format!("effect-{mark}-{:016x}", fastrand::u64(..)),
            event_id: None,
            api_version: None,
            triggered_at: None,
            received_at_ms: now_ms(),
            attempts: 0,
        },
        body: serde_json::to_vec(&serde_json::json!({ "mark": mark })).unwrap().into(),
    }
}

/// Writes an effect dead letter byte for byte as earlier versions wrote it, underneath the store.
async fn bury_in_the_old_form(test_store: &TestStore, mark: &str, reason: &str) {
    let envelope = old_form(mark).encode();
    match &test_store.dir {
        Some(dir) => {
            // The store creates its tables, then lets go of the file.
            drop(test_store.open().await);
            use redb::ReadableTable;
            let db = redb::Database::open(dir.path().join("backorder.redb")).unwrap();
            let txn = db.begin_write().unwrap();
            let id = {
                let mut meta = txn.open_table(redb::TableDefinition::<&str, u64>::new("meta")).unwrap();
                let id = meta.get("next_dead_id").unwrap().map_or(1, |v| v.value());
                meta.insert("next_dead_id", id + 1).unwrap();
                id
            };
            let mut record =
                format!(r#"{{"kind":"effect","reason":"{reason}","failed_at_ms":{}}}"#, now_ms()).into_bytes();
            record.push(b'\n');
            record.extend_from_slice(&envelope);
            txn.open_table(redb::TableDefinition::<u64, &[u8]>::new("dead"))
                .unwrap()
                .insert(id, record.as_slice())
                .unwrap();
            txn.commit().unwrap();
        }
        None => {
            let keys = Keys::new(&test_store.prefix);
            let key = keys.dead(keys.lane_of(SHOP));
            let envelope = String::from_utf8(envelope).unwrap();
            let at = now_ms().to_string();
            let xadd = ["XADD", key.as_str(), "*", "e", &envelope, "reason", reason, "kind", "effect", "at", &at];
            // On a cluster only the node that serves the key's slot takes it; the others answer MOVED.
            let added = redis_ports(test_store)
                .into_iter()
                .filter_map(|port| support::redis::command(port, &xadd))
                .any(|reply| reply.starts_with('$'));
            assert!(added, "the old-form dead letter was written");
        }
    }
}

fn redis_ports(test_store: &TestStore) -> Vec<u16> {
    if test_store.url.starts_with("redis+cluster://") {
        support::redis::shared_cluster().nodes.iter().map(|n| n.port).collect()
    } else {
        vec![support::redis::shared().port]
    }
}

async fn an_effect_dead_lettered_in_the_old_form_is_listed_and_replays_into_a_mark(test_store: TestStore) {
    bury_in_the_old_form(&test_store, "o:12", "tagsAdd: out of retries").await;
    bury_in_the_old_form(&test_store, "v:7", "productVariantsBulkUpdate: out of retries").await;
    let store = test_store.open().await;
    let dead = store.dead_letters(10).await.unwrap();
    let buried: Vec<_> = dead.iter().map(|d| (d.kind(), d.buried.clone(), d.reason.as_str())).collect();
    assert_eq!(
        buried,
        [
            (
                DeadLetterKind::Effect,
                Buried::Effect { shop: SHOP.into(), mark: Mark::Order(12) },
                "tagsAdd: out of retries"
            ),
            (
                DeadLetterKind::Effect,
                Buried::Effect { shop: SHOP.into(), mark: Mark::Variant(7) },
                "productVariantsBulkUpdate: out of retries"
            ),
        ]
    );
    assert_eq!(store.replay_dead_letters(Some(&dead[0].id)).await.unwrap(), 1);
    assert_eq!(store.replay_dead_letters(None).await.unwrap(), 1);
    let dirty = store.ledger_dirty(SHOP).await.unwrap();
    assert_eq!((dirty.orders, dirty.variants), (vec![12], vec![7]));
    let stats = store.queue_stats().await.unwrap();
    assert_eq!((stats.queued, stats.dead), (0, 0), "nothing went through the webhook queue");
}

async fn forgetting_a_shop_removes_its_effects_dead_lettered_in_the_old_form(test_store: TestStore) {
    bury_in_the_old_form(&test_store, "o:5", "out of retries").await;
    let store = test_store.open().await;
    assert_eq!(store.purge_dead_letters(SHOP, b"o:5").await.unwrap(), 0, "an effect holds no customer data");
    store.forget_shop(SHOP).await.unwrap();
    assert!(store.dead_letters(10).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_embedded_store_an_effect_dead_lettered_in_the_old_form_is_listed_and_replays_into_a_mark() {
    an_effect_dead_lettered_in_the_old_form_is_listed_and_replays_into_a_mark(Backend::Embedded.prepare()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_standalone_redis_an_effect_dead_lettered_in_the_old_form_is_listed_and_replays_into_a_mark() {
    an_effect_dead_lettered_in_the_old_form_is_listed_and_replays_into_a_mark(Backend::Redis.prepare()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_redis_cluster_an_effect_dead_lettered_in_the_old_form_is_listed_and_replays_into_a_mark() {
    let url = support::redis::shared_cluster().url();
    an_effect_dead_lettered_in_the_old_form_is_listed_and_replays_into_a_mark(Backend::Url(url).prepare()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgetting_a_shop_removes_its_effects_dead_lettered_in_the_old_form_on_every_backend() {
    let cluster = support::redis::shared_cluster().url();
    for backend in [Backend::Embedded, Backend::Redis, Backend::Url(cluster)] {
        forgetting_a_shop_removes_its_effects_dead_lettered_in_the_old_form(backend.prepare()).await;
    }
}

/// A replay by an earlier version may have put an old-form effect in the webhook queue just
/// before the upgrade: the worker marks it again, as a replay does now.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_form_effect_already_in_the_webhook_queue_is_marked_again_by_the_worker() {
    for backend in [Backend::Embedded, Backend::Redis] {
        let test_store = backend.prepare();
        let store = test_store.open().await;
        store.enqueue(&old_form("o:44"), TTL).await.unwrap();
        // No effects pass in this process, so the mark stays to be seen.
        let settings = support::settings(&test_store, &[("BACKORDER__EFFECTS__SWEEP_MS", "0")]);
        let app = TestApp::start(store, settings).await;
        eventually("the old-form effect to be marked again", || async {
            let dirty = app.store.ledger_dirty(SHOP).await.ok()?;
            (dirty.orders == [44]).then_some(())
        })
        .await;
        app.drained().await;
        assert_eq!(app.store.queue_stats().await.unwrap().dead, 0);
        app.app.stop().await;
    }
}

/// A malformed old-form entry in the queue is no effect: it is dead-lettered with the reason.
/// The running service keeps its dead letters within their retention, and counts what it
/// removed in `/metrics`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_trims_dead_letters_beyond_their_retention_and_counts_them_in_metrics() {
    for backend in [Backend::Embedded, Backend::Redis] {
        let (app, _store) = TestApp::spawn(backend, &[("BACKORDER__QUEUE__DEAD_LETTERS_MAX", "2")]).await;
        for n in 0..4 {
            let mut bad = crate::support::webhooks::Delivery::new("orders/create", b"not json".to_vec());
            bad.webhook_id = format!("bad-{n}");
            assert_eq!(app.deliver(&bad).await.status(), 200);
        }
        eventually("two dead letters kept and two counted as trimmed", || async {
            let kept = app.store.dead_letters(10).await.ok()?.len();
            let metrics = app.client.get(app.url("/metrics")).send().await.ok()?.text().await.ok()?;
            (kept == 2 && metrics.contains("backorder_dead_letters_trimmed_total 2")).then_some(())
        })
        .await;
        app.app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_form_effect_with_a_malformed_mark_in_the_queue_is_dead_lettered_with_the_reason() {
    let (app, _store) = TestApp::spawn(Backend::Embedded, &[("BACKORDER__EFFECTS__SWEEP_MS", "0")]).await;
    app.store.enqueue(&old_form("o:012"), TTL).await.unwrap();
    let dead = eventually("the malformed entry to be dead-lettered", || async {
        let dead = app.store.dead_letters(10).await.ok()?;
        (!dead.is_empty()).then_some(dead)
    })
    .await;
    assert_eq!(dead[0].kind(), DeadLetterKind::Webhook);
    assert!(dead[0].reason.contains("malformed mark"), "{}", dead[0].reason);
    app.app.stop().await;
}
