//! The sharded intake's own promises, run unchanged on the embedded store, a standalone Redis and
//! the 3-node Cluster: each shop's events in one lane in order of arrival, retries and dead
//! letters kept per lane, one owner per lane, and the live instances counted.

use std::time::Duration;

use backorder::store::{Enqueued, Envelope, EnvelopeMeta, Lane, SharedStore, now_ms};
use bytes::Bytes;

const TTL: Duration = Duration::from_secs(3600);
const SHORT: Duration = Duration::from_millis(50);
const FIRST: &str = "lanes-first.myshopify.com";

fn event(shop: &str, n: u32) -> Envelope {
    Envelope {
        meta: EnvelopeMeta {
            topic: "orders/create".into(),
            shop: shop.into(),
            webhook_id: format!("wh-{shop}-{n}"),
            event_id: Some(format!("ev-{shop}-{n}")),
            api_version: Some("2026-10".into()),
            triggered_at: None,
            received_at_ms: now_ms(),
            attempts: 0,
        },
        body: Bytes::from(format!("{{\"id\":{n}}}")),
    }
}

/// A shop whose lane is not `FIRST`'s.
fn other_shop(store: &SharedStore) -> String {
    (0..)
        .map(|i| format!("lanes-other-{i}.myshopify.com"))
        .find(|shop| store.lane_of(shop) != store.lane_of(FIRST))
        .expect("some shop is in another lane")
}

fn ids(entries: &[backorder::store::QueueEntry]) -> Vec<String> {
    entries.iter().map(|e| e.envelope.meta.webhook_id.clone()).collect()
}

async fn each_shops_events_come_from_its_own_lane_in_order_of_arrival(store: SharedStore) {
    let other = other_shop(&store);
    for n in 0..4 {
        assert_eq!(store.enqueue(&event(FIRST, n), TTL).await.unwrap(), Enqueued::New);
        assert_eq!(store.enqueue(&event(&other, n), TTL).await.unwrap(), Enqueued::New);
    }
    let first = store.dequeue("c", store.lane_of(FIRST), 10, SHORT).await.unwrap();
    assert_eq!(ids(&first), (0..4).map(|n| format!("wh-{FIRST}-{n}")).collect::<Vec<_>>());
    assert!(first.iter().all(|e| e.lane == store.lane_of(FIRST)));
    let theirs = store.dequeue("c", store.lane_of(&other), 10, SHORT).await.unwrap();
    assert_eq!(ids(&theirs), (0..4).map(|n| format!("wh-{other}-{n}")).collect::<Vec<_>>());
    assert_eq!(store.queue_stats().await.unwrap().queued, 8, "held, not yet acked");
    for entry in first.iter().chain(&theirs) {
        store.ack(entry).await.unwrap();
    }
    assert_eq!(store.queue_stats().await.unwrap().queued, 0);
}

async fn a_duplicate_is_caught_in_the_lane_of_its_shop(store: SharedStore) {
    let original = event(FIRST, 1);
    let mut again = original.clone();
    again.meta.webhook_id = "wh-retry".into();
    assert_eq!(store.enqueue(&original, TTL).await.unwrap(), Enqueued::New);
    assert_eq!(store.enqueue(&again, TTL).await.unwrap(), Enqueued::Duplicate);
    assert_eq!(store.enqueue(&original, TTL).await.unwrap(), Enqueued::Duplicate);
}

async fn a_retry_comes_back_to_its_own_lane(store: SharedStore) {
    let other = other_shop(&store);
    store.enqueue(&event(FIRST, 1), TTL).await.unwrap();
    let entry = store.dequeue("c", store.lane_of(FIRST), 1, SHORT).await.unwrap().remove(0);
    store.retry_later(&entry, Duration::ZERO).await.unwrap();
    let back = crate::support::eventually("the retry to come back", || async {
        store.maintain(&[store.lane_of(FIRST)]).await.ok()?;
        let got = store.dequeue("c", store.lane_of(FIRST), 10, SHORT).await.ok()?;
        (!got.is_empty()).then_some(got)
    })
    .await;
    assert_eq!(ids(&back), [format!("wh-{FIRST}-1")]);
    assert_eq!(back[0].envelope.meta.attempts, 1);
    assert!(store.dequeue("c", store.lane_of(&other), 10, SHORT).await.unwrap().is_empty(), "not in another lane");
}

async fn dead_letters_of_every_lane_list_oldest_first_and_replay_into_their_lane(store: SharedStore) {
    let other = other_shop(&store);
    store.enqueue(&event(FIRST, 1), TTL).await.unwrap();
    let entry = store.dequeue("c", store.lane_of(FIRST), 1, SHORT).await.unwrap().remove(0);
    store.dead_letter(&entry, "first").await.unwrap();
    store.enqueue(&event(&other, 2), TTL).await.unwrap();
    let entry = store.dequeue("c", store.lane_of(&other), 1, SHORT).await.unwrap().remove(0);
    store.dead_letter(&entry, "second").await.unwrap();

    let dead = store.dead_letters(10).await.unwrap();
    assert_eq!(dead.iter().map(|d| d.reason.as_str()).collect::<Vec<_>>(), ["first", "second"]);
    assert_ne!(dead[0].id, dead[1].id, "ids name their lane");
    assert_eq!(store.dead_letters(1).await.unwrap().len(), 1, "at most the limit");

    assert_eq!(store.replay_dead_letters(Some(&dead[1].id)).await.unwrap(), 1);
    let back = store.dequeue("c", store.lane_of(&other), 10, SHORT).await.unwrap();
    assert_eq!(ids(&back), [format!("wh-{other}-2")]);
    assert_eq!(store.dead_letters(10).await.unwrap().len(), 1);
    assert_eq!(store.replay_dead_letters(Some("not-an-id")).await.unwrap(), 0);
}

async fn a_lane_has_one_owner_at_a_time(store: SharedStore) {
    let lane = Lane::Shard(3);
    let long = Duration::from_secs(60);
    assert!(store.own_lane(lane, "a", long).await.unwrap());
    assert!(store.own_lane(lane, "a", long).await.unwrap(), "the owner renews");
    assert!(!store.own_lane(lane, "b", long).await.unwrap(), "another waits");
    assert!(store.own_lane(Lane::Shard(4), "b", long).await.unwrap(), "other lanes are free");
    store.disown_lane(lane, "b").await.unwrap();
    assert!(!store.own_lane(lane, "b", long).await.unwrap(), "only the owner gives it up");
    store.disown_lane(lane, "a").await.unwrap();
    assert!(store.own_lane(lane, "b", long).await.unwrap());

    assert!(store.own_lane(Lane::Shard(5), "a", Duration::from_millis(100)).await.unwrap());
    crate::support::eventually("a lease that is not renewed to lapse", || async {
        store.own_lane(Lane::Shard(5), "b", long).await.ok()?.then_some(())
    })
    .await;
}

async fn live_instances_are_counted_until_they_leave_or_lapse(store: SharedStore) {
    let long = Duration::from_secs(60);
    assert_eq!(store.heartbeat("one", long).await.unwrap(), 1);
    assert_eq!(store.heartbeat("two", long).await.unwrap(), 2);
    assert_eq!(store.heartbeat("one", long).await.unwrap(), 2, "a heartbeat again counts once");
    store.depart("two").await.unwrap();
    assert_eq!(store.heartbeat("one", long).await.unwrap(), 1);
    assert_eq!(store.heartbeat("brief", Duration::from_millis(50)).await.unwrap(), 2);
    crate::support::eventually("a silent instance to lapse", || async {
        (store.heartbeat("one", long).await.ok()? == 1).then_some(())
    })
    .await;
}

on_every_backend!(
    each_shops_events_come_from_its_own_lane_in_order_of_arrival,
    a_duplicate_is_caught_in_the_lane_of_its_shop,
    a_retry_comes_back_to_its_own_lane,
    dead_letters_of_every_lane_list_oldest_first_and_replay_into_their_lane,
    a_lane_has_one_owner_at_a_time,
    live_instances_are_counted_until_they_leave_or_lapse,
);
