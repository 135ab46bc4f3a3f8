//! The dev shop (SPEC 3.6): a simulated platform over real HTTP for `demo` and the tests. It
//! hosts any number of shops, each with its own world, access token and cost bucket, answers the
//! service's Admin GraphQL operations with Shopify's shapes, refuses calls its bucket cannot
//! afford with `THROTTLED`, and injects faults on demand. It also plays Shopify's OAuth
//! (`oauth`: consent, and the code, token-exchange and refresh grants). Every call is logged,
//! token grants included, so a test can say exactly what the service asked for.
//!
//! The service reaches it with `BACKORDER__SHOPIFY__ADMIN_BASE_URL={url}/shops/{shop}`.

mod admin;
mod admin_api;
mod bucket;
pub mod bulk;
pub mod discounts;
mod faults;
mod fulfillment;
pub mod graphql;
mod notify;
mod oauth;
pub mod payloads;
pub mod sender;
pub mod storefront;
pub mod transfers;
pub mod world;

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::Value;
use tokio::sync::watch;

use faults::Gate;

pub use admin_api::{SUPPORTED_VERSIONS, served_version};
pub use bucket::Bucket;
pub use faults::{Faults, Held};
pub use sender::{Batch, Report, Sender};
pub use world::{Policy, World};

/// One Admin API call as the dev shop saw it.
#[derive(Debug, Clone)]
pub struct Call {
    pub operation: String,
    pub variables: Value,
    /// `ok`, `throttled`, `too_costly` (over the limit for one query), `5xx`, `429`,
    /// `dropped`, `denied`, `error`.
    pub outcome: &'static str,
    /// When the dev shop decided the call (after any injected latency).
    pub at: Instant,
    /// The points the bucket was charged and kept: the actual cost of an admitted call (`ok`,
    /// `dropped`), 0 for all others (refused, or refunded as on `error`).
    pub cost: f64,
}

struct Account {
    token: String,
    /// The refresh token of the current expiring token, if it is one.
    refresh_token: Option<String>,
    scopes: Vec<String>,
    bucket: Bucket,
    world: World,
    calls: Vec<Call>,
}

struct Shared {
    shops: Mutex<HashMap<String, Account>>,
    oauth: Mutex<oauth::OAuthState>,
    calls_seen: std::sync::atomic::AtomicU64,
    faults: Mutex<Faults>,
    /// Faults of one shop, in place of `faults`.
    shop_faults: Mutex<HashMap<String, Faults>>,
    /// Shops whose calls wait until the test releases them.
    holds: Mutex<HashMap<String, Gate>>,
    bucket_max: f64,
    restore_rate: f64,
    /// The dev shop's own address, for the URLs it hands out (bulk results).
    url: String,
}

pub struct DevShop {
    pub url: String,
    shared: Arc<Shared>,
    server: actix_web::dev::ServerHandle,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The shop's account, created on first use with a fresh non-expiring token.
fn account<'a>(shops: &'a mut HashMap<String, Account>, shared: &Shared, shop: &str) -> &'a mut Account {
    shops.entry(shop.to_string()).or_insert_with(|| Account {
        token: format!("shpat_dev_{:032x}", fastrand::u128(..)),
        refresh_token: None,
        scopes: Vec::new(),
        bucket: Bucket::new(shared.bucket_max, shared.restore_rate),
        world: World::with_bulk_base(format!("{}/bulk/{shop}", shared.url)),
        calls: Vec::new(),
    })
}

pub(crate) fn rfc3339(ms: i64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

impl DevShop {
    /// Starts on a free loopback port with a cost bucket of `bucket_max` points restoring
    /// `restore_rate` points per second (Shopify Standard: 2000 / 100).
    pub async fn start(bucket_max: f64, restore_rate: f64) -> std::io::Result<Self> {
        Self::start_on("127.0.0.1:0", bucket_max, restore_rate).await
    }

    /// As [`DevShop::start`], on `addr` (a port a script chose, so services started before
    /// this dev shop can be pointed at it).
    pub async fn start_on(addr: &str, bucket_max: f64, restore_rate: f64) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr)?;
        let url = format!("http://{}", listener.local_addr()?);
        let shared = Arc::new(Shared {
            shops: Mutex::new(HashMap::new()),
            oauth: Mutex::new(oauth::OAuthState { lifetime_secs: 3600, ..Default::default() }),
            calls_seen: Default::default(),
            faults: Mutex::new(Faults::default()),
            shop_faults: Mutex::new(HashMap::new()),
            holds: Mutex::new(HashMap::new()),
            bucket_max,
            restore_rate,
            url: url.clone(),
        });
        let data = web::Data::from(shared.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::JsonConfig::default().limit(10 << 20))
                .route("/shops/{shop}/admin/api/{version}/graphql.json", web::post().to(admin_api::admin_graphql))
                .route("/shops/{shop}/admin/oauth/authorize", web::get().to(oauth::authorize))
                .route("/shops/{shop}/admin/oauth/access_token", web::post().to(oauth::access_token))
                .route("/bulk/{shop}/{file}", web::get().to(bulk_result))
                .configure(admin::routes)
                .configure(storefront::routes)
        })
        .workers(1)
        .disable_signals()
        .listen(listener)?
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Ok(Self { url, shared, server: handle })
    }

    /// The value of `BACKORDER__SHOPIFY__ADMIN_BASE_URL` that points the service here.
    pub fn admin_base_url(&self) -> String {
        format!("{}/shops/{{shop}}", self.url)
    }

    /// Creates `shop` with the access token `token` (a custom app's, registered with
    /// `backorder shop add`), or gives an existing one that token.
    pub fn install_as(&self, shop: &str, token: &str) {
        let mut shops = lock(&self.shared.shops);
        account(&mut shops, &self.shared, shop).token = token.to_string();
    }

    /// Where the app is served, for the admin's frame (`admin::frame`).
    pub fn set_app_url(&self, url: &str) {
        lock(&self.shared.oauth).app_url = url.into();
    }

    /// The admin page that embeds the app for `shop` (`name.myshopify.com`).
    pub fn admin_app_url(&self, shop: &str) -> String {
        format!("{}/store/{}/apps/backorder", self.url, shop.trim_end_matches(".myshopify.com"))
    }

    /// Creates a shop (or returns the existing one's token): its access token.
    pub fn install(&self, shop: &str) -> String {
        let mut shops = lock(&self.shared.shops);
        account(&mut shops, &self.shared, shop).token.clone()
    }

    /// The app the OAuth endpoints serve: its client id and secret.
    pub fn set_app(&self, api_key: &str, secret: &str) {
        let mut oauth = lock(&self.shared.oauth);
        oauth.api_key = api_key.into();
        oauth.secret = secret.into();
    }

    /// The scopes `shop`'s current token has, from now on (a merchant who granted fewer).
    pub fn set_scopes(&self, shop: &str, scopes: &[&str]) {
        let mut shops = lock(&self.shared.shops);
        account(&mut shops, &self.shared, shop).scopes = scopes.iter().map(|s| s.to_string()).collect();
    }

    /// The scopes the merchant of `shop` grants, whatever the app asks for.
    pub fn grant_scopes(&self, shop: &str, scopes: &[&str]) {
        lock(&self.shared.oauth).granted.insert(shop.into(), scopes.iter().map(|s| s.to_string()).collect());
    }

    /// Lifetime of the expiring access tokens issued from now on, in seconds (Shopify: 3600).
    pub fn set_token_lifetime(&self, secs: i64) {
        lock(&self.shared.oauth).lifetime_secs = secs;
    }

    /// The next `n` refresh requests are answered 503.
    pub fn fail_refreshes(&self, n: u32) {
        lock(&self.shared.oauth).failing_refreshes = n;
    }

    /// The merchant uninstalls the app: its tokens stop working and its webhook subscriptions
    /// are gone (the app/uninstalled webhook is the test's to send).
    pub fn uninstall(&self, shop: &str) {
        let mut shops = lock(&self.shared.shops);
        if let Some(a) = shops.get_mut(shop) {
            a.token = format!("revoked_{:032x}", fastrand::u128(..));
            a.refresh_token = None;
            a.world.subscriptions.clear();
        }
    }

    /// The current access token of `shop`, if it has an account.
    pub fn token(&self, shop: &str) -> Option<String> {
        lock(&self.shared.shops).get(shop).map(|a| a.token.clone())
    }

    /// Successful token grants of `shop` by kind (`authorization_code`, `token_exchange`,
    /// `refresh_token`).
    pub fn grants(&self, shop: &str, kind: &str) -> usize {
        let op = format!("oauth:{kind}");
        self.calls(shop).iter().filter(|c| c.operation == op && c.outcome == "ok").count()
    }

    /// Reads or changes a shop's world (orders, stock, policies).
    pub fn world<T>(&self, shop: &str, f: impl FnOnce(&mut World) -> T) -> T {
        let mut shops = lock(&self.shared.shops);
        let account = shops.get_mut(shop).expect("dev shop: install the shop first");
        f(&mut account.world)
    }

    /// The mutations of `shop` whose effect was already there when they came.
    pub fn noops(&self, shop: &str) -> Vec<String> {
        self.world(shop, |w| w.noops.clone())
    }

    pub fn calls(&self, shop: &str) -> Vec<Call> {
        lock(&self.shared.shops).get(shop).map(|a| a.calls.clone()).unwrap_or_default()
    }

    /// Faults of every shop that has none of its own.
    pub fn set_faults(&self, faults: Faults) {
        *lock(&self.shared.faults) = faults;
    }

    /// Faults of `shop` alone (in place of the global ones), so one shop can be slow or
    /// denied while another is healthy.
    pub fn set_shop_faults(&self, shop: &str, faults: Faults) {
        lock(&self.shared.shop_faults).insert(shop.to_string(), faults);
    }

    /// Every Admin API call of `shop` from now on waits until the handle is released (or
    /// dropped): a platform that does not answer, for as long as the test wants.
    pub fn hold_calls(&self, shop: &str) -> Held {
        let (release, gate) = watch::channel(false);
        let waiting = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        lock(&self.shared.holds).insert(shop.to_string(), Gate { open: gate, waiting: waiting.clone() });
        Held { release, waiting }
    }

    pub async fn stop(self) {
        self.server.stop(true).await;
    }
}

/// A bulk operation's JSONL result, as Shopify's storage serves it (no token: the URL is the key).
async fn bulk_result(path: web::Path<(String, String)>, shared: web::Data<Shared>) -> HttpResponse {
    let (shop, file) = path.into_inner();
    let shops = lock(&shared.shops);
    match shops.get(&shop).and_then(|a| bulk::result(&a.world, &file)) {
        Some(jsonl) => HttpResponse::Ok().content_type("application/jsonl").body(jsonl),
        None => HttpResponse::NotFound().finish(),
    }
}
