//! The activity page's account (SPEC 11): the app's changes on the platform and the emails it
//! sent, in the merchant's words with the orders' names, and the shop's jobs.

use backorder::devshop::Policy;
use serde_json::{Value, json};

use crate::api::{get, token};
use crate::effects::Setup;
use crate::pages::page_html;
use crate::support::smtp::SmtpSink;
use crate::support::{Backend, SHOP, eventually};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_activity_page_tells_the_changes_made_on_shopify_the_emails_sent_and_the_jobs_run() {
    for backend in [Backend::Embedded, Backend::Redis] {
        let name = format!("{backend:?}");
        let sink = SmtpSink::start();
        let smtp = sink.url();
        let mut s = Setup::start(backend, 0, "50", &[("BACKORDER__EMAIL__SMTP_URL", smtp.as_str())]).await;
        s.enrol(json!({"enabled": true, "lead_time_days": 7})).await;
        eventually("the variant to sell on backorder", || async { (s.policy() == Policy::Continue).then_some(()) })
            .await;
        let order = s.order(2).await;
        s.settled().await;
        eventually("the customer's email", || async {
            sink.messages().iter().any(|m| m.kind() == "backordered" && m.order_id() == order).then_some(())
        })
        .await;
        let variant: Value =
            get(&s.app, &format!("/api/variants/{}", s.variant), Some(&token(SHOP))).await.json().await.unwrap();
        let order_name = variant["queue"][0]["order_name"].as_str().unwrap().to_string();
        let html = eventually("the email in the account", || async {
            let html = page_html(&s, "/app/activity", &token(SHOP)).await;
            html.contains("Emailed the customer of").then_some(html)
        })
        .await;
        // minijinja escapes `#` nowhere and the quotes as entities nowhere either: plain text.
        assert!(html.contains(&format!("Tagged {order_name} “backorder”")), "{name}: {html}");
        assert!(html.contains(&format!("Held 2 units of {order_name} until they arrive")), "{name}: {html}");
        assert!(
            html.contains(&format!("Emailed the customer of {order_name}: its units are on backorder")),
            "{name}: {html}"
        );
        assert!(html.contains("Trail Runner: keeps selling when out of stock"), "{name}: {html}");
        assert!(html.contains("Reading the orders open when variants were enrolled"), "{name}: {html}");
        assert!(!html.contains("buyer@example.com"), "{name}: no customer's address on the page");
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_says_what_needs_the_merchant_a_change_put_aside_and_an_email_that_failed() {
    let s = Setup::start(Backend::Embedded, 0, "50", &[]).await;
    let html = page_html(&s, "/app", &token(SHOP)).await;
    assert!(html.contains("Nothing needs you now."), "{html}");
    let bad = crate::support::webhooks::Delivery::new("orders/create", br#"{"id": "not a number"}"#.to_vec());
    assert_eq!(s.app.deliver(&bad).await.status(), 200);
    eventually("the bad order dead-lettered", || async {
        (!s.app.store.dead_letters(10).await.ok()?.is_empty()).then_some(())
    })
    .await;
    // The shop's own "ready" email, saved, then failing when sent.
    let saved = json!({"templates": {"ready": {"subject": "s", "text": "t", "html": "h"}}});
    assert_eq!(crate::api::put(&s.app, "/api/settings", &token(SHOP), saved).await.status(), 200);
    let template = backorder::shop::Template { subject: "s".into(), text: "t".into(), html: "h".into() };
    let error = backorder::notify::templates::TemplateError {
        kind: "ready".into(),
        part: "html",
        line: Some(1),
        message: "undefined value".into(),
    };
    backorder::notify::template_failures::record(&s.app.app.state, SHOP, &template, &error).await.unwrap();
    let html = page_html(&s, "/app", &token(SHOP)).await;
    assert!(html.contains("One change could not be done and waits for you to put back"), "{html}");
    assert!(html.contains("Your “ready” email failed when it was sent"), "{html}");
    assert!(html.contains("kind=ready"), "a link to the email: {html}");
    s.stop().await;
}
