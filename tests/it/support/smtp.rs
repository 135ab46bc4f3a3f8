//! A real SMTP server process (aiosmtpd, `smtp_sink.py`) on a free port. Every message it accepts
//! lands as one JSON file with its parts decoded; a switch makes it answer 451 (try later).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Received {
    pub rcpt_tos: Vec<String>,
    pub message_id: Option<String>,
    pub subject: Option<String>,
    pub text: Option<String>,
    pub html: Option<String>,
}

impl Received {
    /// The email's kind, from its Message-ID (`<backordered.42.…@host>`).
    pub fn kind(&self) -> &str {
        let id = self.message_id.as_deref().unwrap_or_default().trim_start_matches('<');
        id.split(['.', '-']).next().unwrap_or_default()
    }

    /// The order id in its Message-ID.
    pub fn order_id(&self) -> u64 {
        let id = self.message_id.as_deref().unwrap_or_default();
        id.split('.').nth(1).and_then(|n| n.parse().ok()).unwrap_or(0)
    }
}

pub struct SmtpSink {
    child: Child,
    dir: tempfile::TempDir,
    pub port: u16,
}

/// The interpreter that has aiosmtpd: `scripts/test` installs Debian's python3-aiosmtpd, which
/// only the system python3 sees when another python3 comes first on PATH.
fn python() -> &'static str {
    static PYTHON: OnceLock<&'static str> = OnceLock::new();
    PYTHON.get_or_init(|| {
        ["python3", "/usr/bin/python3"]
            .into_iter()
            .find(|p| {
                Command::new(p).args(["-c", "import aiosmtpd"]).output().map(|o| o.status.success()).unwrap_or(false)
            })
            .expect("a python3 with aiosmtpd (apt-get install python3-aiosmtpd; scripts/test does it)")
    })
}

impl SmtpSink {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/support/smtp_sink.py");
        for _ in 0..5 {
            let port = super::redis::free_port();
            let mut child = Command::new(python())
                .arg(&script)
                .arg(port.to_string())
                .arg(dir.path())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("the SMTP sink starts");
            let mut line = String::new();
            let stdout = child.stdout.take().expect("piped");
            // The sink prints READY once it listens, or exits (the port was taken meanwhile).
            BufReader::new(stdout).read_line(&mut line).ok();
            if line.trim() == "READY" {
                return Self { child, dir, port };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("the SMTP sink did not start");
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// While refusing, every message gets 451 and nothing is kept.
    pub fn refuse(&self, on: bool) {
        let flag = self.dir.path().join("REFUSE");
        if on {
            std::fs::write(flag, b"").expect("the flag is written");
        } else {
            let _ = std::fs::remove_file(flag);
        }
    }

    /// How many messages were answered 451.
    pub fn refusals(&self) -> usize {
        std::fs::read_to_string(self.dir.path().join("REFUSED")).map(|s| s.lines().count()).unwrap_or(0)
    }

    pub fn messages(&self) -> Vec<Received> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(self.dir.path()).expect("the sink's directory").flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "json") {
                let bytes = std::fs::read(&path).expect("a message file");
                out.push(serde_json::from_slice(&bytes).expect("the sink writes JSON"));
            }
        }
        out
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
