//! The consolation (SPEC 10.3) over real HTTP, on both stores: a waiting order whose date slips
//! gets one discount code on the dev shop, for its customer only, once, told in its own email;
//! an order that no longer waits, or never waited, gets none; a shop without `write_discounts`
//! gets none and is told.

use backorder::devshop::discounts::customer_of;
use serde_json::{Value, json};

use crate::api::{get, put, token};
use crate::effects::Setup;
use crate::platform_supply::{mail, mail_of, selling_on_backorder};
use crate::support::smtp::{Received, SmtpSink};
use crate::support::{Backend, SHOP, eventually};

fn day(n: i64) -> time::Date {
    time::OffsetDateTime::now_utc().date() + time::Duration::days(n)
}

async fn settings(s: &Setup, body: Value) {
    let resp = put(&s.app, "/api/settings", &token(SHOP), body).await;
    assert_eq!(resp.status(), 200);
}

async fn start(backend: Backend, sink: &SmtpSink, stock: i64) -> Setup {
    let smtp = sink.url();
    Setup::start(backend, stock, "100", &[("BACKORDER__EMAIL__SMTP_URL", smtp.as_str())]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_order_whose_date_slips_gets_one_code_for_its_customer_and_one_email_and_no_other_order_does() {
    for backend in [Backend::Embedded, Backend::Redis] {
        let sink = SmtpSink::start();
        let mut s = start(backend, &sink, 1).await;
        let offer = json!({"enabled": true, "after_days": 365, "slip_days": 3, "kind": "percentage",
                           "value": 15, "expires_days": 30});
        settings(&s, json!({"consolation": offer})).await;
        s.enrol(json!({"enabled": true, "lead_time_days": 10, "handling_days": 0})).await;
        selling_on_backorder(&s).await;
        // One unit in stock: the first order ships and never waits; the next three wait.
        let shipped = s.order(1).await;
        let waiting = [s.order(1).await, s.order(1).await, s.order(1).await];
        mail_of(&sink, "backordered", 3).await;
        s.settled().await;
        // The third stops waiting (cancelled) before the dates slip.
        s.world(|w| w.cancel_order(waiting[2], true).unwrap());
        s.deliver_order(waiting[2], "orders/cancelled").await;
        s.deliver_level().await;
        s.settled().await;
        assert!(s.world(|w| w.discounts.is_empty()), "no order has waited long or slipped yet");

        // The supplier's lead time doubles: the two waiting orders' dates slip by 10 days.
        s.enrol(json!({"lead_time_days": 20})).await;
        let told = mail_of(&sink, "consolation", 2).await;
        s.settled().await;
        // Another pass over everything (a level webhook marks the variant's orders) makes none.
        s.deliver_level().await;
        s.settled().await;
        assert_eq!(mail(&sink, "consolation").len(), 2, "each told once");
        let mut consoled: Vec<u64> = told.iter().map(Received::order_id).collect();
        consoled.sort_unstable();
        assert_eq!(consoled, waiting[..2].to_vec(), "exactly the orders that still wait: not {shipped}");

        let discounts = s.world(|w| w.discounts.values().cloned().collect::<Vec<_>>());
        assert_eq!(discounts.len(), 2, "one code per order: {discounts:?}");
        for (m, order) in told.iter().map(|m| (m, m.order_id())) {
            let d =
                discounts.iter().find(|d| d.customers == [customer_of(order)]).expect("a code for its customer only");
            assert_eq!((d.kind, d.percentage, d.usage_limit), ("basic", Some(0.15), Some(1)));
            let ends = d.ends_at_ms.expect("an end date");
            let days = (ends - d.starts_at_ms) / 86_400_000;
            assert_eq!(days, 30, "ends after expires_days");
            let text = m.text.as_deref().unwrap_or_default();
            assert!(text.contains(&d.code) && text.contains("15% off your next order"), "{text}");
            assert!(d.code.starts_with("WAIT-") && d.code.len() == 21, "{}", d.code);
        }
        let codes: Vec<&str> = discounts.iter().map(|d| d.code.as_str()).collect();
        assert_ne!(codes[0], codes[1]);
        // The ETA each slipped to is the one the email names.
        let text = told[0].text.as_deref().unwrap_or_default();
        assert!(text.contains(&backorder::notify::outbox::human_date(day(20))), "{text}");
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn free_shipping_codes_are_made_from_the_first_day_when_the_merchant_says_zero_days() {
    for backend in [Backend::Embedded, Backend::Redis] {
        let sink = SmtpSink::start();
        let mut s = start(backend, &sink, 0).await;
        let offer = json!({"enabled": true, "after_days": 0, "kind": "free_shipping", "expires_days": 7});
        settings(&s, json!({"consolation": offer})).await;
        s.enrol(json!({"enabled": true, "lead_time_days": 10})).await;
        selling_on_backorder(&s).await;
        let order = s.order(2).await;
        let told = mail_of(&sink, "consolation", 1).await;
        s.settled().await;
        assert_eq!(told[0].order_id(), order);
        let text = told[0].text.as_deref().unwrap_or_default();
        assert!(text.contains("free shipping on your next order"), "{text}");
        let d = s.world(|w| w.discounts.values().next().cloned()).expect("a code");
        assert_eq!((d.kind, d.percentage, d.customers.clone()), ("free_shipping", None, vec![customer_of(order)]));
        assert!(text.contains(&d.code), "{text}");
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shop_without_write_discounts_gets_no_code_keeps_its_other_effects_and_is_told() {
    for backend in [Backend::Embedded, Backend::Redis] {
        let sink = SmtpSink::start();
        let mut s = start(backend, &sink, 0).await;
        let required = backorder::auth::scopes::REQUIRED;
        s.devshop.set_scopes(SHOP, &required);
        let offer = json!({"enabled": true, "after_days": 0});
        settings(&s, json!({"consolation": offer})).await;
        s.enrol(json!({"enabled": true, "lead_time_days": 10})).await;
        selling_on_backorder(&s).await;
        let order = s.order(1).await;
        mail_of(&sink, "backordered", 1).await;
        let shown = eventually("the settings to name the missing scope", || async {
            let shown: Value = get(&s.app, "/api/settings", Some(&token(SHOP))).await.json().await.ok()?;
            shown["discount_scope_missing"].is_string().then_some(shown)
        })
        .await;
        assert_eq!(shown["discount_scope_missing"], "write_discounts");
        s.settled().await;
        assert_eq!(s.tags(order), ["backorder"], "the order's other effects go on");
        assert!(s.world(|w| w.discounts.is_empty()));
        assert!(mail(&sink, "consolation").is_empty());
        assert!(s.app.store.dead_letters(10).await.unwrap().is_empty(), "a missing optional scope is no failure");
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customers_data_request_holds_their_code_and_customers_redact_erases_it_without_a_second_code() {
    for backend in [Backend::Embedded, Backend::Redis] {
        let sink = SmtpSink::start();
        let mut s = start(backend, &sink, 0).await;
        let store = s.take_store();
        let offer = json!({"enabled": true, "after_days": 0});
        settings(&s, json!({"consolation": offer, "owner_email": "owner@example.com"})).await;
        s.enrol(json!({"enabled": true, "lead_time_days": 10})).await;
        selling_on_backorder(&s).await;
        let order = s.order(1).await;
        mail_of(&sink, "consolation", 1).await;
        s.settled().await;
        let code = s.world(|w| w.discounts.values().next().map(|d| d.code.clone())).expect("a code");

        let customer = json!({"id": customer_of(order), "email": "buyer@example.com", "phone": null});
        let asked = json!({"shop_id": 1, "shop_domain": SHOP, "customer": customer.clone(),
                           "orders_requested": [order], "data_request": {"id": 7}});
        let delivery = crate::support::webhooks::Delivery::new("customers/data_request", asked.to_string());
        assert_eq!(s.app.deliver(&delivery).await.status(), 200);
        let data = mail_of(&sink, "data_request", 1).await;
        assert!(data[0].text.as_deref().unwrap_or_default().contains(&code), "the customer's data holds their code");

        let redact = json!({"shop_id": 1, "shop_domain": SHOP, "customer": customer, "orders_to_redact": [order]});
        let delivery = crate::support::webhooks::Delivery::new("customers/redact", redact.to_string());
        assert_eq!(s.app.deliver(&delivery).await.status(), 200);
        eventually("the redaction processed", || async {
            (s.app.processed("customers/redact").await == 1).then_some(())
        })
        .await;
        // The order still waits and is looked at again: it is known to have had its code.
        s.deliver_level().await;
        s.settled().await;
        assert_eq!(s.world(|w| w.discounts.len()), 1, "no second code");
        assert_eq!(mail(&sink, "consolation").len(), 1);
        let dump = s.stop_and_dump(&store).await.join("\n");
        assert!(!dump.contains(&code), "the code is erased from the store");
    }
}
