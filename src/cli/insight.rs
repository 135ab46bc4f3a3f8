//! `backorder insight forecast --input FILE.csv [--method M] [--horizon H]` (SPEC 3.1): the
//! service's forecasting code run on histories from a file, so an analyst (and anyone checking
//! us) sees what the service would advise. One JSON object per series on standard output.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use serde_json::json;

use crate::forecast::{Method, auto, fit, parse_histories, sigma};

/// Days forecast when `--horizon` is not given (SPEC 10.1).
const HORIZON: usize = 28;
/// The longest horizon printed: a year.
const MAX_HORIZON: usize = 366;

#[derive(Debug, Subcommand)]
pub enum InsightCommand {
    /// Forecast each series of a CSV file of daily demand (`series,date,qty`).
    Forecast {
        /// The histories: header `series,date,qty`, a row per series and day (a day without a
        /// row is 0; rows of one series and day add up).
        #[arg(long)]
        input: PathBuf,
        /// `ses`, `croston`, `sba`, `tsb`, `adida` or `auto` (chosen per series; the default).
        #[arg(long, default_value = "auto")]
        method: String,
        /// Days to forecast.
        #[arg(long, default_value_t = HORIZON)]
        horizon: usize,
    },
}

pub fn run(command: InsightCommand) -> ExitCode {
    let InsightCommand::Forecast { input, method, horizon } = command;
    let chosen = match method.as_str() {
        "auto" => None,
        name => match Method::parse(name) {
            Some(m) => Some(m),
            None => {
                eprintln!("backorder: --method must be ses, croston, sba, tsb, adida or auto, not `{name}`");
                return ExitCode::from(2);
            }
        },
    };
    if horizon == 0 || horizon > MAX_HORIZON {
        eprintln!("backorder: --horizon must be from 1 to {MAX_HORIZON} days");
        return ExitCode::from(2);
    }
    let text = match std::fs::read_to_string(&input) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("backorder: cannot read {}: {e}", input.display());
            return ExitCode::from(2);
        }
    };
    let histories = match parse_histories(&text) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("backorder: {}: {e}", input.display());
            return ExitCode::from(2);
        }
    };
    let mut out = std::io::stdout().lock();
    for (name, y) in &histories.series {
        let method = chosen.unwrap_or_else(|| auto(y));
        let f = fit(method, y);
        let line = json!({"series": name, "method": method, "forecast": vec![f.rate; horizon],
                          "rate": f.rate, "sigma": sigma(y, &f.fitted)});
        if writeln!(out, "{line}").is_err() {
            // The reader went away (a pipe into `head`): nothing more to say.
            return ExitCode::SUCCESS;
        }
    }
    ExitCode::SUCCESS
}
