//! The daily record of each managed variant (SPEC 10.1): what was ordered, cancelled and
//! received, and the backlog at each day's end, counted once however often an event comes, and
//! started, for a variant written before the record existed, at its next change.

use backorder::books::daily::{Charted, series_of};
use backorder::books::key;
use backorder::devshop::Policy;
use backorder::ledger::daily::SeriesDay;
use backorder::store::{LedgerCommit, Record};
use serde_json::json;

use crate::api::token;
use crate::effects::Setup;
use crate::support::{Backend, SHOP, eventually};

/// Today in the test shop's zone, and the variant's day as the chart reads it.
async fn today_of(s: &Setup) -> SeriesDay {
    let state = &s.app.app.state;
    let settings = state.books.get_or_default(SHOP, key::Settings).await.unwrap();
    let today = settings.today();
    let record = state.books.get(SHOP, key::Variant(s.variant)).await.unwrap().expect("a managed variant");
    let charted = Charted { variant: s.variant, backordered: record.header.backordered(), since: today };
    let mut series = series_of(&state.books, SHOP, &[charted], today, today).await.unwrap();
    series.remove(&s.variant).unwrap().pop().expect("today")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_cancellations_and_receipts_are_counted_once_in_the_days_record_however_often_they_come() {
    for backend in [Backend::Embedded, Backend::Redis] {
        let name = format!("{backend:?}");
        let mut s = Setup::start(backend, 1, "50", &[]).await;
        s.enrol(json!({"enabled": true})).await;
        eventually("the variant to sell on backorder", || async { (s.policy() == Policy::Continue).then_some(()) })
            .await;
        let first = s.order(3).await;
        let second = s.order(2).await;
        // Shopify delivers at least once: the same order and level again change nothing.
        s.deliver_order(first, "orders/create").await;
        s.deliver_level().await;
        s.world(|w| w.cancel_order(second, true)).unwrap();
        s.deliver_order(second, "orders/cancelled").await;
        s.deliver_level().await;
        let variant = s.variant;
        s.world(|w| w.set_stock(variant, 10)).unwrap();
        s.deliver_level().await;
        s.app.drained().await;
        let day = today_of(&s).await;
        assert_eq!((day.ordered, day.cancelled), (5, 2), "{name}: {day:?}");
        // Stock rose by the restock of the cancelled order (-4 to -2) and the new stock (to 10).
        assert_eq!(day.received, 14, "{name}: {day:?}");
        assert_eq!(day.backordered, 0, "{name}: the receipt covered every line: {day:?}");
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_variant_written_before_the_daily_record_starts_its_history_at_its_next_change() {
    for backend in [Backend::Embedded, Backend::Redis] {
        let name = format!("{backend:?}");
        let mut s = Setup::start(backend, 0, "50", &[]).await;
        s.enrol(json!({"enabled": true})).await;
        let state = s.app.app.state.clone();
        eventually("the variant to sell on backorder", || async { (s.policy() == Policy::Continue).then_some(()) })
            .await;
        s.order(2).await;
        s.app.drained().await;
        // The records as the previous version wrote them: rules without the shop's zone, a
        // variant without `daily_since_ms`, and no daily record at all.
        let record = state.books.get(SHOP, key::Variant(s.variant)).await.unwrap().unwrap();
        let mut old = serde_json::to_value(&record).unwrap();
        old.as_object_mut().unwrap().remove("daily_since_ms");
        let old_rules = json!({"priority_tags": {}, "counted_locations": null});
        let mut commit = LedgerCommit::default();
        commit.writes.push((Record::Variant(s.variant), Some(serde_json::to_vec(&old).unwrap())));
        commit.writes.push((Record::Rules, Some(serde_json::to_vec(&old_rules).unwrap())));
        let today = state.books.get_or_default(SHOP, key::Settings).await.unwrap().today();
        let month = backorder::ledger::daily::month_of(today);
        commit.writes.push((Record::Daily { variant: s.variant, month }, None));
        s.app.store.ledger_commit(SHOP, &commit).await.unwrap();

        // The overview reads the old records: no history yet, so the chart starts today.
        let html = crate::pages::page_html(&s, "/app", &token(SHOP)).await;
        assert!(html.contains(", the first day of the record: 2."), "{name}: {html}");

        s.order(1).await;
        s.app.drained().await;
        let migrated = state.books.get(SHOP, key::Variant(s.variant)).await.unwrap().unwrap();
        let since = migrated.daily_since_ms.expect("its next change starts the record");
        assert!(since >= record.daily_since_ms.unwrap(), "{name}: started now, not at enrolment");
        let day = today_of(&s).await;
        assert_eq!((day.ordered, day.backordered), (1, 3), "{name}: only what came after: {day:?}");
        s.stop().await;
    }
}
