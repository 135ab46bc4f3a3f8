//! The Lua scripts of the Redis store, one file per atomic operation under `lua/`, each with a
//! KEYS/ARGV header.

use redis::Script;

/// The Lua scripts, one per atomic operation. `invoke_async` sends EVALSHA and falls back to
/// loading the script on NOSCRIPT, which is what happens after a Redis restart or failover.
pub(super) struct Scripts {
    pub(super) enqueue: Script,
    pub(super) ack: Script,
    pub(super) renew: Script,
    pub(super) retry: Script,
    pub(super) dead: Script,
    pub(super) promote: Script,
    pub(super) replay: Script,
    pub(super) commit: Script,
    pub(super) ledger_commit: Script,
    pub(super) clear_dirty: Script,
    pub(super) lease: Script,
    pub(super) release: Script,
    pub(super) forget: Script,
    pub(super) due_set: Script,
    pub(super) due_reschedule: Script,
    pub(super) heartbeat: Script,
}

impl Scripts {
    pub(super) fn new() -> Self {
        Self {
            enqueue: Script::new(include_str!("lua/enqueue.lua")),
            ack: Script::new(include_str!("lua/ack.lua")),
            renew: Script::new(include_str!("lua/renew.lua")),
            retry: Script::new(include_str!("lua/retry.lua")),
            dead: Script::new(include_str!("lua/dead.lua")),
            promote: Script::new(include_str!("lua/promote.lua")),
            replay: Script::new(include_str!("lua/replay.lua")),
            commit: Script::new(include_str!("lua/commit.lua")),
            ledger_commit: Script::new(include_str!("lua/ledger_commit.lua")),
            clear_dirty: Script::new(include_str!("lua/clear_dirty.lua")),
            lease: Script::new(include_str!("lua/lease.lua")),
            release: Script::new(include_str!("lua/release.lua")),
            forget: Script::new(include_str!("lua/forget.lua")),
            due_set: Script::new(include_str!("lua/due_set.lua")),
            due_reschedule: Script::new(include_str!("lua/due_reschedule.lua")),
            heartbeat: Script::new(include_str!("lua/heartbeat.lua")),
        }
    }
}
