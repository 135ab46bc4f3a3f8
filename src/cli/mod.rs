//! The command line of SPEC 3.1.

mod dlq;
mod insight;
mod reconcile;
mod shop;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::app::App;
use crate::config::Settings;

#[derive(Debug, Parser)]
#[command(
    name = "backorder",
    version,
    about = "Sell out-of-stock variants on backorder without losing track of anyone"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service: HTTP endpoints and queue workers.
    Serve,
    /// Play a flash sale on this machine: the service, an embedded store and the built-in dev
    /// shop, no outside service needed.
    Demo {
        /// Keep the service and the dev shop running after the sale (Ctrl-C stops them).
        #[arg(long)]
        keep_running: bool,
        /// Seed of the webhook shuffling, for a reproducible run.
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
    /// Inspect the configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Dead-lettered webhooks.
    Dlq {
        #[command(subcommand)]
        command: dlq::DlqCommand,
    },
    /// Compare the ledger with the platform (levels, open orders) and repair the drift.
    Reconcile {
        /// Only this shop (default: every shop that ever sent a webhook).
        #[arg(long)]
        shop: Option<String>,
    },
    /// Shops of a custom (single-store) app.
    Shop {
        #[command(subcommand)]
        command: shop::ShopCommand,
    },
    /// Demand insight: forecasts of daily demand histories (SPEC 10.1).
    Insight {
        #[command(subcommand)]
        command: insight::InsightCommand,
    },
    /// Load generators of BENCHMARKS.md: intake, ledger depth, flash sale.
    Bench {
        #[command(subcommand)]
        command: crate::bench::BenchCommand,
    },
    /// Dev only (scripts/chaos): a flash sale while instances and Redis are killed, then a
    /// check that nothing was lost or done twice (RELIABILITY.md).
    #[command(hide = true)]
    Chaos(crate::chaos::ChaosArgs),
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration and print the effective values, secrets redacted.
    Check,
}

pub async fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Config { command: ConfigCommand::Check } => config_check(),
        Command::Serve => serve().await,
        Command::Demo { keep_running, seed } => demo(keep_running, seed).await,
        Command::Dlq { command } => dlq::run(command).await,
        Command::Shop { command } => shop::run(command).await,
        Command::Reconcile { shop } => reconcile::run(shop).await,
        Command::Insight { command } => insight::run(command),
        Command::Bench { command } => crate::bench::run(command).await,
        Command::Chaos(args) => crate::chaos::run(args).await,
    }
}

async fn demo(keep_running: bool, seed: u64) -> ExitCode {
    let options = crate::demo::DemoOptions { seed, ..Default::default() };
    let (_, stage) = match crate::demo::run(&options).await {
        Ok(done) => done,
        Err(e) => {
            eprintln!("backorder demo: {e}");
            return ExitCode::FAILURE;
        }
    };
    if keep_running {
        println!(
            "\nStill running. Open the app as the merchant of {} sees it in the admin:\n\n  {}\n\n\
             (the service at {}, the dev shop at {}). Ctrl-C stops both.",
            crate::demo::SHOP,
            stage.devshop.admin_app_url(crate::demo::SHOP),
            stage.app.url(),
            stage.devshop.url
        );
        let _ = tokio::signal::ctrl_c().await;
    }
    stage.stop().await;
    ExitCode::SUCCESS
}

/// Where an operator command runs: on the store, or through the running service that holds
/// the embedded store (`operator::handoff`).
pub(crate) enum Target {
    Store(crate::store::SharedStore, Box<Settings>),
    Service(crate::operator::handoff::Handoff),
}

/// Opens the configured store; when a running service holds the embedded store, says so and
/// answers the way to ask it instead.
pub(crate) async fn target() -> Result<Target, ExitCode> {
    let settings = load_settings()?;
    match crate::store::open_with(&settings.store.url, &settings.store.prefix, settings.queue.shards).await {
        Ok(store) => Ok(Target::Store(store, Box::new(settings))),
        Err(e) => match crate::operator::handoff::read(&settings.store.url) {
            Some(handoff) => {
                eprintln!("backorder: the embedded store is held by a running service; asking it at {}", handoff.url);
                Ok(Target::Service(handoff))
            }
            None => {
                eprintln!("backorder: cannot open the store: {e}");
                Err(ExitCode::FAILURE)
            }
        },
    }
}

/// Asks the running service to run an operator command and answers what it printed.
pub(crate) async fn ask(
    handoff: &crate::operator::handoff::Handoff,
    method: reqwest::Method,
    path: &str,
    query: &[(&str, String)],
) -> crate::operator::Outcome {
    let failed = |why: String| {
        crate::operator::Outcome::failed(format!(
            "backorder: the running service at {} did not answer: {why}",
            handoff.url
        ))
    };
    let client = match reqwest::Client::builder().build() {
        Ok(c) => c,
        Err(e) => return failed(e.to_string()),
    };
    let mut url = match url::Url::parse(&format!("{}{path}", handoff.url)) {
        Ok(u) => u,
        Err(e) => return failed(e.to_string()),
    };
    url.query_pairs_mut().extend_pairs(query);
    let resp = client.request(method, url).bearer_auth(&handoff.token).send().await;
    match resp {
        Ok(r) if r.status().is_success() => r.json().await.unwrap_or_else(|e| failed(e.to_string())),
        Ok(r) => failed(format!("HTTP {}", r.status())),
        Err(e) => failed(e.to_string()),
    }
}

/// Prints what a command printed, and exits as it did.
pub(crate) fn print(outcome: crate::operator::Outcome) -> ExitCode {
    if !outcome.stderr.is_empty() {
        eprintln!("{}", outcome.stderr);
    }
    if !outcome.stdout.is_empty() {
        println!("{}", outcome.stdout);
    }
    if outcome.ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// Opens the configured store or explains why not.
pub(crate) async fn open_store(settings: &Settings) -> Result<crate::store::SharedStore, ExitCode> {
    crate::store::open_with(&settings.store.url, &settings.store.prefix, settings.queue.shards).await.map_err(|e| {
        eprintln!("backorder: cannot open the store: {e}");
        ExitCode::FAILURE
    })
}

/// Loads the layers or explains why not.
pub(crate) fn load_settings() -> Result<Settings, ExitCode> {
    Settings::load().map_err(|e| {
        eprintln!("backorder: {e}");
        ExitCode::from(2)
    })
}

fn config_check() -> ExitCode {
    let settings = match load_settings() {
        Ok(s) => s,
        Err(code) => return code,
    };
    for (key, value) in settings.effective() {
        println!("{key} = {value}");
    }
    for warning in settings.warnings() {
        println!("\nwarning: {warning}");
    }
    match settings.validate() {
        Ok(()) => {
            println!("\nconfiguration is valid");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("\nbackorder: {e}");
            ExitCode::from(2)
        }
    }
}

async fn serve() -> ExitCode {
    let settings = match load_settings() {
        Ok(s) => s,
        Err(code) => return code,
    };
    crate::telemetry::init(&settings.log);
    if let Err(e) = settings.validate() {
        eprintln!("backorder: {e}");
        return ExitCode::from(2);
    }
    for warning in settings.warnings() {
        // Loud on both: an operator reads the terminal, a platform reads the logs.
        eprintln!("backorder: WARNING: {warning}");
        tracing::warn!(warning = %warning, "configuration");
    }
    let signals = match crate::app::Signals::listen() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("backorder: cannot listen for signals: {e}");
            return ExitCode::FAILURE;
        }
    };
    let app = match App::start(settings).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!(error = %e, "cannot start");
            eprintln!("backorder: {e}");
            return ExitCode::FAILURE;
        }
    };
    match app.run_until_signal(signals).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("backorder: {e}");
            ExitCode::FAILURE
        }
    }
}
