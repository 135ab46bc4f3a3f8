//! Real redis-server processes for the tests, on free ports.
//!
//! Each server runs under a tiny shell watchdog that holds our end of a pipe: when the test
//! process exits, however it exits, the pipe closes and the watchdog kills its server. So no
//! server outlives the test run, even the shared ones kept in statics.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub struct RedisServer {
    pub port: u16,
    dir: tempfile::TempDir,
    extra: Vec<String>,
    process: Option<(Child, ChildStdin)>,
}

/// One plain server shared by every test of the run; tests keep apart by key prefix.
pub fn shared() -> &'static RedisServer {
    static SHARED: OnceLock<RedisServer> = OnceLock::new();
    SHARED.get_or_init(RedisServer::start)
}

impl RedisServer {
    /// Keeps nothing on disk: for tests that never restart it.
    pub fn start() -> Self {
        Self::start_with(vec!["--save".into(), "".into(), "--appendonly".into(), "no".into()])
    }

    /// Writes every command to an fsynced append-only file, so a restart loses nothing that was
    /// acknowledged: what a production deployment is expected to run.
    pub fn start_durable() -> Self {
        Self::start_with(vec![
            "--save".into(),
            "".into(),
            "--appendonly".into(),
            "yes".into(),
            "--appendfsync".into(),
            "always".into(),
        ])
    }

    fn start_with(extra: Vec<String>) -> Self {
        let mut server = Self { port: free_port(), dir: tempfile::tempdir().expect("temp dir"), extra, process: None };
        server.launch();
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn launch(&mut self) {
        let mut args = vec![
            "--port".to_string(),
            self.port.to_string(),
            "--bind".into(),
            "127.0.0.1".into(),
            "--dir".into(),
            self.dir.path().display().to_string(),
        ];
        args.extend(self.extra.iter().cloned());
        self.process = Some(watchdog("redis-server", &args, self.dir.path()));
        wait_for_ping(self.port);
    }

    /// Shuts the server down the way an operator would (the append-only file is flushed).
    pub fn stop(&mut self) {
        let _ = command(self.port, &["SHUTDOWN"]);
        if let Some((mut child, stdin)) = self.process.take() {
            drop(stdin);
            let _ = child.wait();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
            assert!(Instant::now() < deadline, "redis on {} did not stop", self.port);
            std::thread::yield_now();
        }
    }

    pub fn restart(&mut self) {
        self.launch();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some((mut child, stdin)) = self.process.take() {
            drop(stdin);
            let _ = child.wait();
        }
    }
}

/// Three masters with the 16384 slots split between them, built with `redis-cli --cluster`.
pub struct RedisCluster {
    pub nodes: Vec<RedisServer>,
}

pub fn shared_cluster() -> &'static RedisCluster {
    static CLUSTER: OnceLock<RedisCluster> = OnceLock::new();
    CLUSTER.get_or_init(RedisCluster::start)
}

impl RedisCluster {
    pub fn start() -> Self {
        let nodes: Vec<RedisServer> = (0..3)
            .map(|_| {
                let dir = tempfile::tempdir().expect("temp dir");
                let conf = dir.path().join("nodes.conf");
                let mut server = RedisServer {
                    port: free_cluster_port(),
                    extra: vec![
                        "--cluster-enabled".into(),
                        "yes".into(),
                        "--cluster-config-file".into(),
                        conf.display().to_string(),
                        "--cluster-node-timeout".into(),
                        "5000".into(),
                        // A master down without a replica stops its own slots, not the whole
                        // cluster (RELIABILITY.md says to run production so too).
                        "--cluster-require-full-coverage".into(),
                        "no".into(),
                        "--save".into(),
                        "".into(),
                        "--appendonly".into(),
                        "no".into(),
                    ],
                    dir,
                    process: None,
                };
                server.launch();
                server
            })
            .collect();
        let mut args = vec!["--cluster".to_string(), "create".into()];
        args.extend(nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)));
        args.extend(["--cluster-replicas".into(), "0".into(), "--cluster-yes".into()]);
        let out = Command::new("redis-cli").args(&args).output().expect("redis-cli runs");
        assert!(out.status.success(), "cluster create failed: {}", String::from_utf8_lossy(&out.stdout));
        let deadline = Instant::now() + Duration::from_secs(30);
        for node in &nodes {
            loop {
                let info = command(node.port, &["CLUSTER", "INFO"]).unwrap_or_default();
                if info.contains("cluster_state:ok") {
                    break;
                }
                assert!(Instant::now() < deadline, "cluster did not become ok: {info}");
                std::thread::park_timeout(Duration::from_millis(50));
            }
        }
        Self { nodes }
    }

    pub fn url(&self) -> String {
        let hosts: Vec<String> = self.nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)).collect();
        format!("redis+cluster://{}", hosts.join(","))
    }
}

fn watchdog(program: &str, args: &[String], dir: &Path) -> (Child, ChildStdin) {
    let log: PathBuf = dir.join("server.log");
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(r#"prog="$1"; shift; "$prog" "$@" >"$LOG" 2>&1 & pid=$!; cat >/dev/null; kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null; exit 0"#)
        .arg("sh")
        .arg(program)
        .args(args)
        .env("LOG", &log)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {program} (is it installed? scripts/test installs it): {e}"));
    let stdin = child.stdin.take().expect("piped stdin");
    (child, stdin)
}

fn wait_for_ping(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while command(port, &["PING"]).as_deref() != Some("+PONG\r\n") {
        assert!(Instant::now() < deadline, "redis-server on port {port} did not start");
        std::thread::park_timeout(Duration::from_millis(20));
    }
}

/// Sends one command in RESP and returns the raw reply.
pub fn command(port: u16, parts: &[&str]) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut req = format!("*{}\r\n", parts.len());
    for p in parts {
        req.push_str(&format!("${}\r\n{p}\r\n", p.len()));
    }
    stream.write_all(req.as_bytes()).ok()?;
    let mut buf = vec![0u8; 64 * 1024];
    let n = stream.read(&mut buf).ok()?;
    (n > 0).then(|| String::from_utf8_lossy(&buf[..n]).into_owned())
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

/// A cluster node also listens on port + 10000 for its bus.
fn free_cluster_port() -> u16 {
    loop {
        let port = fastrand::u16(20_000..50_000);
        if TcpListener::bind(("127.0.0.1", port)).is_ok() && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
}
