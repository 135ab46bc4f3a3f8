//! Talking to the service instances from outside, as a merchant's admin and an operator would:
//! the API with a signed session token, `/metrics` to see the queue drain.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::{API_KEY, SECRET};

fn session_token(shop: &str) -> String {
    crate::auth::session_token::mint(shop, API_KEY, SECRET.as_bytes())
}

pub(super) async fn api(
    http: &reqwest::Client,
    base: &str,
    shop: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Result<Value, String> {
    let mut req = http.request(method, format!("{base}{path}")).bearer_auth(session_token(shop));
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.map_err(|e| format!("{path}: {e}"))?;
    let status = resp.status();
    let body: Value = resp.json().await.map_err(|e| format!("{path}: {e}"))?;
    if !status.is_success() {
        return Err(format!("{path} answered {status}: {body}"));
    }
    Ok(body)
}

/// Calls the API on the first instance that answers (one may be restarting).
pub(super) async fn retry_api(
    http: &reqwest::Client,
    urls: &[String],
    shop: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Result<Value, String> {
    let mut last = String::new();
    for attempt in 0..200 {
        let base = &urls[attempt % urls.len()];
        match api(http, base, shop, method.clone(), path, body.clone()).await {
            Ok(v) => return Ok(v),
            Err(e) => last = e,
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(last)
}

pub(super) async fn wait_for(what: &str, deadline: Duration, ready: impl Fn() -> bool) -> Result<(), String> {
    let start = Instant::now();
    while !ready() {
        if start.elapsed() > deadline {
            return Err(format!("timed out waiting for {what}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
}

/// Until nothing is queued or waiting to retry, twice in a row.
pub(super) async fn wait_drained(http: &reqwest::Client, base: &str) -> Result<(), String> {
    let start = Instant::now();
    let mut quiet = 0;
    while quiet < 2 {
        if start.elapsed() > Duration::from_secs(180) {
            return Err("the queue did not drain".into());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let Ok(resp) = http.get(format!("{base}/metrics")).send().await else { continue };
        let text = resp.text().await.unwrap_or_default();
        let idle = metric(&text, "backorder_queue_depth ") == Some(0.0)
            && metric(&text, "backorder_queue_delayed ") == Some(0.0);
        quiet = if idle { quiet + 1 } else { 0 };
    }
    Ok(())
}

pub(super) async fn dead_letters(http: &reqwest::Client, base: &str) -> u64 {
    let text = match http.get(format!("{base}/metrics")).send().await {
        Ok(resp) => resp.text().await.unwrap_or_default(),
        Err(_) => return 0,
    };
    metric(&text, "backorder_dead_letters ").unwrap_or(0.0) as u64
}
