//! Effects end to end: signed webhooks into the ledger, settled effects out to the dev shop over
//! real HTTP, on both store backends.

use std::collections::BTreeMap;

use backorder::auth::install::{self, Install};
use backorder::devshop::{DevShop, Faults, Policy, world::World};
use backorder::secret::Secret;
use backorder::store::SharedStore;
use serde_json::json;

use crate::api::{put, token};
use crate::support::shopify::{Line, Order, since_base};
use crate::support::webhooks::Delivery;
use crate::support::{Backend, SHOP, TestApp, TestStore, eventually, settings};

/// A service wired to a dev shop that has one variant with `stock` units.
pub struct Setup {
    pub app: TestApp,
    pub devshop: DevShop,
    /// Where the app keeps its data (the embedded directory lives as long as this).
    store: Option<TestStore>,
    pub variant: u64,
    item: u64,
}

impl Setup {
    pub async fn start(backend: Backend, stock: i64, settle_ms: &str, overrides: &[(&str, &str)]) -> Self {
        Self::start_paced(backend, stock, settle_ms, overrides, (1000.0, 1000.0)).await
    }

    /// With the dev shop's cost bucket of `bucket.0` points restoring `bucket.1` per second.
    pub async fn start_paced(
        backend: Backend,
        stock: i64,
        settle_ms: &str,
        overrides: &[(&str, &str)],
        bucket: (f64, f64),
    ) -> Self {
        Self::start_wrapped(backend, stock, settle_ms, overrides, bucket, |store| store).await
    }

    /// With the app's store wrapped by `wrap` (a counting store, say), the test's handle too.
    pub async fn start_wrapped(
        backend: Backend,
        stock: i64,
        settle_ms: &str,
        overrides: &[(&str, &str)],
        bucket: (f64, f64),
        wrap: impl FnOnce(SharedStore) -> SharedStore,
    ) -> Self {
        let mut setup = Self::start_unheard(backend, stock, Policy::Deny, settle_ms, overrides, bucket, wrap).await;
        setup.deliver_level().await;
        setup
    }

    /// As [`Setup::start_wrapped`], with the variant's policy `policy`, and no webhook sent: the
    /// service knows nothing of the shop but its install.
    pub async fn start_unheard(
        backend: Backend,
        stock: i64,
        policy: Policy,
        settle_ms: &str,
        overrides: &[(&str, &str)],
        bucket: (f64, f64),
        wrap: impl FnOnce(SharedStore) -> SharedStore,
    ) -> Self {
        let devshop = DevShop::start(bucket.0, bucket.1).await.unwrap();
        let shop_token = devshop.install(SHOP);
        let (variant, item) = devshop.world(SHOP, |w| {
            let v = w.add_variant("Trail Runner", stock, policy);
            (v, w.variants[&v].inventory_item_id)
        });
        let base = devshop.admin_base_url();
        // The pages load the dev shop's App Bridge stand-in: the tests run without the internet.
        let bridge = format!("{}/admin/app-bridge.js", devshop.url);
        let mut all = vec![
            ("BACKORDER__SHOPIFY__ADMIN_BASE_URL", base.as_str()),
            ("BACKORDER__APP__BRIDGE_URL", bridge.as_str()),
            ("BACKORDER__LEDGER__SETTLE_MS", settle_ms),
            ("BACKORDER__EFFECTS__SWEEP_MS", "50"),
            ("BACKORDER__PLATFORM__RETRY_BASE_MS", "5"),
            ("BACKORDER__PLATFORM__RETRY_MAX_MS", "20"),
        ];
        all.extend_from_slice(overrides);
        let store = backend.prepare();
        let app = TestApp::start(wrap(store.open().await), settings(&store, &all)).await;
        let sealer = settings(&store, &[]).sealer().unwrap();
        let install = Install {
            access_token: Secret::new(shop_token),
            refresh_token: None,
            expires_at_ms: None,
            scopes: vec![],
            installed_at_ms: 0,
        };
        install::save(&app.app.state.books, &sealer, SHOP, &install).await.unwrap();
        // The dev shop's admin embeds the app (the browser tests open it there).
        devshop.set_app("test-api-key", crate::support::SECRET);
        devshop.set_app_url(&app.app.url());
        Self { app, devshop, store: Some(store), variant, item }
    }

    /// Records the app as installed at `ms` (orders placed before it are "before install").
    pub async fn installed_at(&self, ms: i64) {
        let state = &self.app.app.state;
        let sealer = state.sealer.as_deref().unwrap();
        let mut install = install::load(&state.books, sealer, SHOP).await.unwrap().unwrap();
        install.installed_at_ms = ms;
        install::save(&state.books, sealer, SHOP, &install).await.unwrap();
    }

    pub async fn enrol(&self, body: serde_json::Value) {
        let resp = put(&self.app, &format!("/api/variants/{}", self.variant), &token(SHOP), body).await;
        assert_eq!(resp.status(), 200);
    }

    /// The test's store, for reading it underneath the service.
    pub fn take_store(&mut self) -> TestStore {
        self.store.take().expect("taken once")
    }

    pub fn world<T>(&self, f: impl FnOnce(&mut World) -> T) -> T {
        self.devshop.world(SHOP, f)
    }

    /// The item's level webhook as the dev shop would send it: its own `updated_at`, so what a
    /// read of the platform finds and what a webhook says order the same way.
    pub async fn deliver_level(&mut self) {
        let (item, level) =
            self.world(|w| (self.item, w.levels[&(self.item, backorder::devshop::world::MAIN_LOCATION)]));
        let mut d = Delivery::new("inventory_levels/update", backorder::devshop::payloads::level(item, 1, &level));
        d.triggered_at = Some(exact(level.updated_at_ms));
        assert_eq!(self.app.deliver(&d).await.status(), 200);
    }

    /// The order's webhook at the dev shop's own time, in the test payload's shape (its
    /// customer and email named after the order, which the privacy and status tests read).
    pub async fn deliver_order(&mut self, order_id: u64, topic: &str) {
        let o = self.world(|w| w.orders[&order_id].clone());
        let body = Order {
            id: o.id,
            created_at: since_base(o.created_at_ms),
            updated_at: since_base(o.updated_at_ms),
            tags: o.customer_tags.clone(),
            cancelled: o.cancelled,
            lines: o
                .lines
                .iter()
                .map(|l| Line {
                    line_id: l.id,
                    variant_id: l.variant_id,
                    quantity: l.quantity,
                    fulfillable: l.quantity - l.fulfilled,
                    restocked: l.restocked,
                    unrestocked: l.unrestocked,
                })
                .collect(),
        };
        let mut d = Delivery::new(topic, body.body());
        d.triggered_at = Some(exact(o.updated_at_ms));
        assert_eq!(self.app.deliver(&d).await.status(), 200);
    }

    /// Places an order in the dev shop and delivers its webhooks (order, then stock).
    pub async fn order(&mut self, qty: u32) -> u64 {
        let variant = self.variant;
        let id = self
            .world(|w| w.place_order("buyer@example.com", &[], &[(variant, qty)]))
            .expect("the shop takes the order");
        self.deliver_order(id, "orders/create").await;
        self.deliver_level().await;
        id
    }

    pub fn policy(&self) -> Policy {
        self.world(|w| w.variants[&self.variant].policy)
    }

    pub fn holds(&self, order: u64) -> Vec<BTreeMap<u64, u32>> {
        self.world(|w| w.orders[&order].holds.iter().map(|h| h.quantities.clone()).collect())
    }

    pub fn tags(&self, order: u64) -> Vec<String> {
        self.world(|w| w.orders[&order].tags.iter().cloned().collect())
    }

    pub fn calls(&self, operation: &str) -> usize {
        self.devshop.calls(SHOP).iter().filter(|c| c.operation == operation && c.outcome == "ok").count()
    }

    /// Waits until every change has been reconciled.
    pub async fn settled(&self) {
        self.app.drained().await;
        eventually("every dirty mark to be reconciled", || async {
            let d = self.app.store.ledger_dirty(SHOP).await.ok()?;
            (d.orders.is_empty() && d.variants.is_empty() && d.mail.is_empty()).then_some(())
        })
        .await;
    }

    /// Stops everything, then reads the store underneath: every Redis key and value of the
    /// test's prefix, or every row of every embedded table (which needs the service stopped).
    pub async fn stop_and_dump(self, store: &crate::support::TestStore) -> Vec<String> {
        use crate::support::dump::{embedded_rows, redis_entries};
        if store.dir.is_none() {
            let entries = redis_entries(store);
            self.stop().await;
            return entries;
        }
        let Setup { app, devshop, .. } = self;
        let crate::support::TestApp { app, store: shared, .. } = app;
        app.stop().await;
        drop(shared);
        devshop.stop().await;
        embedded_rows(store).await
    }

    pub async fn stop(self) {
        self.app.app.stop().await;
        self.devshop.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_order_holds_only_the_missing_units_and_is_tagged() {
    for backend in [Backend::Redis, Backend::Embedded] {
        let mut s = Setup::start(backend, 4, "100", &[]).await;
        s.enrol(json!({"enabled": true})).await;
        eventually("the variant to sell on backorder", || async { (s.policy() == Policy::Continue).then_some(()) })
            .await;

        let order = s.order(10).await;
        let line = s.world(|w| w.orders[&order].lines[0].id);
        eventually("the hold and the tag", || async {
            (s.holds(order) == [BTreeMap::from([(line, 6)])] && s.tags(order) == ["backorder"]).then_some(())
        })
        .await;
        let fulfillable = s.world(|w| {
            let o = &w.orders[&order];
            w.fulfillable(o, &o.lines[0])
        });
        assert_eq!(fulfillable, 4, "the in-stock part still ships");
        s.settled().await;
        assert_eq!(s.calls("FulfillmentOrderHold"), 1, "held once");
        assert_eq!(s.calls("TagsAdd"), 1, "tagged once");
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_that_flips_back_inside_the_settle_window_sends_nothing() {
    for backend in [Backend::Redis, Backend::Embedded] {
        flip_back_inside_the_settle_window(backend).await;
    }
}

async fn flip_back_inside_the_settle_window(backend: Backend) {
    let mut s = Setup::start(backend, 1, "1500", &[]).await;
    s.enrol(json!({"enabled": true})).await;
    eventually("the variant to sell on backorder", || async { (s.policy() == Policy::Continue).then_some(()) }).await;
    s.settled().await;
    let before = s.devshop.calls(SHOP).len();

    // Backordered, then cancelled with restock, well inside 1.5 s.
    let order = s.order(3).await;
    s.world(|w| w.cancel_order(order, true)).unwrap();
    s.deliver_order(order, "orders/cancelled").await;
    s.deliver_level().await;
    s.settled().await;
    assert_eq!(s.devshop.calls(SHOP).len(), before, "no platform call for a state that did not hold");
    assert!(s.tags(order).is_empty() && s.holds(order).is_empty());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reaching_the_cap_stops_selling_and_a_restock_sells_again() {
    for backend in [Backend::Redis, Backend::Embedded] {
        let mut s = Setup::start(backend, 0, "100", &[]).await;
        s.enrol(json!({"enabled": true, "cap": 3})).await;
        eventually("the variant to sell on backorder", || async { (s.policy() == Policy::Continue).then_some(()) })
            .await;
        let first = s.order(2).await;
        let second = s.order(1).await;
        eventually("the cap to stop sales", || async { (s.policy() == Policy::Deny).then_some(()) }).await;
        assert!(
            s.world(|w| w.place_order("late@example.com", &[], &[(s.variant, 1)])).is_err(),
            "the shop refuses orders beyond the cap"
        );

        s.world(|w| w.set_stock(s.variant, 2)).unwrap();
        s.deliver_level().await;
        eventually("the restock to reopen sales", || async { (s.policy() == Policy::Continue).then_some(()) }).await;
        eventually("the oldest order to be ready", || async {
            (s.tags(first) == ["backorder-ready"] && s.holds(first).is_empty()).then_some(())
        })
        .await;
        assert_eq!(s.tags(second), ["backorder-ready"]);
        s.settled().await;
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_effect_whose_calls_always_fail_ends_in_the_dead_letter_list() {
    for backend in [Backend::Redis, Backend::Embedded] {
        always_failing_effect_is_dead_lettered(backend).await;
    }
}

async fn always_failing_effect_is_dead_lettered(backend: Backend) {
    let s = Setup::start(backend, 0, "50", &[("BACKORDER__PLATFORM__MAX_ATTEMPTS", "2")]).await;
    s.devshop.set_faults(Faults { server_errors: 1.0, ..Faults::default() });
    s.enrol(json!({"enabled": true})).await;
    let dead = eventually("the effect to be dead-lettered", || async {
        let dead = s.app.store.dead_letters(10).await.ok()?;
        (!dead.is_empty()).then_some(dead)
    })
    .await;
    // Dead-lettered as what it is: the variant's effect, not a webhook.
    assert_eq!(dead[0].kind(), backorder::store::DeadLetterKind::Effect);
    assert_eq!(
        dead[0].buried,
        backorder::store::Buried::Effect { shop: SHOP.into(), mark: backorder::store::Mark::Variant(s.variant) }
    );
    s.settled().await;
    assert_eq!(s.policy(), Policy::Deny, "nothing was applied");

    // The platform recovers; replaying the dead letter applies the effect.
    s.devshop.set_faults(Faults::default());
    assert_eq!(s.app.store.replay_dead_letters(None).await.unwrap(), 1);
    eventually("the replayed effect to apply", || async { (s.policy() == Policy::Continue).then_some(()) }).await;
    s.stop().await;
}

/// A small bucket (50 points, 10 per second) and one call in five failing with a 5xx: every
/// effect still ends applied exactly once, and the client never runs into `THROTTLED`.
async fn effects_apply_once_through_a_small_bucket_and_server_errors(backend: Backend) {
    let mut s =
        // The smallest bucket Shopify has had (1,000 points, 50 a second): it must hold a whole
        // query's requested cost, and the fulfillment-order read asks for nearly all of it.
        Setup::start_paced(backend, 0, "50", &[("BACKORDER__PLATFORM__MAX_ATTEMPTS", "10")], (1000.0, 50.0)).await;
    // One call in five fails with a 503: every fifth, so the 20 % is exact and never zero.
    s.devshop.set_faults(Faults { every_nth_server_error: 5, ..Faults::default() });
    s.enrol(json!({"enabled": true})).await;
    eventually("the variant to sell on backorder", || async { (s.policy() == Policy::Continue).then_some(()) }).await;
    let mut orders = Vec::new();
    for _ in 0..3 {
        orders.push(s.order(1).await);
    }
    s.settled().await;
    // What went astray, should an order end without its hold: the dead letters (a webhook or an
    // effect given up on) and every call the shop answered.
    let astray = || async {
        let dead = s.app.store.dead_letters(10).await.unwrap();
        let calls: Vec<String> =
            s.devshop.calls(SHOP).iter().map(|c| format!("{} {} {}", c.operation, c.outcome, c.cost)).collect();
        format!("dead letters: {dead:?}\ncalls:\n{}", calls.join("\n"))
    };
    for order in &orders {
        if s.holds(*order).len() != 1 || s.tags(*order) != ["backorder"] {
            panic!("order {order}: holds {:?}, tags {:?}\n{}", s.holds(*order), s.tags(*order), astray().await);
        }
    }
    assert_eq!(s.calls("FulfillmentOrderHold"), orders.len(), "each hold placed once");
    assert_eq!(s.calls("TagsAdd"), orders.len(), "each tag added once");
    assert_eq!(s.calls("VariantsPolicy"), 1);
    // Warm-up: until the platform has charged one bucket-full (1,000 points), the client is
    // still learning the bucket from the replies' throttleStatus.
    let calls = s.devshop.calls(SHOP);
    let mut charged = 0.0;
    let warm = calls
        .iter()
        .position(|c| {
            charged += c.cost;
            charged >= 1000.0
        })
        .unwrap_or(calls.len());
    let throttled = calls[warm..].iter().filter(|c| c.outcome == "throttled").count();
    let t0 = calls.first().map(|c| c.at);
    let log: Vec<String> = calls
        .iter()
        .map(|c| {
            let ms = t0.map_or(0, |t| c.at.duration_since(t).as_millis());
            format!("{ms:>6} ms {} {} {}", c.operation, c.outcome, c.cost)
        })
        .collect();
    assert_eq!(throttled, 0, "THROTTLED after warm-up (call {warm} on):\n{}", log.join("\n"));
    assert!(s.devshop.calls(SHOP).iter().any(|c| c.outcome == "5xx"), "faults were injected");
    assert!(s.app.store.dead_letters(10).await.unwrap().is_empty());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_redis_effects_apply_once_through_a_small_bucket_and_server_errors() {
    effects_apply_once_through_a_small_bucket_and_server_errors(Backend::Redis).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_embedded_store_effects_apply_once_through_a_small_bucket_and_server_errors() {
    effects_apply_once_through_a_small_bucket_and_server_errors(Backend::Embedded).await;
}

/// A platform (or something on the way) that answers 429 with `Retry-After: NaN` (which `f64`
/// parses): the sweeper treats it as no figure, waits its default and carries on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_that_is_not_a_number_is_ignored_and_the_order_still_gets_its_tag() {
    for backend in [Backend::Redis, Backend::Embedded] {
        retry_after_not_a_number(backend).await;
    }
}

async fn retry_after_not_a_number(backend: Backend) {
    let mut s = Setup::start(backend, 0, "50", &[("BACKORDER__PLATFORM__MAX_ATTEMPTS", "10")]).await;
    s.enrol(json!({"enabled": true})).await;
    eventually("the variant to sell on backorder", || async { (s.policy() == Policy::Continue).then_some(()) }).await;

    s.devshop.set_faults(Faults { too_many_requests: 1.0, retry_after_secs: f64::NAN, ..Faults::default() });
    let order = s.order(1).await;
    eventually("two replies of 429 with Retry-After: NaN", || async {
        let refused = s.devshop.calls(SHOP).iter().filter(|c| c.outcome == "429").count();
        (refused >= 2).then_some(())
    })
    .await;
    s.devshop.set_faults(Faults::default());
    eventually("the order's tag", || async { (s.tags(order) == ["backorder"]).then_some(()) }).await;
    s.settled().await;
    assert!(s.app.store.dead_letters(10).await.unwrap().is_empty(), "nothing gave up");
    s.stop().await;
}

/// `X-Shopify-Triggered-At` for a change at `ms`, to the millisecond.
pub fn exact(ms: i64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap();
    at.format(&time::format_description::well_known::Rfc3339).unwrap()
}
