//! How the CLI finds a running service that holds the embedded store: `serve` writes
//! `operator.json` (its address and a token made at start, readable by the owner only) into the
//! store's directory, and removes it when it stops. Whoever can read the store's files can
//! already read everything in it, so the file's access is the store's.

use std::io::Write;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

const FILE: &str = "operator.json";

/// Where and how to ask the running service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handoff {
    /// The service's base URL, on the loopback interface.
    pub url: String,
    /// Bearer token of its operator endpoints.
    pub token: String,
}

/// The handoff file of an embedded store (`file://PATH`); `None` for Redis.
pub fn path(store_url: &str) -> Option<PathBuf> {
    store_url.strip_prefix("file://").map(|dir| PathBuf::from(dir).join(FILE))
}

/// Writes the handoff, readable by the owner only.
pub fn write(store_url: &str, handoff: &Handoff) -> std::io::Result<()> {
    let Some(path) = path(store_url) else { return Ok(()) };
    let bytes = serde_json::to_vec(handoff).map_err(std::io::Error::other)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(&path)?.write_all(&bytes)
}

/// The handoff a running service left, if any.
pub fn read(store_url: &str) -> Option<Handoff> {
    serde_json::from_slice(&std::fs::read(path(store_url)?).ok()?).ok()
}

pub fn remove(store_url: &str) {
    if let Some(path) = path(store_url) {
        let _ = std::fs::remove_file(path);
    }
}

/// A token of 32 random bytes, hex.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    aes_gcm::aead::rand_core::RngCore::fill_bytes(&mut aes_gcm::aead::OsRng, &mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
