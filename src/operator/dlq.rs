//! `backorder dlq list` and `backorder dlq replay [ID]`.

use super::Outcome;
use crate::store::{Buried, DeadLetter, Mark, Queue};

/// The dead letters, oldest first, at most `limit`.
pub async fn list(queue: &dyn Queue, limit: usize) -> Outcome {
    match queue.dead_letters(limit).await {
        Ok(entries) if entries.is_empty() => Outcome::ok("the dead-letter list is empty".into()),
        Ok(entries) => Outcome::ok(render(&entries)),
        Err(e) => Outcome::failed(format!("backorder: {e}")),
    }
}

/// Puts one dead letter (or all) back.
pub async fn replay(queue: &dyn Queue, id: Option<&str>) -> Outcome {
    match queue.replay_dead_letters(id).await {
        Ok(0) if id.is_some() => {
            Outcome::failed(format!("backorder: no dead letter with id {}", id.unwrap_or_default()))
        }
        Ok(n) => Outcome::ok(format!("replayed {n} entr{}", if n == 1 { "y" } else { "ies" })),
        Err(e) => Outcome::failed(format!("backorder: {e}")),
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
