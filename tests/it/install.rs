//! Installs of custom apps (`backorder shop add`), tokens sealed at rest, and the service using
//! a shop's token to read from the platform (the dev shop, over real HTTP).

use std::collections::BTreeSet;
use std::process::Command;

use backorder::auth::install;
use backorder::devshop::{DevShop, Policy};
use backorder::secret::Secret;
use serde_json::{Value, json};

use crate::api::{put, token};
use crate::support::webhooks::Delivery;
use crate::support::{Backend, SHOP, TestApp, TestStore, eventually, settings};

const BIN: &str = env!("CARGO_BIN_EXE_backorder");
const TOKEN: &str = "shpat_plaintext_never_stored_0123456789";

fn shop_add(store: &TestStore, shop: &str) -> std::process::Output {
    shop_add_to(store, shop, &[])
}

/// `backorder shop add` with more of the environment (the platform's address, say).
fn shop_add_to(store: &TestStore, shop: &str, more: &[(&str, &str)]) -> std::process::Output {
    let env = settings(store, &[]);
    let key = env.security.encryption_key.as_ref().unwrap().expose().to_string();
    Command::new(BIN)
        .args(["shop", "add", "--shop", shop, "--scopes", "read_orders,write_orders"])
        .env_clear()
        .env("BACKORDER_SHOP_ACCESS_TOKEN", TOKEN)
        .env("BACKORDER__SECURITY__ENCRYPTION_KEY", key)
        .env("BACKORDER__STORE__URL", &store.url)
        .env("BACKORDER__STORE__PREFIX", &store.prefix)
        .envs(more.iter().copied())
        .output()
        .unwrap()
}

/// SPEC 3.5: a custom app's install creates its subscriptions by API (it has no
/// `shopify.app.toml`); an install through Shopify creates none and gets the TOML's. Both kinds
/// of install on one dev shop and one store: each shop hears its events one way, never both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shop_add_creates_the_subscriptions_by_api_an_oauth_install_none_and_no_shop_has_both() {
    let (app, store, devshop) = crate::oauth::start(Backend::Redis).await;
    assert_eq!(crate::support::oauth::install(&app, SHOP).await.status(), 302);
    let custom = "custom.myshopify.com";
    devshop.install_as(custom, TOKEN);
    let base = devshop.admin_base_url();
    let env = [
        ("BACKORDER__SHOPIFY__ADMIN_BASE_URL", base.as_str()),
        ("BACKORDER__APP__URL", "https://backorder.example.com"),
    ];
    let out = shop_add_to(&store, custom, &env);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let expected: BTreeSet<String> =
        backorder::shopify::Topic::ALL.iter().filter(|t| !t.is_compliance()).map(|t| t.graphql_enum()).collect();
    let (api, toml) = devshop.world(custom, |w| (w.subscriptions.clone(), w.toml_subscriptions));
    assert_eq!(api.keys().cloned().collect::<BTreeSet<_>>(), expected, "every topic but privacy's, supply's too");
    assert!(api.values().all(|uri| uri == "https://backorder.example.com/webhooks"));
    assert!(!toml, "a custom app's token: no toml subscriptions");
    for shop in [SHOP, custom] {
        let (api, toml) = devshop.world(shop, |w| (w.subscriptions.len(), w.toml_subscriptions));
        assert!(toml != (api > 0), "{shop}: subscriptions of exactly one kind (toml {toml}, by API {api})");
    }
    // Run again (a retry after a failure): nothing twice.
    let out = shop_add_to(&store, custom, &env);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(devshop.world(custom, |w| w.subscriptions.len()), expected.len());
    app.app.stop().await;
    devshop.stop().await;
}

fn raw_store(store: &TestStore) -> Vec<u8> {
    crate::support::dump::raw_bytes(store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shop_add_stores_the_token_sealed_and_the_service_opens_it() {
    for backend in [Backend::Embedded, Backend::Redis] {
        let store = backend.prepare();
        let out = shop_add(&store, "custom.myshopify.com");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(!String::from_utf8_lossy(&out.stdout).contains(TOKEN), "the token is never printed");

        let raw = raw_store(&store);
        assert!(!raw.is_empty(), "the dump reads the store");
        assert!(!raw.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()), "the token is not stored in plain text");

        let sealer = settings(&store, &[]).sealer().unwrap();
        let opened = install::load(&backorder::books::Books::new(store.open().await), &sealer, "custom.myshopify.com")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(opened.access_token, Secret::new(TOKEN));
        assert_eq!(opened.scopes, ["read_orders", "write_orders"]);
    }
}

#[test]
fn shop_add_refuses_a_domain_that_is_not_a_shop() {
    let store = Backend::Embedded.prepare();
    for bad in ["evil.example.com", "shop.myshopify.com.evil.com", "../x.myshopify.com"] {
        let out = shop_add(&store, bad);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("not a shop domain"), "{bad}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrolling_a_variant_reads_its_inventory_item_from_the_platform() {
    let devshop = DevShop::start(1000.0, 100.0).await.unwrap();
    let shop_token = devshop.install(SHOP);
    let (variant, item) = devshop.world(SHOP, |w| {
        let v = w.add_variant("Tee", 0, Policy::Deny);
        (v, w.variants[&v].inventory_item_id)
    });
    let base = devshop.admin_base_url();
    let (app, store) =
        TestApp::spawn_bare(Backend::Embedded, &[("BACKORDER__SHOPIFY__ADMIN_BASE_URL", base.as_str())]).await;
    let sealer = settings(&store, &[]).sealer().unwrap();
    let install = install::Install {
        access_token: Secret::new(shop_token),
        refresh_token: None,
        expires_at_ms: None,
        scopes: vec![],
        installed_at_ms: 0,
    };
    install::save(&app.app.state.books, &sealer, SHOP, &install).await.unwrap();

    let resp = put(&app, &format!("/api/variants/{variant}"), &token(SHOP), json!({"cap": 10})).await;
    assert_eq!(resp.status(), 200);
    let shown: Value = resp.json().await.unwrap();
    assert_eq!(shown["inventory_item_id"], json!(item), "read from the platform, before any products/update");
    assert_eq!(devshop.calls(SHOP).iter().filter(|c| c.operation == "ProductVariantItem").count(), 1);

    // Its levels were read before the PUT answered, and now its level webhooks move its book.
    assert_eq!((shown["available"].clone(), shown["levels_read"].clone()), (json!(0), json!(true)));
    // A second later: a level read from the platform sorts after every webhook of its second.
    let (_, now) = devshop
        .world(SHOP, |w| {
            w.advance_clock(1000);
            w.set_stock(variant, -2)
        })
        .unwrap();
    let mut level = Delivery::new("inventory_levels/update", backorder::devshop::payloads::level(item, 1, &now));
    level.triggered_at = Some(crate::effects::exact(now.updated_at_ms));
    assert_eq!(app.deliver(&level).await.status(), 200);
    eventually("the level to reach the book", || async {
        let shown: Value =
            crate::api::get(&app, &format!("/api/variants/{variant}"), Some(&token(SHOP))).await.json().await.ok()?;
        (shown["available"] == -2).then_some(())
    })
    .await;
    app.app.stop().await;
    devshop.stop().await;
}

/// An install written by the version before sealed tokens carried their place (`v1`, audit L6):
/// it loads as it did, and is re-sealed in the current form, bound to its shop and field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_install_sealed_by_the_previous_version_loads_and_is_resealed_bound_to_its_shop() {
    use aes_gcm::aead::{Aead, KeyInit};
    use base64::Engine;
    use sha2::Digest;
    for backend in [crate::support::Backend::Embedded, crate::support::Backend::Redis] {
        let (app, store) = crate::support::TestApp::spawn(backend, &[]).await;
        // The test key (BACKORDER__SECURITY__ENCRYPTION_KEY): the bytes 0 to 31.
        let key: Vec<u8> = (0u8..32).collect();
        let fingerprint: String = sha2::Sha256::digest(&key)[..4].iter().map(|b| format!("{b:02x}")).collect();
        let cipher = aes_gcm::Aes256Gcm::new_from_slice(&key).unwrap();
        let v1 = |plain: &str| {
            let nonce = [5u8; 12];
            let mut bytes = nonce.to_vec();
            bytes.extend(cipher.encrypt(aes_gcm::Nonce::from_slice(&nonce), plain.as_bytes()).unwrap());
            format!("v1.{fingerprint}.{}", base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes))
        };
        let old = serde_json::json!({"access_token": v1("shpat_old"), "refresh_token": v1("shprt_old"),
                                     "expires_at_ms": null, "scopes": ["read_orders"], "installed_at_ms": 1});
        let commit = backorder::store::LedgerCommit {
            writes: vec![(backorder::store::Record::Install, Some(serde_json::to_vec(&old).unwrap()))],
            ..Default::default()
        };
        app.store.ledger_commit(SHOP, &commit).await.unwrap();

        let state = &app.app.state;
        let sealer = state.sealer.as_deref().unwrap();
        let loaded = backorder::auth::install::load(&state.books, sealer, SHOP).await.unwrap().unwrap();
        assert_eq!(loaded.access_token.expose(), "shpat_old");
        assert_eq!(loaded.refresh_token.as_ref().map(|t| t.expose().to_string()), Some("shprt_old".into()));
        let raw = app.store.ledger_get(SHOP, &[backorder::store::Record::Install]).await.unwrap().remove(0).unwrap();
        let stored: serde_json::Value = serde_json::from_slice(&raw).unwrap();
        assert!(stored["access_token"].as_str().unwrap().starts_with("v2."), "{stored}");
        assert!(stored["refresh_token"].as_str().unwrap().starts_with("v2."), "{stored}");
        // Moved to another shop, it no longer opens.
        let moved = backorder::store::LedgerCommit {
            writes: vec![(backorder::store::Record::Install, Some(raw.clone()))],
            ..Default::default()
        };
        app.store.ledger_commit("other-shop.myshopify.com", &moved).await.unwrap();
        assert!(backorder::auth::install::load(&state.books, sealer, "other-shop.myshopify.com").await.is_err());
        drop(store);
        app.app.stop().await;
    }
}
