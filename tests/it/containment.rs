//! No shop can stop the others: a date at the end of the calendar is refused, a panic in one
//! shop's effects pass is contained to that shop, and a background task that cannot run shows
//! on `/healthz`. Two shops share one service and one dev shop.

use backorder::auth::install::{self, Install};
use backorder::devshop::world::MAIN_LOCATION;
use backorder::devshop::{Policy, payloads};
use backorder::secret::Secret;
use serde_json::{Value, json};

use crate::api::{get, put, token};
use crate::effects::{Setup, exact};
use crate::support::smtp::SmtpSink;
use crate::support::webhooks::Delivery;
use crate::support::{Backend, SHOP, eventually};

/// A second installed shop beside the setup's own, with one out-of-stock variant.
pub struct OtherShop {
    pub shop: &'static str,
    variant: u64,
    item: u64,
}

// Sorts after `SHOP`, so a pass that panicked on `SHOP` and was not contained would never reach it.
pub const OTHER: &str = "zz-second-shop.myshopify.com";

impl OtherShop {
    pub async fn install(s: &Setup) -> Self {
        let access = s.devshop.install(OTHER);
        let (variant, item) = s.devshop.world(OTHER, |w| {
            let v = w.add_variant("Rain Jacket", 0, Policy::Deny);
            (v, w.variants[&v].inventory_item_id)
        });
        let sealer = s.app.app.state.sealer.clone().expect("the test settings have a key");
        let install = Install {
            access_token: Secret::new(access),
            refresh_token: None,
            expires_at_ms: None,
            scopes: vec![],
            installed_at_ms: 0,
        };
        install::save(&s.app.app.state.books, &sealer, OTHER, &install).await.unwrap();
        let other = Self { shop: OTHER, variant, item };
        other.deliver_level(s).await;
        let resp = put(&s.app, &format!("/api/variants/{variant}"), &token(OTHER), json!({"enabled": true})).await;
        assert_eq!(resp.status(), 200);
        eventually("the other shop's variant to sell on backorder", || async {
            (s.devshop.world(OTHER, |w| w.variants[&variant].policy) == Policy::Continue).then_some(())
        })
        .await;
        other
    }

    /// A webhook as the dev shop would send it, at its own time `ms`.
    async fn deliver(&self, s: &Setup, topic: &str, body: Vec<u8>, ms: i64) {
        let mut d = Delivery::new(topic, body);
        d.shop = self.shop.into();
        d.triggered_at = Some(exact(ms));
        assert_eq!(s.app.deliver(&d).await.status(), 200);
    }

    async fn deliver_level(&self, s: &Setup) {
        let level = s.devshop.world(self.shop, |w| w.levels[&(self.item, MAIN_LOCATION)]);
        self.deliver(s, "inventory_levels/update", payloads::level(self.item, 1, &level), level.updated_at_ms).await;
    }

    /// An order of one unit, placed on the dev shop and delivered with the stock it left.
    pub async fn order(&self, s: &Setup) -> u64 {
        let variant = self.variant;
        let (id, body, at) = s.devshop.world(self.shop, |w| {
            let id = w.place_order("jo@example.com", &[], &[(variant, 1)]).expect("sells on backorder");
            (id, payloads::order(w, id).unwrap(), w.orders[&id].updated_at_ms)
        });
        self.deliver(s, "orders/create", body, at).await;
        self.deliver_level(s).await;
        id
    }

    fn tags(&self, s: &Setup, order: u64) -> Vec<String> {
        s.devshop.world(self.shop, |w| w.orders[&order].tags.iter().cloned().collect())
    }

    pub async fn tagged(&self, s: &Setup, order: u64) {
        eventually("the other shop's order to be tagged", || async {
            (self.tags(s, order) == ["backorder"]).then_some(())
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supply_date_in_the_year_9999_is_refused_and_another_shops_order_still_gets_its_tag() {
    for backend in [Backend::Redis, Backend::Embedded] {
        let s = Setup::start(backend, 0, "50", &[]).await;
        s.enrol(json!({"enabled": true})).await;
        let path = format!("/api/variants/{}", s.variant);
        let unknown = json!({"supply": [{"qty": 1, "eta": "9999-12-31"}], "handling_days": 1});
        let resp = put(&s.app, &path, &token(SHOP), unknown).await;
        assert_eq!(resp.status(), 422);
        let body: Value = resp.json().await.unwrap();
        assert!(body.to_string().contains("supply[0].eta"), "the field is named: {body}");
        let shown: Value = get(&s.app, &path, Some(&token(SHOP))).await.json().await.unwrap();
        assert_eq!(shown["handling_days"], 0, "nothing of the refused body was kept: {shown}");

        let other = OtherShop::install(&s).await;
        let order = other.order(&s).await;
        other.tagged(&s, order).await;
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_in_one_shops_pass_leaves_another_shops_effects_and_emails_flowing_and_shows_in_metrics() {
    for backend in [Backend::Redis, Backend::Embedded] {
        let sink = SmtpSink::start();
        let smtp = sink.url();
        let mut s = Setup::start(backend, 0, "50", &[("BACKORDER__EMAIL__SMTP_URL", smtp.as_str())]).await;
        s.enrol(json!({"enabled": true})).await;
        eventually("the variant to sell on backorder", || async { (s.policy() == Policy::Continue).then_some(()) })
            .await;
        // From now on every pass of the first shop panics; an order gives it one to run (an
        // idle shop is not served at all).
        s.app.app.state.panics.arm(&format!("shop:{SHOP}"));
        s.order(1).await;
        let other = OtherShop::install(&s).await;
        let order = other.order(&s).await;
        other.tagged(&s, order).await;
        eventually("the other shop's customer to be told", || async {
            sink.messages().iter().any(|m| m.kind() == "backordered" && m.order_id() == order).then_some(())
        })
        .await;
        // The sweeper books a pass that ended at its next sweep: wait for the count.
        eventually("the panics to be counted in /metrics", || async {
            let metrics = get(&s.app, "/metrics", None).await.text().await.ok()?;
            let panics = metrics
                .lines()
                .find_map(|l| l.strip_prefix("backorder_shop_pass_panics_total "))
                .and_then(|v| v.trim().parse::<f64>().ok())?;
            (panics >= 1.0).then_some(())
        })
        .await;
        assert_eq!(get(&s.app, "/healthz", None).await.status(), 200, "the sweeper itself is fine");
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers_503_while_the_effects_sweeper_cannot_run_and_200_once_it_runs_again() {
    let s = Setup::start(Backend::Embedded, 0, "50", &[]).await;
    assert_eq!(get(&s.app, "/healthz", None).await.status(), 200);
    s.app.app.state.panics.arm("task:effects");
    let down: Value = eventually("the sweeper to be reported down", || async {
        let resp = get(&s.app, "/healthz", None).await;
        (resp.status() == 503).then_some(())?;
        resp.json().await.ok()
    })
    .await;
    assert_eq!(down["tasks_down"], json!(["effects"]), "{down}");
    s.app.app.state.panics.disarm("task:effects");
    eventually("the restarted sweeper to be reported up", || async {
        (get(&s.app, "/healthz", None).await.status() == 200).then_some(())
    })
    .await;
    // Restarted, it works: a change made now still reaches the platform.
    s.enrol(json!({"enabled": true})).await;
    eventually("the variant to sell on backorder", || async { (s.policy() == Policy::Continue).then_some(()) }).await;
    s.stop().await;
}
