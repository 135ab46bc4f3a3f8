//! The overview's Core Web Vitals as Chromium measures them on loopback: Largest Contentful
//! Paint and Cumulative Layout Shift (Built for Shopify asks LCP ≤ 2.5 s and CLS ≤ 0.1 at the
//! 75th percentile). Chromium is driven through chromedriver's WebDriver HTTP API, which is JSON
//! over HTTP, so the HTTP client the service has already is all it takes.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// One page load: LCP in milliseconds and the CLS score.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub lcp_ms: f64,
    pub cls: f64,
}

/// Reads both metrics from the browser's buffered performance entries once the page has loaded.
const MEASURE: &str = "const done = arguments[arguments.length - 1]; let lcp = 0, cls = 0; \
    new PerformanceObserver(l => { for (const e of l.getEntries()) lcp = Math.max(lcp, e.renderTime || e.loadTime || e.startTime); }) \
      .observe({type: 'largest-contentful-paint', buffered: true}); \
    new PerformanceObserver(l => { for (const e of l.getEntries()) if (!e.hadRecentInput) cls += e.value; }) \
      .observe({type: 'layout-shift', buffered: true}); \
    setTimeout(() => done({lcp, cls}), 300);";

pub struct Browser {
    driver: Child,
    http: reqwest::Client,
    session: String,
    base: String,
    profile: tempfile::TempDir,
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?.to_str()?.split(':').map(|dir| PathBuf::from(dir).join(name)).find(|p| p.is_file())
}

impl Browser {
    /// A headless Chromium, or `None` when the machine has none.
    pub async fn start() -> Result<Option<Self>, String> {
        let (Some(driver), Some(chromium)) = (which("chromedriver"), which("chromium")) else { return Ok(None) };
        let port =
            std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
        let driver = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("chromedriver: {e}"))?;
        let profile = tempfile::tempdir().map_err(|e| e.to_string())?;
        let http = reqwest::Client::builder().no_proxy().build().map_err(|e| e.to_string())?;
        let base = format!("http://127.0.0.1:{port}");
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": [
                "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,900",
                format!("--user-data-dir={}", profile.path().display())]},
        }}});
        let deadline = Instant::now() + Duration::from_secs(20);
        let session = loop {
            match http.post(format!("{base}/session")).json(&caps).send().await {
                Ok(resp) => {
                    let answer: Value = resp.json().await.map_err(|e| e.to_string())?;
                    match answer["value"]["sessionId"].as_str() {
                        Some(id) => break id.to_string(),
                        None => return Err(format!("no WebDriver session: {answer}")),
                    }
                }
                Err(_) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(100)).await,
                Err(e) => return Err(format!("chromedriver does not answer: {e}")),
            }
        };
        Ok(Some(Self { driver, http, session, base, profile }))
    }

    async fn command(&self, path: &str, body: Value) -> Result<Value, String> {
        let url = format!("{}/session/{}/{path}", self.base, self.session);
        let answer: Value = self
            .http
            .post(url)
            .json(&body)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        if answer["value"]["error"].is_string() {
            return Err(format!("WebDriver {path}: {}", answer["value"]));
        }
        Ok(answer["value"].clone())
    }

    /// Loads `url` (WebDriver returns once the page has loaded) and reads its vitals.
    pub async fn load(&self, url: &str) -> Result<Load, String> {
        self.command("url", json!({"url": url})).await?;
        let v = self.command("execute/async", json!({"script": MEASURE, "args": []})).await?;
        Ok(Load { lcp_ms: v["lcp"].as_f64().unwrap_or(0.0), cls: v["cls"].as_f64().unwrap_or(0.0) })
    }

    pub async fn stop(mut self) {
        let _ = self.http.delete(format!("{}/session/{}", self.base, self.session)).send().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        // Whatever Chromium left behind names our profile.
        let profile = format!("--user-data-dir={}", self.profile.path().display());
        let _ = Command::new("pkill").args(["-f", "--", &profile]).status();
    }
}
