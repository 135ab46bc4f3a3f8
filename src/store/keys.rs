//! Every Redis key name, built in one place.
//!
//! Two kinds of keys exist:
//! - the intake queue and its dedupe marks share the hash tag `{intake}`, so a dedupe mark and its
//!   enqueue are one atomic script on one Cluster slot. Delivery and event ids are global at
//!   Shopify, so these keys name no shop;
//! - everything that belongs to a shop carries the hash tag `{shop-domain}`, so a shop's whole
//!   change is one atomic script in Redis Cluster too;
//! - the index of shops with work due has the hash tag `{due}`: a slot of its own, away from the
//!   intake's traffic, that a later scale-out can split into shards.
//!
//! The prefix lets several deployments (or parallel tests) share one Redis.

#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

/// The consumer group every worker of every instance reads in.
pub const GROUP: &str = "workers";

impl Keys {
    pub fn new(prefix: &str) -> Self {
        Self { prefix: prefix.to_string() }
    }

    fn intake(&self, suffix: &str) -> String {
        format!("{}:{{intake}}:{suffix}", self.prefix)
    }

    /// The stream of verified deliveries waiting for a worker.
    pub fn queue(&self) -> String {
        self.intake("queue")
    }

    /// Retries waiting out their delay: a sorted set scored by due time (ms).
    pub fn delayed(&self) -> String {
        self.intake("delayed")
    }

    /// Dead letters: a stream, so they list in order and replay by id.
    pub fn dead(&self) -> String {
        self.intake("dead")
    }

    pub fn seen_delivery(&self, webhook_id: &str) -> String {
        self.intake(&format!("seen:wh:{webhook_id}"))
    }

    pub fn seen_event(&self, event_id: &str) -> String {
        self.intake(&format!("seen:ev:{event_id}"))
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

    /// Every shop that is installed or has a ledger (`Store::shops`): sweeps over all shops
    /// start here. Under `{intake}`, so one slot holds the whole set.
    pub fn shops(&self) -> String {
        self.intake("shops")
    }

    /// The shops with work due (`BookStore::due_shops`): a sorted set of shop domains scored by when
    /// their next work is due (ms). Under `{due}`, so a script on it touches one slot; a shop's
    /// commit, on the shop's slot, updates it with separate commands.
    pub fn due(&self) -> String {
        format!("{}:{{due}}:shops", self.prefix)
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
    fn intake_keys_share_one_slot() {
        let k = Keys::new("bo");
        for key in [k.queue(), k.delayed(), k.dead(), k.seen_delivery("x"), k.seen_event("y"), k.shops()] {
            assert_eq!(hash_tag(&key), "intake", "{key}");
        }
    }

    #[test]
    fn the_due_index_has_a_slot_of_its_own() {
        let k = Keys::new("bo");
        assert_eq!(hash_tag(&k.due()), "due");
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
