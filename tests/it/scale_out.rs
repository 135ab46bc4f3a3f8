//! Scale-out on real Redis: the lanes spread over the Cluster's nodes, a store of the single-stream
//! layout is drained, a node that fails stops only its own shops, and an instance killed while
//! it owns lanes hands them to another with nothing lost or applied twice.

use std::time::{Duration, Instant};

use backorder::store::keys::Keys;
use backorder::store::{Envelope, EnvelopeMeta, Lane, now_ms, shard};

use crate::crash::{Server, applied_once, deliver, deliveries, durable_redis, history, http_client};
use crate::ledger_backends::{SHOP as LEDGER_SHOP, enrol_all};
use crate::ledger_model::setup;
use crate::support::redis::{RedisCluster, command, shared_cluster};
use crate::support::webhooks::Delivery;
use crate::support::{self, Backend, SHOP, TestApp, TestStore, eventually, settings};

/// The node (by index) that serves `key`: the others answer MOVED.
fn node_of(ports: &[u16], key: &str) -> usize {
    ports
        .iter()
        .position(|port| command(*port, &["EXISTS", key]).is_some_and(|reply| reply.starts_with(':')))
        .unwrap_or_else(|| panic!("no node serves {key}"))
}

/// Runs one command on whichever node serves `key`.
fn on_owner(ports: &[u16], key: &str, parts: &[&str]) -> String {
    command(ports[node_of(ports, key)], parts).expect("the node answers")
}

fn ports(cluster: &RedisCluster) -> Vec<u16> {
    cluster.nodes.iter().map(|n| n.port).collect()
}

#[test]
fn the_shards_spread_over_every_node_of_the_test_cluster_with_none_taking_half() {
    let cluster = shared_cluster();
    let ports = ports(cluster);
    let keys = Keys::new("spread");
    let mut per_node = vec![0; ports.len()];
    for s in 0..keys.shards() {
        let queue = keys.queue(Lane::Shard(s));
        let tag = &queue[queue.find('{').unwrap() + 1..queue.find('}').unwrap()];
        // Our slot arithmetic is the cluster's own.
        let slot = command(ports[0], &["CLUSTER", "KEYSLOT", &queue]).unwrap();
        assert_eq!(slot.trim(), format!(":{}", shard::slot(tag)), "{queue}");
        per_node[node_of(&ports, &queue)] += 1;
    }
    assert!(per_node.iter().all(|n| *n > 0), "every node takes some lanes: {per_node:?}");
    assert!(per_node.iter().all(|n| *n <= keys.shards() / 2), "no node takes half: {per_node:?}");
}

/// An envelope as the previous version queued it.
fn legacy_envelope(delivery: &Delivery) -> String {
    let envelope = Envelope {
        meta: EnvelopeMeta {
            topic: delivery.topic.clone(),
            shop: delivery.shop.clone(),
            webhook_id: delivery.webhook_id.clone(),
            event_id: delivery.event_id.clone(),
            api_version: Some("2026-10".into()),
            triggered_at: None,
            received_at_ms: now_ms(),
            attempts: 0,
        },
        body: delivery.body.clone().into(),
    };
    String::from_utf8(envelope.encode()).expect("a JSON order is text")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_of_the_single_stream_layout_is_drained_and_its_dead_letters_replay() {
    let test_store = Backend::Redis.prepare();
    let port = support::redis::shared().port;
    let keys = Keys::new(&test_store.prefix);
    let (queued, buried) = (Delivery::order(3101), Delivery::order(3102));
    // What the previous version left: its group on the one stream, an entry in it, a dead letter.
    let stream = keys.queue(Lane::Legacy);
    command(port, &["XGROUP", "CREATE", &stream, "workers", "0", "MKSTREAM"]).unwrap();
    command(port, &["XADD", &stream, "*", "e", &legacy_envelope(&queued)]).unwrap();
    let dead = keys.dead(Lane::Legacy);
    let at = now_ms().to_string();
    let reason = "store unavailable (gave up after 8 attempts)";
    command(
        port,
        &["XADD", &dead, "*", "e", &legacy_envelope(&buried), "reason", reason, "kind", "webhook", "at", &at],
    )
    .unwrap();

    let store = test_store.open().await;
    let app = TestApp::start(store.clone(), settings(&test_store, &[])).await;
    app.install(SHOP).await;
    eventually("the old stream's entry to be processed", || async {
        (app.processed("orders/create").await == 1).then_some(())
    })
    .await;
    eventually("the old stream to be empty", || async { (!store.legacy_waiting().await.ok()?).then_some(()) }).await;

    let letters = store.dead_letters(10).await.unwrap();
    assert_eq!(letters.len(), 1);
    assert!(!letters[0].id.contains('.'), "an old dead letter keeps its bare id: {}", letters[0].id);
    assert_eq!(store.replay_dead_letters(Some(&letters[0].id)).await.unwrap(), 1);
    eventually("the replayed order to be processed", || async {
        (app.processed("orders/create").await == 2).then_some(())
    })
    .await;
    assert!(store.dead_letters(10).await.unwrap().is_empty());
    app.app.stop().await;
}

/// A shop whose own keys and whose lane are both served by node `node`, or by none of `not`.
fn shop_on(ports: &[u16], keys: &Keys, wanted: impl Fn(usize) -> bool) -> String {
    (0..)
        .map(|i| format!("node-{i}.myshopify.com"))
        .find(|shop| {
            let own = node_of(ports, &format!("x:{{{shop}}}:y"));
            own == node_of(ports, &keys.queue(keys.lane_of(shop))) && wanted(own)
        })
        .expect("some shop lies wholly on the node")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_cluster_node_makes_its_shops_answer_503_while_the_others_carry_on() {
    let mut cluster = RedisCluster::start();
    let ports = ports(&cluster);
    // Lanes and shops map to nodes alike whatever the prefix.
    let keys = Keys::new("any");
    let down = 2;
    let (stopped, carries_on) = (shop_on(&ports, &keys, |n| n == down), shop_on(&ports, &keys, |n| n != down));
    let (app, _test_store) = TestApp::spawn(Backend::Url(cluster.url()), &[]).await;
    let store = app.store.clone();
    for shop in [&stopped, &carries_on] {
        app.install(shop).await;
    }
    let order = |shop: &str, id: u64| {
        let mut d = Delivery::order(id);
        d.shop = shop.to_string();
        d
    };
    assert_eq!(app.deliver(&order(&stopped, 1)).await.status(), 200);

    cluster.nodes[down].stop();
    let refused = order(&stopped, 2);
    eventually("the failed node's shop to be refused", || async {
        (app.deliver(&refused).await.status() == 503).then_some(())
    })
    .await;
    for id in 3..6 {
        assert_eq!(app.deliver(&order(&carries_on, id)).await.status(), 200, "the other shops carry on");
    }
    eventually("the other shop's orders to be processed", || async {
        let counts = store.processed_counts(&carries_on).await.ok()?;
        (counts.get("orders/create") == Some(&3)).then_some(())
    })
    .await;
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200, "the instance stays in the load balancer for the others");

    // The node comes back (as after a failover, here without its data): its shops are served
    // again once installed again.
    cluster.nodes[down].restart();
    eventually("the node to answer for its shop", || async { store.kept_out(&stopped).await.ok() }).await;
    app.install(&stopped).await;
    eventually("the node's shop to be served again", || async {
        (app.deliver(&order(&stopped, 7)).await.status() == 200).then_some(())
    })
    .await;
    app.app.stop().await;
}

/// The instance id a server logged when it took `lane`.
fn owner_in_log(server: &Server, lane: Lane) -> Option<String> {
    server.log().lines().find_map(|line| {
        let entry: serde_json::Value = serde_json::from_str(line).ok()?;
        (entry["message"] == "lanes: took this lane" && entry["lane"] == lane.label())
            .then(|| entry["instance"].as_str().map(str::to_string))?
    })
}

async fn an_instance_killed_while_owning_lanes_hands_them_over(test_store: TestStore, ports: Vec<u16>) {
    let platform = history();
    let (reference, counted) = setup(false);
    {
        let store = test_store.open().await;
        enrol_all(&store, &reference.rules).await;
        let sealer = support::settings(&test_store, &[]).sealer().expect("a sealer");
        support::install_shop(&backorder::books::Books::new(store), &sealer, LEDGER_SHOP).await;
    }
    let keys = Keys::new(&test_store.prefix);
    let lane = keys.lane_of(LEDGER_SHOP);
    let owner_key = keys.owner(lane);
    let mut servers =
        vec![Server::start_with(&test_store, None, &[]).await, Server::start_with(&test_store, None, &[]).await];
    let client = http_client();

    // Whoever holds the shop's lane once the two have shared the lanes out.
    let owner = eventually("the shop's lane to have an owner that logged it", || async {
        let holder = on_owner(&ports, &owner_key, &["GET", &owner_key]);
        servers.iter().position(|s| owner_in_log(s, lane).is_some_and(|id| holder.contains(&id)))
    })
    .await;
    let mut doomed = servers.remove(owner);
    let survivor = servers.remove(0);

    let all = deliveries(&platform);
    let (early, late) = all.split_at(all.len() / 2);
    let mut unacknowledged = deliver(&survivor, &client, early.to_vec()).await;
    let store = test_store.open().await;
    eventually("the owner to be processing the shop's events", || async {
        (store.processed_counts(LEDGER_SHOP).await.ok()?.values().sum::<u64>() > 6).then_some(())
    })
    .await;
    doomed.kill();
    doomed.exit("killed").await;

    unacknowledged.extend(deliver(&survivor, &client, late.to_vec()).await);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !unacknowledged.is_empty() {
        assert!(Instant::now() < deadline, "redeliveries refused; log:\n{}", survivor.log());
        unacknowledged = deliver(&survivor, &client, unacknowledged).await;
    }
    eventually("the survivor to take the shop's lane", || async { owner_in_log(&survivor, lane) }).await;
    survivor.drained(&client).await;
    survivor.stop().await;

    applied_once(&store, &platform, counted.as_ref(), "after the hand-over").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_killed_while_owning_lanes_hands_them_over_on_durable_redis() {
    let redis = durable_redis();
    an_instance_killed_while_owning_lanes_hands_them_over(Backend::Url(redis.url()).prepare(), vec![redis.port]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_killed_while_owning_lanes_hands_them_over_on_the_cluster() {
    let cluster = shared_cluster();
    let store = Backend::Url(cluster.url()).prepare();
    an_instance_killed_while_owning_lanes_hands_them_over(store, ports(cluster)).await;
}
