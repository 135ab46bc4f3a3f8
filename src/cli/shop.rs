//! `backorder shop add --shop S --access-token T`: a custom (single-store) app's install,
//! registered without OAuth.

use std::process::ExitCode;

use clap::Subcommand;

use crate::auth::install::{self, Install};
use crate::secret::Secret;
use crate::shopify::is_shop_domain;
use crate::store;

#[derive(Debug, Subcommand)]
pub enum ShopCommand {
    /// Register a shop with an Admin API access token from its custom app.
    Add {
        /// The shop's myshopify domain, e.g. example.myshopify.com.
        #[arg(long)]
        shop: String,
        /// The Admin API access token (shpat_…); read from the environment to keep it out of
        /// shell history.
        #[arg(long, env = "BACKORDER_SHOP_ACCESS_TOKEN", hide_env_values = true)]
        access_token: String,
        /// The scopes the token was granted, comma-separated.
        #[arg(long, value_delimiter = ',')]
        scopes: Vec<String>,
    },
}

pub async fn run(command: ShopCommand) -> ExitCode {
    let ShopCommand::Add { shop, access_token, scopes } = command;
    let shop = shop.trim().to_ascii_lowercase();
    if !is_shop_domain(&shop) || !shop.ends_with(".myshopify.com") {
        eprintln!("backorder: `{shop}` is not a shop domain like example.myshopify.com");
        return ExitCode::from(2);
    }
    if access_token.trim().is_empty() {
        eprintln!("backorder: the access token is empty");
        return ExitCode::from(2);
    }
    let settings = match super::load_settings() {
        Ok(s) => s,
        Err(code) => return code,
    };
    let Some(sealer) = settings.sealer() else {
        eprintln!("backorder: BACKORDER__SECURITY__ENCRYPTION_KEY must be set: tokens are stored encrypted");
        return ExitCode::from(2);
    };
    let store = match super::open_store(&settings).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let install = Install {
        access_token: Secret::new(access_token.trim()),
        refresh_token: None,
        expires_at_ms: None,
        scopes,
        installed_at_ms: store::now_ms() as i64,
    };
    if let Err(e) = install::save(&crate::books::Books::new(store.clone()), &sealer, &shop, &install).await {
        eprintln!("backorder: cannot store the install: {e}");
        return ExitCode::FAILURE;
    }
    println!("registered {shop}: its access token is stored encrypted");
    subscribe(store, settings, &shop, &install.access_token).await;
    ExitCode::SUCCESS
}

/// A custom app has no `shopify.app.toml` subscriptions: its webhooks are created here, by API
/// (SPEC 3.5). Idempotent, so running `shop add` again completes what a failure left undone;
/// bounded, so a platform out of reach delays the command a few seconds, not minutes.
async fn subscribe(
    store: crate::store::SharedStore,
    mut settings: crate::config::Settings,
    shop: &str,
    token: &Secret,
) {
    settings.platform.max_attempts = settings.platform.max_attempts.min(2);
    let state = crate::state::AppState::new(store, std::sync::Arc::new(settings));
    let created = crate::auth::subscriptions::register(&state, shop, token);
    match tokio::time::timeout(std::time::Duration::from_secs(10), created).await {
        Ok(Ok(n)) => println!("webhook subscriptions: {n} created (the others existed)"),
        Ok(Err(e)) => eprintln!("backorder: webhook subscriptions not created ({e}); run `backorder shop add` again"),
        Err(_) => eprintln!(
            "backorder: webhook subscriptions not created (the platform did not answer); run `backorder shop add` again"
        ),
    }
}
