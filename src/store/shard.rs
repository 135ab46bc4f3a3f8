//! Intake shards: which lane of the queue a shop's webhooks take, and the hash tags that spread
//! the lanes over a Redis Cluster's slots.
//!
//! A shop always maps to the same shard (from a fixed hash of its domain, the same in every
//! version and process), so its events keep their order of arrival in one stream, its dedupe
//! marks sit on that stream's slot, and one instance at a time can own all of its work by
//! owning the shard. Shards spread over the cluster by their hash tags: shard `s` of `n` gets a
//! tag whose slot falls in the `s`-th of `n` equal slices of the 16,384 slots, so any cluster
//! whose nodes own contiguous, roughly equal slot ranges (what `redis-cli --cluster create`
//! makes) gets an even share of the shards.
//!
//! The hash is the shop's own Cluster slot (its keys carry the tag `{shop}`): a shop's shard is
//! the slice its slot falls in. Its lane's keys and its own keys then sit on the same node
//! wherever the nodes' slot ranges follow the slices, so a node that fails stops the shops it
//! holds and no others (a shop of a slice that straddles two nodes' ranges is the exception).
//!
//! [`Lane::Legacy`] is the single stream of stores written before the shards (`{intake}`): read
//! and drained by every version that knows the shards, written only by older ones.

use std::sync::{Arc, PoisonError, RwLock};

/// The number of shards of a new store when the setting does not say.
pub const DEFAULT_SHARDS: u16 = 16;
/// The most shards a store may have: beyond this, tags would crowd the slot slices.
pub const MAX_SHARDS: u16 = 1024;

/// The lanes whose work this process does, shared by its consumers and its effects dispatcher.
/// Unset (no consumers run here: `queue.workers` = 0), every lane.
#[derive(Debug, Default, Clone)]
pub struct OwnedLanes(Arc<RwLock<Option<Vec<Lane>>>>);

impl OwnedLanes {
    /// The lanes to serve now.
    pub fn current(&self, shards: u16) -> Vec<Lane> {
        self.0.read().unwrap_or_else(PoisonError::into_inner).clone().unwrap_or_else(|| lanes(shards))
    }

    pub fn set(&self, lanes: Vec<Lane>) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = Some(lanes);
    }
}

/// Redis Cluster's slot count.
const SLOTS: u32 = 16_384;

/// One stream of the intake queue, with its retries and dead letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Lane {
    /// The single stream of a store written before the shards.
    Legacy,
    Shard(u16),
}

impl Lane {
    /// For logs and dead-letter ids.
    pub fn label(self) -> String {
        match self {
            Lane::Legacy => "legacy".into(),
            Lane::Shard(s) => s.to_string(),
        }
    }
}

/// The shard of `shop` among `shards`: the slice of the slots its own slot falls in, so the
/// answer never depends on the process, the platform or the build.
pub fn shard_of(shop: &str, shards: u16) -> u16 {
    slice_of(slot(shop), clamped(shards))
}

/// The lane of `shop`'s webhooks.
pub fn lane_of(shop: &str, shards: u16) -> Lane {
    Lane::Shard(shard_of(shop, shards))
}

/// Every shard lane of a store with `shards` shards.
pub fn lanes(shards: u16) -> Vec<Lane> {
    (0..shards.max(1)).map(Lane::Shard).collect()
}

/// CRC16-XMODEM, the checksum Redis Cluster hashes keys with.
fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for b in data {
        crc ^= u16::from(*b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
        }
    }
    crc
}

/// The Cluster slot of a hash tag's text.
pub fn slot(tag: &str) -> u16 {
    (u32::from(crc16(tag.as_bytes())) % SLOTS) as u16
}

/// The hash tag of each of `shards` shards: `q<shard>.<k>` with the smallest `k` whose slot
/// falls in the shard's slice of the slots. Deterministic, so every process agrees.
pub fn tags(shards: u16) -> Vec<String> {
    let n = clamped(shards);
    (0..n)
        .map(|s| {
            (0u32..)
                .map(|k| format!("q{s}.{k}"))
                .find(|tag| slice_of(slot(tag), n) == s)
                .expect("some tag lands in every slice")
        })
        .collect()
}

/// The slice of the slots (of `n`) that `slot` falls in: the one rule for shops and tags alike.
fn slice_of(slot: u16, n: u16) -> u16 {
    (u32::from(slot) * u32::from(n) / SLOTS) as u16
}

fn clamped(shards: u16) -> u16 {
    shards.clamp(1, MAX_SHARDS)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn the_checksum_is_redis_clusters() {
        // The reference value in the Redis Cluster specification.
        assert_eq!(crc16(b"123456789"), 0x31C3);
        // `CLUSTER KEYSLOT foo` is 12182; `{user1000}.following` hashes `user1000` only.
        assert_eq!(slot("foo"), 12182);
    }

    #[test]
    fn each_tag_lands_in_its_slice_of_the_slots() {
        for n in [1u16, 3, 16, 22, 64, 1000] {
            let tags = tags(n);
            assert_eq!(tags.len(), usize::from(n));
            for (s, tag) in tags.iter().enumerate() {
                // Slice s holds the slots x with x * n / 16,384 = s: [s * 16,384 / n, …) rounded up.
                let slot = u32::from(slot(tag));
                let (low, high) =
                    ((s as u32 * SLOTS).div_ceil(u32::from(n)), ((s as u32 + 1) * SLOTS).div_ceil(u32::from(n)));
                assert!((low..high).contains(&slot), "{tag}: {slot} not in {low}..{high}");
                assert!(!tag.contains(['{', '}']));
            }
        }
    }

    #[test]
    fn a_shops_shard_never_changes() {
        // Fixed values: a change here would move every installed shop to another stream.
        assert_eq!(slot("a.myshopify.com"), 6351);
        assert_eq!(shard_of("a.myshopify.com", 16), 6);
        assert_eq!(shard_of("foo", 16), 11, "slot 12182 is in the twelfth slice of 1,024");
        assert_eq!(shard_of("anything", 1), 0);
    }

    proptest! {
        #[test]
        fn every_shop_has_a_shard_within_the_count(shop in ".{0,60}", shards in 1u16..=MAX_SHARDS) {
            prop_assert!(shard_of(&shop, shards) < shards);
        }

        #[test]
        fn a_shops_lane_shares_the_slice_of_its_own_slot(shop in "[a-z0-9-]{1,30}\\.myshopify\\.com", shards in 1u16..=64) {
            let s = shard_of(&shop, shards);
            let lane_slot = slot(&tags(shards)[usize::from(s)]);
            // Both in slice s, as the floor ranges of the slots count it.
            let n = u32::from(shards);
            let floor = |slot: u16| u32::from(slot) * n / SLOTS;
            prop_assert_eq!(floor(slot(&shop)), u32::from(s));
            prop_assert_eq!(floor(lane_slot), u32::from(s));
        }
    }

    #[test]
    fn many_shops_spread_over_the_shards() {
        let mut counts = [0u32; 16];
        for i in 0..16_000 {
            counts[usize::from(shard_of(&format!("shop-{i}.myshopify.com"), 16))] += 1;
        }
        // 1,000 each on average; a fair hash stays well within ±20 %.
        assert!(counts.iter().all(|c| (800..1200).contains(c)), "{counts:?}");
    }
}
