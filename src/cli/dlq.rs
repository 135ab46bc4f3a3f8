//! `backorder dlq list` and `backorder dlq replay [ID]` (`operator::dlq`), against the store, or
//! through the running service that holds the embedded store.

use std::process::ExitCode;

use clap::Subcommand;

use super::Target;
use crate::operator;

#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// Show dead-lettered entries, oldest first.
    List {
        /// Show at most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Put one entry (or every entry) back: a webhook in the queue with a fresh attempt count,
    /// an effect marked again for the next effects pass.
    Replay {
        /// The id shown by `dlq list`; every entry when omitted.
        id: Option<String>,
    },
}

pub async fn run(command: DlqCommand) -> ExitCode {
    let target = match super::target().await {
        Ok(t) => t,
        Err(code) => return code,
    };
    let outcome = match (&target, command) {
        (Target::Store(store, _), DlqCommand::List { limit }) => operator::dlq::list(store.as_ref(), limit).await,
        (Target::Store(store, _), DlqCommand::Replay { id }) => {
            operator::dlq::replay(store.as_ref(), id.as_deref()).await
        }
        (Target::Service(h), DlqCommand::List { limit }) => {
            super::ask(h, reqwest::Method::GET, "/operator/dlq", &[("limit", limit.to_string())]).await
        }
        (Target::Service(h), DlqCommand::Replay { id }) => {
            let query: Vec<(&str, String)> = id.into_iter().map(|id| ("id", id)).collect();
            super::ask(h, reqwest::Method::POST, "/operator/dlq/replay", &query).await
        }
    };
    super::print(outcome)
}
