//! What an operator's commands do (`backorder dlq …`, `backorder reconcile …`), as text. The
//! CLI runs them against the store it opens; when a running service holds the embedded store
//! (one process may open it at a time), the CLI asks that service to run them instead, through
//! its operator endpoints (`http::operator`, found through [`handoff`]), and prints its answer.
//! Both ways print the same, because both print this module's [`Outcome`].

pub mod dlq;
pub mod handoff;
pub mod reconcile;

use serde::{Deserialize, Serialize};

/// What a command printed and whether it succeeded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub stdout: String,
    pub stderr: String,
    pub ok: bool,
}

impl Outcome {
    pub fn ok(stdout: String) -> Self {
        Self { stdout, stderr: String::new(), ok: true }
    }

    pub fn failed(stderr: String) -> Self {
        Self { stdout: String::new(), stderr, ok: false }
    }
}
