//! The layers, the checks and the redaction of the settings.

use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn complete() -> Vec<(String, String)> {
    env(&[
        ("BACKORDER__SHOPIFY__API_KEY", "key"),
        ("BACKORDER__SHOPIFY__API_SECRET", "12345"),
        ("BACKORDER__SECURITY__ENCRYPTION_KEY", KEY),
    ])
}

#[test]
fn defaults_match_the_spec() {
    let s = Settings::load_from(Vec::new()).unwrap();
    assert_eq!(s.server.bind, "127.0.0.1:8080");
    assert_eq!(s.app.url, "http://127.0.0.1:8080");
    assert_eq!(s.shopify.admin_base_url, "https://{shop}");
    assert_eq!(s.shopify.api_version, "2026-10");
    assert_eq!(s.store.url, "file://./data");
    assert_eq!(s.email.from, "backorders@localhost");
    assert_eq!(s.ledger.settle_ms, 2000);
    assert!(s.shopify.api_secret.is_none() && s.security.encryption_key.is_none());
}

#[test]
fn environment_overrides_the_file_and_numeric_secrets_stay_strings() {
    let mut e = complete();
    e.extend(env(&[("BACKORDER__LEDGER__SETTLE_MS", "50"), ("BACKORDER__SERVER__BIND", "0.0.0.0:9")]));
    let s = Settings::load_from(e).unwrap();
    assert_eq!(s.ledger.settle_ms, 50);
    assert_eq!(s.server.bind, "0.0.0.0:9");
    assert_eq!(s.api_secret(), "12345");
    assert!(s.problems().is_empty(), "{:?}", s.problems());
}

#[test]
fn every_missing_secret_is_named() {
    let s = Settings::load_from(Vec::new()).unwrap();
    let text = ConfigError::Invalid(s.problems()).to_string();
    for var in ["BACKORDER__SHOPIFY__API_KEY", "BACKORDER__SHOPIFY__API_SECRET", "BACKORDER__SECURITY__ENCRYPTION_KEY"]
    {
        assert!(text.contains(var), "{text}");
    }
}

#[test]
fn a_bad_value_names_its_variable() {
    let mut e = complete();
    e.push(("BACKORDER__LEDGER__SETTLE_MS".into(), "soon".into()));
    let err = Settings::load_from(e).unwrap_err().to_string();
    assert!(err.contains("BACKORDER__LEDGER__SETTLE_MS"), "{err}");

    let mut e = complete();
    e.push(("BACKORDER__STORE__URL".into(), "mysql://x".into()));
    e.push(("BACKORDER__SECURITY__ENCRYPTION_KEY".into(), "c2hvcnQ=".into()));
    let problems = Settings::load_from(e).unwrap().problems().join("\n");
    assert!(problems.contains("BACKORDER__STORE__URL"), "{problems}");
    assert!(problems.contains("expected 32"), "{problems}");

    let mut e = complete();
    e.push(("BACKORDER__EMAIL__FROM".into(), "not an address".into()));
    e.push(("BACKORDER__EMAIL__SMTP_URL".into(), "ftp://mail.example.com".into()));
    let problems = Settings::load_from(e).unwrap().problems().join("\n");
    assert!(problems.contains("BACKORDER__EMAIL__FROM"), "{problems}");
    assert!(problems.contains("BACKORDER__EMAIL__SMTP_URL"), "{problems}");
}

#[test]
fn effective_values_hide_secrets_and_passwords() {
    let mut e = complete();
    e.push(("BACKORDER__STORE__URL".into(), "redis://:hunter2@h:6379".into()));
    let s = Settings::load_from(e).unwrap();
    let shown = format!("{:?}", s.effective());
    assert!(!shown.contains("12345") && !shown.contains(KEY) && !shown.contains("hunter2"), "{shown}");
    assert!(!format!("{s:?}").contains("12345"));
}

#[test]
fn cluster_passwords_are_redacted_too() {
    assert_eq!(redact_url("redis+cluster://:pw@a:1,b:2"), "redis+cluster://[redacted]@a:1,b:2");
}
