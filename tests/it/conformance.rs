//! One store conformance suite, run unchanged against the embedded store, a standalone Redis and
//! a local 3-node Redis Cluster.

use std::collections::HashSet;
use std::time::Duration;

use backorder::store::{Enqueued, Envelope, EnvelopeMeta, SharedStore, now_ms};
use bytes::Bytes;

use crate::support::eventually;

const TTL: Duration = Duration::from_secs(3600);
const SHORT: Duration = Duration::from_millis(50);

fn envelope(topic: &str, webhook_id: &str, event_id: Option<&str>, body: &[u8]) -> Envelope {
    Envelope {
        meta: EnvelopeMeta {
            topic: topic.into(),
            shop: "conformance.myshopify.com".into(),
            webhook_id: webhook_id.into(),
            event_id: event_id.map(str::to_string),
            api_version: Some("2026-10".into()),
            triggered_at: None,
            received_at_ms: now_ms(),
            attempts: 0,
        },
        body: Bytes::copy_from_slice(body),
    }
}

fn order(n: u32) -> Envelope {
    envelope("orders/create", &format!("wh-{n}"), Some(&format!("ev-{n}")), format!("{{\"id\":{n}}}").as_bytes())
}

/// The lane of the suite's shop.
fn lane(store: &SharedStore) -> backorder::store::Lane {
    store.lane_of("conformance.myshopify.com")
}

async fn take_one(store: &SharedStore, consumer: &str) -> backorder::store::QueueEntry {
    let mut got = store.dequeue(consumer, lane(store), 1, Duration::from_secs(5)).await.expect("dequeue");
    assert_eq!(got.len(), 1, "expected one entry");
    got.remove(0)
}

async fn an_enqueued_envelope_comes_back_byte_for_byte(store: SharedStore) {
    let mut env = envelope("orders/create", "wh-1", Some("ev-1"), b"\x00\xffnot json\n{}");
    env.meta.triggered_at = Some("2026-11-20T15:00:00Z".into());
    assert_eq!(store.enqueue(&env, TTL).await.unwrap(), Enqueued::New);
    let entry = take_one(&store, "c1").await;
    assert_eq!(entry.envelope, env);
    assert_eq!(entry.deliveries, 1);
}

async fn a_repeated_delivery_id_is_not_queued_twice(store: SharedStore) {
    let env = order(1);
    assert_eq!(store.enqueue(&env, TTL).await.unwrap(), Enqueued::New);
    assert_eq!(store.enqueue(&env, TTL).await.unwrap(), Enqueued::Duplicate);
    assert_eq!(store.queue_stats().await.unwrap().queued, 1);
}

async fn the_same_event_under_a_new_delivery_id_is_not_queued_twice(store: SharedStore) {
    let env = order(1);
    let mut again = env.clone();
    again.meta.webhook_id = "wh-other".into();
    assert_eq!(store.enqueue(&env, TTL).await.unwrap(), Enqueued::New);
    assert_eq!(store.enqueue(&again, TTL).await.unwrap(), Enqueued::Duplicate);
    // The second delivery id is remembered too, so its own retries stay duplicates.
    let mut third = again.clone();
    third.meta.event_id = Some("ev-never-seen".into());
    assert_eq!(store.enqueue(&third, TTL).await.unwrap(), Enqueued::Duplicate);
    assert_eq!(store.queue_stats().await.unwrap().queued, 1);
}

async fn deliveries_without_an_event_id_dedupe_by_delivery_id(store: SharedStore) {
    let env = envelope("orders/create", "wh-solo", None, b"{}");
    assert_eq!(store.enqueue(&env, TTL).await.unwrap(), Enqueued::New);
    assert_eq!(store.enqueue(&env, TTL).await.unwrap(), Enqueued::Duplicate);
    let other = envelope("orders/create", "wh-solo-2", None, b"{}");
    assert_eq!(store.enqueue(&other, TTL).await.unwrap(), Enqueued::New);
}

async fn an_acked_entry_leaves_the_queue(store: SharedStore) {
    store.enqueue(&order(1), TTL).await.unwrap();
    let entry = take_one(&store, "c1").await;
    store.ack(&entry).await.unwrap();
    assert_eq!(store.queue_stats().await.unwrap().queued, 0);
    assert!(store.reclaim("c2", lane(&store), Duration::ZERO, 10).await.unwrap().is_empty());
    assert!(store.dequeue("c2", lane(&store), 10, SHORT).await.unwrap().is_empty());
}

async fn entries_come_out_in_arrival_order(store: SharedStore) {
    for n in 0..5 {
        store.enqueue(&order(n), TTL).await.unwrap();
    }
    let got = store.dequeue("c1", lane(&store), 10, SHORT).await.unwrap();
    let ids: Vec<_> = got.iter().map(|e| e.envelope.meta.webhook_id.clone()).collect();
    assert_eq!(ids, ["wh-0", "wh-1", "wh-2", "wh-3", "wh-4"]);
}

async fn a_held_entry_is_not_handed_to_another_consumer(store: SharedStore) {
    store.enqueue(&order(1), TTL).await.unwrap();
    let _held = take_one(&store, "c1").await;
    assert!(store.dequeue("c2", lane(&store), 10, SHORT).await.unwrap().is_empty());
    assert!(store.reclaim("c2", lane(&store), Duration::from_secs(60), 10).await.unwrap().is_empty());
}

async fn an_entry_of_a_dead_consumer_is_reclaimed_with_its_delivery_counted(store: SharedStore) {
    store.enqueue(&order(1), TTL).await.unwrap();
    let held = take_one(&store, "dead").await;
    let reclaimed = eventually("the entry to be reclaimable", || {
        let store = store.clone();
        async move {
            let got = store.reclaim("alive", lane(&store), Duration::from_millis(100), 10).await.ok()?;
            (!got.is_empty()).then_some(got)
        }
    })
    .await;
    assert_eq!(reclaimed.len(), 1);
    assert_eq!(reclaimed[0].envelope, held.envelope);
    assert_eq!(reclaimed[0].deliveries, 2);
    store.ack(&reclaimed[0]).await.unwrap();
    assert_eq!(store.queue_stats().await.unwrap().queued, 0);
}

/// The rest of a batch waits its turn behind the shop lock (audit L10): an entry its consumer
/// renews before processing is not taken for a dead consumer's, and keeps its delivery count;
/// one it did not renew is, and then the late renewal says so.
async fn a_renewed_entry_is_not_reclaimed_while_its_consumer_works_on_the_batch(store: SharedStore) {
    store.enqueue(&order(1), TTL).await.unwrap();
    store.enqueue(&order(2), TTL).await.unwrap();
    let batch = store.dequeue("slow", lane(&store), 10, SHORT).await.unwrap();
    assert_eq!(batch.len(), 2);
    let idle = Duration::from_millis(100);
    // Both become idle enough to be re-claimed; the consumer renews the second just before.
    let started = std::time::Instant::now();
    eventually("the batch to be idle long enough", || async { (started.elapsed() > idle).then_some(()) }).await;
    assert!(store.renew("slow", &batch[1]).await.unwrap(), "still held: renewed");
    let reclaimed = store.reclaim("other", lane(&store), idle, 10).await.unwrap();
    let ids: Vec<_> = reclaimed.iter().map(|e| e.envelope.meta.webhook_id.clone()).collect();
    assert_eq!(ids, ["wh-1"], "only the entry that was not renewed");
    assert!(!store.renew("slow", &batch[0]).await.unwrap(), "taken over: left to the other consumer");
    store.ack(&reclaimed[0]).await.unwrap();
    // The renewed entry was delivered once: a later re-claim counts it as its second delivery.
    let again = eventually("the renewed entry to be idle again", || {
        let store = store.clone();
        async move {
            let got = store.reclaim("other", lane(&store), idle, 10).await.ok()?;
            (!got.is_empty()).then_some(got)
        }
    })
    .await;
    assert_eq!((again[0].envelope.meta.webhook_id.as_str(), again[0].deliveries), ("wh-2", 2));
}

async fn a_retried_entry_returns_after_its_delay_with_one_more_attempt(store: SharedStore) {
    store.enqueue(&order(1), TTL).await.unwrap();
    let entry = take_one(&store, "c1").await;
    store.retry_later(&entry, Duration::from_millis(300)).await.unwrap();
    let stats = store.queue_stats().await.unwrap();
    assert_eq!((stats.queued, stats.delayed), (0, 1));
    assert!(store.dequeue("c1", lane(&store), 10, Duration::ZERO).await.unwrap().is_empty(), "not before its delay");
    let back = eventually("the retry to come back", || {
        let store = store.clone();
        async move {
            store.maintain(&[lane(&store)]).await.ok()?;
            let got = store.dequeue("c1", lane(&store), 10, SHORT).await.ok()?;
            got.into_iter().next()
        }
    })
    .await;
    assert_eq!(back.envelope.meta.attempts, 1);
    assert_eq!(back.envelope.body, entry.envelope.body);
}

async fn a_dead_letter_keeps_the_delivery_whole_and_replays_with_fresh_attempts(store: SharedStore) {
    let mut env = envelope("orders/create", "wh-bad", Some("ev-bad"), b"<html>not json</html>");
    store.enqueue(&env, TTL).await.unwrap();
    let entry = take_one(&store, "c1").await;
    store.dead_letter(&entry, "body is not a JSON object").await.unwrap();

    let stats = store.queue_stats().await.unwrap();
    assert_eq!((stats.queued, stats.dead), (0, 1));
    let dead = store.dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].reason, "body is not a JSON object");
    assert_eq!(dead[0].envelope(), Some(&env));

    assert_eq!(store.replay_dead_letters(Some("no-such-id")).await.unwrap(), 0);
    assert_eq!(store.replay_dead_letters(Some(&dead[0].id)).await.unwrap(), 1);
    assert_eq!(store.replay_dead_letters(Some(&dead[0].id)).await.unwrap(), 0, "replayed once only");
    let again = take_one(&store, "c1").await;
    env.meta.attempts = 0;
    assert_eq!(again.envelope, env);
    assert_eq!(store.queue_stats().await.unwrap().dead, 0);
}

async fn replaying_everything_empties_the_dead_letter_list(store: SharedStore) {
    for n in 0..3 {
        store.enqueue(&order(n), TTL).await.unwrap();
    }
    for entry in store.dequeue("c1", lane(&store), 10, SHORT).await.unwrap() {
        store.dead_letter(&entry, "boom").await.unwrap();
    }
    assert_eq!(store.replay_dead_letters(None).await.unwrap(), 3);
    let stats = store.queue_stats().await.unwrap();
    assert_eq!((stats.queued, stats.dead), (3, 0));
}

async fn an_event_is_committed_once_and_counted_by_topic(store: SharedStore) {
    let shop = "a.myshopify.com";
    assert!(store.commit_event(shop, "ev:1", "orders/create", TTL).await.unwrap());
    assert!(!store.commit_event(shop, "ev:1", "orders/create", TTL).await.unwrap());
    assert!(store.commit_event(shop, "ev:2", "orders/updated", TTL).await.unwrap());
    let counts = store.processed_counts(shop).await.unwrap();
    assert_eq!(counts.get("orders/create"), Some(&1));
    assert_eq!(counts.get("orders/updated"), Some(&1));
}

async fn shops_never_see_each_others_processed_events(store: SharedStore) {
    assert!(store.commit_event("a.myshopify.com", "ev:1", "orders/create", TTL).await.unwrap());
    assert!(store.commit_event("b.myshopify.com", "ev:1", "orders/create", TTL).await.unwrap());
    assert!(store.processed_counts("c.myshopify.com").await.unwrap().is_empty());
    assert_eq!(store.processed_counts("b.myshopify.com").await.unwrap().get("orders/create"), Some(&1));
}

async fn a_waiting_consumer_wakes_when_an_entry_arrives(store: SharedStore) {
    let waiting = {
        let store = store.clone();
        tokio::spawn(async move { store.dequeue("c1", lane(&store), 1, Duration::from_secs(10)).await })
    };
    // The consumer may or may not be parked yet; either way it must get the entry.
    store.enqueue(&order(7), TTL).await.unwrap();
    let got = waiting.await.unwrap().unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].envelope.meta.webhook_id, "wh-7");
}

async fn concurrent_consumers_each_get_distinct_entries(store: SharedStore) {
    for n in 0..40 {
        store.enqueue(&order(n), TTL).await.unwrap();
    }
    let mut tasks = Vec::new();
    for c in 0..4 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            loop {
                let got = store.dequeue(&format!("c{c}"), lane(&store), 3, SHORT).await.unwrap();
                if got.is_empty() {
                    return seen;
                }
                for entry in got {
                    seen.push(entry.envelope.meta.webhook_id.clone());
                    store.ack(&entry).await.unwrap();
                }
            }
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), 40, "every entry handed out exactly once");
    assert_eq!(unique.len(), 40);
}

async fn queue_stats_count_each_state(store: SharedStore) {
    for n in 0..4 {
        store.enqueue(&order(n), TTL).await.unwrap();
    }
    let got = store.dequeue("c1", lane(&store), 2, SHORT).await.unwrap();
    store.retry_later(&got[0], Duration::from_secs(600)).await.unwrap();
    store.dead_letter(&got[1], "boom").await.unwrap();
    let stats = store.queue_stats().await.unwrap();
    assert_eq!((stats.queued, stats.delayed, stats.dead), (2, 1, 1));
}

async fn a_shop_that_sent_a_webhook_is_remembered_for_sweeps(store: SharedStore) {
    assert!(store.shops().await.unwrap().is_empty());
    assert_eq!(store.enqueue(&order(1), TTL).await.unwrap(), Enqueued::New);
    assert_eq!(store.enqueue(&order(2), TTL).await.unwrap(), Enqueued::New);
    assert_eq!(store.shops().await.unwrap(), ["conformance.myshopify.com"]);
}

async fn the_store_answers_a_ping(store: SharedStore) {
    store.ping().await.unwrap();
}

on_every_backend!(
    an_enqueued_envelope_comes_back_byte_for_byte,
    a_repeated_delivery_id_is_not_queued_twice,
    the_same_event_under_a_new_delivery_id_is_not_queued_twice,
    deliveries_without_an_event_id_dedupe_by_delivery_id,
    an_acked_entry_leaves_the_queue,
    entries_come_out_in_arrival_order,
    a_held_entry_is_not_handed_to_another_consumer,
    an_entry_of_a_dead_consumer_is_reclaimed_with_its_delivery_counted,
    a_renewed_entry_is_not_reclaimed_while_its_consumer_works_on_the_batch,
    a_retried_entry_returns_after_its_delay_with_one_more_attempt,
    a_dead_letter_keeps_the_delivery_whole_and_replays_with_fresh_attempts,
    replaying_everything_empties_the_dead_letter_list,
    an_event_is_committed_once_and_counted_by_topic,
    shops_never_see_each_others_processed_events,
    a_waiting_consumer_wakes_when_an_entry_arrives,
    concurrent_consumers_each_get_distinct_entries,
    queue_stats_count_each_state,
    the_store_answers_a_ping,
    a_shop_that_sent_a_webhook_is_remembered_for_sweeps,
);
