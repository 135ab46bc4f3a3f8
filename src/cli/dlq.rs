//! `backorder dlq list` and `backorder dlq replay [ID]`.

use std::process::ExitCode;

use clap::Subcommand;

use crate::store::{Buried, DeadLetter, Mark};

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

/// One line per entry: what an operator needs to decide whether to replay. An effect shows what
/// it is about where a webhook shows its topic, and has no webhook id.
pub fn render(entries: &[DeadLetter]) -> String {
    let mut out = format!("{:<22} {:<8} {:<24} {:<32} {:<38} reason", "id", "kind", "topic", "shop", "webhook id");
    for e in entries {
        let (what, webhook_id) = match &e.buried {
            Buried::Webhook(envelope) => (envelope.meta.topic.clone(), envelope.meta.webhook_id.as_str()),
            Buried::Effect { mark, .. } => (about(mark), "-"),
        };
        out.push_str(&format!(
            "\n{:<22} {:<8} {:<24} {:<32} {:<38} {}",
            e.id,
            e.kind().as_str(),
            what,
            e.shop(),
            webhook_id,
            e.reason
        ));
    }
    out
}

/// What an effect is about, in one word an operator can read.
fn about(mark: &Mark) -> String {
    match mark {
        Mark::Order(id) => format!("order/{id}"),
        Mark::Variant(id) => format!("variant/{id}"),
        Mark::Mail(id) => format!("mail/{id}"),
        Mark::ShopMail => "shop-mail".into(),
    }
}
