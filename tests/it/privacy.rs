//! `shop/redact` erases the shop from the store (read underneath the service: every Redis key and
//! value, every embedded table), and leaves other shops as they were. Privacy topics answer 401
//! on a bad signature.

use backorder::store::{Record, SharedStore};
use serde_json::json;

use crate::effects::Setup;
use crate::support::dump::redis_entries;
use crate::support::webhooks::Delivery;
use crate::support::{Backend, SHOP, TestApp, eventually};

const OTHER: &str = "other-shop.myshopify.com";

fn for_shop(shop: &str, mut d: Delivery) -> Delivery {
    d.shop = shop.into();
    d
}

/// What the service itself reads of a shop: compared before and after another shop's redaction.
async fn visible(store: &SharedStore, shop: &str) -> String {
    let records = store.ledger_get(shop, &[Record::Install, Record::Order(77), Record::Variants]).await.unwrap();
    let counts = store.processed_counts(shop).await.unwrap();
    let dead = store.dead_letters(100).await.unwrap().into_iter().filter(|d| d.shop() == shop).count();
    format!("{records:?} {counts:?} dead={dead}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shop_redact_deletes_every_key_and_record_of_the_shop_and_leaves_another_shop_untouched() {
    for backend in [Backend::Embedded, Backend::Redis] {
        let mut s = Setup::start(backend, 1, "100", &[]).await;
        let store = s.take_store();
        s.enrol(json!({"enabled": true})).await;
        eventually("the variant to sell on backorder", || async {
            (s.policy() == backorder::devshop::Policy::Continue).then_some(())
        })
        .await;
        s.order(3).await;
        s.settled().await;
        // The enrolment left its onboarding job; drift repair keeps a record of its own.
        backorder::sync::drift::owe_full_pass(&s.app.app.state, SHOP).await.unwrap();
        // And an effect a person undid, kept for the merchant's activity.
        let hold = backorder::effects::people::What::HoldReleased;
        backorder::effects::people::record(&s.app.app.state, SHOP, 1, hold, false).await.unwrap();
        // Another shop with a ledger, an install and a dead letter of its own.
        let sealer = s.app.app.state.sealer.clone().unwrap();
        let other_install = backorder::auth::install::Install {
            access_token: backorder::secret::Secret::new("shpat_other"),
            refresh_token: None,
            expires_at_ms: None,
            scopes: vec![],
            installed_at_ms: 1,
        };
        backorder::auth::install::save(&s.app.app.state.books, &sealer, OTHER, &other_install).await.unwrap();
        for shop in [SHOP, OTHER] {
            assert_eq!(s.app.deliver(&for_shop(shop, Delivery::order(77))).await.status(), 200);
            let bad = Delivery::new("orders/create", br#"{"id": "not a number"}"#.to_vec());
            assert_eq!(s.app.deliver(&for_shop(shop, bad)).await.status(), 200);
        }
        s.app.drained().await;
        eventually("both shops' bad orders dead-lettered", || async {
            let dead = s.app.store.dead_letters(100).await.ok()?;
            (dead.len() == 2).then_some(())
        })
        .await;
        // The other shop's order touches no managed variant: its mark settles with no call.
        eventually("the other shop's marks to settle", || async {
            let dirty = s.app.store.ledger_dirty(OTHER).await.ok()?;
            (dirty.orders.is_empty() && dirty.variants.is_empty()).then_some(())
        })
        .await;
        // The variant's daily record (SPEC 10.1) is among what must go.
        let today = s.app.app.state.books.get_or_default(SHOP, backorder::books::key::Settings).await.unwrap().today();
        let month =
            backorder::books::key::Daily { variant: s.variant, month: backorder::ledger::daily::month_of(today) };
        assert!(s.app.app.state.books.get(SHOP, month).await.unwrap().is_some(), "a daily record before");
        let log = backorder::books::log::LogKey;
        assert!(s.app.app.state.books.get(SHOP, log).await.unwrap().is_some(), "an activity log before");
        // And the enrolment's read of the order history (the days before it).
        eventually("the order history read at enrolment", || async {
            s.app.app.state.books.get(SHOP, backorder::backfill::BackfillKey).await.ok()?.map(|_| ())
        })
        .await;
        let other_before = visible(&s.app.store, OTHER).await;
        let other_keys_before = other_redis_entries(&store);
        if store.dir.is_none() {
            assert!(redis_entries(&store).iter().any(|e| e.contains(SHOP)), "the dump sees the shop before");
        }

        // 48 hours after the uninstall: first the uninstall (the platform revoked the token
        // already), then the redaction.
        s.devshop.uninstall(SHOP);
        let uninstalled = Delivery::new("app/uninstalled", crate::uninstall::uninstall_body(SHOP));
        assert_eq!(s.app.deliver(&uninstalled).await.status(), 200);
        s.app.drained().await;
        let redact = Delivery::new("shop/redact", json!({"shop_id": 954889, "shop_domain": SHOP}).to_string());
        assert_eq!(s.app.deliver(&redact).await.status(), 200);
        eventually("the shop to be forgotten", || async {
            let shops = s.app.store.shops().await.ok()?;
            let counts = s.app.store.processed_counts(SHOP).await.ok()?;
            (!shops.contains(&SHOP.to_string()) && counts.is_empty()).then_some(())
        })
        .await;
        s.app.drained().await;

        assert_eq!(visible(&s.app.store, OTHER).await, other_before, "the other shop reads as before");
        assert!(s.app.app.state.books.get(SHOP, month).await.unwrap().is_none(), "no daily record after");
        assert!(s.app.app.state.books.get(SHOP, log).await.unwrap().is_none(), "no activity log after");
        assert_eq!(visible(&s.app.store, SHOP).await, "[None, None, None] {} dead=0");
        if store.dir.is_none() {
            // Only the tombstone names the shop: it keeps late webhooks out, and goes by itself
            // at the end of the dedupe window.
            let tombstone = format!("{{{SHOP}}}:gone");
            eventually("no Redis key or value naming the shop but its tombstone", || async {
                let left: Vec<String> = redis_entries(&store)
                    .into_iter()
                    .filter(|e| e.contains(SHOP) && !e.split('\t').next().unwrap_or_default().ends_with(&tombstone))
                    .collect();
                left.is_empty().then_some(())
            })
            .await;
            let port = crate::support::redis::shared().port;
            let ttl = crate::support::redis::command(port, &["PTTL", &format!("{}:{tombstone}", store.prefix)]);
            let ttl: i64 = ttl.as_deref().unwrap_or(":-2").trim().trim_start_matches(':').parse().unwrap();
            assert!(ttl > 0 && ttl <= 48 * 3_600_000, "the tombstone expires within the dedupe window: {ttl}");
            assert_eq!(other_redis_entries(&store), other_keys_before, "the other shop's keys, byte for byte");
            s.stop().await;
        } else {
            let rows = s.stop_and_dump(&store).await;
            let left: Vec<&String> = rows.iter().filter(|r| r.contains(SHOP) && !r.starts_with("gone\t")).collect();
            assert!(left.is_empty(), "rows of the shop left: {left:?}");
            assert_eq!(
                rows.iter().filter(|r| r.starts_with("gone\t")).count(),
                1,
                "its tombstone, until the window ends"
            );
            assert!(rows.iter().any(|r| r.contains(OTHER) && r.contains("ledger_records")), "the other shop stays");
        }
    }
}

/// The other shop's Redis entries, without leases (the sweeper takes and drops them any time).
fn other_redis_entries(store: &crate::support::TestStore) -> Vec<String> {
    if store.dir.is_some() {
        return Vec::new();
    }
    let tag = format!("{{{OTHER}}}");
    let mut entries: Vec<String> = redis_entries(store)
        .into_iter()
        .filter(|e| e.split('\t').next().is_some_and(|k| k.contains(&tag) && !k.contains(":lock:")))
        .collect();
    entries.sort();
    entries
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn privacy_webhooks_with_a_bad_signature_get_401() {
    for backend in [Backend::Embedded, Backend::Redis] {
        let (app, _store) = TestApp::spawn(backend, &[]).await;
        for topic in ["customers/data_request", "customers/redact", "shop/redact"] {
            let mut d = Delivery::new(topic, json!({"shop_id": 1, "shop_domain": SHOP}).to_string());
            d.hmac = Some("bm90IHRoZSBzaWduYXR1cmU=".into());
            assert_eq!(app.deliver(&d).await.status(), 401, "{topic}");
            d.hmac = Some(String::new());
            assert_eq!(app.deliver(&d).await.status(), 401, "{topic} unsigned");
        }
        assert_eq!(app.store.queue_stats().await.unwrap().queued, 0, "nothing queued");
        app.app.stop().await;
    }
}
