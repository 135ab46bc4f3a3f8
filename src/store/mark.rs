//! Dirty marks: what a commit leaves for the effects dispatcher to reconcile once it has settled.
//! One encoder and one parser for the stored form (`o:<order>`, `v:<variant>`, `m:<order>`,
//! `s:0`), so no caller builds or splits these strings by hand.

use std::fmt;

use super::StoreError;

/// Something whose derived state changed and whose effects (platform calls, emails) are due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mark {
    /// An order's tags and holds.
    Order(u64),
    /// A variant's inventory policy and ETA metafield.
    Variant(u64),
    /// An order's outbox has emails waiting.
    Mail(u64),
    /// The shop owner's outbox has emails waiting.
    ShopMail,
}

impl Mark {
    /// The stored form.
    pub fn encode(&self) -> String {
        self.to_string()
    }

    /// Reads the stored form back; anything else is corrupt data, never a guess.
    pub fn parse(stored: &str) -> Result<Self, StoreError> {
        let bad = || StoreError::Corrupt(format!("dirty mark {stored:?}"));
        let (kind, id) = stored.split_once(':').ok_or_else(bad)?;
        // Digits only: `parse` alone would take a leading `+`, and two spellings of one mark
        // would be two marks.
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) || (id.len() > 1 && id.starts_with('0')) {
            return Err(bad());
        }
        let id: u64 = id.parse().map_err(|_| bad())?;
        match (kind, id) {
            ("o", id) => Ok(Mark::Order(id)),
            ("v", id) => Ok(Mark::Variant(id)),
            ("m", id) => Ok(Mark::Mail(id)),
            ("s", 0) => Ok(Mark::ShopMail),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for Mark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mark::Order(id) => write!(f, "o:{id}"),
            Mark::Variant(id) => write!(f, "v:{id}"),
            Mark::Mail(id) => write!(f, "m:{id}"),
            Mark::ShopMail => f.write_str("s:0"),
        }
    }
}

/// A mark as the dispatcher read it: with the time of the change it stands for, so clearing it
/// leaves a mark that was set again meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settled {
    pub mark: Mark,
    pub changed_at_ms: u64,
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn any_mark() -> impl Strategy<Value = Mark> {
        prop_oneof![
            any::<u64>().prop_map(Mark::Order),
            any::<u64>().prop_map(Mark::Variant),
            any::<u64>().prop_map(Mark::Mail),
            Just(Mark::ShopMail),
        ]
    }

    proptest! {
        #[test]
        fn every_mark_reads_back_as_itself(mark in any_mark()) {
            prop_assert_eq!(Mark::parse(&mark.encode()).unwrap(), mark);
        }

        #[test]
        fn parsing_any_string_never_panics_and_accepts_only_the_one_spelling(s in ".{0,24}") {
            if let Ok(mark) = Mark::parse(&s) {
                prop_assert_eq!(mark.encode(), s);
            }
        }
    }

    #[test]
    fn other_spellings_are_corrupt() {
        for bad in ["", "o", "o:", "o:+1", "o:01", "x:1", "s:1", "o:-1", "v:18446744073709551616", "o: 1"] {
            assert!(Mark::parse(bad).is_err(), "{bad:?}");
        }
    }
}
