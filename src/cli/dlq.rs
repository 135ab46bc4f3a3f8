//! `backorder dlq list` and `backorder dlq replay [ID]`.

use std::process::ExitCode;

use clap::Subcommand;

use crate::store::DeadLetter;

#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// Show dead-lettered entries, oldest first.
    List {
        /// Show at most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Put one entry (or every entry) back in the queue with a fresh attempt count.
    Replay {
        /// The id shown by `dlq list`; every entry when omitted.
        id: Option<String>,
    },
}

pub async fn run(command: DlqCommand) -> ExitCode {
    let settings = match super::load_settings() {
        Ok(s) => s,
        Err(code) => return code,
    };
    let store = match super::open_store(&settings).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    match command {
        DlqCommand::List { limit } => match store.dead_letters(limit).await {
            Ok(entries) if entries.is_empty() => {
                println!("the dead-letter list is empty");
                ExitCode::SUCCESS
            }
            Ok(entries) => {
                println!("{}", render(&entries));
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("backorder: {e}");
                ExitCode::FAILURE
            }
        },
        DlqCommand::Replay { id } => match store.replay_dead_letters(id.as_deref()).await {
            Ok(0) if id.is_some() => {
                eprintln!("backorder: no dead letter with id {}", id.unwrap_or_default());
                ExitCode::FAILURE
            }
            Ok(n) => {
                println!("replayed {n} entr{}", if n == 1 { "y" } else { "ies" });
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("backorder: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

/// One line per entry: what an operator needs to decide whether to replay.
pub fn render(entries: &[DeadLetter]) -> String {
    let mut out = format!("{:<22} {:<8} {:<24} {:<32} {:<38} reason", "id", "kind", "topic", "shop", "webhook id");
    for e in entries {
        let m = &e.envelope.meta;
        out.push_str(&format!(
            "\n{:<22} {:<8} {:<24} {:<32} {:<38} {}",
            e.id,
            serde_json::to_value(e.kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
            m.topic,
            m.shop,
            m.webhook_id,
            e.reason
        ));
    }
    out
}
