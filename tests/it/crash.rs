//! SPEC 4: "a crash at any point loses nothing and applies nothing twice", with real crashes.
//!
//! For each failure point (`backorder::failpoint`) and each durable backend, the real binary
//! serves with the point armed, receives a fixed history of signed deliveries (orders over
//! several variants, levels, a cancellation with restock, a partial fulfillment, duplicates, all
//! shuffled) and aborts at the point. It is restarted without the failure point, every delivery
//! that was not answered with 200 is sent again (as Shopify would), and once the queue is drained
//! the store's ledger must equal the reference model, with each event processed exactly once.

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use backorder::failpoint::{self, points};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::ledger_backends::{SHOP, enrol_all, ledger_view};
use crate::ledger_model::{Op, Platform, model, scramble, setup};
use crate::support::redis::RedisServer;
use crate::support::webhooks::{Delivery, new_id};
use crate::support::{self, Backend, TestStore};

pub const BIN: &str = env!("CARGO_BIN_EXE_backorder");
pub const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
pub const SIGABRT: i32 = 6;
/// Longest a step may take before the test fails. Generous: every enqueue, commit and ack is
/// fsynced, and disks shared with parallel builds can make that slow. Never a sleep.
const DEADLINE: Duration = Duration::from_secs(120);

/// The `backorder` binary of this build, pinned under a name of this test binary's own: a
/// checkout sharing the target directory can rebuild `target/debug/backorder` at any moment,
/// and a binary built without failure points would never die where the test expects.
pub fn binary() -> &'static Path {
    static PINNED: OnceLock<PathBuf> = OnceLock::new();
    PINNED.get_or_init(|| {
        let exe = std::env::current_exe().expect("the test binary's path");
        let name = exe.file_name().expect("a file name").to_string_lossy().into_owned();
        let pinned = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("backorder-for-{name}"));
        let staged = pinned.with_extension(format!("{}.tmp", std::process::id()));
        let _ = std::fs::remove_file(&staged);
        std::fs::hard_link(BIN, &staged)
            .or_else(|_| std::fs::copy(BIN, &staged).map(drop))
            .unwrap_or_else(|e| panic!("cannot pin {BIN}: {e}"));
        std::fs::rename(&staged, &pinned).expect("pin the binary");
        let armed = std::process::Command::new("grep")
            .args(["-q", "-a", "-F", failpoint::ENV])
            .arg(&pinned)
            .status()
            .expect("grep runs");
        assert!(
            armed.success(),
            "{BIN} has no failure points: another checkout sharing the target directory rebuilt it; \
             run `cargo build` here and rerun the tests"
        );
        pinned
    })
}

/// One Redis writing every command to an fsynced append-only file, as production runs it;
/// the crash tests share it under distinct key prefixes.
pub fn durable_redis() -> &'static RedisServer {
    static DURABLE: OnceLock<RedisServer> = OnceLock::new();
    DURABLE.get_or_init(RedisServer::start_durable)
}

/// The platform's history: stock runs out on every variant, a VIP jumps the queue, a restock
/// and a recount move the boundary, one order is cancelled with restock, one partly shipped.
pub(crate) fn history() -> Platform {
    let ops = [
        Op::Restock { variant: 0, location: 0, units: 3 },
        Op::Create { vip: false, lines: vec![(0, 2), (1, 1)], location: 0 },
        Op::Create { vip: true, lines: vec![(0, 2)], location: 0 },
        Op::Create { vip: false, lines: vec![(0, 1), (2, 3)], location: 1 },
        Op::Restock { variant: 1, location: 1, units: 2 },
        Op::Create { vip: false, lines: vec![(1, 2), (2, 1)], location: 0 },
        Op::Cancel { order: 0, restock: true, location: 0 },
        Op::Fulfil { order: 2, line: 1, units: 1 },
        Op::Recount { variant: 2, location: 1, available: -2 },
        Op::Create { vip: false, lines: vec![(0, 3)], location: 1 },
        Op::Restock { variant: 0, location: 1, units: 4 },
        Op::Create { vip: false, lines: vec![(2, 2)], location: 0 },
    ];
    let mut platform = Platform::default();
    for op in &ops {
        platform.play(op);
    }
    platform
}

/// Every delivery of `platform`, some twice, shuffled. A duplicate is the same event (same
/// `X-Shopify-Event-Id`) under a new delivery id, as Shopify sends it.
pub(crate) fn deliveries(platform: &Platform) -> Vec<Delivery> {
    let dupes = [0, 3, 7, 11, 16, 22];
    let mut sent: BTreeMap<String, usize> = BTreeMap::new();
    scramble(&platform.deliveries, &dupes, 0x5eed)
        .into_iter()
        .map(|(topic, body, triggered)| {
            let mut d = Delivery::new(topic, body);
            d.shop = SHOP.into();
            d.event_id = Some(event_id(&triggered));
            d.triggered_at = Some(triggered.clone());
            let seen = sent.entry(triggered).or_default();
            *seen += 1;
            if *seen > 1 {
                d.webhook_id = new_id();
            }
            d
        })
        .collect()
}

/// Each platform change has its own trigger instant, so it names the event.
pub(crate) fn event_id(triggered: &str) -> String {
    let digits: String = triggered.chars().filter(char::is_ascii_alphanumeric).collect();
    format!("ev-{digits}")
}

/// The real binary, serving.
pub struct Server {
    child: Child,
    addr: String,
    log: Arc<Mutex<Vec<String>>>,
    /// Reads stderr to its end; done once the process is gone.
    reader: tokio::task::JoinHandle<()>,
}

impl Server {
    async fn start(store: &TestStore, failpoint: Option<&str>) -> Self {
        Self::start_with(store, failpoint, &[]).await
    }

    /// With `extra` settings on top of the crash tests' own.
    pub async fn start_with(store: &TestStore, failpoint: Option<&str>, extra: &[(&str, &str)]) -> Self {
        let env = [
            ("BACKORDER__SHOPIFY__API_KEY", "k"),
            ("BACKORDER__SHOPIFY__API_SECRET", support::SECRET),
            ("BACKORDER__SECURITY__ENCRYPTION_KEY", KEY),
            ("BACKORDER__SERVER__BIND", "127.0.0.1:0"),
            ("BACKORDER__SERVER__HTTP_WORKERS", "1"),
            ("BACKORDER__SERVER__SHUTDOWN_TIMEOUT_SECS", "5"),
            ("BACKORDER__STORE__URL", &store.url),
            ("BACKORDER__STORE__PREFIX", &store.prefix),
            ("BACKORDER__QUEUE__WORKERS", "2"),
            ("BACKORDER__QUEUE__BLOCK_MS", "200"),
            ("BACKORDER__QUEUE__RETRY_BASE_MS", "20"),
            // Entries held by the consumers of the dead process come back quickly.
            ("BACKORDER__QUEUE__RECLAIM_IDLE_MS", "300"),
            // A killed process's lanes lapse this soon, so the restarted one takes them.
            ("BACKORDER__QUEUE__LEASE_MS", "1000"),
            ("BACKORDER__LOG__LEVEL", "info"),
        ];
        let mut cmd = Command::new(binary());
        cmd.arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env)
            .envs(extra.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(point) = failpoint {
            cmd.env(failpoint::ENV, point);
        }
        let mut child = cmd.spawn().expect("the binary starts");
        let mut lines = BufReader::new(child.stderr.take().expect("piped stderr")).lines();
        let log = Arc::new(Mutex::new(Vec::new()));
        // The JSON log line announcing the address tells us the port the OS chose.
        let addr = tokio::time::timeout(DEADLINE, async {
            loop {
                let line = lines.next_line().await.expect("stderr reads").expect("serve logs its address");
                let entry: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
                log.lock().unwrap().push(line);
                if entry["message"] == "backorder is serving" {
                    break entry["addr"].as_str().expect("an address").to_string();
                }
            }
        })
        .await
        .expect("serve starts in time");
        // Keep reading, so the process never blocks on a full pipe, and keep the lines for failures.
        let sink = log.clone();
        let reader = tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                sink.lock().unwrap().push(line);
            }
        });
        Self { child, addr, log, reader }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// SIGKILL, as a machine dies: no shutdown, nothing given up.
    pub fn kill(&mut self) {
        let _ = self.child.start_kill();
    }

    /// Waits for the process to end and its last words to be read.
    pub async fn exit(&mut self, what: &str) -> ExitStatus {
        let status = match tokio::time::timeout(DEADLINE, self.child.wait()).await {
            Ok(status) => status.expect("wait for the process"),
            Err(_) => panic!("the process did not exit in time ({what}); its log:\n{}", self.log()),
        };
        let reader = tokio::time::timeout(DEADLINE, &mut self.reader).await;
        assert!(reader.is_ok(), "stderr not closed after exit ({what})");
        status
    }

    /// Waits until every queued entry is acked: nothing waiting, held or delayed.
    pub async fn drained(&self, client: &reqwest::Client) {
        let deadline = Instant::now() + DEADLINE;
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        loop {
            tick.tick().await;
            let text = match client.get(self.url("/metrics")).send().await {
                Ok(r) => r.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            let gauge = |name: &str| {
                text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse::<i64>().ok())
            };
            if gauge("backorder_queue_depth") == Some(0) && gauge("backorder_queue_delayed") == Some(0) {
                return;
            }
            assert!(Instant::now() < deadline, "the queue did not drain; metrics:\n{text}\nlog:\n{}", self.log());
        }
    }

    /// SIGTERM, as an operator stops it; it must exit cleanly.
    pub async fn stop(mut self) {
        let pid = self.child.id().expect("still running").to_string();
        let kill = Command::new("kill").args(["-TERM", &pid]).status().await.expect("kill runs");
        assert!(kill.success());
        let status = self.exit("after SIGTERM").await;
        assert!(status.success(), "exit status {status}; log:\n{}", self.log());
    }
}

/// Sends each delivery once; returns those not answered with 200.
pub async fn deliver(server: &Server, client: &reqwest::Client, deliveries: Vec<Delivery>) -> Vec<Delivery> {
    let mut refused = Vec::new();
    for delivery in deliveries {
        match delivery.try_send(client, &server.url("/webhooks")).await {
            Ok(r) if r.status() == 200 => {}
            _ => refused.push(delivery),
        }
    }
    refused
}

pub fn http_client() -> reqwest::Client {
    backorder::init_crypto();
    reqwest::Client::builder().timeout(DEADLINE).build().expect("client")
}

/// Passes through a point at which the crash tests kill: early, in the middle and at the last
/// event of the history (it has 23 events in 29 deliveries), so the process dies holding
/// different entries in different states.
const HITS: [u32; 6] = [1, 4, 9, 14, 19, 23];

/// For each of [`HITS`], a fresh store and a crash at that pass through `point`.
async fn crash_and_recover(backend: fn() -> Backend, point: &str) {
    for hit in HITS {
        crash_once(backend(), &format!("{point}:{hit}")).await;
    }
}

/// Kills the binary as `failpoint` says, restarts it, redelivers what was not acknowledged,
/// and compares the outcome with the model.
async fn crash_once(backend: Backend, failpoint: &str) {
    let test_store = backend.prepare();
    let platform = history();
    let (point, hit) = failpoint.split_once(':').expect("point:hit");
    // Every event passes each point at least once, so the armed pass is always reached.
    assert!(hit.parse::<usize>().unwrap() <= platform.deliveries.len(), "{failpoint}: the history is shorter");
    let (reference, counted) = setup(false);
    {
        let store = test_store.open().await;
        enrol_all(&store, &reference.rules).await;
        let sealer = support::settings(&test_store, &[]).sealer().expect("a sealer");
        support::install_shop(&backorder::books::Books::new(store), &sealer, SHOP).await;
    }

    let mut doomed = Server::start(&test_store, Some(failpoint)).await;
    let client = http_client();
    // Deliver as Shopify does: what is not answered with 200 (a 503 from a slow store) is sent
    // again, until the process dies or has everything.
    let mut pending = deliveries(&platform);
    let mut unacknowledged;
    let deadline = Instant::now() + DEADLINE;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    loop {
        tick.tick().await;
        unacknowledged = deliver(&doomed, &client, pending).await;
        if unacknowledged.is_empty() || doomed.child.try_wait().expect("process state").is_some() {
            break;
        }
        assert!(Instant::now() < deadline, "{failpoint}: deliveries still refused; log:\n{}", doomed.log());
        pending = std::mem::take(&mut unacknowledged);
    }
    let status = doomed.exit(&format!("{failpoint}: at the failure point")).await;
    let log = doomed.log();
    assert_eq!(status.signal(), Some(SIGABRT), "{failpoint}: not killed at the failure point ({status}); log:\n{log}");
    assert!(log.contains(&format!("failure point {point} reached (hit {hit})")), "{failpoint}: {log}");
    drop(client);

    let server = Server::start(&test_store, None).await;
    let client = http_client();
    let deadline = Instant::now() + DEADLINE;
    while !unacknowledged.is_empty() {
        tick.tick().await;
        unacknowledged = deliver(&server, &client, unacknowledged).await;
        assert!(Instant::now() < deadline, "{failpoint}: redeliveries still refused; log:\n{}", server.log());
    }
    server.drained(&client).await;
    server.stop().await;

    let store = test_store.open().await;
    applied_once(&store, &platform, counted.as_ref(), failpoint).await;
}

/// The store after `platform`'s history: the ledger equals the model, nothing is dead-lettered,
/// each event counted once (a second application would count twice, a lost one not at all) and
/// its processed mark in place (recording it again is refused).
pub(crate) async fn applied_once(
    store: &backorder::store::SharedStore,
    platform: &Platform,
    counted: Option<&std::collections::BTreeSet<u64>>,
    what: &str,
) {
    let expected = model(platform, 10, counted);
    assert_eq!(ledger_view(store).await, expected, "{what}: the ledger differs from the model");
    assert!(store.dead_letters(10).await.unwrap().is_empty(), "{what}: nothing is dead-lettered");
    let mut counts: BTreeMap<String, u64> = BTreeMap::from([("setup".to_string(), 4)]);
    for (topic, _, _) in &platform.deliveries {
        *counts.entry(topic.to_string()).or_default() += 1;
    }
    assert_eq!(store.processed_counts(SHOP).await.unwrap(), counts, "{what}: processed events by topic");
    for (_, _, triggered) in &platform.deliveries {
        let key = format!("ev:{}", event_id(triggered));
        let first = store.commit_event(SHOP, &key, "check", Duration::from_secs(60)).await.unwrap();
        assert!(!first, "{what}: {key} has no processed mark");
    }
}

/// One test per failure point and backend, each killing the process at several passes.
macro_rules! crash_tests {
    ($($name:ident => $point:expr;)*) => {
        const COVERED: &[&str] = &[$($point),*];

        mod on_the_embedded_store {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crash_and_recover(|| Backend::Embedded, $point).await;
                }
            )*
        }

        mod on_durable_redis {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crash_and_recover(|| Backend::Url(durable_redis().url()), $point).await;
                }
            )*
        }
    };
}

crash_tests! {
    a_process_killed_after_queueing_a_delivery_but_before_answering_loses_nothing => points::INTAKE_ENQUEUED;
    a_process_killed_right_after_taking_entries_from_the_queue_loses_nothing => points::WORKER_DEQUEUED;
    a_process_killed_before_the_commit_loses_nothing => points::LEDGER_BEFORE_COMMIT;
    a_process_killed_right_after_the_commit_applies_nothing_twice => points::LEDGER_COMMITTED;
    a_process_killed_after_handling_but_before_the_ack_applies_nothing_twice => points::WORKER_HANDLED;
    a_process_killed_right_after_the_ack_loses_nothing => points::WORKER_SETTLED;
}

#[test]
fn every_failure_point_has_a_crash_test() {
    let mut covered = COVERED.to_vec();
    let mut all = points::ALL.to_vec();
    covered.sort_unstable();
    all.sort_unstable();
    assert_eq!(covered, all);
}
