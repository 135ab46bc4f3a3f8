//! Every Redis key name, built in one place.
//!
//! Three kinds of keys exist:
//! - each intake shard (`store::shard`) has a hash tag of its own: its stream, retries, dead
//!   letters, dedupe marks, shops set, due index and owner lease share it, so a dedupe mark and
//!   its enqueue are one atomic script on one Cluster slot, and the shards spread over the
//!   cluster's nodes. A shop's webhooks always take its shard, and so do duplicates of them;
//! - everything that belongs to a shop carries the hash tag `{shop-domain}`, so a shop's whole
//!   change is one atomic script in Redis Cluster too;
//! - the legacy keys of a store written before the shards (`{intake}` for the one stream, its
//!   retries, dead letters and shops set, `{due}` for the due index), which this version drains
//!   and reads but never writes to, and the registry of live instances (`{instances}`).
//!
//! The prefix lets several deployments (or parallel tests) share one Redis.

use std::sync::Arc;

use super::shard::{self, Lane};

#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
    /// The hash tag of each shard, by shard number.
    tags: Arc<[String]>,
}

/// The consumer group every worker of every instance reads in.
pub const GROUP: &str = "workers";

impl Keys {
    pub fn new(prefix: &str) -> Self {
        Self::with_shards(prefix, shard::DEFAULT_SHARDS)
    }

    pub fn with_shards(prefix: &str, shards: u16) -> Self {
        Self { prefix: prefix.to_string(), tags: shard::tags(shards).into() }
    }

    /// How many shards the keys spread over.
    pub fn shards(&self) -> u16 {
        self.tags.len() as u16
    }

    /// The lane of `shop`'s webhooks.
    pub fn lane_of(&self, shop: &str) -> Lane {
        shard::lane_of(shop, self.shards())
    }

    fn lane(&self, lane: Lane, suffix: &str) -> String {
        match lane {
            Lane::Legacy => format!("{}:{{intake}}:{suffix}", self.prefix),
            Lane::Shard(s) => format!("{}:{{{}}}:{suffix}", self.prefix, self.tags[usize::from(s) % self.tags.len()]),
        }
    }

    /// The stream of verified deliveries waiting for a worker.
    pub fn queue(&self, lane: Lane) -> String {
        self.lane(lane, "queue")
    }

    /// Retries waiting out their delay: a sorted set scored by due time (ms).
    pub fn delayed(&self, lane: Lane) -> String {
        self.lane(lane, "delayed")
    }

    /// Dead letters: a stream, so they list in order and replay by id.
    pub fn dead(&self, lane: Lane) -> String {
        self.lane(lane, "dead")
    }

    pub fn seen_delivery(&self, lane: Lane, webhook_id: &str) -> String {
        self.lane(lane, &format!("seen:wh:{webhook_id}"))
    }

    pub fn seen_event(&self, lane: Lane, event_id: &str) -> String {
        self.lane(lane, &format!("seen:ev:{event_id}"))
    }

    /// Every shop of the lane that is installed or has a ledger (`Store::shops` is the union
    /// over the lanes). The legacy lane's set is what versions before the shards wrote.
    pub fn shops(&self, lane: Lane) -> String {
        self.lane(lane, "shops")
    }

    /// The lane's shops with work due (`BookStore::due_shops`): a sorted set of shop domains
    /// scored by when their next work is due (ms). A shop's commit, on the shop's slot, updates
    /// it with separate commands.
    pub fn due(&self, lane: Lane) -> String {
        match lane {
            // Written by the version that had one index for all shops; read by none now.
            Lane::Legacy => format!("{}:{{due}}:shops", self.prefix),
            Lane::Shard(_) => self.lane(lane, "due"),
        }
    }

    /// The lease of the instance that owns the shard's work.
    pub fn owner(&self, lane: Lane) -> String {
        self.lane(lane, "owner")
    }

    /// The number of shards, written once by the first instance on a store so that every later
    /// one (whatever its setting) maps shops to the same streams.
    pub fn shard_count(&self) -> String {
        format!("{}:{{intake}}:shards", self.prefix)
    }

    /// The live instances that consume: a sorted set of instance ids scored by when their
    /// heartbeat lapses (ms). Each instance takes its share of the shards from its size.
    pub fn instances(&self) -> String {
        format!("{}:{{instances}}:live", self.prefix)
    }

    fn shop(&self, shop: &str, suffix: &str) -> String {
        format!("{}:{{{shop}}}:{suffix}", self.prefix)
    }

    /// Marks an event of a shop as processed.
    pub fn processed(&self, shop: &str, event_key: &str) -> String {
        self.shop(shop, &format!("done:{event_key}"))
    }

    /// Hash: topic → events processed.
    pub fn processed_counts(&self, shop: &str) -> String {
        self.shop(shop, "counts")
    }

    /// One ledger record (`Record::name()`), a string of bytes.
    pub fn record(&self, shop: &str, name: &str) -> String {
        self.shop(shop, &format!("rec:{name}"))
    }

    /// A variant's open lines: a sorted set, every score 0, members = 28-byte fill key + 4-byte
    /// big-endian quantity, so member order is fill order.
    pub fn lines(&self, shop: &str, variant: u64) -> String {
        self.shop(shop, &format!("lines:{variant}"))
    }

    /// The locations that have a level record of an inventory item (sorted set of ids).
    pub fn level_index(&self, shop: &str, item: u64) -> String {
        self.shop(shop, &format!("levels:{item}"))
    }

    /// Sorted set of `o:<order>` / `v:<variant>` whose derived state changed, scored by the
    /// time (ms) of the last change: the effects act once a mark has settled.
    pub fn dirty(&self, shop: &str) -> String {
        self.shop(shop, "pending")
    }

    /// A lease held by one instance at a time (e.g. the effects of a shop).
    pub fn lock(&self, shop: &str, name: &str) -> String {
        self.shop(shop, &format!("lock:{name}"))
    }

    /// The shop's tombstone after `shop/redact`: while it lives (the dedupe window), no write of
    /// the shop lands, except a new install's. `forget_shop` leaves it.
    pub fn gone(&self, shop: &str) -> String {
        self.shop(shop, "gone")
    }

    /// A `SCAN MATCH` pattern of every key of the shop (`shop/redact`), glob characters escaped.
    pub fn shop_pattern(&self, shop: &str) -> String {
        let escape = |s: &str| {
            s.chars().fold(String::new(), |mut out, c| {
                if matches!(c, '*' | '?' | '[' | ']' | '\\') {
                    out.push('\\');
                }
                out.push(c);
                out
            })
        };
        format!("{}:{{{}}}:*", escape(&self.prefix), escape(shop))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text Redis Cluster hashes: the first `{…}` with something inside.
    fn hash_tag(key: &str) -> &str {
        let open = key.find('{').expect("key has a tag");
        let close = key[open..].find('}').expect("tag closes") + open;
        &key[open + 1..close]
    }

    #[test]
    fn a_shards_keys_share_its_slot_and_shards_differ() {
        let k = Keys::new("bo");
        let mut tags = std::collections::HashSet::new();
        for s in 0..k.shards() {
            let lane = Lane::Shard(s);
            let tag = hash_tag(&k.queue(lane)).to_string();
            for key in [
                k.delayed(lane),
                k.dead(lane),
                k.seen_delivery(lane, "x"),
                k.seen_event(lane, "y"),
                k.shops(lane),
                k.due(lane),
                k.owner(lane),
            ] {
                assert_eq!(hash_tag(&key), tag, "{key}");
            }
            assert!(tags.insert(tag));
        }
        assert_eq!(tags.len(), 16);
    }

    #[test]
    fn the_legacy_keys_are_those_of_the_single_stream() {
        let k = Keys::new("bo");
        assert_eq!(k.queue(Lane::Legacy), "bo:{intake}:queue");
        assert_eq!(k.delayed(Lane::Legacy), "bo:{intake}:delayed");
        assert_eq!(k.dead(Lane::Legacy), "bo:{intake}:dead");
        assert_eq!(k.shops(Lane::Legacy), "bo:{intake}:shops");
        assert_eq!(k.due(Lane::Legacy), "bo:{due}:shops");
    }

    #[test]
    fn the_shop_pattern_matches_the_shop_keys_only() {
        let k = Keys::new("bo");
        assert_eq!(k.shop_pattern("a.myshopify.com"), "bo:{a.myshopify.com}:*");
        assert_eq!(Keys::new("b*").shop_pattern("x"), "b\\*:{x}:*");
        assert!(
            k.record("a.myshopify.com", "install").starts_with(k.shop_pattern("a.myshopify.com").trim_end_matches('*'))
        );
    }

    #[test]
    fn shop_keys_carry_the_shop_tag() {
        let k = Keys::new("bo");
        let shop = "a.myshopify.com";
        for key in [
            k.processed(shop, "ev:1"),
            k.processed_counts(shop),
            k.record(shop, "order:1"),
            k.lines(shop, 3),
            k.level_index(shop, 7),
            k.dirty(shop),
            k.lock(shop, "effects"),
        ] {
            assert_eq!(hash_tag(&key), "a.myshopify.com", "{key}");
        }
    }
}
