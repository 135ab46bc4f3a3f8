//! What the stores keep for the ledger: opaque records and ordered lines per shop, read freely and
//! written in one atomic, checked step. The rules that decide what to write live in
//! `crate::ledger`; a backend only stores bytes and compares them.

use std::ops::Bound;
use std::time::Duration;

use super::Mark;
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
    /// A long job of the shop (onboarding, reconcile): its state and progress.
    Job(u64),
    /// The shop's latest job ids.
    Jobs,
    /// The shop's drift repair: when it last ran, and what it repaired lately.
    Drift,
    /// The app's effects that people undid by hand lately (SPEC 9: people win over the app).
    ByPeople,
    /// One month (`yyyymm`) of a variant's daily record (SPEC 10.1).
    Daily { variant: u64, month: u32 },
    /// What the app did lately for the shop: platform changes made, emails sent.
    Log,
    /// The shop's last read of its order history for the daily record (`backfill`).
    Backfill,
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
            Record::Job(id) => format!("job:{id}"),
            Record::Jobs => "jobs".into(),
            Record::Drift => "drift".into(),
            Record::ByPeople => "people".into(),
            Record::Daily { variant, month } => format!("daily:{variant}:{month}"),
            Record::Log => "log".into(),
            Record::Backfill => "backfill".into(),
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

/// The processed mark of the webhook event a commit stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventMark {
    /// Unique per event of a shop; a commit whose key is marked already changes nothing.
    pub key: String,
    /// Counted per topic in the shop's processed counts.
    pub topic: String,
    /// How long the mark is kept: the dedupe window of the event.
    pub ttl: Duration,
}

/// Everything one change writes, committed atomically or not at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerCommit {
    /// The event this commit processes, if it is one. A write that is not an event (a setting,
    /// a claim, an email sent) has none and leaves no processed mark and no count.
    pub event: Option<EventMark>,
    /// Records as the decision saw them (`None`: absent). If any differs now, nothing is
    /// written and the caller decides again from fresh reads.
    pub expect: Vec<(Record, Option<Vec<u8>>)>,
    /// New values; `None` deletes.
    pub writes: Vec<(Record, Option<Vec<u8>>)>,
    pub lines: Vec<LineWrite>,
    /// What the effects must reconcile after this change (platform state, outboxes).
    pub marks: Vec<Mark>,
    /// A new install of a shop that was redacted: the one write that lifts its tombstone.
    pub revive: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitOutcome {
    Applied,
    /// The event's mark was there: it was processed before.
    AlreadyProcessed,
    /// A record changed since it was read.
    Conflict,
    /// The shop was redacted (`shop/redact`) within the dedupe window: nothing of it is kept.
    Gone,
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
    /// Whether the commit gives its shop work the effects dispatcher must look at: a dirty mark,
    /// or a change of the settings (the settle time, the owner's timed jobs) or of the install
    /// (marks wait for one). The store then makes the shop due now (`BookStore::due_shops`); the
    /// dispatcher finds out when exactly the work is due and reschedules it.
    pub fn makes_due(&self) -> bool {
        !self.marks.is_empty() || self.writes.iter().any(|(r, _)| matches!(r, Record::Settings | Record::Install))
    }

    /// The dirty marks in their stored form, each once.
    pub fn dirty_marks(&self) -> Vec<String> {
        let mut marks = self.marks.clone();
        marks.sort_unstable();
        marks.dedup();
        marks.iter().map(Mark::encode).collect()
    }
}

impl Dirty {
    /// Reads stored marks back, sorted.
    pub fn from_marks<'a>(marks: impl IntoIterator<Item = &'a str>) -> Result<Self, super::StoreError> {
        let mut dirty = Dirty::default();
        for mark in marks {
            match Mark::parse(mark)? {
                Mark::Order(id) => dirty.orders.push(id),
                Mark::Variant(id) => dirty.variants.push(id),
                Mark::Mail(id) => dirty.mail.push(id),
                Mark::ShopMail => dirty.shop_mail = true,
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
