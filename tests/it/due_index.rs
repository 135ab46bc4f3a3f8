//! The index of shops with work due: a commit that makes work puts its shop there, the effects
//! dispatcher serves what is due and puts each shop back at the time of its next work, or takes
//! it out. An idle shop is not in the index, so a sweep costs it nothing.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use backorder::auth::install::{self, Install};
use backorder::bench::counting::Counting;
use backorder::devshop::{DevShop, Policy};
use backorder::secret::Secret;
use backorder::store::keys::Keys;
use backorder::store::{EventMark, LedgerCommit, Mark, Record, SharedStore, now_ms};
use serde_json::json;

use crate::api::{put, token};
use crate::containment::{OTHER, OtherShop};
use crate::effects::Setup;
use crate::support::every_lane;
use crate::support::smtp::SmtpSink;
use crate::support::{Backend, SHOP, TestApp, TestStore, eventually, redis, settings};

const HOUR_MS: u64 = 3_600_000;
const DAY_MS: u64 = 24 * HOUR_MS;

fn shop_name(tag: &str) -> String {
    format!("{tag}-{:x}.myshopify.com", fastrand::u32(..))
}

fn marking(mark: Mark) -> LedgerCommit {
    LedgerCommit { marks: vec![mark], ..LedgerCommit::default() }
}

/// The shop's score in the index, if it is due by `at`.
async fn due_by(store: &SharedStore, shop: &str, at: u64) -> Option<u64> {
    let due = store.due_shops(&every_lane(), at, 1000).await.unwrap();
    due.into_iter().find(|(s, _)| s == shop).map(|(_, score)| score)
}

async fn a_commit_that_sets_a_mark_makes_its_shop_due_now_and_one_that_does_not_leaves_it_out(store: SharedStore) {
    let (marked, quiet) = (shop_name("marked"), shop_name("quiet"));
    // Redis makes every shop due on the first read of a process: done before this test's shops.
    store.due_shops(&every_lane(), 0, 0).await.unwrap();
    let before = now_ms();
    store.ledger_commit(&marked, &marking(Mark::Order(7))).await.unwrap();
    let applied = LedgerCommit { writes: vec![(Record::AppliedOrder(7), Some(b"{}".to_vec()))], ..Default::default() };
    store.ledger_commit(&quiet, &applied).await.unwrap();
    let score = due_by(&store, &marked, now_ms()).await.expect("due once its commit returns");
    assert!(score >= before.saturating_sub(2), "due now, not before: {score} < {before}");
    assert_eq!(due_by(&store, &quiet, u64::MAX).await, None, "a write that makes no work makes nothing due");
    let settings = LedgerCommit { writes: vec![(Record::Settings, Some(b"{}".to_vec()))], ..Default::default() };
    store.ledger_commit(&quiet, &settings).await.unwrap();
    assert!(due_by(&store, &quiet, now_ms()).await.is_some(), "a settings change is looked at");
}

/// Commits for each shop, then each moved to `at` by a pass that read it.
async fn scheduled(store: &SharedStore, shops: &[(&str, u64)]) {
    for (shop, _) in shops {
        store.ledger_commit(shop, &marking(Mark::Order(1))).await.unwrap();
    }
    for (shop, at) in shops {
        let seen = due_by(store, shop, now_ms()).await.expect("due after its commit");
        assert!(store.reschedule_due(shop, seen, Some(*at)).await.unwrap(), "unchanged since read");
    }
}

async fn shops_come_due_earliest_first_and_no_sooner_than_their_time(store: SharedStore) {
    let (a, b, c) = (shop_name("a"), shop_name("b"), shop_name("c"));
    let tomorrow = now_ms() + DAY_MS;
    scheduled(&store, &[(&c, tomorrow), (&a, 1_000), (&b, 2_000)]).await;
    assert_eq!(store.due_shops(&every_lane(), 999, 10).await.unwrap(), [], "nothing is due before its time");
    let due = store.due_shops(&every_lane(), 2_999, 10).await.unwrap();
    assert_eq!(due, [(a.clone(), 1_000), (b.clone(), 2_000)], "earliest first");
    assert_eq!(store.due_shops(&every_lane(), u64::MAX, 2).await.unwrap().len(), 2, "at most the limit");
    assert_eq!(due_by(&store, &c, tomorrow - 1).await, None, "due tomorrow, not before");
    store.ledger_commit(&c, &marking(Mark::Variant(2))).await.unwrap();
    assert!(due_by(&store, &c, now_ms()).await.is_some(), "a new mark makes a shop due now, not tomorrow");
}

async fn a_pass_takes_a_shop_out_only_if_nothing_made_it_due_since_the_pass_read_it(store: SharedStore) {
    let shop = shop_name("cas");
    store.ledger_commit(&shop, &marking(Mark::Variant(3))).await.unwrap();
    let seen = due_by(&store, &shop, now_ms()).await.expect("due");
    // A commit lands while the pass runs, within the same millisecond or not: the score moves.
    store.ledger_commit(&shop, &marking(Mark::Variant(4))).await.unwrap();
    assert!(!store.reschedule_due(&shop, seen, None).await.unwrap(), "changed meanwhile: left as it is");
    assert!(!store.reschedule_due(&shop, seen, Some(u64::MAX / 2)).await.unwrap(), "not moved later either");
    let again = due_by(&store, &shop, now_ms()).await.expect("still due for the new mark");
    assert_ne!(again, seen);
    // A shop due already is moved 1 ms earlier by each commit: never later, and never left as
    // it was, however close the commits come.
    store.ledger_commit(&shop, &marking(Mark::Variant(5))).await.unwrap();
    assert!(!store.reschedule_due(&shop, again, None).await.unwrap());
    let last = due_by(&store, &shop, now_ms()).await.expect("still due");
    assert!(last < again, "moved earlier, never later: {last} >= {again}");
    assert!(store.reschedule_due(&shop, last, None).await.unwrap(), "unchanged since read: taken out");
    assert_eq!(due_by(&store, &shop, u64::MAX).await, None);
    assert!(!store.reschedule_due(&shop, last, Some(1)).await.unwrap(), "a shop taken out is not put back");
    assert_eq!(due_by(&store, &shop, u64::MAX).await, None);
}

async fn a_forgotten_shop_leaves_the_due_index_and_a_late_pass_does_not_bring_it_back(store: SharedStore) {
    let (gone, kept) = (shop_name("gone"), shop_name("kept"));
    store.ledger_commit(&gone, &marking(Mark::Order(1))).await.unwrap();
    store.ledger_commit(&kept, &marking(Mark::Order(1))).await.unwrap();
    let seen = due_by(&store, &gone, now_ms()).await.expect("due");
    store.forget_shop(&gone).await.unwrap();
    assert_eq!(due_by(&store, &gone, u64::MAX).await, None, "shop/redact takes it out");
    assert!(!store.reschedule_due(&gone, seen, Some(now_ms())).await.unwrap(), "a pass in flight cannot re-add it");
    assert_eq!(due_by(&store, &gone, u64::MAX).await, None);
    assert!(due_by(&store, &kept, u64::MAX).await.is_some(), "another shop keeps its place");
}

async fn an_event_replayed_after_it_was_processed_still_makes_its_shop_due(store: SharedStore) {
    let shop = shop_name("replayed");
    let event = EventMark { key: "ev:1".into(), topic: "orders/create".into(), ttl: Duration::from_secs(60) };
    let commit = LedgerCommit { event: Some(event), marks: vec![Mark::Order(1)], ..LedgerCommit::default() };
    store.ledger_commit(&shop, &commit).await.unwrap();
    let seen = due_by(&store, &shop, now_ms()).await.expect("due");
    assert!(store.reschedule_due(&shop, seen, None).await.unwrap());
    // Processed already: nothing is written, and a shop due once more only costs a look.
    store.ledger_commit(&shop, &commit).await.unwrap();
    assert_eq!(store.ledger_dirty(&shop).await.unwrap().orders, [1], "the mark is still there");
}

on_every_backend!(
    a_commit_that_sets_a_mark_makes_its_shop_due_now_and_one_that_does_not_leaves_it_out,
    shops_come_due_earliest_first_and_no_sooner_than_their_time,
    a_pass_takes_a_shop_out_only_if_nothing_made_it_due_since_the_pass_read_it,
    a_forgotten_shop_leaves_the_due_index_and_a_late_pass_does_not_bring_it_back,
    an_event_replayed_after_it_was_processed_still_makes_its_shop_due,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_shop_costs_no_store_read_per_sweep_while_another_shop_is_served() {
    for backend in [Backend::Redis, Backend::Embedded] {
        let sink = SmtpSink::start();
        let smtp = sink.url();
        let mut counting = None;
        let overrides = [("BACKORDER__EMAIL__SMTP_URL", smtp.as_str())];
        let mut s = Setup::start_wrapped(backend, 0, "50", &overrides, (1000.0, 1000.0), |inner| {
            let wrapped = Arc::new(Counting::new(inner));
            counting = Some(wrapped.clone());
            wrapped
        })
        .await;
        let counting = counting.expect("the store is wrapped");
        s.enrol(json!({"enabled": true})).await;
        eventually("the variant to sell on backorder", || async { (s.policy() == Policy::Continue).then_some(()) })
            .await;
        let order = s.order(1).await;
        eventually("the first shop's order to be tagged", || async { (s.tags(order) == ["backorder"]).then_some(()) })
            .await;
        let other = OtherShop::install(&s).await;
        // Its work done (tags, policy, the customer's email), the dispatcher takes it out.
        eventually("the first shop to leave the due index", || async {
            let due = s.app.store.due_shops(&every_lane(), u64::MAX, 1000).await.ok()?;
            due.iter().all(|(shop, _)| shop != SHOP).then_some(())
        })
        .await;
        let idle_reads = counting.reads_of(SHOP);
        let sweeps = counting.counts.due_reads.load(Relaxed);

        let served = other.order(&s).await;
        other.tagged(&s, served).await;
        eventually("the other shop's customer to be told", || async {
            sink.messages().iter().any(|m| m.kind() == "backordered" && m.order_id() == served).then_some(())
        })
        .await;
        eventually("ten more sweeps", || async {
            (counting.counts.due_reads.load(Relaxed) >= sweeps + 10).then_some(())
        })
        .await;
        let swept = counting.counts.due_reads.load(Relaxed) - sweeps;
        assert_eq!(counting.reads_of(SHOP), idle_reads, "no read of the idle shop in {swept} sweeps");
        assert!(counting.reads_of(OTHER) > 0, "the other shop was served meanwhile");
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shop_with_an_owner_address_is_due_next_at_its_digest_and_with_reminders_within_the_hour() {
    for backend in [Backend::Redis, Backend::Embedded] {
        let (app, _store) = TestApp::spawn(backend, &[("BACKORDER__EFFECTS__SWEEP_MS", "50")]).await;
        let start = now_ms();
        let resp = put(&app, "/api/settings", &token(SHOP), json!({"owner_email": "owner@example.com"})).await;
        assert_eq!(resp.status(), 200);
        let digest = eventually("the shop to be due at its first digest", || async {
            let (_, at) =
                app.store.due_shops(&every_lane(), u64::MAX, 10).await.ok()?.into_iter().find(|(s, _)| s == SHOP)?;
            (at > start + 6 * DAY_MS).then_some(at)
        })
        .await;
        assert!(digest <= now_ms() + 7 * DAY_MS, "a week from its first look, no later: {digest}");

        let resp = put(&app, "/api/settings", &token(SHOP), json!({"reminder_days": 3})).await;
        assert_eq!(resp.status(), 200);
        let reminders = eventually("the shop to be due at its reminders", || async {
            let (_, at) =
                app.store.due_shops(&every_lane(), u64::MAX, 10).await.ok()?.into_iter().find(|(s, _)| s == SHOP)?;
            (at > now_ms() && at < digest).then_some(at)
        })
        .await;
        assert!(reminders <= start + HOUR_MS + 60_000, "within the hour: {reminders}");
        app.app.stop().await;
    }
}

/// Erases the due index from a store whose service is stopped, so it holds what the code before
/// the index wrote: shops, records and marks, and no index.
async fn erase_the_due_index(store: &TestStore) {
    match &store.dir {
        None => {
            let keys = Keys::new(&store.prefix);
            for lane in every_lane() {
                let key = keys.due(lane);
                redis::command(redis::shared().port, &["DEL", &key]).expect("DEL answers");
                assert_eq!(redis::command(redis::shared().port, &["EXISTS", &key]).unwrap().trim(), ":0");
            }
        }
        Some(dir) => {
            let path = dir.path().join("backorder.redb");
            // The stopped service's last handle may still be closing.
            let db = eventually("the store file to be free", || async { redb::Database::create(&path).ok() }).await;
            let txn = db.begin_write().unwrap();
            for name in ["due", "due_by_time"] {
                txn.delete_table(redb::TableDefinition::<&str, u64>::new(name)).unwrap();
            }
            txn.commit().unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_written_before_the_due_index_gets_its_shops_served() {
    for backend in [Backend::Redis, Backend::Embedded] {
        let devshop = DevShop::start(1000.0, 1000.0).await.unwrap();
        let shop_token = devshop.install(SHOP);
        let variant = devshop.world(SHOP, |w| w.add_variant("Trail Runner", 0, Policy::Deny));
        let test_store = backend.prepare();
        let base = devshop.admin_base_url();
        let with_sweep = |ms: &'static str| {
            settings(
                &test_store,
                &[
                    ("BACKORDER__SHOPIFY__ADMIN_BASE_URL", base.as_str()),
                    ("BACKORDER__LEDGER__SETTLE_MS", "50"),
                    ("BACKORDER__EFFECTS__SWEEP_MS", ms),
                ],
            )
        };
        // Written with the effects off: the variant's change waits in the store as a mark.
        let app = TestApp::start(test_store.open().await, with_sweep("0")).await;
        let sealer = app.app.state.sealer.clone().unwrap();
        let install = Install {
            access_token: Secret::new(shop_token),
            refresh_token: None,
            expires_at_ms: None,
            scopes: vec![],
            installed_at_ms: 1,
        };
        install::save(&app.app.state.books, &sealer, SHOP, &install).await.unwrap();
        let resp = put(&app, &format!("/api/variants/{variant}"), &token(SHOP), json!({"enabled": true})).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(app.store.ledger_dirty(SHOP).await.unwrap().variants, [variant], "the work waits");
        let TestApp { app: stopped, store: shared, .. } = app;
        stopped.stop().await;
        drop(shared);
        erase_the_due_index(&test_store).await;

        let app = TestApp::start(test_store.open().await, with_sweep("50")).await;
        eventually("the variant to sell on backorder", || async {
            (devshop.world(SHOP, |w| w.variants[&variant].policy) == Policy::Continue).then_some(())
        })
        .await;
        app.app.stop().await;
        devshop.stop().await;
    }
}
