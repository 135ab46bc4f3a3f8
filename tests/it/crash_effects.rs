//! The process killed in the middle of sending effects (after the platform calls, before they
//! are recorded; after they are recorded, before the marks are cleared), restarted: every
//! effect ends applied exactly once on the dev shop (one hold per order, one tag, the policy).

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use backorder::auth::install::{self, Install};
use backorder::books::apply::{Event, map_variant};
use backorder::devshop::{DevShop, Policy};
use backorder::failpoint::points;
use backorder::ledger::input::VariantInfo;
use backorder::secret::Secret;
use backorder::shop::{Consolation, ShopSettings};

use crate::crash::{SIGABRT, Server, deliver, durable_redis, http_client};
use crate::support::shopify::{Line, Order, level_body, triggered_at};
use crate::support::smtp::SmtpSink;
use crate::support::webhooks::Delivery;
use crate::support::{Backend, SHOP, eventually, settings};

const ORDERS: u32 = 3;

/// With `mail`, emails go to that SMTP server, and each order's `backordered` email must arrive
/// once: twice at most for the one the server took at the instant of the crash (`resent`), and
/// then with the same Message-ID.
async fn crash_while_sending_effects(backend: fn() -> Backend, point: &str, hit: u32) {
    crash_while_sending(backend, point, hit, None).await
}

async fn crash_while_sending(backend: fn() -> Backend, point: &str, hit: u32, mail: Option<(&SmtpSink, usize)>) {
    crash_with(backend, point, hit, mail, false).await
}

/// With `consoled`, the shop offers a consolation code from the first day (SPEC 10.3): each
/// order must end with exactly one code on the platform and one `consolation` email.
async fn crash_with(backend: fn() -> Backend, point: &str, hit: u32, mail: Option<(&SmtpSink, usize)>, consoled: bool) {
    let devshop = DevShop::start(1000.0, 1000.0).await.unwrap();
    let token = devshop.install(SHOP);
    let (variant, product, item) = devshop.world(SHOP, |w| {
        let v = w.add_variant("Tee", 0, Policy::Continue);
        (v, w.variants[&v].product_id, w.variants[&v].inventory_item_id)
    });
    let store = backend().prepare();
    {
        let shared = store.open().await;
        let sealer = settings(&store, &[]).sealer().unwrap();
        let install = Install {
            access_token: Secret::new(token),
            refresh_token: None,
            expires_at_ms: None,
            scopes: vec![],
            installed_at_ms: 0,
        };
        install::save(&backorder::books::Books::new(shared.clone()), &sealer, SHOP, &install).await.unwrap();
        let info = VariantInfo {
            variant_id: variant,
            product_id: product,
            inventory_item_id: Some(item),
            title: "Tee".into(),
            options: vec![],
        };
        let event = Event::new(SHOP, "enrol".into(), "setup", Duration::from_secs(600));
        map_variant(&backorder::books::Books::new(shared.clone()), &event, &info, true).await.unwrap();
        if consoled {
            let offer = Consolation { enabled: true, after_days: 0, ..Consolation::default() };
            let settings = ShopSettings { consolation: offer, ..ShopSettings::default() };
            let put = backorder::books::Change::unchecked().put(backorder::books::key::Settings, &settings);
            assert!(backorder::books::Books::new(shared.clone()).commit(SHOP, put).await.unwrap());
        }
    }
    let base = devshop.admin_base_url();
    let smtp = mail.map(|(sink, _)| sink.url()).unwrap_or_default();
    let mut extra = vec![
        ("BACKORDER__SHOPIFY__ADMIN_BASE_URL", base.as_str()),
        ("BACKORDER__LEDGER__SETTLE_MS", "50"),
        ("BACKORDER__EFFECTS__SWEEP_MS", "50"),
    ];
    if mail.is_some() {
        extra.push(("BACKORDER__EMAIL__SMTP_URL", smtp.as_str()));
    }
    let client = http_client();

    let mut deliveries = Vec::new();
    let mut orders = Vec::new();
    for n in 0..ORDERS {
        let (id, line) = devshop.world(SHOP, |w| {
            let id = w.place_order("buyer@example.com", &[], &[(variant, 1)]).unwrap();
            (id, w.orders[&id].lines[0].id)
        });
        orders.push((id, line));
        let at = 10 + i64::from(n);
        let body = Order {
            id,
            created_at: at,
            updated_at: at,
            tags: vec![],
            cancelled: false,
            lines: vec![Line { line_id: line, variant_id: variant, quantity: 1, fulfillable: 1, ..Line::default() }],
        };
        let mut d = Delivery::new("orders/create", body.body());
        d.triggered_at = Some(triggered_at(at, 0));
        deliveries.push(d);
        let mut level = Delivery::new("inventory_levels/update", level_body(item, 1, -(i64::from(n) + 1), at));
        level.triggered_at = Some(triggered_at(at, 1));
        deliveries.push(level);
    }
    // The shop is swept from its install on, so a process armed from its start could die at
    // the enrolment's own effect before its intake took every delivery. A process that sends
    // no effects takes them into the ledger first; the armed one then finds all the work.
    let quiet: Vec<(&str, &str)> = extra.iter().copied().chain([("BACKORDER__EFFECTS__SWEEP_MS", "0")]).collect();
    let intake = Server::start_with(&store, None, &quiet).await;
    let refused = deliver(&intake, &client, deliveries).await;
    assert!(refused.is_empty(), "the intake took every delivery");
    intake.drained(&client).await;
    intake.stop().await;
    let armed = format!("{point}:{hit}");
    let mut server = Server::start_with(&store, Some(&armed), &extra).await;
    let status = server.exit("at the failure point").await;
    assert_eq!(status.signal(), Some(SIGABRT), "killed at {armed}; log:\n{}", server.log());

    let server = Server::start_with(&store, None, &extra).await;
    let expected: BTreeMap<u64, Vec<BTreeMap<u64, u32>>> =
        orders.iter().map(|(id, line)| (*id, vec![BTreeMap::from([(*line, 1)])])).collect();
    eventually("every effect applied", || async {
        let (holds, tags_ok) = devshop.world(SHOP, |w| {
            let holds: BTreeMap<u64, Vec<BTreeMap<u64, u32>>> = orders
                .iter()
                .map(|(id, _)| (*id, w.orders[id].holds.iter().map(|h| h.quantities.clone()).collect()))
                .collect();
            let tags_ok = orders.iter().all(|(id, _)| w.orders[id].tags.iter().collect::<Vec<_>>() == ["backorder"]);
            (holds, tags_ok)
        });
        (holds == expected && tags_ok).then_some(())
    })
    .await;
    // Every mark cleared: read with the service stopped, since the embedded store has one
    // opener at a time; a mark still there means the service had not finished, so run it again
    // until its queue is empty. A graceful stop lets the sweeper finish the pass in hand, and a
    // fresh start sweeps at once.
    let mut server = Some(server);
    let shared = eventually("every mark cleared", || {
        let running = server.take();
        let store = &store;
        let extra = &extra;
        let client = &client;
        async move {
            if let Some(s) = running {
                s.stop().await;
            }
            let shared = store.open().await;
            let d = shared.ledger_dirty(SHOP).await.ok()?;
            if d.orders.is_empty() && d.variants.is_empty() && d.mail.is_empty() {
                return Some(shared);
            }
            drop(shared);
            let again = Server::start_with(store, None, extra).await;
            again.drained(client).await;
            again.stop().await;
            None
        }
    })
    .await;
    // Still exactly one hold each once everything has settled: nothing was applied twice.
    let holds: Vec<usize> = devshop.world(SHOP, |w| orders.iter().map(|(id, _)| w.orders[id].holds.len()).collect());
    assert_eq!(holds, vec![1; ORDERS as usize]);
    assert!(shared.dead_letters(10).await.unwrap().is_empty(), "no effect gave up");
    assert_eq!(devshop.world(SHOP, |w| w.variants[&variant].policy), Policy::Continue);
    if let Some((sink, resent)) = mail {
        let mut received = sink.messages();
        if consoled {
            let codes: Vec<String> = devshop.world(SHOP, |w| w.discounts.values().map(|d| d.code.clone()).collect());
            assert_eq!(codes.len(), ORDERS as usize, "one code per order, never a second: {codes:?}");
            let consoling: Vec<_> = received.iter().filter(|m| m.kind() == "consolation").collect();
            assert_eq!(consoling.len(), ORDERS as usize, "one consolation email per order");
            for m in consoling {
                let text = m.text.as_deref().unwrap_or_default();
                assert!(codes.iter().any(|c| text.contains(c.as_str())), "the email carries the order's code: {text}");
            }
            received.retain(|m| m.kind() != "consolation");
        }
        let mut per_message: BTreeMap<String, usize> = BTreeMap::new();
        for m in &received {
            assert_eq!(m.kind(), "backordered", "{m:#?}");
            *per_message.entry(m.message_id.clone().unwrap_or_default()).or_default() += 1;
        }
        let told: Vec<u64> =
            received.iter().map(|m| m.order_id()).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
        assert_eq!(told, orders.iter().map(|(id, _)| *id).collect::<Vec<_>>(), "every order told");
        assert_eq!(per_message.len(), ORDERS as usize, "one message per order: {per_message:?}");
        assert!(received.len() <= ORDERS as usize + resent, "{per_message:?}");
    }
    devshop.stop().await;
}

fn durable() -> Backend {
    Backend::Url(durable_redis().url())
}

macro_rules! crash_effects_tests {
    ($($module:ident => $backend:expr;)*) => {$(
        mod $module {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_process_killed_after_the_platform_calls_but_before_recording_them_applies_each_effect_once() {
                // The variant's policy and three orders: four applications, each a place to die.
                for hit in [1, 2, 4] {
                    crash_while_sending_effects($backend, points::EFFECTS_APPLIED, hit).await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_process_killed_between_two_emails_sends_each_email_exactly_once() {
                let sink = SmtpSink::start();
                crash_while_sending($backend, points::MAIL_BEFORE_SEND, 2, Some((&sink, 0))).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_process_killed_as_the_server_takes_an_email_resends_only_that_one_with_the_same_message_id() {
                let sink = SmtpSink::start();
                crash_while_sending($backend, points::MAIL_SENT, 2, Some((&sink, 1))).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_process_killed_between_making_a_consolation_code_and_keeping_it_makes_no_second_code() {
                let sink = SmtpSink::start();
                crash_with($backend, points::CONSOLATION_CREATED, 2, Some((&sink, 0)), true).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_process_killed_after_recording_effects_but_before_clearing_their_marks_applies_each_once() {
                // The first pass that records anything: how many passes follow depends on timing.
                crash_while_sending_effects($backend, points::EFFECTS_RECORDED, 1).await;
            }
        }
    )*};
}

crash_effects_tests! {
    on_durable_redis => durable;
    on_the_embedded_store => || Backend::Embedded;
}
