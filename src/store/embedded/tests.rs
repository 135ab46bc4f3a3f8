//! What only the embedded store can promise: state survives closing and reopening the file.

use std::time::{Duration, Instant};

use bytes::Bytes;
use redb::{ReadableDatabase, ReadableTableMetadata};

use super::tables::{PROCESSED, PROCESSED_BY_EXPIRY, QUEUE, SEEN, SEEN_BY_EXPIRY, queue_row};
use super::*;
use crate::store::EnvelopeMeta;

const TTL: Duration = Duration::from_secs(3600);

/// The lane of the shop of [`order`].
fn lane() -> Lane {
    crate::store::shard::lane_of("unit.myshopify.com", crate::store::shard::DEFAULT_SHARDS)
}

fn order(n: u32) -> Envelope {
    Envelope {
        meta: EnvelopeMeta {
            topic: "orders/create".into(),
            shop: "unit.myshopify.com".into(),
            webhook_id: format!("wh-{n}"),
            event_id: Some(format!("ev-{n}")),
            api_version: None,
            triggered_at: None,
            received_at_ms: 1,
            attempts: 0,
        },
        body: Bytes::from(format!("{{\"id\":{n}}}")),
    }
}

#[tokio::test]
async fn an_entry_enqueued_before_a_reopen_is_delivered_after_it() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = EmbeddedStore::open(dir.path()).await.unwrap();
        assert_eq!(store.enqueue(&order(1), TTL).await.unwrap(), Enqueued::New);
        assert_eq!(store.enqueue(&order(2), TTL).await.unwrap(), Enqueued::New);
        // Held by a consumer that dies with the process.
        let held = store.dequeue("dies", lane(), 1, Duration::ZERO).await.unwrap();
        assert_eq!(held[0].envelope, order(1));
    }
    let store = EmbeddedStore::open(dir.path()).await.unwrap();
    assert_eq!(store.queue_stats().await.unwrap(), QueueStats { queued: 2, delayed: 0, dead: 0 });
    let got = store.dequeue("c", lane(), 10, Duration::ZERO).await.unwrap();
    let bodies: Vec<_> = got.iter().map(|e| e.envelope.clone()).collect();
    assert_eq!(bodies, [order(1), order(2)], "in arrival order, the held one ready again");
    assert!(got.iter().all(|e| e.deliveries == 1));
    store.ack(&got[0]).await.unwrap();
    drop(store);

    let store = EmbeddedStore::open(dir.path()).await.unwrap();
    let got = store.dequeue("c", lane(), 10, Duration::ZERO).await.unwrap();
    assert_eq!(got.len(), 1, "the acked entry stays gone");
    assert_eq!(got[0].envelope, order(2));
}

#[tokio::test]
async fn a_retry_keeps_its_delay_and_attempt_count_across_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let delay = Duration::from_millis(400);
    let retried_at = Instant::now();
    {
        let store = EmbeddedStore::open(dir.path()).await.unwrap();
        store.enqueue(&order(1), TTL).await.unwrap();
        let entry = store.dequeue("c", lane(), 1, Duration::ZERO).await.unwrap().remove(0);
        store.retry_later(&entry, delay).await.unwrap();
    }
    let store = EmbeddedStore::open(dir.path()).await.unwrap();
    assert_eq!(store.queue_stats().await.unwrap(), QueueStats { queued: 0, delayed: 1, dead: 0 });
    assert!(store.dequeue("c", lane(), 10, Duration::ZERO).await.unwrap().is_empty(), "not before its delay");
    // A blocked consumer wakes when the delay is over, without anything being enqueued.
    let back = store.dequeue("c", lane(), 10, Duration::from_secs(5)).await.unwrap();
    assert!(retried_at.elapsed() >= delay);
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].envelope.meta.attempts, 1);
    assert_eq!(back[0].envelope.body, order(1).body);
    assert_eq!(store.maintain(&[lane()]).await.unwrap(), 1, "one retry became due");
    assert_eq!(store.maintain(&[lane()]).await.unwrap(), 0);
}

#[tokio::test]
async fn a_dedupe_mark_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = EmbeddedStore::open(dir.path()).await.unwrap();
        assert_eq!(store.enqueue(&order(1), TTL).await.unwrap(), Enqueued::New);
        let entry = store.dequeue("c", lane(), 1, Duration::ZERO).await.unwrap().remove(0);
        store.ack(&entry).await.unwrap();
        assert!(store.commit_event("s", "ev:1", "orders/create", TTL).await.unwrap());
    }
    let store = EmbeddedStore::open(dir.path()).await.unwrap();
    assert_eq!(store.enqueue(&order(1), TTL).await.unwrap(), Enqueued::Duplicate);
    let mut same_event = order(1);
    same_event.meta.webhook_id = "wh-other".into();
    assert_eq!(store.enqueue(&same_event, TTL).await.unwrap(), Enqueued::Duplicate);
    assert!(!store.commit_event("s", "ev:1", "orders/create", TTL).await.unwrap());
    assert_eq!(store.processed_counts("s").await.unwrap().get("orders/create"), Some(&1));
    assert_eq!(store.queue_stats().await.unwrap().queued, 0);
}

#[tokio::test]
async fn expired_marks_are_dropped_by_maintain() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).await.unwrap();
    store.enqueue(&order(1), Duration::from_millis(1)).await.unwrap();
    store.enqueue(&order(2), TTL).await.unwrap();
    assert!(store.commit_event("s", "ev:1", "orders/create", Duration::from_millis(1)).await.unwrap());
    tokio::time::sleep(Duration::from_millis(10)).await;
    store.maintain(&[lane()]).await.unwrap();

    let txn = store.inner.db.begin_read().unwrap();
    assert_eq!(txn.open_table(SEEN).unwrap().len().unwrap(), 2, "only the live marks of order 2 remain");
    assert_eq!(txn.open_table(SEEN_BY_EXPIRY).unwrap().len().unwrap(), 2);
    assert_eq!(txn.open_table(PROCESSED).unwrap().len().unwrap(), 0);
    assert_eq!(txn.open_table(PROCESSED_BY_EXPIRY).unwrap().len().unwrap(), 0);
    drop(txn);
    assert_eq!(store.enqueue(&order(1), TTL).await.unwrap(), Enqueued::New);
    assert!(store.commit_event("s", "ev:1", "orders/create", TTL).await.unwrap());
    assert_eq!(store.processed_counts("s").await.unwrap().get("orders/create"), Some(&2));
}

#[tokio::test]
async fn a_second_opener_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let _first = EmbeddedStore::open(dir.path()).await.unwrap();
    match EmbeddedStore::open(dir.path()).await {
        Err(StoreError::Unavailable(msg)) => assert!(msg.contains("backorder.redb"), "{msg}"),
        Err(e) => panic!("unexpected error: {e}"),
        Ok(_) => panic!("a second opener got in"),
    }
}

#[tokio::test]
async fn an_undecodable_row_is_dead_lettered_not_handed_out() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = EmbeddedStore::open(dir.path()).await.unwrap();
        let txn = store.inner.db.begin_write().unwrap();
        txn.open_table(QUEUE).unwrap().insert(999, queue_row(0, b"no metadata line").as_slice()).unwrap();
        txn.commit().unwrap();
    }
    let store = EmbeddedStore::open(dir.path()).await.unwrap();
    // A row that names no shop is in the first lane.
    assert!(store.dequeue("c", Lane::Shard(0), 10, Duration::ZERO).await.unwrap().is_empty());
    let dead = store.dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].reason, "undecodable queue entry");
    assert_eq!(&dead[0].envelope().unwrap().body[..], b"no metadata line");
    assert_eq!(store.queue_stats().await.unwrap(), QueueStats { queued: 0, delayed: 0, dead: 1 });
}

#[tokio::test]
async fn dead_letters_survive_a_reopen_and_replay_after_it() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = EmbeddedStore::open(dir.path()).await.unwrap();
        for n in 0..3 {
            store.enqueue(&order(n), TTL).await.unwrap();
        }
        for entry in store.dequeue("c", lane(), 10, Duration::ZERO).await.unwrap() {
            store.retry_later(&entry, Duration::ZERO).await.unwrap();
        }
        for entry in store.dequeue("c", lane(), 10, Duration::ZERO).await.unwrap() {
            store.dead_letter(&entry, "boom").await.unwrap();
        }
    }
    let store = EmbeddedStore::open(dir.path()).await.unwrap();
    let dead = store.dead_letters(10).await.unwrap();
    let ids: Vec<_> = dead.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["1", "2", "3"], "oldest first");
    assert!(dead.iter().all(|d| d.envelope().unwrap().meta.attempts == 1 && d.reason == "boom"));
    assert_eq!(store.replay_dead_letters(Some("2")).await.unwrap(), 1);
    assert_eq!(store.replay_dead_letters(None).await.unwrap(), 2);
    let back = store.dequeue("c", lane(), 10, Duration::ZERO).await.unwrap();
    assert_eq!(back.len(), 3);
    assert!(back.iter().all(|e| e.envelope.meta.attempts == 0));
    assert_eq!(store.queue_stats().await.unwrap(), QueueStats { queued: 3, delayed: 0, dead: 0 });
}

#[tokio::test]
async fn a_late_settle_of_an_old_id_leaves_the_retry_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).await.unwrap();
    store.enqueue(&order(1), TTL).await.unwrap();
    let entry = store.dequeue("c", lane(), 1, Duration::ZERO).await.unwrap().remove(0);
    store.retry_later(&entry, Duration::from_secs(600)).await.unwrap();
    store.ack(&entry).await.unwrap();
    store.dead_letter(&entry, "late").await.unwrap();
    store.retry_later(&entry, Duration::ZERO).await.unwrap();
    assert_eq!(store.queue_stats().await.unwrap(), QueueStats { queued: 0, delayed: 1, dead: 0 });
}
