//! The customer's status page: a signed link shows the order's waiting lines with positions and
//! ETAs; anything else is a 404 that tells nothing; a cancellation request is recorded once.

use backorder::notify::outbox::human_date;
use backorder::notify::status_token;
use serde_json::json;

use crate::api::{put, token};
use crate::effects::Setup;
use crate::support::smtp::SmtpSink;
use crate::support::{Backend, SECRET, SHOP, eventually};

fn day(n: i64) -> time::Date {
    time::OffsetDateTime::now_utc().date() + time::Duration::days(n)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

async fn supplied(backend: Backend, overrides: &[(&str, &str)]) -> Setup {
    let s = Setup::start(backend, 1, "100", overrides).await;
    s.enrol(json!({"enabled": true, "handling_days": 1, "supply": [
        {"qty": 2, "eta": day(10).to_string()}, {"qty": 10, "eta": day(30).to_string()}]}))
        .await;
    eventually("the variant to sell on backorder", || async {
        (s.policy() == backorder::devshop::Policy::Continue).then_some(())
    })
    .await;
    s
}

async fn status(s: &Setup, token: &str) -> (u16, String) {
    let resp = client().get(s.app.url(&format!("/status/{token}"))).send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

fn name(order: u64) -> String {
    format!("#{}", 1000 + order)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_link_shows_the_orders_waiting_lines_with_their_positions_and_etas() {
    for backend in [Backend::Embedded, Backend::Redis] {
        let mut s = supplied(backend, &[]).await;
        // One unit in stock: the first order ships; the next two wait at positions 1 and 2..3.
        let covered = s.order(1).await;
        let first = s.order(1).await;
        let second = s.order(2).await;
        s.settled().await;

        let (code, page) = status(&s, &status_token::sign(SECRET.as_bytes(), SHOP, second)).await;
        assert_eq!(code, 200);
        assert!(page.contains(&format!("Order {}", name(second))), "{page}");
        assert!(page.contains("2 on backorder") && page.contains("number 2 in line"), "{page}");
        // Its last unit is the third in line: beyond the first batch of 2, so the second batch.
        assert!(page.contains(&human_date(day(31))), "{page}");
        assert!(!page.contains(&name(first)) && !page.contains(&name(covered)), "nothing of other orders");

        let (_, page) = status(&s, &status_token::sign(SECRET.as_bytes(), SHOP, first)).await;
        assert!(page.contains("next in line") && page.contains(&human_date(day(11))), "{page}");
        let (_, page) = status(&s, &status_token::sign(SECRET.as_bytes(), SHOP, covered)).await;
        assert!(page.contains("Nothing in this order is waiting"), "{page}");
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_or_foreign_token_gets_a_404_that_names_no_order() {
    let mut s = supplied(Backend::Embedded, &[]).await;
    let order = s.order(3).await;
    s.settled().await;
    let good = status_token::sign(SECRET.as_bytes(), SHOP, order);
    let (order_part, rest) = good.split_once('.').unwrap();
    let tampered = [
        format!("{}.{rest}", order + 1),
        format!("{order_part}.{}", rest.replacen('A', "B", 1)),
        status_token::sign(b"another app's secret", SHOP, order),
        status_token::sign(SECRET.as_bytes(), "other-shop.myshopify.com", order),
        status_token::sign(SECRET.as_bytes(), SHOP, 999_999),
        "garbage".to_string(),
    ];
    for token in &tampered {
        if *token == good {
            continue;
        }
        let (code, page) = status(&s, token).await;
        assert_eq!(code, 404, "{token}");
        assert!(!page.contains(&name(order)) && !page.contains("backorder"), "{page}");
    }
    s.stop().await;
}

fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("the form") + "name=\"csrf\" value=\"".len();
    page[at..].split('"').next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancellation_request_posted_twice_is_recorded_once_tags_the_order_and_alerts_the_owner_once() {
    for backend in [Backend::Embedded, Backend::Redis] {
        let sink = SmtpSink::start();
        let url = sink.url();
        let mut s = supplied(backend, &[("BACKORDER__EMAIL__SMTP_URL", url.as_str())]).await;
        let resp = put(&s.app, "/api/settings", &token(SHOP), json!({"owner_email": "owner@example.com"})).await;
        assert_eq!(resp.status(), 200);
        s.order(1).await;
        let order = s.order(2).await;
        let other = s.order(1).await;
        s.settled().await;
        let token = status_token::sign(SECRET.as_bytes(), SHOP, order);
        let (_, page) = status(&s, &token).await;
        let csrf = csrf_of(&page);

        // Forged: without the form's value, or from another site's page. Nothing is recorded.
        let post = |token: &str| client().post(s.app.url(&format!("/status/{token}/cancel")));
        let resp = post(&token)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("csrf={}", "nope"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 403);
        let resp = post(&token)
            .header("Origin", "https://evil.example.com")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("csrf={}", &csrf))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 403);
        let other_token = status_token::sign(SECRET.as_bytes(), SHOP, other);
        let resp = post(&other_token)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("csrf={}", &csrf))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 403, "one order's form value is no good for another");

        for _ in 0..2 {
            let resp = post(&token)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("csrf={}", &csrf))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 303);
        }
        eventually("the tag", || async {
            s.tags(order).contains(&"backorder-cancel-requested".to_string()).then_some(())
        })
        .await;
        eventually("the owner's alert", || async {
            sink.messages().iter().any(|m| m.kind() == "cancel_requested").then_some(())
        })
        .await;
        s.settled().await;
        let alerts: Vec<_> = sink.messages().into_iter().filter(|m| m.kind() == "cancel_requested").collect();
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        assert_eq!(alerts[0].rcpt_tos, ["owner@example.com"]);
        assert!(alerts[0].text.as_deref().unwrap_or_default().contains(&name(order)));
        assert!(!s.tags(other).contains(&"backorder-cancel-requested".to_string()));
        let (_, page) = status(&s, &token).await;
        assert!(page.contains("You asked to cancel this order"), "{page}");
        s.stop().await;
    }
}

/// H2: the form value is shown to every customer with a waiting line. Made with the raw app
/// secret it was a valid webhook signature of its own text; derived per purpose, it signs
/// nothing intake takes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_forms_value_is_no_webhook_signature_of_its_text() {
    use base64::Engine;
    let mut s = supplied(Backend::Embedded, &[]).await;
    let order = s.order(2).await;
    s.settled().await;
    let token = status_token::sign(SECRET.as_bytes(), SHOP, order);
    let (_, page) = status(&s, &token).await;
    let csrf = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(csrf_of(&page)).unwrap();
    let signature = base64::engine::general_purpose::STANDARD.encode(csrf);
    for body in [format!("backorder status form v1\n{token}"), token.clone()] {
        let mut forged = crate::support::webhooks::Delivery::new("orders/create", body.into_bytes());
        forged.shop = "x1.example".into();
        forged.hmac = Some(signature.clone());
        assert_eq!(s.app.deliver(&forged).await.status(), 401, "a form value signs no webhook");
    }
    assert_eq!(s.app.store.dead_letters(10).await.unwrap().len(), 0, "nothing stored");
    s.stop().await;
}
