#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;

use backorder::cli::{Cli, run};

fn main() -> ExitCode {
    let cli = Cli::parse();
    backorder::init_crypto();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("backorder: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(cli))
}
