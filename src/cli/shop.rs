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
    match install::save(&crate::books::Books::new(store), &sealer, &shop, &install).await {
        Ok(()) => {
            println!("registered {shop}: its access token is stored encrypted");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("backorder: cannot store the install: {e}");
            ExitCode::FAILURE
        }
    }
}
