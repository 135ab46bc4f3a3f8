//! Customer emails (SPEC 3.7) delivered to a real SMTP server process: once per order and
//! occasion, with the ETAs of SPEC 6, waiting out a mail server that refuses, escaped HTML, and
//! templates checked when they are saved.

use std::collections::{BTreeMap, BTreeSet};

use backorder::demo::{DemoOptions, run};
use backorder::devshop::Policy;
use backorder::notify::outbox::human_date;
use serde_json::json;

use crate::api::{get, put, token};
use crate::effects::Setup;
use crate::support::smtp::{Received, SmtpSink};
use crate::support::webhooks::Delivery;
use crate::support::{Backend, SHOP, eventually, unique_prefix};

fn day(n: i64) -> time::Date {
    time::OffsetDateTime::now_utc().date() + time::Duration::days(n)
}

fn by_kind<'a>(mail: &'a [Received], kind: &str) -> BTreeMap<u64, Vec<&'a Received>> {
    let mut out: BTreeMap<u64, Vec<&Received>> = BTreeMap::new();
    for m in mail.iter().filter(|m| m.kind() == kind) {
        out.entry(m.order_id()).or_default().push(m);
    }
    out
}

async fn demo_emails(store_url: Option<String>) {
    let sink = SmtpSink::start();
    let options =
        DemoOptions { store_url, store_prefix: unique_prefix(), verbose: false, seed: 3, smtp_url: Some(sink.url()) };
    let (o, stage) = run(&options).await.expect("the demo plays");
    stage.settled().await.expect("every email handed over");
    let mail = sink.messages();
    let snapshots = [&o.after_sale, &o.after_restock, &o.after_cancellations, &o.partial];
    let mut ever_waited: BTreeSet<u64> = snapshots.iter().flat_map(|s| s.queue.iter().map(|q| q.order_id)).collect();
    // And the order whose webhooks were lost, booked by the drift pass. (The orders found at
    // enrolment were placed before install: nobody is emailed for them.)
    ever_waited.insert(o.repaired.order);
    // And the jackets that waited for stock on a Shopify transfer.
    ever_waited.extend(&o.shipped.orders);
    let emails = |id: u64| stage.devshop.world(backorder::demo::SHOP, |w| w.orders[&id].email.clone());

    // One `backordered` email per order that waited, to its customer, with its line's ETA.
    let backordered = by_kind(&mail, "backordered");
    assert_eq!(backordered.keys().copied().collect::<BTreeSet<_>>(), ever_waited);
    for (id, sent) in &backordered {
        assert_eq!(sent.len(), 1, "order {id}: {sent:#?}");
        assert_eq!(sent[0].rcpt_tos, [emails(*id)]);
    }
    for q in &o.after_sale.queue {
        let last = q.position + u64::from(q.backordered) - 1;
        let eta = if last <= 12 { day(12) } else { day(42) };
        let text = backordered[&q.order_id][0].text.as_deref().unwrap_or_default();
        assert!(text.contains(&human_date(eta)), "{}: expected {eta}:\n{text}", q.order_name);
        assert!(text.contains(&q.order_name) && text.contains("/status/"), "{text}");
        let subject = backordered[&q.order_id][0].subject.as_deref().unwrap_or_default();
        assert!(subject.contains(&q.order_name), "{subject}");
    }
    // Nothing at all to the orders stock covered.
    for id in o.orders[..3].iter().chain([&o.vip_order]) {
        assert!(mail.iter().all(|m| m.order_id() != *id), "in-stock order {id} got an email");
    }

    // One `ready` email per order that waited and is now covered, and none to the one cancelled.
    // (The last act sells a second variant: its snapshot's queue is that variant's.)
    let still_waiting: BTreeSet<u64> = o
        .after_cancellations
        .queue
        .iter()
        .chain(&o.partial.queue)
        .chain(&o.repaired.snapshot.queue)
        .chain(&o.shipped.received.queue)
        .map(|q| q.order_id)
        .collect();
    let (cancelled, _) = o.cancelled;
    let covered: BTreeSet<u64> =
        ever_waited.iter().copied().filter(|id| !still_waiting.contains(id) && *id != cancelled).collect();
    let ready = by_kind(&mail, "ready");
    assert!(!covered.is_empty());
    assert_eq!(ready.keys().copied().collect::<BTreeSet<_>>(), covered);
    assert!(ready.values().all(|sent| sent.len() == 1), "{ready:#?}");
    // Stock arriving early moves no date later: the one `eta_changed` each goes to the jackets
    // whose shipment the carrier delayed, and to the orders waiting on the batch the supplier
    // pushed back in the last act, which also get their one `consolation` email each.
    let pushed_back: BTreeSet<u64> = o.advised.after_delay.queue.iter().map(|q| q.order_id).collect();
    let changed = by_kind(&mail, "eta_changed");
    let expected: BTreeSet<u64> = o.shipped.orders[..4].iter().copied().chain(pushed_back.iter().copied()).collect();
    assert_eq!(changed.keys().copied().collect::<BTreeSet<_>>(), expected);
    assert!(changed.values().all(|sent| sent.len() == 1), "{changed:#?}");
    let consoled = by_kind(&mail, "consolation");
    assert_eq!(consoled.keys().copied().collect::<BTreeSet<_>>(), pushed_back);
    assert!(
        consoled.values().all(|sent| sent.len() == 1 && sent[0].text.as_deref().unwrap_or_default().contains("WAIT-"))
    );
    stage.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_sale_emails_each_waiting_order_once_with_its_eta_and_each_filled_order_that_it_is_ready() {
    demo_emails(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_sale_on_redis_emails_each_waiting_order_once_and_each_filled_order_that_it_is_ready() {
    let url = crate::support::redis::shared().url();
    demo_emails(Some(url)).await;
}

/// A service with an SMTP sink, one variant out of stock, supply of 2 in 10 days and 10 in 30.
async fn supplied(backend: Backend, sink: &SmtpSink) -> Setup {
    let url = sink.url();
    let s = Setup::start(backend, 0, "100", &[("BACKORDER__EMAIL__SMTP_URL", url.as_str())]).await;
    s.enrol(json!({"enabled": true, "handling_days": 0, "supply": [
        {"qty": 2, "eta": day(10).to_string()}, {"qty": 10, "eta": day(30).to_string()}]}))
        .await;
    eventually("the variant to sell on backorder", || async { (s.policy() == Policy::Continue).then_some(()) }).await;
    s
}

async fn mail_of(sink: &SmtpSink, kind: &str, n: usize) -> Vec<Received> {
    eventually(&format!("{n} `{kind}` emails"), || async {
        let mail: Vec<Received> = sink.messages().into_iter().filter(|m| m.kind() == kind).collect();
        (mail.len() >= n).then_some(mail)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supply_date_pushed_back_ten_days_tells_only_the_orders_it_affects() {
    for backend in [Backend::Embedded, Backend::Redis] {
        let sink = SmtpSink::start();
        let mut s = supplied(backend, &sink).await;
        let (a, b, c) = (s.order(1).await, s.order(1).await, s.order(1).await);
        mail_of(&sink, "backordered", 3).await;
        s.settled().await;

        // The first batch (orders a and b) slips by ten days; the second (order c) holds.
        s.enrol(json!({"supply": [{"qty": 2, "eta": day(20).to_string()}, {"qty": 10, "eta": day(30).to_string()}]}))
            .await;
        let changed = mail_of(&sink, "eta_changed", 2).await;
        s.settled().await;
        let changed_now: Vec<Received> = sink.messages().into_iter().filter(|m| m.kind() == "eta_changed").collect();
        assert_eq!(changed_now.len(), changed.len(), "no further email once settled");
        let told: BTreeSet<u64> = changed.iter().map(Received::order_id).collect();
        assert_eq!(told, BTreeSet::from([a, b]), "order {c} keeps its date");
        for m in &changed {
            let text = m.text.as_deref().unwrap_or_default();
            assert!(text.contains(&human_date(day(20))) && text.contains(&human_date(day(10))), "{text}");
        }
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emails_wait_while_the_mail_server_refuses_and_each_goes_out_once_when_it_recovers() {
    for backend in [Backend::Embedded, Backend::Redis] {
        let sink = SmtpSink::start();
        sink.refuse(true);
        let mut s = supplied(backend, &sink).await;
        let orders = BTreeSet::from([s.order(1).await, s.order(2).await, s.order(1).await]);
        eventually("the server to refuse a few tries", || async { (sink.refusals() >= 4).then_some(()) }).await;
        assert!(sink.messages().is_empty());

        sink.refuse(false);
        mail_of(&sink, "backordered", 3).await;
        s.settled().await;
        let mail = sink.messages();
        let ids: BTreeSet<&str> = mail.iter().filter_map(|m| m.message_id.as_deref()).collect();
        assert_eq!((mail.len(), ids.len()), (3, 3), "each exactly once: {mail:#?}");
        assert_eq!(mail.iter().map(Received::order_id).collect::<BTreeSet<_>>(), orders);
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_product_title_with_markup_arrives_escaped_in_the_html_part() {
    let sink = SmtpSink::start();
    let mut s = supplied(Backend::Embedded, &sink).await;
    let variant = s.variant;
    let title = "<script>alert('x')</script> Runner";
    let order = s.world(|w| {
        w.variants.get_mut(&variant).expect("the variant").title = title.into();
        w.place_order("script@example.com", &[], &[(variant, 1)]).expect("an order")
    });
    let body = s.world(|w| backorder::devshop::payloads::order(w, order)).expect("the payload");
    assert_eq!(s.app.deliver(&Delivery::new("orders/create", body)).await.status(), 200);
    s.deliver_level().await;

    let mail = mail_of(&sink, "backordered", 1).await;
    let html = mail[0].html.as_deref().expect("an HTML part");
    assert!(!html.contains("<script>"), "{html}");
    assert!(html.contains("&lt;script&gt;"), "{html}");
    assert!(mail[0].text.as_deref().unwrap_or_default().contains(title), "the text part is plain text");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_template_is_refused_on_save_naming_its_line_and_nothing_changes() {
    let (app, _store) = crate::support::TestApp::spawn(Backend::Embedded, &[]).await;
    let before: serde_json::Value = get(&app, "/api/settings", Some(&token(SHOP))).await.json().await.unwrap();
    let broken = json!({"templates": {"backordered": {
        "subject": "Your order {{ order_name }}",
        "text": "Hi {{ first_name }},\n{% for line in lines %}{{ line.title }}\n{% endfor %}",
        "html": "<p>Hi</p>\n<p>{{ order_name }</p>\n"}}});
    let resp = put(&app, "/api/settings", &token(SHOP), broken).await;
    assert_eq!(resp.status(), 422);
    let body: serde_json::Value = resp.json().await.unwrap();
    let message = body.to_string();
    assert!(message.contains("templates.backordered.html") && message.contains("line 2"), "{message}");

    let unknown = json!({"templates": {"ready": {"subject": "s", "text": "{{ order_total }}", "html": "<p></p>"}}});
    let resp = put(&app, "/api/settings", &token(SHOP), unknown).await;
    assert_eq!(resp.status(), 422);
    let message = resp.text().await.unwrap();
    assert!(message.contains("templates.ready.text") && message.contains("order_total"), "{message}");

    let after: serde_json::Value = get(&app, "/api/settings", Some(&token(SHOP))).await.json().await.unwrap();
    assert_eq!(before, after);
    app.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_is_told_once_when_a_variants_backlog_reaches_the_alert_threshold() {
    let sink = SmtpSink::start();
    let mut s = supplied(Backend::Embedded, &sink).await;
    let body = json!({"owner_email": "owner@example.com", "alert_threshold_units": 3});
    assert_eq!(put(&s.app, "/api/settings", &token(SHOP), body).await.status(), 200);
    s.order(2).await;
    mail_of(&sink, "backordered", 1).await;
    s.settled().await;
    assert!(sink.messages().iter().all(|m| m.kind() != "reorder"), "2 units: below the threshold");

    s.order(1).await;
    let alert = mail_of(&sink, "reorder", 1).await;
    assert_eq!(alert[0].rcpt_tos, ["owner@example.com"]);
    assert!(alert[0].text.as_deref().unwrap_or_default().contains("3 units on backorder"), "{alert:#?}");
    s.order(1).await;
    mail_of(&sink, "backordered", 3).await;
    s.settled().await;
    let alerts = sink.messages().into_iter().filter(|m| m.kind() == "reorder").count();
    assert_eq!(alerts, 1, "still above the threshold: no second alert");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_placed_ahead_by_priority_tells_the_line_it_pushes_into_a_later_batch() {
    let sink = SmtpSink::start();
    let mut s = supplied(Backend::Embedded, &sink).await;
    let vip = json!({"priority_tags": {"VIP": 10}});
    assert_eq!(put(&s.app, "/api/settings", &token(SHOP), vip).await.status(), 200);
    // Supply: 2 units in 10 days, 10 in 30. Orders a and b take the first batch, c the second.
    let (a, b, c) = (s.order(1).await, s.order(1).await, s.order(1).await);
    mail_of(&sink, "backordered", 3).await;
    s.settled().await;

    let variant = s.variant;
    let vip = s.world(|w| w.place_order("vip@example.com", &["VIP"], &[(variant, 1)])).expect("an order");
    s.deliver_order(vip, "orders/create").await;
    s.deliver_level().await;
    let changed = mail_of(&sink, "eta_changed", 1).await;
    mail_of(&sink, "backordered", 4).await;
    s.settled().await;
    let all: Vec<Received> = sink.messages().into_iter().filter(|m| m.kind() == "eta_changed").collect();
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(changed[0].order_id(), b, "b now waits for the second batch; a and c keep their dates ({a}, {c})");
    let text = changed[0].text.as_deref().unwrap_or_default();
    assert!(text.contains(&human_date(day(30))) && text.contains(&human_date(day(10))), "{text}");
    s.stop().await;
}

/// Scenario 1 of the December audit (H1), a string repeated to 100 MB and written again and
/// again, without `range` (not a name templates may use).
const BOMB: &str = r#"{% set s = "x" * 100000000 %}{{ s }}{{ s }}{{ s }}{{ s }}{{ s }}{{ s }}{{ s }}{{ s }}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_that_would_render_gigabytes_is_refused_on_save_naming_its_part_and_nothing_changes() {
    let (app, _store) = crate::support::TestApp::spawn(Backend::Embedded, &[]).await;
    let before: serde_json::Value = get(&app, "/api/settings", Some(&token(SHOP))).await.json().await.unwrap();
    let bomb = json!({"templates": {"backordered": {"subject": "s", "text": BOMB, "html": "h"}}});
    let resp = put(&app, "/api/settings", &token(SHOP), bomb).await;
    assert_eq!(resp.status(), 422);
    let message = resp.text().await.unwrap();
    assert!(message.contains("templates.backordered.text"), "{message}");

    let after: serde_json::Value = get(&app, "/api/settings", Some(&token(SHOP))).await.json().await.unwrap();
    assert_eq!(before, after);
    app.app.stop().await;
}

/// Passes on save (the samples' status links are all on example.com) and blows up for any real
/// order, whose link is on the app's own host.
const REAL_ORDERS_ONLY_BOMB: &str = r#"Hi {{ first_name }}
{% if "example.com" not in status_url %}{% set s = "x" * 100000000 %}{{ s }}{{ s }}{{ s }}{% endif %}"#;

async fn template_failure_falls_back_to_the_built_in_email(backend: Backend) {
    let sink = SmtpSink::start();
    let mut s = supplied(backend, &sink).await;
    let template =
        json!({"subject": "Your order {{ order_name }}", "text": REAL_ORDERS_ONLY_BOMB, "html": "<p>Hi</p>"});
    let resp = put(&s.app, "/api/settings", &token(SHOP), json!({"templates": {"backordered": template}})).await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());

    // The customer gets the built-in email.
    let order = s.order(1).await;
    let mail = mail_of(&sink, "backordered", 1).await;
    assert_eq!(mail[0].order_id(), order);
    let text = mail[0].text.as_deref().unwrap_or_default();
    assert!(text.contains("Some of it is on backorder") && text.contains(&human_date(day(10))), "{text}");
    assert!(!text.contains("xxxx"), "nothing of the failing template went out");

    // The merchant sees which template failed, where and why.
    let settings = eventually("the failure to be on record", || async {
        let v: serde_json::Value = get(&s.app, "/api/settings", Some(&token(SHOP))).await.json().await.ok()?;
        v["template_failures"].get("backordered").is_some().then_some(v)
    })
    .await;
    let failure = &settings["template_failures"]["backordered"];
    assert_eq!(failure["part"], "text", "{failure}");
    assert!(failure["reason"].as_str().unwrap_or_default().contains("templates.backordered.text"), "{failure}");
    assert!(failure["at"].as_str().is_some_and(|at| !at.is_empty()), "{failure}");

    // The next order gets the built-in email too, and the record stays as it was.
    s.order(1).await;
    mail_of(&sink, "backordered", 2).await;
    s.settled().await;
    let again: serde_json::Value = get(&s.app, "/api/settings", Some(&token(SHOP))).await.json().await.unwrap();
    assert_eq!(again["template_failures"], settings["template_failures"]);

    // What `GET` showed can be sent back whole: the read-only field is ignored, not refused.
    let back = json!({"templates": again["templates"], "template_failures": again["template_failures"]});
    let resp = put(&s.app, "/api/settings", &token(SHOP), back).await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let same: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(same["template_failures"], settings["template_failures"], "the same template keeps its record");

    // A new template clears the record.
    let fixed = json!({"subject": "Your order {{ order_name }}", "text": "Hi {{ first_name }}", "html": "<p>Hi</p>"});
    let resp = put(&s.app, "/api/settings", &token(SHOP), json!({"templates": {"backordered": fixed}})).await;
    assert_eq!(resp.status(), 200);
    let cleared: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(cleared["template_failures"], json!({}));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_that_fails_for_a_real_order_sends_the_built_in_email_and_tells_the_merchant() {
    for backend in [Backend::Embedded, Backend::Redis] {
        template_failure_falls_back_to_the_built_in_email(backend).await;
    }
}
