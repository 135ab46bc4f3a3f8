//! A real headless Chromium, driven through chromedriver (WebDriver, with `fantoccini`), for the
//! tests of the merchant's app. Each browser gets a chromedriver of its own on a free port;
//! browsers run one at a time (a lock), since two Chromiums on two cores slow every other test.
//! Screenshots go to the test's output folder (`target/tmp/browser/`), never into the repository.

mod app;
mod emails;
mod journey;
mod settings;
mod theme;
mod variants;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use tokio::sync::{Mutex, MutexGuard};

static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

/// How long a page may take to show what a test waits for.
const PATIENCE: Duration = Duration::from_secs(20);

pub struct Browser {
    pub client: Client,
    driver: Child,
    out: PathBuf,
    /// Chromium's profile, ours: every process of this browser names it, so they can all be
    /// ended even when the test panics before it closes the session (chromedriver killed alone
    /// would leave its Chromium running after the test run).
    profile: tempfile::TempDir,
    _turn: MutexGuard<'static, ()>,
}

/// Chromium's console for this session, errors and failed requests included (chromedriver's
/// log endpoint; WebDriver itself has none).
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(json!({"type": "browser"}).to_string()))
    }
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?.to_str()?.split(':').map(|dir| PathBuf::from(dir).join(name)).find(|p| p.is_file())
}

impl Browser {
    /// A fresh browser, or `None` when this machine has no Chromium (outside CI only: under CI,
    /// where `scripts/test` installs it, a missing browser fails the test).
    pub async fn start(test: &str) -> Option<Self> {
        let (Some(driver), Some(chromium)) = (which("chromedriver"), which("chromium")) else {
            assert!(std::env::var("CI").is_err(), "chromium and chromedriver are needed (scripts/test installs them)");
            eprintln!("{test}: skipped, no chromium/chromedriver on this machine");
            return None;
        };
        let turn = ONE_AT_A_TIME.lock().await;
        let port = crate::support::redis::free_port();
        let driver = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().expect("a profile folder");
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                         "--window-size=1280,900", "--hide-scrollbars",
                         format!("--user-data-dir={}", profile.path().display())],
            },
            "goog:loggingPrefs": {"browser": "ALL"},
        });
        let caps = caps.as_object().cloned().unwrap_or_default();
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + PATIENCE;
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector).capabilities(caps.clone()).connect(&url).await {
                Ok(client) => break client,
                // chromedriver refuses connections until it listens: try again until the deadline.
                Err(_) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(100)).await,
                Err(e) => panic!("no WebDriver session: {e}"),
            }
        };
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser").join(test);
        std::fs::create_dir_all(&out).expect("the screenshot folder");
        Some(Self { client, driver, out, profile, _turn: turn })
    }

    /// Resizes the window so that the page's viewport is `width` wide.
    pub async fn viewport(&self, width: u32, height: u32) {
        self.client.set_window_size(width, height).await.expect("resize");
        let inner = self.client.execute("return window.innerWidth", vec![]).await.expect("innerWidth");
        let inner = inner.as_u64().unwrap_or_default();
        if inner != u64::from(width) {
            // The window's frame takes some of it: grow the window by the difference.
            let grown = width + (width - inner.min(u64::from(width)) as u32);
            self.client.set_window_size(grown, height).await.expect("resize");
        }
    }

    /// Polls `script` (JavaScript, in the current frame) until it answers something other than
    /// null or false, within the test's patience.
    pub async fn until(&self, what: &str, script: &str) -> Value {
        let deadline = Instant::now() + PATIENCE;
        loop {
            match self.client.execute(script, vec![]).await {
                Ok(Value::Null | Value::Bool(false)) | Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Ok(v @ (Value::Null | Value::Bool(false))) => panic!("waited in vain for {what}: {v}"),
                Err(e) => panic!("waited in vain for {what}: {e}"),
                Ok(v) => return v,
            }
        }
    }

    /// Enters the app's frame inside the dev shop's admin page.
    pub async fn enter_app(&self) {
        self.client.enter_parent_frame().await.ok();
        self.client.wait().for_element(Locator::Css("iframe#app")).await.expect("the app's frame");
        self.client.enter_frame(0).await.expect("into the app's frame");
    }

    /// Clicks `label` in the dev shop admin's menu (filled by App Bridge from the page's
    /// `s-app-nav`), then enters the app's frame, where that page loads with a fresh token.
    pub async fn open_from_admin_menu(&self, label: &str) {
        self.client.enter_parent_frame().await.ok();
        let click = format!(
            "const a = [...document.querySelectorAll('#nav a')].find(a => a.textContent === {label:?}); \
             if (a) {{ a.click(); return true; }} return false;"
        );
        self.until(&format!("{label} in the admin's menu"), &click).await;
        self.enter_app().await;
    }

    /// Follows a link to `path` inside the app (the app's script adds a fresh session token, as
    /// for any of its links) and waits for that page to have loaded.
    pub async fn go(&self, path: &str) {
        let click = format!(
            "const a = document.createElement('a'); a.href = {path:?}; a.hidden = true; \
             document.body.appendChild(a); a.click(); return true;"
        );
        self.until(&format!("a link to {path}"), &click).await;
        let (pathname, search) = path.split_once('?').map_or((path, String::new()), |(p, q)| (p, format!("?{q}")));
        let loaded = format!(
            "return document.readyState === 'complete' && window.location.pathname === {pathname:?} && \
             window.location.search.startsWith({search:?}) && window.location.search.includes('id_token=')"
        );
        self.until(&format!("the page {path}"), &loaded).await;
    }

    /// Sends `key` to the element `css` names, as a keyboard would (Enter on a button presses
    /// it, Space ticks a box): the forms are tested for use without a pointer.
    pub async fn press(&self, css: &str, key: fantoccini::key::Key) {
        let element = self.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}"));
        element.send_keys(&char::from(key).to_string()).await.unwrap_or_else(|e| panic!("{css}: {e}"));
    }

    /// The page's widest content, in CSS pixels (no sideways scrolling when at most the viewport).
    pub async fn scroll_width(&self) -> u64 {
        self.client.execute("return document.documentElement.scrollWidth", vec![]).await.unwrap().as_u64().unwrap()
    }

    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("a screenshot");
        std::fs::write(self.out.join(format!("{name}.png")), png).expect("the screenshot is written");
    }

    /// Console errors and failed requests since the last call.
    pub async fn errors(&self) -> Vec<String> {
        let log = self.client.issue_cmd(BrowserLog).await.expect("the browser's log");
        log.as_array()
            .into_iter()
            .flatten()
            .filter(|entry| entry["level"] == "SEVERE")
            .map(|entry| entry["message"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// What axe-core finds in the current frame's page that is serious or critical, each as
    /// "rule: what, where". axe-core is the npm package `scripts/test` puts in the target
    /// directory; without it (outside CI) the check is skipped, said on stderr.
    pub async fn accessibility_problems(&self) -> Vec<String> {
        let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("..");
        let axe = target.join("npm/node_modules/axe-core/axe.min.js");
        let Ok(source) = std::fs::read_to_string(&axe) else {
            assert!(std::env::var("CI").is_err(), "axe-core is needed at {} (scripts/test installs it)", axe.display());
            eprintln!("accessibility not checked: no axe-core at {} (scripts/test installs it)", axe.display());
            return Vec::new();
        };
        self.client.execute(&source, vec![]).await.expect("axe-core loads");
        let found = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];                  axe.run(document).then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,                  nodes: v.nodes.map(n => n.target.join(' '))})))).catch(e => done([{id: 'axe', impact: 'critical', help: String(e), nodes: []}]));",
                vec![],
            )
            .await
            .expect("axe-core runs");
        found
            .as_array()
            .into_iter()
            .flatten()
            .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
            .map(|v| format!("{}: {} at {}", v["id"], v["help"], v["nodes"]))
            .collect()
    }

    /// Closes the session (Chromium quits); dropping then ends whatever is left.
    pub async fn stop(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let profile = format!("--user-data-dir={}", self.profile.path().display());
        let _ = Command::new("pkill").args(["-f", "--", &profile]).status();
    }
}
