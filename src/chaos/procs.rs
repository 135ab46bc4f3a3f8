//! The processes a chaos run kills: service instances (this binary's `serve`) and a Redis
//! started with `appendfsync always`. Each is killed with SIGKILL (no shutdown, no flush) and
//! started again on the same port and data.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

/// A port the OS has just said is free.
pub fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Polls `ready` until it answers yes, for at most `deadline`.
async fn wait_until<F: std::future::Future<Output = bool>>(
    what: &str,
    deadline: Duration,
    ready: impl Fn() -> F,
) -> Result<(), String> {
    let start = Instant::now();
    while start.elapsed() < deadline {
        if ready().await {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("{what} did not come up within {deadline:?}"))
}

pub struct Redis {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl Redis {
    pub async fn start(dir: PathBuf) -> Result<Self, String> {
        let port = free_port().map_err(|e| e.to_string())?;
        let mut redis = Self { port, dir, child: None };
        redis.up().await?;
        Ok(redis)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Starts it on its port and data; replays the append-only file.
    pub async fn up(&mut self) -> Result<(), String> {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", ""])
            .args(["--appendonly", "yes", "--appendfsync", "always", "--dir"])
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("redis-server does not start: {e}"))?;
        self.child = Some(child);
        let port = self.port;
        wait_until("redis", Duration::from_secs(30), || ping(port)).await
    }

    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }
}

/// Redis answers `PING` with `+PONG` once it has loaded its data.
async fn ping(port: u16) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else { return false };
    if stream.write_all(b"PING\r\n").await.is_err() {
        return false;
    }
    let mut reply = [0u8; 16];
    matches!(tokio::time::timeout(Duration::from_secs(1), stream.read(&mut reply)).await, Ok(Ok(n)) if reply[..n].starts_with(b"+PONG"))
}

async fn ready(readyz: String) -> bool {
    reqwest::get(readyz).await.is_ok_and(|r| r.status().is_success())
}

pub struct Instance {
    pub port: u16,
    env: Vec<(String, String)>,
    log: PathBuf,
    child: Option<Child>,
}

impl Instance {
    pub fn new(env: Vec<(String, String)>, port: u16, log: PathBuf) -> Self {
        Self { port, env, log, child: None }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub async fn up(&mut self) -> Result<(), String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).map_err(|e| e.to_string())?;
        let child = Command::new(exe)
            .arg("serve")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("BACKORDER__SERVER__BIND", format!("127.0.0.1:{}", self.port))
            .env("BACKORDER__APP__URL", self.url())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("serve does not start: {e}"))?;
        self.child = Some(child);
        let readyz = format!("{}/readyz", self.url());
        wait_until("a service instance", Duration::from_secs(60), || ready(readyz.clone())).await
    }

    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// `true` while its process runs.
    pub fn running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }
}
