//! Installs driven like a browser: the signed install request, the dev shop's consent page, the
//! callback with the state cookie. Redirects are never followed by the client, so each hop can
//! be checked (and replayed or forged).

use backorder::auth::query;
use backorder::devshop::DevShop;

use super::{SECRET, TestApp};

pub const API_KEY: &str = "test-api-key";

pub fn now() -> i64 {
    backorder::store::now_ms() as i64 / 1000
}

/// A dev shop that serves the OAuth endpoints for the test app.
pub async fn devshop() -> DevShop {
    let devshop = DevShop::start(1000.0, 1000.0).await.unwrap();
    devshop.set_app(API_KEY, SECRET);
    devshop
}

pub fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// `params` as a query string, signed as the admin signs it.
pub fn signed(params: &[(&str, &str)]) -> String {
    let owned: Vec<(String, String)> = params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let hmac = query::sign(SECRET.as_bytes(), &owned);
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    out.extend_pairs(owned).append_pair("hmac", &hmac);
    out.finish()
}

fn location(resp: &reqwest::Response) -> String {
    resp.headers().get("location").expect("a redirect").to_str().unwrap().to_string()
}

/// The callback a browser would follow after consent: the app's path and query, and the
/// state cookie the app set.
#[derive(Debug, Clone)]
pub struct Callback {
    pub path_and_query: String,
    pub cookie: String,
}

impl Callback {
    pub fn params(&self) -> Vec<(String, String)> {
        query::parse(self.path_and_query.split_once('?').map_or("", |(_, q)| q))
    }

    /// The same callback with `params` signed afresh.
    pub fn with_params(&self, params: &[(String, String)]) -> Self {
        let pairs: Vec<(&str, &str)> =
            params.iter().filter(|(k, _)| k != "hmac").map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Self { path_and_query: format!("/auth/callback?{}", signed(&pairs)), cookie: self.cookie.clone() }
    }
}

/// `GET /auth`, then the dev shop's consent: the callback, not yet followed.
pub async fn consent(app: &TestApp, shop: &str) -> Callback {
    let client = browser();
    let begin = client.get(app.url(&format!("/auth?{}", signed(&[("shop", shop), ("timestamp", &now().to_string())]))));
    let resp = begin.send().await.unwrap();
    assert_eq!(resp.status(), 302, "{:?}", resp.text().await);
    let set_cookie = resp.headers().get("set-cookie").expect("a state cookie").to_str().unwrap().to_string();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/auth/callback", "Max-Age="] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    let approved = client.get(location(&resp)).send().await.unwrap();
    assert_eq!(approved.status(), 302, "{:?}", approved.text().await);
    let callback = url::Url::parse(&location(&approved)).unwrap();
    assert_eq!(callback.path(), "/auth/callback");
    Callback { path_and_query: format!("{}?{}", callback.path(), callback.query().unwrap_or_default()), cookie }
}

/// Follows a callback with `cookie` (`None`: no cookie at all).
pub async fn follow(app: &TestApp, callback: &Callback, cookie: Option<&str>) -> reqwest::Response {
    let mut req = browser().get(app.url(&callback.path_and_query));
    if let Some(cookie) = cookie {
        req = req.header("cookie", cookie);
    }
    req.send().await.unwrap()
}

/// A whole install; the callback's answer.
pub async fn install(app: &TestApp, shop: &str) -> reqwest::Response {
    let callback = consent(app, shop).await;
    follow(app, &callback, Some(&callback.cookie)).await
}
