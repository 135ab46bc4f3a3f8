//! No shop can stall the others' effects: a shop whose platform does not answer, or refuses its
//! token, leaves every other shop's tags and emails flowing; a refused shop is backed off; and a
//! shop's customers are emailed whether or not its platform token works. Two shops share one
//! service and one dev shop; the faults are the first shop's alone.

use backorder::devshop::{Faults, Policy};
use backorder::notify::outbox::message_id;
use serde_json::json;

use crate::containment::OtherShop;
use crate::effects::Setup;
use crate::support::every_lane;
use crate::support::smtp::SmtpSink;
use crate::support::{Backend, SHOP, eventually};

/// The test settings' orders of one shop in flight at once (`effects.concurrency`).
const CONCURRENCY: usize = 8;

/// A service with an SMTP sink, the setup's shop selling on backorder, and a second shop.
async fn two_shops(backend: Backend, sink: &SmtpSink) -> (Setup, OtherShop) {
    let smtp = sink.url();
    let s = Setup::start(backend, 0, "50", &[("BACKORDER__EMAIL__SMTP_URL", smtp.as_str())]).await;
    s.enrol(json!({"enabled": true})).await;
    eventually("the variant to sell on backorder", || async { (s.policy() == Policy::Continue).then_some(()) }).await;
    let other = OtherShop::install(&s).await;
    (s, other)
}

/// Whether the customer of `shop`'s `order` has had its `backordered` email. Order ids repeat
/// across the dev shop's shops; the Message-ID names the shop too.
fn told(s: &Setup, sink: &SmtpSink, shop: &str, order: u64) -> bool {
    let id = message_id(&s.app.app.state, shop, order, "");
    let tail = id.trim_start_matches('<');
    sink.messages()
        .iter()
        .any(|m| m.kind() == "backordered" && m.message_id.as_deref().is_some_and(|id| id.ends_with(tail)))
}

async fn told_eventually(s: &Setup, sink: &SmtpSink, shop: &str, order: u64) {
    eventually("the customer to be told", || async { told(s, sink, shop, order).then_some(()) }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shop_whose_calls_are_held_does_not_delay_another_shops_tag_and_email() {
    for backend in [Backend::Redis, Backend::Embedded] {
        let sink = SmtpSink::start();
        let (mut s, other) = two_shops(backend, &sink).await;
        let held = s.devshop.hold_calls(SHOP);
        // A long backlog on the held shop: its pass has plenty to wait on.
        let mut waiting = Vec::new();
        for _ in 0..200 {
            waiting.push(s.order(1).await);
        }
        eventually("the first shop's calls to be held", || async { (held.waiting() > 0).then_some(()) }).await;

        let order = other.order(&s).await;
        other.tagged(&s, order).await;
        told_eventually(&s, &sink, other.shop, order).await;
        assert!(held.waiting() > 0, "the first shop's calls were held all along");
        assert!(waiting.iter().all(|o| s.tags(*o).is_empty()), "nothing of the held shop went through");

        held.release();
        // Its work resumes (all 200 would only measure the platform's cost bucket).
        eventually("the held shop's orders to be tagged again", || async {
            (s.tags(waiting[0]) == ["backorder"]).then_some(())
        })
        .await;
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_shop_is_backed_off_while_another_shops_effects_and_emails_flow() {
    for backend in [Backend::Redis, Backend::Embedded] {
        let sink = SmtpSink::start();
        let (mut s, other) = two_shops(backend, &sink).await;
        s.devshop.set_shop_faults(SHOP, Faults { denied: true, ..Faults::default() });
        for _ in 0..20 {
            s.order(1).await;
        }
        let denied = || s.devshop.calls(SHOP).iter().filter(|c| c.outcome == "denied").count();
        // Booked once the refused pass has ended: none of its calls is still in flight after.
        eventually("the refused shop to be backed off", || async {
            let metrics = crate::api::get(&s.app, "/metrics", None).await.text().await.ok()?;
            let n =
                metrics.lines().find_map(|l| l.strip_prefix(r#"backorder_shop_backoffs_total{reason="denied"} "#))?;
            (n.trim().parse::<f64>().ok()? >= 1.0).then_some(())
        })
        .await;
        assert!(denied() > 0, "the first shop's calls were refused");
        // Not skipped every sweep: out of the due index until its wait (minutes) is over.
        // The first wait is 60–120 s from the refusal (jittered), and some seconds have passed
        // since: well past the next sweeps is what matters, not a full minute.
        eventually("the refused shop to be due only when its wait ends", || async {
            let due = s.app.store.due_shops(&every_lane(), u64::MAX, 10).await.ok()?;
            let (_, at) = due.into_iter().find(|(shop, _)| shop == SHOP)?;
            (at > backorder::store::now_ms() + 20_000).then_some(())
        })
        .await;

        let first = other.order(&s).await;
        other.tagged(&s, first).await;
        told_eventually(&s, &sink, other.shop, first).await;
        let after_first = denied();
        // Another whole round of the other shop's effects: many passes, none of them calling
        // the refused shop (the old sweeper called it for every order on every 50 ms pass).
        let second = other.order(&s).await;
        other.tagged(&s, second).await;
        told_eventually(&s, &sink, other.shop, second).await;
        assert_eq!(denied(), after_first, "the refused shop is backed off: no call of it meanwhile");
        assert!(
            after_first <= CONCURRENCY + 1,
            "the refusal stopped the shop's pass at once: {after_first} calls refused"
        );
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shops_customer_emails_go_out_while_its_platform_token_is_refused() {
    for backend in [Backend::Redis, Backend::Embedded] {
        let sink = SmtpSink::start();
        let (mut s, _other) = two_shops(backend, &sink).await;
        s.devshop.set_shop_faults(SHOP, Faults { denied: true, ..Faults::default() });
        let first = s.order(1).await;
        told_eventually(&s, &sink, SHOP, first).await;
        assert!(
            s.devshop.calls(SHOP).iter().any(|c| c.outcome == "denied"),
            "the platform refused the shop's token meanwhile"
        );
        // An order placed while the shop is backed off is told as well.
        let second = s.order(1).await;
        told_eventually(&s, &sink, SHOP, second).await;
        assert!(s.tags(first).is_empty() && s.tags(second).is_empty(), "nothing reached the platform");
        s.stop().await;
    }
}
