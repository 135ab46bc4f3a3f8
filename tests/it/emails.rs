//! The emails page's API (SPEC 11): a template as the merchant edits it, rendered with a real
//! waiting order of the shop, checked as a save checks it, and sent as a test to the shop owner
//! through a real SMTP server. Nothing of it is saved.

use backorder::devshop::Policy;
use serde_json::{Value, json};

use crate::api::{get, put, token};
use crate::effects::Setup;
use crate::support::smtp::SmtpSink;
use crate::support::{Backend, SHOP, eventually};

async fn post(s: &Setup, path: &str, body: Value) -> reqwest::Response {
    s.app.client.post(s.app.url(path)).bearer_auth(token(SHOP)).json(&body).send().await.unwrap()
}

/// A shop whose customers' emails go to `sink`, with one order waiting for 2 units.
async fn shop_with_a_waiting_order(sink: &SmtpSink) -> (Setup, u64) {
    let smtp = sink.url();
    let mut s = Setup::start(Backend::Redis, 0, "50", &[("BACKORDER__EMAIL__SMTP_URL", smtp.as_str())]).await;
    s.enrol(json!({"enabled": true, "lead_time_days": 10})).await;
    eventually("the variant to sell on backorder", || async { (s.policy() == Policy::Continue).then_some(()) }).await;
    let order = s.order(2).await;
    s.settled().await;
    (s, order)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_preview_renders_a_real_waiting_order_and_names_an_unknown_variable_next_to_its_part() {
    let sink = SmtpSink::start();
    let (s, order) = shop_with_a_waiting_order(&sink).await;
    let variant: Value =
        get(&s.app, &format!("/api/variants/{}", s.variant), Some(&token(SHOP))).await.json().await.unwrap();
    assert_eq!(variant["queue"][0]["order_id"], order);
    let name = variant["queue"][0]["order_name"].as_str().unwrap().to_string();
    let template = json!({"subject": "Waiting: {{ order_name }}", "text": "{{ first_name }}",
                          "html": "<p>{{ order_name }} waits for {{ lines[0].quantity }}</p>"});
    let resp = post(&s, "/api/templates/backordered/preview", template).await;
    assert_eq!(resp.status(), 200);
    let shown: Value = resp.json().await.unwrap();
    assert_eq!(shown["subject"], format!("Waiting: {name}"));
    assert_eq!(shown["html"], format!("<p>{name} waits for 2</p>"));
    assert_eq!(shown["sample"], false);

    let typo = json!({"subject": "s", "text": "t", "html": "<p>{{ ordre_name }}</p>"});
    let resp = post(&s, "/api/templates/backordered/preview", typo).await;
    assert_eq!(resp.status(), 422);
    let error: Value = resp.json().await.unwrap();
    assert_eq!(error["field"], "templates.backordered.html", "{error}");
    assert!(error["error"].as_str().unwrap().contains("unknown variable `ordre_name`"), "{error}");

    // The built-in email, for a body without parts; an unknown kind is a 404.
    let builtin: Value = post(&s, "/api/templates/ready/preview", json!({})).await.json().await.unwrap();
    assert!(builtin["html"].as_str().unwrap().contains(&name), "{builtin}");
    assert_eq!(post(&s, "/api/templates/welcome/preview", json!({})).await.status(), 404);

    let settings: Value = get(&s.app, "/api/settings", Some(&token(SHOP))).await.json().await.unwrap();
    assert_eq!(settings["templates"], json!({}), "a preview saves nothing");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_email_reaches_the_shop_owner_and_needs_an_owner_address_first() {
    let sink = SmtpSink::start();
    let (s, _) = shop_with_a_waiting_order(&sink).await;
    let template = json!({"subject": "Hello {{ order_name }}", "text": "Text", "html": "<p>Html</p>"});
    let resp = post(&s, "/api/templates/backordered/test", template.clone()).await;
    assert_eq!(resp.status(), 422);
    let error: Value = resp.json().await.unwrap();
    assert_eq!(error["field"], "owner_email", "{error}");

    let resp = put(&s.app, "/api/settings", &token(SHOP), json!({"owner_email": "owner@example.com"})).await;
    assert_eq!(resp.status(), 200);
    let resp = post(&s, "/api/templates/backordered/test", template).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["sent_to"], "owner@example.com");
    let test = eventually("the test email to reach the SMTP server", || async {
        sink.messages().into_iter().find(|m| m.rcpt_tos == ["owner@example.com"])
    })
    .await;
    assert!(test.subject.as_deref().unwrap_or_default().starts_with("[Test] Hello #"), "{test:?}");
    assert_eq!(test.html.as_deref().map(str::trim), Some("<p>Html</p>"));
    s.stop().await;
}
