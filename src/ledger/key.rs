//! The fill order of SPEC 4: priority class descending, then order `created_at` ascending, then
//! order id, then line id (so two lines of one order have a fixed order too).

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FillKey {
    pub priority: i32,
    pub created_at_ms: i64,
    pub order_id: u64,
    pub line_id: u64,
}

impl Ord for FillKey {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .priority
            .cmp(&self.priority)
            .then(self.created_at_ms.cmp(&other.created_at_ms))
            .then(self.order_id.cmp(&other.order_id))
            .then(self.line_id.cmp(&other.line_id))
    }
}

impl PartialOrd for FillKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl FillKey {
    pub const ENCODED_LEN: usize = 28;

    /// Bytes whose lexicographic order is the fill order, for ordered stores (a Redis sorted set
    /// compared by member, a redb key).
    pub fn encode(&self) -> [u8; Self::ENCODED_LEN] {
        let mut out = [0u8; Self::ENCODED_LEN];
        // Flipping the sign bit makes signed numbers sort as unsigned; inverting the priority makes
        // higher classes sort first.
        let priority = !((self.priority as u32) ^ 0x8000_0000);
        out[0..4].copy_from_slice(&priority.to_be_bytes());
        out[4..12].copy_from_slice(&((self.created_at_ms as u64) ^ (1 << 63)).to_be_bytes());
        out[12..20].copy_from_slice(&self.order_id.to_be_bytes());
        out[20..28].copy_from_slice(&self.line_id.to_be_bytes());
        out
    }

    pub fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != Self::ENCODED_LEN {
            return None;
        }
        let word = |r: std::ops::Range<usize>| u64::from_be_bytes(bytes[r].try_into().expect("8 bytes"));
        let priority = !u32::from_be_bytes(bytes[0..4].try_into().expect("4 bytes")) ^ 0x8000_0000;
        Some(Self {
            priority: priority as i32,
            created_at_ms: (word(4..12) ^ (1 << 63)) as i64,
            order_id: word(12..20),
            line_id: word(20..28),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key() -> impl Strategy<Value = FillKey> {
        (any::<i32>(), any::<i64>(), any::<u64>(), any::<u64>()).prop_map(
            |(priority, created_at_ms, order_id, line_id)| FillKey { priority, created_at_ms, order_id, line_id },
        )
    }

    proptest! {
        #[test]
        fn encoded_keys_sort_like_the_fill_order(a in key(), b in key()) {
            prop_assert_eq!(a.encode().cmp(&b.encode()), a.cmp(&b));
            prop_assert_eq!(FillKey::decode(&a.encode()), Some(a));
        }
    }

    #[test]
    fn a_vip_placed_later_fills_before_an_earlier_ordinary_order() {
        let ordinary = FillKey { priority: 0, created_at_ms: 1, order_id: 1, line_id: 1 };
        let vip = FillKey { priority: 10, created_at_ms: 2, order_id: 2, line_id: 1 };
        assert!(vip < ordinary);
    }
}
