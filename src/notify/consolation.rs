//! Consolation for those who wait (SPEC 10.3), the pure part: when an order qualifies for its one
//! discount code, and the code itself. The code is derived from the shop and the order with a key
//! of its own (`derive::Purpose::ConsolationCode`), so a retry after a crash between creating it
//! on the platform and recording it finds the code it made instead of making a second; and it is
//! unguessable, so a guest's code is theirs alone.
//!
//! Not wired to the effects yet: the platform calls, the email kind and its template come next.

use crate::derive::{Purpose, mac};
pub use crate::shop::{Consolation, ConsolationKind};

const DAY_MS: i64 = 24 * 3600 * 1000;

/// An order as the rule sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waiting {
    /// The later of its creation and its variant's enrolment (ms).
    pub since_ms: i64,
    /// Days its ETA moved later, in total.
    pub slipped_days: u32,
    pub placed_before_install: bool,
    /// It has units backordered now.
    pub waits: bool,
    /// A code was made for it already.
    pub consoled: bool,
}

/// Whether the order gets its code now: the offer is on, it still waits, it has none yet, it may
/// take part (placed after install, or the merchant opted in), and it has waited longer than
/// `after_days` or seen its date slip by more than `slip_days`.
pub fn qualifies(offer: &Consolation, order: &Waiting, now_ms: i64) -> bool {
    if !offer.enabled || !order.waits || order.consoled || (order.placed_before_install && !offer.before_install) {
        return false;
    }
    let waited = now_ms.saturating_sub(order.since_ms) > i64::from(offer.after_days).saturating_mul(DAY_MS);
    waited || order.slipped_days > offer.slip_days
}

/// Letters of a code, for a customer who types it: no I, L or O, so 0 and 1 read as digits.
const ALPHABET: &[u8; 32] = b"ABCDEFGHJKMNPQRSTUVWXYZ023456789";

/// The order's code: `WAIT-` and 16 characters (80 bits) of a keyed hash of the shop and order.
pub fn code_for(app_secret: &[u8], shop: &str, order_id: u64) -> String {
    use hmac::Mac;
    let mut m = mac(app_secret, Purpose::ConsolationCode);
    m.update(shop.as_bytes());
    m.update(&[0]);
    m.update(&order_id.to_be_bytes());
    let digest = m.finalize().into_bytes();
    let mut bits: u128 = 0;
    for b in &digest[..10] {
        bits = (bits << 8) | u128::from(*b);
    }
    let code: String = (0..16).map(|i| ALPHABET[((bits >> (75 - 5 * i)) & 31) as usize] as char).collect();
    format!("WAIT-{code}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn waiting(days: i64) -> Waiting {
        Waiting { since_ms: 0, slipped_days: 0, placed_before_install: false, waits: true, consoled: false }
            .with_days(days)
    }

    impl Waiting {
        fn with_days(mut self, days: i64) -> Self {
            self.since_ms = -days * DAY_MS;
            self
        }
    }

    fn on() -> Consolation {
        Consolation { enabled: true, ..Consolation::default() }
    }

    #[test]
    fn an_order_qualifies_after_its_wait_or_its_slip_and_never_twice_or_once_it_no_longer_waits() {
        assert!(!qualifies(&Consolation::default(), &waiting(30), 0), "off by default");
        assert!(!qualifies(&on(), &waiting(21), 0), "21 days is not more than 21");
        assert!(qualifies(&on(), &waiting(22), 0));
        assert!(qualifies(&on(), &Waiting { slipped_days: 8, ..waiting(1) }, 0), "a slip of 8 days");
        assert!(!qualifies(&on(), &Waiting { slipped_days: 7, ..waiting(1) }, 0));
        assert!(!qualifies(&on(), &Waiting { consoled: true, ..waiting(30) }, 0), "once");
        assert!(!qualifies(&on(), &Waiting { waits: false, ..waiting(30) }, 0), "no longer waits");
        let before = Waiting { placed_before_install: true, ..waiting(30) };
        assert!(!qualifies(&on(), &before, 0), "placed before install: only when opted in");
        assert!(qualifies(&Consolation { before_install: true, ..on() }, &before, 0));
    }

    #[test]
    fn a_code_is_the_same_for_its_order_and_another_for_every_other_order_shop_or_secret() {
        let code = code_for(b"secret", "a.myshopify.com", 42);
        assert_eq!(code, code_for(b"secret", "a.myshopify.com", 42), "a retry finds the same code");
        assert_ne!(code, code_for(b"secret", "a.myshopify.com", 43));
        assert_ne!(code, code_for(b"secret", "b.myshopify.com", 42));
        assert_ne!(code, code_for(b"other", "a.myshopify.com", 42));
        assert_eq!(code.len(), 21);
        assert!(code[5..].bytes().all(|b| ALPHABET.contains(&b)), "{code}");
    }

    #[test]
    fn settings_written_before_consolation_read_as_off() {
        let old: Consolation = serde_json::from_str("{}").unwrap();
        assert_eq!(old, Consolation::default());
        assert!(!old.enabled);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::ledger::proptest_cases(256)))]

        /// Whatever the offer and the order: never for an order that no longer waits or has its
        /// code, never while the offer is off.
        #[test]
        fn never_for_an_order_that_no_longer_waits_or_has_its_code(
            enabled in any::<bool>(), after in 0u32..100, slip in 0u32..30, days in 0i64..400,
            slipped in 0u32..60, waits in any::<bool>(), consoled in any::<bool>(), before in any::<bool>(),
        ) {
            let offer = Consolation { enabled, after_days: after, slip_days: slip, before_install: before, ..Consolation::default() };
            let order = Waiting { slipped_days: slipped, waits, consoled, placed_before_install: before, ..waiting(days) };
            if qualifies(&offer, &order, 0) {
                prop_assert!(enabled && waits && !consoled);
            }
        }
    }
}
