//! `backorder bench app`: the merchant app's pages, server-rendered, at several backlog depths.
//! For each depth: a fresh namespace, one managed variant with that many waiting lines (written
//! straight to the books, every line backordered) and a service in this process on loopback;
//! then each page is requested from every depth's service in turn. The ceiling is the shallowest depth of the same run: a page's
//! speed at the deepest must be at least half of it (SPEC 11: a page costs the same at any
//! depth). With Chromium and chromedriver on the machine, the overview's Largest Contentful
//! Paint and Cumulative Layout Shift are measured too (`vitals`).

mod report;
mod vitals;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use super::ledger::fill::{self, ITEM, VARIANT};
use crate::app::App;
use crate::auth::install::{self, Install};
use crate::books::apply::{Event, apply_level};
use crate::config::Settings;
use crate::secret::Secret;
use crate::store::StoreUrl;
use report::{PageResult, Vitals};

const API_KEY: &str = "bench-app-key";
const SHOP: &str = "bench-app.myshopify.com";

/// Each page of the app, with the path it is read at.
pub const PAGES: [(&str, &str); 6] = [
    ("overview", "/app"),
    ("variants", "/app/variants"),
    ("variant", "/app/variants/{variant}"),
    ("emails", "/app/emails"),
    ("settings", "/app/settings"),
    ("activity", "/app/activity"),
];

#[derive(Debug, clap::Args)]
pub struct AppArgs {
    /// The store: redis://HOST:PORT/ (keys under a fresh prefix per depth, deleted afterwards)
    /// or file://DIR (a fresh embedded store per depth under DIR, deleted afterwards).
    #[arg(long, env = "BACKORDER__STORE__URL")]
    pub store_url: String,
    /// Waiting lines on the variant, comma-separated; the first is the ceiling.
    #[arg(long, value_delimiter = ',', default_value = "10,10000,100000")]
    pub depths: Vec<usize>,
    /// Measured requests per page and depth (after as many unmeasured ones as a tenth of it).
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(10..=100_000))]
    pub requests: u64,
    /// Overview loads in Chromium per depth for LCP and CLS (0: none).
    #[arg(long, default_value_t = 8)]
    pub loads: u32,
    /// Seed of the line sizes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

pub async fn run(args: AppArgs) -> ExitCode {
    match bench(&args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("backorder bench app: {e}");
            ExitCode::from(2)
        }
    }
}

async fn bench(args: &AppArgs) -> Result<bool, String> {
    let parsed = StoreUrl::parse(&args.store_url).map_err(|e| e.to_string())?;
    if matches!(parsed, StoreUrl::RedisCluster(_)) {
        return Err("a Redis Cluster is not supported here: give one node's redis:// URL".into());
    }
    let run = fastrand::u32(..);
    // The pages load App Bridge from this stand-in, so a page in Chromium needs no internet.
    let devshop = crate::devshop::DevShop::start(1000.0, 100.0).await.map_err(|e| e.to_string())?;
    let browser = if args.loads > 0 { vitals::Browser::start().await? } else { None };
    if args.loads > 0 && browser.is_none() {
        eprintln!("no chromium/chromedriver on this machine: LCP and CLS are not measured");
    }
    // Every depth's service runs at once and the requests take turns between them, so a
    // moment of noise on the machine falls on every depth alike, not on one depth's figures.
    let mut services = Vec::new();
    for &depth in &args.depths {
        let name = format!("app-bench-{run:08x}-{depth}");
        let url = match &parsed {
            StoreUrl::File(dir) => format!("file://{}", dir.join(&name).display()),
            StoreUrl::Redis(url) => url.clone(),
            StoreUrl::RedisCluster(_) => unreachable!("refused above"),
        };
        let started = Instant::now();
        let app = start(&url, &name, &devshop).await?;
        fill_waiting(&app, depth, args.seed).await?;
        eprintln!("depth {depth}: {depth} waiting lines in {:.1}s", started.elapsed().as_secs_f64());
        services.push(Service { depth, url, name, app });
    }
    let http = reqwest::Client::builder().no_proxy().build().map_err(|e| e.to_string())?;
    let mut pages = Vec::new();
    for (page, path) in PAGES {
        let path = path.replace("{variant}", &VARIANT.to_string());
        // Unmeasured first: what the process warms once (allocator, caches, connections).
        interleaved(&http, &services, &path, args.requests / 2).await?;
        for (samples, s) in interleaved(&http, &services, &path, args.requests).await?.into_iter().zip(&services) {
            pages.push(PageResult { page, depth: s.depth, samples });
        }
    }
    let mut vitals = Vec::new();
    if let Some(browser) = &browser {
        for s in &services {
            let mut loads = Vec::new();
            for _ in 0..args.loads {
                let token =
                    crate::auth::session_token::mint(SHOP, API_KEY, s.app.state.settings.api_secret().as_bytes());
                let url = format!("{}/app?shop={SHOP}&id_token={token}", s.app.url());
                loads.push(browser.load(&url).await?);
            }
            vitals.push(Vitals { depth: s.depth, loads });
        }
    }
    for s in services {
        s.app.stop().await;
        super::ledger::remove(&parsed, &s.url, &s.name).await.unwrap_or_else(|e| eprintln!("depth {}: {e}", s.depth));
    }
    if let Some(browser) = browser {
        browser.stop().await;
    }
    let (text, pass) = report::render(args, &parsed, &pages, &vitals);
    print!("{text}");
    Ok(pass)
}

/// The service on loopback over the store at `url` under `prefix`, with the shop installed, and
/// no effects or drift passes (there is no platform to send them to).
async fn start(url: &str, prefix: &str, devshop: &crate::devshop::DevShop) -> Result<App, String> {
    let secret = format!("bench-app-secret-{:016x}", fastrand::u64(..));
    let key =
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, fastrand::u64(..).to_be_bytes().repeat(4));
    let env = [
        ("BACKORDER__SERVER__BIND", "127.0.0.1:0".to_string()),
        ("BACKORDER__SHOPIFY__API_KEY", API_KEY.into()),
        ("BACKORDER__SHOPIFY__API_SECRET", secret),
        ("BACKORDER__SECURITY__ENCRYPTION_KEY", key),
        ("BACKORDER__STORE__URL", url.into()),
        ("BACKORDER__STORE__PREFIX", prefix.into()),
        ("BACKORDER__LOG__LEVEL", "warn".into()),
        ("BACKORDER__EFFECTS__SWEEP_MS", "0".into()),
        ("BACKORDER__RECONCILE__INTERVAL_SECS", "0".into()),
        ("BACKORDER__APP__BRIDGE_URL", format!("{}/admin/app-bridge.js", devshop.url)),
        // The platform is the dev shop, which does not know the bench's shop: a page that reads
        // the platform (the settings' locations) gets its refusal at once, never the internet.
        ("BACKORDER__SHOPIFY__ADMIN_BASE_URL", devshop.admin_base_url()),
        ("BACKORDER__PLATFORM__MAX_ATTEMPTS", "1".into()),
    ];
    let settings = Settings::load_from(env.into_iter().map(|(k, v)| (k.to_string(), v))).map_err(|e| e.to_string())?;
    let sealer = settings.sealer().ok_or("no encryption key")?;
    let app = App::start(settings).await.map_err(|e| e.to_string())?;
    let install = Install {
        access_token: Secret::new("shpat_bench"),
        refresh_token: None,
        expires_at_ms: None,
        scopes: Vec::new(),
        installed_at_ms: crate::store::now_ms() as i64,
    };
    install::save(&app.state.books, &sealer, SHOP, &install).await.map_err(|e| e.to_string())?;
    Ok(app)
}

/// `depth` open lines on the variant, then stock that leaves every one of them waiting.
async fn fill_waiting(app: &App, depth: usize, seed: u64) -> Result<(), String> {
    let books = &app.state.books;
    let open = fill::orders(depth, &mut fastrand::Rng::with_seed(seed ^ depth as u64));
    fill::fill(books, SHOP, &open).await?;
    let units: i64 = open.iter().map(|o| i64::from(o.qty)).sum();
    let event = Event::new(SHOP, "bench:all-waiting".into(), "bench", Duration::from_secs(3600));
    apply_level(books, &event, &fill::level(-units, fill::EPOCH_MS + 1)).await.map_err(|e| e.to_string())?;
    let record = books.get(SHOP, crate::books::key::Variant(VARIANT)).await.map_err(|e| e.to_string())?;
    let waiting = record.map(|r| r.header.backordered()).unwrap_or(0);
    if waiting != units as u64 {
        return Err(format!("setup: {waiting} units wait, not {units} (item {ITEM})"));
    }
    Ok(())
}

/// One depth's service and where its data lives.
struct Service {
    depth: usize,
    url: String,
    name: String,
    app: App,
}

/// `requests` reads of `path` from each service in turn, each with a fresh session token in its
/// URL as the admin's navigation sends it; per service, the sorted latencies in microseconds.
async fn interleaved(
    http: &reqwest::Client,
    services: &[Service],
    path: &str,
    requests: u64,
) -> Result<Vec<Vec<u32>>, String> {
    let mut samples = vec![Vec::with_capacity(requests as usize); services.len()];
    let sep = if path.contains('?') { '&' } else { '?' };
    for _ in 0..requests {
        for (s, out) in services.iter().zip(samples.iter_mut()) {
            let token = crate::auth::session_token::mint(SHOP, API_KEY, s.app.state.settings.api_secret().as_bytes());
            let url = format!("{}{path}{sep}shop={SHOP}&id_token={token}", s.app.url());
            let t = Instant::now();
            let resp = http.get(&url).send().await.map_err(|e| format!("{path}: {e}"))?;
            let status = resp.status();
            resp.bytes().await.map_err(|e| format!("{path}: {e}"))?;
            out.push(t.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
            if !status.is_success() {
                return Err(format!("{path} at depth {}: HTTP {status}", s.depth));
            }
        }
    }
    for out in &mut samples {
        out.sort_unstable();
    }
    Ok(samples)
}
