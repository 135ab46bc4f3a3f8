//! `shopify.app.toml` says what the code does: the scopes the features need, a subscription for
//! every topic the service handles, the privacy topics, and the app proxy.

use std::collections::BTreeSet;

use backorder::auth::scopes;
use backorder::shopify::Topic;
use toml::Value;

fn app_toml() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/shopify.app.toml")).unwrap();
    toml::from_str(&text).expect("shopify.app.toml parses")
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect()
}

#[test]
fn the_app_toml_asks_for_exactly_the_scopes_the_code_needs() {
    let toml = app_toml();
    let listed: BTreeSet<&str> = toml["access_scopes"]["scopes"].as_str().unwrap().split(',').map(str::trim).collect();
    assert_eq!(listed, scopes::REQUIRED.into_iter().collect::<BTreeSet<_>>());
    let optional: BTreeSet<String> = strings(&toml["access_scopes"]["optional_scopes"]).into_iter().collect();
    assert_eq!(optional, scopes::OPTIONAL.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>());
}

/// The theme block reads the date through Liquid, which sees an app metafield only with a
/// definition that grants the storefront read access (SPEC 10.2, the theme app extension).
#[test]
fn the_app_toml_declares_the_eta_metafield_readable_by_the_storefront() {
    let toml = app_toml();
    let eta = &toml["variant"]["metafields"]["app"]["backorder_eta"];
    assert_eq!(eta["type"].as_str(), Some("date"));
    assert_eq!(eta["access"]["storefront"].as_str(), Some("public_read"));
}

#[test]
fn the_app_toml_subscribes_every_topic_to_the_webhooks_endpoint() {
    let toml = app_toml();
    assert_eq!(toml["webhooks"]["api_version"].as_str(), Some("2026-10"));
    let mut topics = BTreeSet::new();
    let mut compliance = BTreeSet::new();
    for sub in toml["webhooks"]["subscriptions"].as_array().unwrap() {
        assert_eq!(sub["uri"].as_str(), Some("/webhooks"));
        if let Some(t) = sub.get("topics") {
            topics.extend(strings(t));
        }
        if let Some(t) = sub.get("compliance_topics") {
            compliance.extend(strings(t));
        }
    }
    let expected = |privacy: bool| -> BTreeSet<String> {
        Topic::ALL.iter().filter(|t| t.is_compliance() == privacy).map(|t| t.as_str().to_string()).collect()
    };
    assert_eq!(topics, expected(false));
    assert_eq!(compliance, expected(true));
}

#[test]
fn the_app_toml_names_the_install_callback_and_the_app_proxy() {
    let toml = app_toml();
    let redirects = strings(&toml["auth"]["redirect_urls"]);
    assert!(redirects.iter().all(|u| u.ends_with("/auth/callback")), "{redirects:?}");
    assert!(toml["application_url"].as_str().unwrap().ends_with("/app"));
    assert!(toml["app_proxy"]["url"].as_str().unwrap().ends_with("/proxy"));
}
