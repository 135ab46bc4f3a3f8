//! What the stores keep for the ledger: opaque records and ordered lines per shop, read freely and
//! written in one atomic, checked step. The rules that decide what to write live in
//! `crate::ledger`; a backend only stores bytes and compares them.

use std::ops::Bound;
use std::time::Duration;

use crate::ledger::FillKey;

/// A record of a shop's ledger. Each is one value of bytes (JSON written by the ledger).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Record {
    /// The shop's settings the rules read (priority map, counted locations).
    Rules,
    /// What the ledger keeps of an order.
    Order(u64),
    /// The latest level of an inventory item at a location.
    Level { item: u64, location: u64 },
    /// A managed variant: its settings, inventory item and book header.
    Variant(u64),
    /// The managed variants an inventory item backs.
    Item(u64),
    /// Every managed variant of the shop, for shop-wide views and settings changes.
    Variants,
    /// The shop's settings the rules do not read (tags, holds, timings, emails): kept apart so
    /// the record every event reads stays small.
    Settings,
    /// The shop's install: sealed access (and refresh) tokens.
    Install,
    /// What the effects last applied on the platform for an order (tags, holds).
    AppliedOrder(u64),
    /// What the effects last applied for a variant (inventory policy).
    AppliedVariant(u64),
    /// Whom an order's emails go to and what its lines are called: the personal data
    /// `customers/redact` erases.
    Contact(u64),
    /// An order's emails: those sent, those waiting in the outbox, the ETAs last told.
    Mail(u64),
    /// The customer asked to cancel the order on its status page (when).
    CancelRequest(u64),
    /// The shop owner's emails (reorder alerts, digests, data requests): sent and waiting.
    ShopMail,
    /// When the shop's timed jobs (reminders, the weekly digest) next come due.
    Schedule,
}

impl Record {
    /// A stable name, used in store keys: `rules`, `order:1`, `level:7:2`, `variant:3`, `item:9`,
    /// `variants`, `settings`.
    pub fn name(&self) -> String {
        match self {
            Record::Rules => "rules".into(),
            Record::Order(id) => format!("order:{id}"),
            Record::Level { item, location } => format!("level:{item}:{location}"),
            Record::Variant(id) => format!("variant:{id}"),
            Record::Item(id) => format!("item:{id}"),
            Record::Variants => "variants".into(),
            Record::Settings => "settings".into(),
            Record::Install => "install".into(),
            Record::AppliedOrder(id) => format!("applied:o:{id}"),
            Record::AppliedVariant(id) => format!("applied:v:{id}"),
            Record::Contact(id) => format!("contact:{id}"),
            Record::Mail(id) => format!("mail:{id}"),
            Record::CancelRequest(id) => format!("cancel:{id}"),
            Record::ShopMail => "mail:shop".into(),
            Record::Schedule => "schedule".into(),
        }
    }
}

/// One line of a variant's book after a change; `qty == 0` removes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineWrite {
    pub variant: u64,
    pub key: FillKey,
    /// The quantity stored before (0 = absent): Redis keeps it inside the member.
    pub old: u32,
    pub qty: u32,
}

/// Lines of one variant read around a point, and how far the read is complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRead {
    pub lines: Vec<(FillKey, u32)>,
    pub low: Bound<FillKey>,
    pub high: Bound<FillKey>,
}

/// Everything one event changes, committed atomically or not at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerCommit {
    /// The event's processed mark; a commit for an event already processed changes nothing.
    pub event_key: String,
    pub topic: String,
    pub mark_ttl: Duration,
    /// Records as the decision saw them (`None`: absent). If any differs now, nothing is
    /// written and the caller decides again from fresh reads.
    pub expect: Vec<(Record, Option<Vec<u8>>)>,
    /// New values; `None` deletes.
    pub writes: Vec<(Record, Option<Vec<u8>>)>,
    pub lines: Vec<LineWrite>,
    /// Orders and variants whose derived state changed: the input of the effects.
    pub dirty_orders: Vec<u64>,
    pub dirty_variants: Vec<u64>,
    /// Orders with emails waiting in their outbox.
    pub dirty_mail: Vec<u64>,
    /// The shop owner's outbox has emails waiting.
    pub dirty_shop_mail: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitOutcome {
    Applied,
    /// The event's mark was there: it was processed before.
    AlreadyProcessed,
    /// A record changed since it was read.
    Conflict,
}

/// Orders and variants waiting for their effects to be reconciled.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dirty {
    pub orders: Vec<u64>,
    pub variants: Vec<u64>,
    pub mail: Vec<u64>,
    pub shop_mail: bool,
}

impl LedgerCommit {
    /// The dirty marks as stored: `o:<order>`, `v:<variant>`, `m:<order>` and `s:0` (the shop
    /// owner's outbox).
    pub fn dirty_marks(&self) -> Vec<String> {
        let orders = self.dirty_orders.iter().map(|o| format!("o:{o}"));
        let mail = self.dirty_mail.iter().map(|o| format!("m:{o}"));
        let shop = self.dirty_shop_mail.then(|| "s:0".to_string());
        orders.chain(self.dirty_variants.iter().map(|v| format!("v:{v}"))).chain(mail).chain(shop).collect()
    }
}

impl Dirty {
    /// Reads stored marks back, sorted.
    pub fn from_marks<'a>(marks: impl IntoIterator<Item = &'a str>) -> Result<Self, super::StoreError> {
        let mut dirty = Dirty::default();
        for mark in marks {
            let bad = || super::StoreError::Corrupt(format!("dirty mark {mark:?}"));
            let (kind, id) = mark.split_once(':').ok_or_else(bad)?;
            let id: u64 = id.parse().map_err(|_| bad())?;
            match kind {
                "o" => dirty.orders.push(id),
                "v" => dirty.variants.push(id),
                "m" => dirty.mail.push(id),
                "s" => dirty.shop_mail = true,
                _ => return Err(bad()),
            }
        }
        dirty.orders.sort_unstable();
        dirty.variants.sort_unstable();
        dirty.mail.sort_unstable();
        Ok(dirty)
    }
}

impl LineRead {
    /// Puts together the two reads of `ledger_lines`: `before` nearest first (descending),
    /// `after` ascending from `around` on (empty without `around`).
    pub fn assemble(mut before: Vec<(FillKey, u32)>, after: Vec<(FillKey, u32)>, around: bool, reach: usize) -> Self {
        let low =
            if before.len() < reach { Bound::Unbounded } else { Bound::Included(before.last().expect("reach > 0").0) };
        let high = if !around || after.len() < reach {
            Bound::Unbounded
        } else {
            Bound::Included(after.last().expect("reach > 0").0)
        };
        before.reverse();
        before.extend(after);
        Self { lines: before, low, high }
    }
}
