//! The `backorder` binary as an operator runs it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{self, Backend, TestStore, eventually};

const BIN: &str = env!("CARGO_BIN_EXE_backorder");
pub const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// The binary with a clean environment: no BACKORDER__ variable leaks in from the test runner.
pub fn backorder(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

#[test]
fn serve_without_secrets_exits_non_zero_naming_each_missing_key() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("file://{}", dir.path().display());
    let out = backorder(&["serve"], &[("BACKORDER__STORE__URL", &store)]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    for key in ["BACKORDER__SHOPIFY__API_KEY", "BACKORDER__SHOPIFY__API_SECRET", "BACKORDER__SECURITY__ENCRYPTION_KEY"]
    {
        assert!(err.contains(key), "{key} not named in: {err}");
    }
}

#[test]
fn config_check_prints_effective_values_with_secrets_redacted() {
    let env = [
        ("BACKORDER__SHOPIFY__API_KEY", "k"),
        ("BACKORDER__SHOPIFY__API_SECRET", "very-secret-value"),
        ("BACKORDER__SECURITY__ENCRYPTION_KEY", KEY),
        ("BACKORDER__STORE__URL", "redis://:hunter2@127.0.0.1:6379/"),
    ];
    let out = backorder(&["config", "check"], &env).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("server.bind = \"127.0.0.1:8080\""), "{text}");
    assert!(text.contains("shopify.api_secret = \"[redacted]\""), "{text}");
    for secret in ["very-secret-value", KEY, "hunter2"] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
}

#[test]
fn config_check_says_when_emails_will_not_reach_customers() {
    let env = [
        ("BACKORDER__SHOPIFY__API_KEY", "k"),
        ("BACKORDER__SHOPIFY__API_SECRET", "s"),
        ("BACKORDER__SECURITY__ENCRYPTION_KEY", KEY),
    ];
    let out = backorder(&["config", "check"], &env).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "a warning is no error: {text}");
    assert!(
        text.contains("warning: BACKORDER__EMAIL__SMTP_URL is not set") && text.contains("never reach customers"),
        "{text}"
    );

    let with_smtp = [env.as_slice(), &[("BACKORDER__EMAIL__SMTP_URL", "smtp://127.0.0.1:2525")]].concat();
    let out = backorder(&["config", "check"], &with_smtp).output().unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("warning:"), "no warning with a mail server");
}

#[test]
fn config_check_fails_with_a_clear_message_on_a_bad_value() {
    let env = [
        ("BACKORDER__SHOPIFY__API_KEY", "k"),
        ("BACKORDER__SHOPIFY__API_SECRET", "s"),
        ("BACKORDER__SECURITY__ENCRYPTION_KEY", KEY),
        ("BACKORDER__SERVER__BIND", "not-an-address"),
    ];
    let out = backorder(&["config", "check"], &env).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("BACKORDER__SERVER__BIND") && err.contains("not-an-address"), "{err}");
}

fn serve_env(store: &TestStore) -> Vec<(&'static str, String)> {
    vec![
        ("BACKORDER__SHOPIFY__API_KEY", "k".into()),
        ("BACKORDER__SHOPIFY__API_SECRET", support::SECRET.into()),
        ("BACKORDER__SECURITY__ENCRYPTION_KEY", KEY.into()),
        ("BACKORDER__SERVER__BIND", "127.0.0.1:0".into()),
        ("BACKORDER__STORE__URL", store.url.clone()),
    ]
}

/// `backorder serve` started, and the address it listens on.
fn serve(env: &[(&str, &str)]) -> (std::process::Child, String) {
    let mut child = backorder(&["serve"], env).stderr(Stdio::piped()).spawn().unwrap();
    // The JSON log line announcing the address tells us the port the OS chose.
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("serve logs its address").unwrap();
        let log: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        if log["message"] == "backorder is serving" {
            break log["addr"].as_str().unwrap().to_string();
        }
    };
    // Keep reading what the service logs, so its pipe never fills.
    std::thread::spawn(move || for _ in lines {});
    (child, addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_starts_on_the_embedded_store_and_exits_zero_on_sigterm() {
    let store = Backend::Embedded.prepare();
    let env = serve_env(&store);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (mut child, addr) = serve(&env);
    backorder::init_crypto();
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let ready = client.get(format!("http://{addr}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.json::<serde_json::Value>().await.unwrap()["store"], "embedded");

    let kill = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let status = tokio::task::spawn_blocking(move || child.wait()).await.unwrap().unwrap();
    assert!(status.success(), "exit status {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dlq_list_shows_dead_letters_and_replay_puts_them_back() {
    let test_store = Backend::Embedded.prepare();
    {
        let store = test_store.open().await;
        let env = backorder::store::Envelope {
            meta: backorder::store::EnvelopeMeta {
                topic: "orders/create".into(),
                shop: support::SHOP.into(),
                webhook_id: "wh-dead-1".into(),
                event_id: None,
                api_version: None,
                triggered_at: None,
                received_at_ms: 0,
                attempts: 0,
            },
            body: bytes::Bytes::from_static(b"garbage"),
        };
        store.enqueue(&env, Duration::from_secs(60)).await.unwrap();
        let entry =
            store.dequeue("c", store.lane_of(support::SHOP), 1, Duration::from_secs(1)).await.unwrap().remove(0);
        store.dead_letter(&entry, "body is not a JSON object").await.unwrap();
    }
    let env = [("BACKORDER__STORE__URL", test_store.url.as_str())];
    let out = backorder(&["dlq", "list"], &env).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("wh-dead-1") && text.contains("body is not a JSON object"), "{text}");
    let id = text.lines().nth(1).unwrap().split_whitespace().next().unwrap().to_string();

    let out = backorder(&["dlq", "replay", &id], &env).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("replayed 1 entry"));
    let out = backorder(&["dlq", "replay", &id], &env).output().unwrap();
    assert!(!out.status.success(), "replaying an id twice is an error");

    let store = test_store.open().await;
    let stats = store.queue_stats().await.unwrap();
    assert_eq!((stats.queued, stats.dead), (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dlq_list_shows_an_effect_by_its_kind_and_replay_marks_it_again_without_queueing_it() {
    let test_store = Backend::Embedded.prepare();
    {
        let store = test_store.open().await;
        let mark = backorder::store::Mark::Order(12);
        store.bury_effect(support::SHOP, mark, "tagsAdd: out of retries").await.unwrap();
    }
    let env = [("BACKORDER__STORE__URL", test_store.url.as_str())];
    let out = backorder(&["dlq", "list"], &env).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let row: Vec<&str> = text.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(row[1..6], ["effect", "order/12", support::SHOP, "-", "tagsAdd:"], "{text}");

    let out = backorder(&["dlq", "replay", row[0]], &env).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("replayed 1 entry"));

    let store = test_store.open().await;
    assert_eq!(store.ledger_dirty(support::SHOP).await.unwrap().orders, [12]);
    let stats = store.queue_stats().await.unwrap();
    assert_eq!((stats.queued, stats.dead), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dlq_list_replay_and_reconcile_go_through_the_service_that_holds_the_embedded_store() {
    let devshop = backorder::devshop::DevShop::start(1000.0, 1000.0).await.unwrap();
    let token = devshop.install(support::SHOP);
    let store = Backend::Embedded.prepare();
    let base = devshop.admin_base_url();
    let mut env = serve_env(&store);
    env.push(("BACKORDER__SHOPIFY__ADMIN_BASE_URL", base));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = backorder(&["shop", "add", "--shop", support::SHOP, "--access-token", &token], &env).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let (mut child, addr) = serve(&env);

    // A delivery that cannot be read is dead-lettered by the running service.
    backorder::init_crypto();
    let client = reqwest::Client::new();
    let dead = support::webhooks::Delivery::new("orders/create", "not json".as_bytes().to_vec());
    assert_eq!(dead.send(&client, &format!("http://{addr}/webhooks")).await.status(), 200);
    let listed = eventually("the dead letter, listed through the service", || async {
        let out = backorder(&["dlq", "list"], &env).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        (out.status.success() && text.contains(&dead.webhook_id)).then_some((text, out.stderr))
    })
    .await;
    let said = String::from_utf8_lossy(&listed.1);
    assert!(said.contains("held by a running service"), "the CLI says which way it went: {said}");
    let id = listed.0.lines().nth(1).unwrap().split_whitespace().next().unwrap().to_string();

    let out = backorder(&["dlq", "replay", &id], &env).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("replayed 1 entry"));

    let out = backorder(&["reconcile", "--shop", support::SHOP], &env).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains(&format!("{}: 0 variants", support::SHOP)), "{text}");

    let kill = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let status = tokio::task::spawn_blocking(move || child.wait()).await.unwrap().unwrap();
    assert!(status.success(), "exit status {status}");
    let path = backorder::operator::handoff::path(&store.url).unwrap();
    assert!(!path.exists(), "the handoff goes with the service");
    devshop.stop().await;
}
