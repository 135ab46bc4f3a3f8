//! `backorder reconcile [--shop S]`: repairs the ledger from the platform, shop by shop, with
//! progress on stderr and a report per shop on stdout.

use super::Outcome;
use crate::state::AppState;
use crate::sync::reconcile::reconcile_shop;

pub async fn run(state: &AppState, shop: Option<String>) -> Outcome {
    let shops = match shop {
        Some(s) => vec![s.trim().to_ascii_lowercase()],
        None => match state.books.shops().await {
            Ok(shops) => shops,
            Err(e) => return Outcome::failed(format!("backorder: cannot list the shops: {e}")),
        },
    };
    let mut out = Outcome { ok: true, ..Outcome::default() };
    for shop in shops {
        line(&mut out.stderr, format!("{shop}: reconciling"));
        let mut steps = Vec::new();
        let report = reconcile_shop(state, &shop, |step| steps.push(format!("{shop}: {step}"))).await;
        for step in steps {
            line(&mut out.stderr, step);
        }
        match report {
            Ok(r) => line(
                &mut out.stdout,
                format!(
                    "{shop}: {} variants; levels {} checked, {} repaired; orders {} checked, {} added, {} updated, {} closed; unattributed backlog {} → {}",
                    r.variants,
                    r.levels_checked,
                    r.levels_repaired,
                    r.orders_checked,
                    r.orders_added,
                    r.orders_updated,
                    r.orders_closed,
                    r.unattributed_before,
                    r.unattributed_after
                ),
            ),
            Err(e) => {
                line(&mut out.stderr, format!("{shop}: not reconciled: {e}"));
                out.ok = false;
            }
        }
    }
    out
}

fn line(to: &mut String, text: String) {
    if !to.is_empty() {
        to.push('\n');
    }
    to.push_str(&text);
}
