//! `backorder reconcile [--shop S]`: repairs the ledger from the platform, shop by shop, with
//! progress on stderr and a report per shop on stdout.

use std::process::ExitCode;
use std::sync::Arc;

use crate::state::AppState;
use crate::sync::reconcile::reconcile_shop;

pub async fn run(shop: Option<String>) -> ExitCode {
    let settings = match super::load_settings() {
        Ok(s) => s,
        Err(code) => return code,
    };
    let store = match super::open_store(&settings).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let state = AppState::new(store, Arc::new(settings));
    let shops = match shop {
        Some(s) => vec![s.trim().to_ascii_lowercase()],
        None => match state.books.shops().await {
            Ok(shops) => shops,
            Err(e) => {
                eprintln!("backorder: cannot list the shops: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    let mut failed = false;
    for shop in shops {
        eprintln!("{shop}: reconciling");
        match reconcile_shop(&state, &shop, |step| eprintln!("{shop}: {step}")).await {
            Ok(r) => println!(
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
            Err(e) => {
                eprintln!("{shop}: not reconciled: {e}");
                failed = true;
            }
        }
    }
    if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}
