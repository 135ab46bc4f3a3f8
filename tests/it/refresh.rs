//! Expiring offline tokens: refreshed ahead of expiry, once per shop across instances, stored
//! sealed, retried when the platform stumbles and surfaced when it keeps failing.

use std::sync::Arc;

use backorder::auth::install;
use backorder::auth::tokens::{self, TokenError};
use backorder::secret::Secret;
use backorder::state::AppState;

use crate::oauth::{start, stored};
use crate::support::dump::{contains, raw_bytes};
use crate::support::{Backend, SHOP, TestApp, settings};

/// Installs through OAuth, then moves the stored expiry to one minute from now: inside the
/// refresh margin.
async fn installed_and_about_to_expire(app: &TestApp) -> Secret {
    assert_eq!(crate::support::oauth::install(app, SHOP).await.status(), 302);
    let sealer = app.app.state.sealer.clone().unwrap();
    let mut current = stored(app, SHOP).await.unwrap();
    current.expires_at_ms = Some(backorder::store::now_ms() as i64 + 60_000);
    install::save(&app.app.state.books, &sealer, SHOP, &current).await.unwrap();
    current.access_token
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_racing_to_refresh_an_expiring_token_refresh_it_exactly_once() {
    let (first, store, devshop) = start(Backend::Redis).await;
    let old = installed_and_about_to_expire(&first).await;
    // A second instance on the same Redis.
    let base = devshop.admin_base_url();
    let overrides = [("BACKORDER__SHOPIFY__ADMIN_BASE_URL", base.as_str())];
    let second = TestApp::start(store.open().await, settings(&store, &overrides)).await;

    let states: Vec<Arc<AppState>> = vec![first.app.state.clone(), second.app.state.clone()];
    let racers = (0..8).map(|i| {
        let state = states[i % 2].clone();
        tokio::spawn(async move { tokens::access_token(&state, SHOP).await })
    });
    let tokens: Vec<Secret> = futures_util::future::join_all(racers)
        .await
        .into_iter()
        .map(|r| r.unwrap().expect("a token").expect("installed"))
        .collect();

    assert_eq!(devshop.grants(SHOP, "refresh_token"), 1, "exactly one refresh at the platform");
    let fresh = Secret::new(devshop.token(SHOP).unwrap());
    assert_ne!(fresh, old);
    assert!(tokens.iter().all(|t| *t == fresh), "every racer got the new token");
    let now = stored(&first, SHOP).await.unwrap();
    assert_eq!(now.access_token, fresh, "the new pair is stored");
    assert!(now.expires_at_ms.unwrap() > backorder::store::now_ms() as i64 + 50 * 60_000);

    let raw = raw_bytes(&store);
    assert!(!contains(&raw, fresh.expose()), "the refreshed access token is sealed");
    assert!(!contains(&raw, now.refresh_token.as_ref().unwrap().expose()), "and so is the refresh token");
    first.app.stop().await;
    second.app.stop().await;
    devshop.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_that_fails_for_a_moment_is_retried_and_one_that_keeps_failing_is_surfaced() {
    for backend in [Backend::Embedded, Backend::Redis] {
        let (app, store, devshop) = start(backend).await;
        let old = installed_and_about_to_expire(&app).await;
        devshop.fail_refreshes(2);
        let token = tokens::access_token(&app.app.state, SHOP).await.unwrap().unwrap();
        assert_ne!(token, old);
        assert_eq!(devshop.grants(SHOP, "refresh_token"), 1);
        let refreshed = stored(&app, SHOP).await.unwrap();
        let raw = raw_bytes(&store);
        assert!(!contains(&raw, token.expose()), "the refreshed access token is sealed");
        assert!(!contains(&raw, refreshed.refresh_token.unwrap().expose()), "and so is the refresh token");

        installed_and_about_to_expire(&app).await;
        let before = stored(&app, SHOP).await.unwrap();
        devshop.fail_refreshes(100);
        let err = tokens::access_token(&app.app.state, SHOP).await.unwrap_err();
        assert!(matches!(err, TokenError::Refresh(_)), "{err:?}");
        assert_eq!(stored(&app, SHOP).await.unwrap(), before, "a failed refresh keeps the pair it had");
        app.app.stop().await;
        devshop.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_far_from_expiry_is_used_as_it_is() {
    let (app, _store, devshop) = start(Backend::Embedded).await;
    assert_eq!(crate::support::oauth::install(&app, SHOP).await.status(), 302);
    let token = tokens::access_token(&app.app.state, SHOP).await.unwrap().unwrap();
    assert_eq!(token, stored(&app, SHOP).await.unwrap().access_token);
    assert_eq!(devshop.grants(SHOP, "refresh_token"), 0);
    assert!(tokens::access_token(&app.app.state, "never.myshopify.com").await.unwrap().is_none());
    app.app.stop().await;
    devshop.stop().await;
}
