//! Expected supply read from the platform (SPEC 10.2) on both stores: a transfer's tracked
//! shipment dates the front of the queue, its delay tells exactly the orders it moves, its
//! receipt fills the oldest lines and ends the batch without touching the merchant's own, and a
//! webhook delivered three times and out of order changes nothing more.

use std::collections::BTreeSet;

use backorder::devshop::world::MAIN_LOCATION;
use backorder::notify::outbox::human_date;
use serde_json::{Value, json};

use crate::api::{get, put, token};
use crate::effects::Setup;
use crate::support::smtp::{Received, SmtpSink};
use crate::support::webhooks::Delivery;
use crate::support::{Backend, SHOP, eventually};

fn day(n: i64) -> time::Date {
    time::OffsetDateTime::now_utc().date() + time::Duration::days(n)
}

/// Noon (UTC, the dev shop's zone) `n` days from today, as `arrivesAt` carries it.
fn noon(n: i64) -> i64 {
    let at = day(n).with_hms(12, 0, 0).unwrap().assume_utc();
    at.unix_timestamp() * 1000
}

async fn variant(s: &Setup) -> Value {
    get(&s.app, &format!("/api/variants/{}", s.variant), Some(&token(SHOP))).await.json().await.unwrap()
}

pub async fn selling_on_backorder(s: &Setup) {
    eventually("the variant to sell on backorder", || async {
        (s.policy() == backorder::devshop::Policy::Continue).then_some(())
    })
    .await;
}

async fn supply_webhook(s: &Setup, topic: &str, body: Vec<u8>) {
    assert_eq!(s.app.deliver(&Delivery::new(topic, body)).await.status(), 200);
}

async fn shipment_webhook(s: &Setup, topic: &str, shipment: u64) {
    supply_webhook(s, topic, s.world(|w| w.shipment_payload(shipment))).await;
}

/// The queue's ETAs, front first.
fn etas(shown: &Value) -> Vec<String> {
    shown["queue"].as_array().unwrap().iter().map(|q| q["eta"].as_str().unwrap_or("").to_string()).collect()
}

pub fn mail(sink: &SmtpSink, kind: &str) -> Vec<Received> {
    sink.messages().into_iter().filter(|m| m.kind() == kind).collect()
}

pub async fn mail_of(sink: &SmtpSink, kind: &str, n: usize) -> Vec<Received> {
    eventually(&format!("{n} `{kind}` emails"), || async {
        let found = mail(sink, kind);
        (found.len() >= n).then_some(found)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tracked_shipment_dates_the_front_twelve_its_delay_tells_exactly_them_and_its_receipt_fills_them() {
    for backend in [Backend::Embedded, Backend::Redis] {
        let sink = SmtpSink::start();
        let smtp = sink.url();
        let mut s = Setup::start(backend, 0, "100", &[("BACKORDER__EMAIL__SMTP_URL", smtp.as_str())]).await;
        let v = s.variant;
        // On its way before the sale: 12 units, tracked to arrive in 10 days.
        let transfer = s.world(|w| w.add_transfer(MAIN_LOCATION, &[(v, 12)]).unwrap());
        let shipment = s.world(|w| w.ship(transfer, &[(v, 12)], Some(noon(10))).unwrap());
        s.enrol(json!({"enabled": true, "lead_time_days": 30, "handling_days": 2,
                       "supply": [{"qty": 5, "eta": day(25).to_string()}]}))
            .await;
        let shown = variant(&s).await;
        let platform: Vec<&Value> =
            shown["supply"].as_array().unwrap().iter().filter(|b| b["source"] == "platform").collect();
        assert_eq!(platform.len(), 1, "read at enrolment: {shown}");
        assert_eq!((platform[0]["qty"].clone(), platform[0]["eta"].clone()), (json!(12), json!(day(10).to_string())));

        selling_on_backorder(&s).await;
        let mut orders = Vec::new();
        for _ in 0..20 {
            orders.push(s.order(1).await);
        }
        mail_of(&sink, "backordered", 20).await;
        s.settled().await;
        let mut expected = vec![day(12).to_string(); 12];
        expected.extend(vec![day(27).to_string(); 5]);
        expected.extend(vec![day(32).to_string(); 3]);
        assert_eq!(etas(&variant(&s).await), expected, "the front 12 come with the shipment, plus handling");

        // The shipment slips by 8 days: the front 12 are told, nobody else.
        s.world(|w| w.set_arrival(shipment, Some(noon(18))).unwrap());
        shipment_webhook(&s, "inventory_shipments/update_tracking", shipment).await;
        let changed = mail_of(&sink, "eta_changed", 12).await;
        s.settled().await;
        let told: BTreeSet<u64> = changed.iter().map(Received::order_id).collect();
        assert_eq!(told, orders[..12].iter().copied().collect(), "exactly the orders the shipment carries");
        assert_eq!(mail(&sink, "eta_changed").len(), 12, "each told once");
        let text = changed[0].text.as_deref().unwrap_or_default();
        assert!(text.contains(&human_date(day(20))), "{text}");

        // Received: the oldest 12 lines fill; the batch ends; the merchant's 5 stay. Every
        // webhook three times, in a shuffled order, with a stale tracking update among them.
        let (item, level) = s.world(|w| w.receive(shipment, v, 12, 0).unwrap());
        let level_body = backorder::devshop::payloads::level(item, MAIN_LOCATION, &level);
        for round in 0..3 {
            shipment_webhook(&s, "inventory_shipments/receive_items", shipment).await;
            if round == 1 {
                shipment_webhook(&s, "inventory_shipments/update_tracking", shipment).await;
                supply_webhook(&s, "inventory_transfers/complete", s.world(|w| w.transfer_payload(transfer))).await;
            }
            let mut d = Delivery::new("inventory_levels/update", level_body.clone());
            d.triggered_at = Some(crate::effects::exact(level.updated_at_ms));
            assert_eq!(s.app.deliver(&d).await.status(), 200);
        }
        mail_of(&sink, "ready", 12).await;
        s.settled().await;
        let shown = variant(&s).await;
        assert_eq!(shown["backordered_units"], 8, "{shown}");
        let supply = shown["supply"].as_array().unwrap();
        assert_eq!(supply.len(), 1, "the platform batch ended with its receipt: {shown}");
        assert_eq!((supply[0]["qty"].clone(), supply[0]["source"].clone()), (json!(5), json!("merchant")));
        let ready: BTreeSet<u64> = mail(&sink, "ready").iter().map(Received::order_id).collect();
        assert_eq!(ready, orders[..12].iter().copied().collect(), "the oldest 12, each once");
        assert_eq!(mail(&sink, "ready").len(), 12);
        assert_eq!(mail(&sink, "eta_changed").len(), 12, "nothing more told");
        let mut expected = vec![day(27).to_string(); 5];
        expected.extend(vec![day(32).to_string(); 3]);
        assert_eq!(etas(&shown), expected);
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_date_for_a_platform_batch_stands_until_the_platform_changes_it_and_a_put_keeps_platform_batches() {
    for backend in [Backend::Redis, Backend::Embedded] {
        let s = Setup::start(backend, 0, "100", &[]).await;
        let v = s.variant;
        s.enrol(json!({"enabled": true, "lead_time_days": 30})).await;
        let transfer = s.world(|w| w.add_transfer(MAIN_LOCATION, &[(v, 12)]).unwrap());
        let shipment = s.world(|w| w.ship(transfer, &[(v, 8)], Some(noon(10))).unwrap());
        // A purchase order: incoming units no transfer explains.
        s.world(|w| w.order_from_supplier(v, 7).unwrap());
        shipment_webhook(&s, "inventory_shipments/create", shipment).await;
        let shown = eventually("the shipment read", || async {
            let shown = variant(&s).await;
            (shown["supply"].as_array().unwrap().len() == 3).then_some(shown)
        })
        .await;
        let supply = shown["supply"].as_array().unwrap();
        let summary: Vec<(u64, &str, &str)> = supply
            .iter()
            .map(|b| (b["qty"].as_u64().unwrap(), b["eta"].as_str().unwrap(), b["id"].as_str().unwrap()))
            .collect();
        let shipment_id = format!("gid://shopify/InventoryShipment/{shipment}");
        let transfer_id = format!("gid://shopify/InventoryTransfer/{transfer}");
        assert_eq!(
            summary,
            [
                (8, day(10).to_string().as_str(), shipment_id.as_str()),
                (4, "", transfer_id.as_str()),
                (7, "", "incoming")
            ],
            "the shipment dated, the unshipped rest and the purchase order undated"
        );

        // What GET answers, PUT accepts back: the platform batches stay as they were.
        let resp = put(&s.app, &format!("/api/variants/{v}"), &token(SHOP), shown.clone()).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(variant(&s).await["supply"], shown["supply"]);

        // The merchant's date for the shipment, and a batch of their own; then only their own
        // batches replaced.
        let body = json!({"supply": [{"id": shipment_id, "eta_override": day(15).to_string()},
                                     {"qty": 3, "eta": day(40).to_string()}]});
        assert_eq!(put(&s.app, &format!("/api/variants/{v}"), &token(SHOP), body).await.status(), 200);
        let shown = variant(&s).await;
        assert_eq!(shown["supply"][0]["eta"], day(15).to_string(), "{shown}");
        assert_eq!(shown["supply"][0]["platform_eta"], day(10).to_string());
        assert_eq!(shown["supply"].as_array().unwrap().len(), 4);
        assert_eq!(put(&s.app, &format!("/api/variants/{v}"), &token(SHOP), json!({"supply": []})).await.status(), 200);
        let shown = variant(&s).await;
        assert_eq!(
            shown["supply"].as_array().unwrap().len(),
            3,
            "the merchant's batch gone, the platform's kept: {shown}"
        );
        assert_eq!(shown["supply"][0]["eta"], day(15).to_string(), "the override kept too");

        // The same webhook again: the platform's date has not changed, the merchant's stands.
        shipment_webhook(&s, "inventory_shipments/create", shipment).await;
        s.settled().await;
        assert_eq!(variant(&s).await["supply"][0]["eta"], day(15).to_string());
        // The platform's date changes: it wins.
        s.world(|w| w.set_arrival(shipment, Some(noon(12))).unwrap());
        shipment_webhook(&s, "inventory_shipments/update_tracking", shipment).await;
        let shown = eventually("the new platform date", || async {
            let shown = variant(&s).await;
            (shown["supply"][0]["eta"] == day(12).to_string()).then_some(shown)
        })
        .await;
        assert!(shown["supply"][0]["eta_override"].is_null(), "{shown}");
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shop_without_the_transfer_scopes_keeps_its_merchant_batches_working_and_is_told() {
    for backend in [Backend::Embedded, Backend::Redis] {
        let mut s = Setup::start(backend, 0, "100", &[]).await;
        let v = s.variant;
        s.devshop.set_scopes(SHOP, &backorder::auth::scopes::REQUIRED);
        let transfer = s.world(|w| w.add_transfer(MAIN_LOCATION, &[(v, 12)]).unwrap());
        let shipment = s.world(|w| w.ship(transfer, &[(v, 12)], Some(noon(10))).unwrap());
        s.enrol(json!({"enabled": true, "handling_days": 0, "supply": [{"qty": 4, "eta": day(6).to_string()}]})).await;
        shipment_webhook(&s, "inventory_shipments/create", shipment).await;
        selling_on_backorder(&s).await;
        s.order(2).await;
        s.settled().await;
        let settings: Value = get(&s.app, "/api/settings", Some(&token(SHOP))).await.json().await.unwrap();
        let missing = settings["supply_scope_missing"].as_str().unwrap_or_default();
        assert!(backorder::auth::scopes::OPTIONAL.contains(&missing), "the merchant is asked for it: {settings}");
        let shown = variant(&s).await;
        assert_eq!(shown["supply"].as_array().unwrap().len(), 1, "the merchant's batch only: {shown}");
        assert_eq!(etas(&shown), [day(6).to_string()], "dated by the merchant's batch");
        let stats = s.app.app.state.queue.queue_stats().await.unwrap();
        assert_eq!(stats.dead, 0, "a refused read is not a failed webhook");
        // Told: on the overview, and next to the variant's arrivals, with the way to grant it.
        let overview = crate::pages::page_html(&s, "/app", &token(SHOP)).await;
        assert!(overview.contains("not read: the app needs your permission"), "{overview}");
        let page = crate::pages::page_html(&s, &format!("/app/variants/{v}"), &token(SHOP)).await;
        assert!(page.contains("Transfers are not read") && page.contains("/app/settings#supply-access"));
        let settings_page = crate::pages::page_html(&s, "/app/settings", &token(SHOP)).await;
        assert!(
            settings_page
                .contains("data-grant-scopes=\"read_inventory_shipments,read_inventory_transfers,write_discounts\"")
        );
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supply_batches_written_before_platform_supply_load_as_the_merchants_and_live_beside_the_platforms() {
    for backend in [Backend::Embedded, Backend::Redis] {
        let name = format!("{backend:?}");
        let mut s = Setup::start(backend, 0, "100", &[]).await;
        let v = s.variant;
        s.enrol(json!({"enabled": true, "lead_time_days": 30, "handling_days": 0,
                       "supply": [{"qty": 2, "eta": day(6).to_string()}]}))
            .await;
        // The variant as the previous version wrote it: batches of a quantity and a date only.
        let state = s.app.app.state.clone();
        let record = state.books.get(SHOP, backorder::books::key::Variant(v)).await.unwrap().unwrap();
        let mut old = serde_json::to_value(&record).unwrap();
        old["settings"]["supply"] =
            json!([{"qty": 2, "eta": day(6).to_string()}, {"qty": 3, "eta": day(9).to_string()}]);
        let mut commit = backorder::store::LedgerCommit::default();
        commit.writes.push((backorder::store::Record::Variant(v), Some(serde_json::to_vec(&old).unwrap())));
        s.app.store.ledger_commit(SHOP, &commit).await.unwrap();

        let shown = variant(&s).await;
        let sources: Vec<&str> =
            shown["supply"].as_array().unwrap().iter().map(|b| b["source"].as_str().unwrap()).collect();
        assert_eq!(sources, ["merchant", "merchant"], "{name}: {shown}");
        // They date the queue, GET's answer is accepted back, and a platform read keeps them.
        selling_on_backorder(&s).await;
        for _ in 0..4 {
            s.order(1).await;
        }
        s.settled().await;
        let mut expected = vec![day(6).to_string(); 2];
        expected.extend(vec![day(9).to_string(); 2]);
        assert_eq!(etas(&variant(&s).await), expected, "{name}");
        let resp = put(&s.app, &format!("/api/variants/{v}"), &token(SHOP), shown.clone()).await;
        assert_eq!(resp.status(), 200, "{name}");
        let transfer = s.world(|w| w.add_transfer(MAIN_LOCATION, &[(v, 6)]).unwrap());
        let shipment = s.world(|w| w.ship(transfer, &[(v, 6)], Some(noon(20))).unwrap());
        shipment_webhook(&s, "inventory_shipments/create", shipment).await;
        let shown = eventually("the shipment read", || async {
            let shown = variant(&s).await;
            (shown["supply"].as_array().unwrap().len() == 3).then_some(shown)
        })
        .await;
        let kept: Vec<(u64, &str)> = shown["supply"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["source"] == "merchant")
            .map(|b| (b["qty"].as_u64().unwrap(), b["eta"].as_str().unwrap()))
            .collect();
        assert_eq!(kept, [(2, day(6).to_string().as_str()), (3, day(9).to_string().as_str())], "{name}");
        s.stop().await;
    }
}
