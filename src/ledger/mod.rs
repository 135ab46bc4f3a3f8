//! The ledger rules of SPEC 4 as pure functions over plain data: no I/O here. Store backends
//! persist what these functions compute and nothing else.

pub mod book;
pub mod daily;
pub mod eta;
pub mod input;
pub mod kept;
mod key;
pub mod memory;
pub mod preview;
pub mod records;
pub mod rules;
pub mod supply;
pub mod window;

pub use book::{Header, LineChange, Lines, Moved};
pub use key::FillKey;

/// Property-test cases: `default` in CI, more with `PROPTEST_CASES=N`.
#[cfg(test)]
pub(crate) fn proptest_cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}
