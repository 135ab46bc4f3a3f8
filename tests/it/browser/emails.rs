//! The emails page in a real browser: a template changed from the keyboard, its preview
//! rendered with the shop's waiting order as it is typed, a test sent to the owner (it reaches
//! the SMTP test server), and a template with an unknown variable refused next to its part,
//! with nothing saved.

use backorder::devshop::Policy;
use fantoccini::Locator;
use fantoccini::key::Key;
use serde_json::{Value, json};

use super::Browser;
use crate::api::{get, put, token};
use crate::effects::Setup;
use crate::support::smtp::SmtpSink;
use crate::support::{Backend, SHOP, eventually};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_template_is_previewed_with_a_waiting_order_sent_as_a_test_and_refused_with_an_unknown_variable() {
    let Some(browser) = Browser::start("emails").await else { return };
    let sink = SmtpSink::start();
    let smtp = sink.url();
    let mut s = Setup::start(Backend::Embedded, 0, "50", &[("BACKORDER__EMAIL__SMTP_URL", smtp.as_str())]).await;
    s.enrol(json!({"enabled": true, "lead_time_days": 9})).await;
    eventually("the variant to sell on backorder", || async { (s.policy() == Policy::Continue).then_some(()) }).await;
    s.order(1).await;
    s.settled().await;
    let resp = put(&s.app, "/api/settings", &token(SHOP), json!({"owner_email": "owner@example.com"})).await;
    assert_eq!(resp.status(), 200);
    let saved = || async {
        let settings: Value = get(&s.app, "/api/settings", Some(&token(SHOP))).await.json().await.unwrap();
        settings["templates"].clone()
    };
    let variant: Value =
        get(&s.app, &format!("/api/variants/{}", s.variant), Some(&token(SHOP))).await.json().await.unwrap();
    let order_name = variant["queue"][0]["order_name"].as_str().unwrap().to_string();

    browser.viewport(1280, 900).await;
    browser.client.goto(&s.devshop.admin_app_url(SHOP)).await.expect("the admin page");
    browser.open_from_admin_menu("Emails").await;
    let shown = browser
        .until(
            "the built-in email's preview",
            "const f = document.querySelector('.template-preview'); return !!f.srcdoc && \
             document.querySelector('.template-preview-order').textContent",
        )
        .await;
    assert_eq!(shown, format!("Rendered with order {order_name}, which waits now."));

    // From the keyboard: a new subject, typed; the preview follows.
    let subject = browser.client.find(Locator::Id("f-subject")).await.unwrap();
    subject.clear().await.unwrap();
    subject.send_keys("Still coming: {{ order_name }}").await.unwrap();
    let previewed = browser
        .until(
            "the preview's new subject",
            "const s = document.querySelector('.template-preview-subject').textContent; \
             return s.startsWith('Still coming') && s",
        )
        .await;
    assert_eq!(previewed, format!("Still coming: {order_name}"));
    browser.screenshot("emails-preview-1280").await;

    browser.press(".template-test", Key::Enter).await;
    let status = browser
        .until(
            "the test's status",
            "const s = document.querySelector('.template-test-status').textContent; return s.startsWith('Sent') && s",
        )
        .await;
    assert_eq!(status, "Sent to owner@example.com.");
    let test = eventually("the test email at the SMTP server", || async {
        sink.messages().into_iter().find(|m| m.rcpt_tos == ["owner@example.com"])
    })
    .await;
    assert_eq!(test.subject.as_deref(), Some(format!("[Test] Still coming: {order_name}").as_str()));
    assert_eq!(saved().await, json!({}), "a test saves nothing");

    // A typo in the HTML: its message next to the HTML, as typed and when sent (Enter in the
    // subject sends the form); nothing saved.
    let html = browser.client.find(Locator::Id("f-html")).await.unwrap();
    html.send_keys("{{ ordre_name }}").await.unwrap();
    let message = browser
        .until(
            "the HTML's error next to it",
            "const e = document.getElementById('e-html'); return !e.hidden && e.textContent",
        )
        .await;
    assert!(message.as_str().unwrap().contains("unknown variable `ordre_name`"), "{message}");
    subject.send_keys(&char::from(Key::Enter).to_string()).await.unwrap();
    browser
        .until(
            "the refused save marked on the HTML",
            "return document.getElementById('f-html').getAttribute('aria-invalid') === 'true' && \
             !document.getElementById('e-html').hidden",
        )
        .await;
    assert_eq!(saved().await, json!({}), "nothing saved");
    browser.screenshot("emails-error-1280").await;

    // Fixed, and saved from the keyboard.
    browser
        .until(
            "the typo taken out",
            "const h = document.getElementById('f-html'); h.value = h.value.replace('{{ ordre_name }}', ''); \
             h.dispatchEvent(new Event('input', {bubbles: true})); return true",
        )
        .await;
    subject.send_keys(&char::from(Key::Enter).to_string()).await.unwrap();
    let templates = eventually("the template saved", || async {
        let t = saved().await;
        t.get("backordered").cloned()
    })
    .await;
    assert_eq!(templates["subject"], "Still coming: {{ order_name }}");
    let problems = browser.accessibility_problems().await;
    assert!(problems.is_empty(), "emails: axe-core finds {problems:#?}");
    let errors = browser.errors().await;
    assert!(
        errors
            .iter()
            .all(|e| (e.contains("/api/templates/backordered/preview") || e.contains("/api/settings"))
                && e.contains("422")),
        "script errors or failed requests other than the refused template: {errors:#?}"
    );
    browser.stop().await;
    s.stop().await;
}
