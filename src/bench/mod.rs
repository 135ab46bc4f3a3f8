//! `backorder bench`: the repository's load generators (benchmark plan, section 5 of the
//! performance reference; SPEC 8). Each measures against a ceiling taken in the same run:
//! - `intake`: signed `orders/create` at `POST /webhooks` against a bare actix handler;
//! - `ledger`: the ledger engine on one variant at several queue depths, against depth 10;
//! - `flash`: a flash sale on one hot variant, webhook to committed ledger, against intake only;
//! - `effects`: a backlog of effects against the dev shop's cost bucket, against its restore rate;
//! - `app`: the merchant app's pages at several backlog depths, against the shallowest;
//! - `scale`: shops and instances on a Redis Cluster, against the old idle pass, one instance
//!   and the ledger's own rate;
//! - `insight`: the demand insight on a simulated catalogue, against the demand that reached
//!   checkout and the target service level.

mod app;
mod bare;
mod drain;
mod effects;
mod flash;
mod ids;
mod insight;
mod intake;
mod ledger;
mod load;
pub mod payload;
mod prefix;
mod report;
mod scale;
mod scrape;
mod signed;

use std::process::ExitCode;
use std::time::Duration;

use reqwest::Client;

use crate::secret::Secret;

/// The counting store wrapper, for tests that count what a path asks of the store, and the
/// filler of a long queue written straight to the books.
pub use ledger::{counting, fill};

pub use app::AppArgs;
pub use effects::EffectsArgs;
pub use flash::FlashArgs;
pub use insight::InsightArgs;
pub use intake::IntakeArgs;
pub use ledger::LedgerArgs;
pub use scale::ScaleArgs;

/// Shopify gives an endpoint 5 s to answer a delivery; slower counts as failed, here too.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// The Admin API version the service is configured for (`shopify.api_version`).
const API_VERSION: &str = "2026-10";

#[derive(Debug, clap::Subcommand)]
pub enum BenchCommand {
    /// Signed orders/create webhooks at a running service, against a bare handler.
    Intake(IntakeArgs),
    /// The ledger engine on one variant at queue depths 10 / 10,000 / 100,000, straight on a store.
    Ledger(LedgerArgs),
    /// A flash sale on one hot variant through a running service, webhook to ledger commit.
    Flash(FlashArgs),
    /// The merchant app's pages at 10 / 10,000 / 100,000 waiting lines (server time), and the
    /// overview's LCP and CLS in Chromium.
    App(AppArgs),
    /// Effects of a backlog drained against the dev shop's cost bucket: the share of the restore
    /// rate used, with no THROTTLED reply after the warm-up.
    Effects(EffectsArgs),
    /// The demand insight on a seeded two-year simulation of a few hundred variants: the bias of
    /// demand estimated from sales, in-stock sales and this service's history, each method's
    /// RMSSE, the cycle service level of the reorder points, and the time per variant.
    Insight(InsightArgs),
    /// Shops and instances on a Redis Cluster: the idle pass over 10,000 shops and the delay to
    /// an effect, flash sales over 50 shops with 1-3 instances, the ledger under an intake flood.
    Scale(ScaleArgs),
}

pub async fn run(command: BenchCommand) -> ExitCode {
    match command {
        BenchCommand::Intake(args) => intake::run(args).await,
        BenchCommand::Ledger(args) => ledger::run(args).await,
        BenchCommand::Flash(args) => flash::run(args).await,
        BenchCommand::Effects(args) => effects::run(args).await,
        BenchCommand::App(args) => app::run(args).await,
        BenchCommand::Insight(args) => insight::run(args).await,
        BenchCommand::Scale(args) => scale::run(args).await,
    }
}

fn parse_secret(s: &str) -> Result<Secret, std::convert::Infallible> {
    Ok(Secret::new(s))
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn client(connections: usize) -> Result<Client, reqwest::Error> {
    Client::builder()
        // Shopify delivers over HTTP/1.1, one request at a time per connection.
        .http1_only()
        .pool_max_idle_per_host(connections)
        .tcp_nodelay(true)
        // A proxy from the environment would be measured instead of the service.
        .no_proxy()
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .build()
}
