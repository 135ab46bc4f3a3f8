//! The customer privacy webhooks: after `customers/redact` the customer's email appears nowhere in
//! the store (read underneath the service) while the counts stay; `customers/data_request` sends
//! the shop owner one email whose JSON holds exactly that customer's data.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::api::{get, put, token};
use crate::effects::Setup;
use crate::support::smtp::SmtpSink;
use crate::support::webhooks::Delivery;
use crate::support::{Backend, SHOP, eventually};

/// The test orders' addresses (`support::shopify::Order`).
fn email(order: u64) -> String {
    format!("buyer{order}@example.com")
}

async fn waiting_shop(backend: Backend, sink: &SmtpSink) -> Setup {
    let url = sink.url();
    let s = Setup::start(backend, 0, "100", &[("BACKORDER__EMAIL__SMTP_URL", url.as_str())]).await;
    let owner = json!({"owner_email": "owner@example.com"});
    assert_eq!(put(&s.app, "/api/settings", &token(SHOP), owner).await.status(), 200);
    s.enrol(json!({"enabled": true, "lead_time_days": 10})).await;
    eventually("the variant to sell on backorder", || async {
        (s.policy() == backorder::devshop::Policy::Continue).then_some(())
    })
    .await;
    s
}

async fn backordered_units(s: &Setup) -> u64 {
    let v: Value = get(&s.app, &format!("/api/variants/{}", s.variant), Some(&token(SHOP))).await.json().await.unwrap();
    v["backordered_units"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_customers_redact_the_customers_email_appears_nowhere_in_the_store_and_the_counts_stay() {
    for backend in [Backend::Embedded, Backend::Redis] {
        let sink = SmtpSink::start();
        let mut s = waiting_shop(backend, &sink).await;
        let store = s.take_store();
        let (redacted, kept) = (s.order(2).await, s.order(1).await);
        s.settled().await;
        // Its next email waits in the outbox, address and all, when the redaction comes.
        sink.refuse(true);
        s.enrol(json!({"lead_time_days": 30})).await;
        eventually("an email waiting for the refusing server", || async { (sink.refusals() > 0).then_some(()) }).await;
        let units = backordered_units(&s).await;
        // Webhooks of both customers dead-lettered whole (a shape the service cannot read).
        for order in [redacted, kept] {
            let bad = json!({"id": "not a number", "email": email(order).to_uppercase()});
            assert_eq!(s.app.deliver(&Delivery::new("orders/updated", bad.to_string())).await.status(), 200);
        }
        eventually("both dead-lettered", || async {
            (s.app.store.dead_letters(10).await.ok()?.len() == 2).then_some(())
        })
        .await;

        let body = json!({"shop_id": 1, "shop_domain": SHOP,
                          "customer": {"id": 900_000 + redacted, "email": email(redacted), "phone": null},
                          "orders_to_redact": [redacted]});
        assert_eq!(s.app.deliver(&Delivery::new("customers/redact", body.to_string())).await.status(), 200);
        eventually("the redaction processed", || async {
            (s.app.processed("customers/redact").await == 1).then_some(())
        })
        .await;
        let dead = s.app.store.dead_letters(10).await.unwrap();
        assert_eq!(dead.len(), 1, "only the other customer's dead letter stays");
        assert_eq!(backordered_units(&s).await, units, "the books keep their counts");
        sink.refuse(false);
        s.settled().await;
        assert!(
            sink.messages().iter().all(|m| m.rcpt_tos != [email(redacted)] || m.kind() == "backordered"),
            "no email to the redacted customer after the redaction"
        );

        let entries = s.stop_and_dump(&store).await;
        let all = entries.join("\n");
        let all = all.to_lowercase();
        assert!(!all.contains(&email(redacted)), "the redacted customer's email is still stored");
        assert!(all.contains(&email(kept)), "the dump sees other customers' emails");
    }
}

fn json_of(text: &str) -> Value {
    let begin =
        text.find("BEGIN CUSTOMER DATA").and_then(|at| text[at..].find('{').map(|i| at + i)).expect("the JSON block");
    let end = text.rfind("END CUSTOMER DATA").and_then(|at| text[..at].rfind('}')).expect("its end");
    serde_json::from_str(&text[begin..=end]).expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_data_request_sends_the_owner_one_email_holding_exactly_that_customers_data() {
    for backend in [Backend::Embedded, Backend::Redis] {
        let sink = SmtpSink::start();
        let mut s = waiting_shop(backend, &sink).await;
        let (asked, other) = (s.order(2).await, s.order(1).await);
        s.settled().await;
        let body = json!({"shop_id": 1, "shop_domain": SHOP,
                          "customer": {"id": 900_000 + asked, "email": email(asked), "phone": null},
                          "orders_requested": [asked, other], "data_request": {"id": 4242}});
        let delivery = Delivery::new("customers/data_request", body.to_string());
        assert_eq!(s.app.deliver(&delivery).await.status(), 200);
        assert_eq!(s.app.deliver(&delivery.redelivered()).await.status(), 200);

        let mail = eventually("the owner's email", || async {
            let mail: Vec<_> = sink.messages().into_iter().filter(|m| m.kind() == "data_request").collect();
            (!mail.is_empty()).then_some(mail)
        })
        .await;
        s.settled().await;
        assert_eq!(sink.messages().iter().filter(|m| m.kind() == "data_request").count(), 1, "one email");
        assert_eq!(mail[0].rcpt_tos, ["owner@example.com"]);
        let text = mail[0].text.as_deref().unwrap();
        let data = json_of(text);
        assert_eq!(data["data_request_id"], 4242);
        assert_eq!(data["customer"]["email"], json!(email(asked)));
        let orders: BTreeSet<u64> =
            data["orders"].as_array().unwrap().iter().map(|o| o["order_id"].as_u64().unwrap()).collect();
        assert_eq!(orders, BTreeSet::from([asked]), "only that customer's orders: {data:#}");
        let order = &data["orders"][0];
        assert_eq!(order["contact"]["email"], json!(email(asked)));
        assert_eq!(order["name"], json!(format!("#{}", 1000 + asked)));
        assert!(order["emails"]["sent_or_waiting"].as_array().unwrap().contains(&json!("backordered")), "{order:#}");
        assert!(!text.contains(&email(other)), "nothing of another customer");
        s.stop().await;
    }
}
