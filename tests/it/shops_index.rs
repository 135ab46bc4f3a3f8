//! The shops the effects sweep: a shop is among them from its install (`shop add`, the token
//! store) or its first ledger commit, before any webhook of it has arrived, until `shop/redact`.

use backorder::auth::install::{self, Install};
use backorder::devshop::{DevShop, Policy};
use backorder::secret::Secret;
use backorder::store::{EventMark, LedgerCommit, Record, SharedStore};
use serde_json::json;

use crate::api::{put, token};
use crate::cli::{KEY, backorder};
use crate::support::{Backend, SHOP, TestApp, eventually, redis, settings};

/// How the shop got its token before the service heard anything from it.
#[derive(Debug, Clone, Copy)]
enum Installed {
    /// `backorder shop add`, run before `serve` (the embedded store has one owner at a time).
    ShopAdd,
    /// The token store the OAuth callback and token exchange write to.
    TokenStore,
}

async fn a_variant_enrolled_before_any_webhook_sells_on_backorder_after_the_settle_time(
    backend: Backend,
    installed: Installed,
) {
    let devshop = DevShop::start(1000.0, 1000.0).await.unwrap();
    let shop_token = devshop.install(SHOP);
    let variant = devshop.world(SHOP, |w| w.add_variant("Trail Runner", 0, Policy::Deny));
    let test_store = backend.prepare();
    if let Installed::ShopAdd = installed {
        let env = [
            ("BACKORDER__STORE__URL", test_store.url.as_str()),
            ("BACKORDER__STORE__PREFIX", test_store.prefix.as_str()),
            ("BACKORDER__SECURITY__ENCRYPTION_KEY", KEY),
            ("BACKORDER_SHOP_ACCESS_TOKEN", shop_token.as_str()),
        ];
        let out = backorder(&["shop", "add", "--shop", SHOP], &env).output().unwrap();
        assert!(out.status.success(), "shop add: {}", String::from_utf8_lossy(&out.stderr));
    }
    let base = devshop.admin_base_url();
    let overrides = [
        ("BACKORDER__SHOPIFY__ADMIN_BASE_URL", base.as_str()),
        ("BACKORDER__LEDGER__SETTLE_MS", "100"),
        ("BACKORDER__EFFECTS__SWEEP_MS", "50"),
    ];
    let app = TestApp::start(test_store.open().await, settings(&test_store, &overrides)).await;
    if let Installed::TokenStore = installed {
        let sealer = app.app.state.sealer.clone().unwrap();
        let install = Install {
            access_token: Secret::new(shop_token),
            refresh_token: None,
            expires_at_ms: None,
            scopes: vec![],
            installed_at_ms: 1,
        };
        install::save(&app.app.state.books, &sealer, SHOP, &install).await.unwrap();
    }
    assert_eq!(app.store.shops().await.unwrap(), [SHOP], "{installed:?}: listed from the install on");
    assert_eq!(app.store.queue_stats().await.unwrap().queued, 0, "no webhook so far");

    let resp = put(&app, &format!("/api/variants/{variant}"), &token(SHOP), json!({"enabled": true})).await;
    assert_eq!(resp.status(), 200);
    eventually("the variant to sell on backorder", || async {
        (devshop.world(SHOP, |w| w.variants[&variant].policy) == Policy::Continue).then_some(())
    })
    .await;
    app.app.stop().await;
    devshop.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shop_added_by_shop_add_that_enrols_a_variant_before_any_webhook_sells_it_on_backorder() {
    for backend in [Backend::Embedded, Backend::Redis, Backend::Url(redis::shared_cluster().url())] {
        a_variant_enrolled_before_any_webhook_sells_on_backorder_after_the_settle_time(backend, Installed::ShopAdd)
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shop_installed_through_the_token_store_that_enrols_a_variant_before_any_webhook_sells_it_on_backorder() {
    for backend in [Backend::Embedded, Backend::Redis, Backend::Url(redis::shared_cluster().url())] {
        a_variant_enrolled_before_any_webhook_sells_on_backorder_after_the_settle_time(backend, Installed::TokenStore)
            .await;
    }
}

/// A commit of any kind lists the shop; `forget_shop` unlists it; the next commit lists it again.
async fn a_shop_is_listed_from_its_first_commit_until_it_is_forgotten(store: SharedStore) {
    let shop = format!("listed-{:x}.myshopify.com", fastrand::u32(..));
    assert!(!store.shops().await.unwrap().contains(&shop));
    let commit = |key: &str| LedgerCommit {
        event: Some(EventMark { key: key.into(), topic: "api".into(), ttl: std::time::Duration::from_secs(60) }),
        writes: vec![(Record::Settings, Some(b"{}".to_vec()))],
        ..LedgerCommit::default()
    };
    store.ledger_commit(&shop, &commit("api:1")).await.unwrap();
    assert!(store.shops().await.unwrap().contains(&shop), "listed from its first commit");
    store.forget_shop(&shop).await.unwrap();
    assert!(!store.shops().await.unwrap().contains(&shop), "unlisted by shop/redact");
    store.ledger_commit(&shop, &commit("api:2")).await.unwrap();
    assert!(store.shops().await.unwrap().contains(&shop), "listed again by a later commit");
}

on_every_backend!(a_shop_is_listed_from_its_first_commit_until_it_is_forgotten);
