//! Applies one ledger event through the store: read the records the event touches, let the pure
//! rules decide, commit everything in one checked step, and decide again if another worker
//! changed a record in between.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::daily::Diary;
use super::{BookError, Books, Key, Reads, key};
use crate::failpoint::{self, points};
use crate::ledger::daily::Tally;
use crate::ledger::input::{LevelState, OrderState, VariantInfo};
use crate::ledger::records::{ItemRecord, VariantRecord, decode, encode};
use crate::ledger::rules::{OrderPlan, OrderRecord, ShopRules, plan_level, plan_order};
use crate::ledger::window::{self, Window};
use crate::ledger::{Header, LineChange, Moved};
use crate::store::{BookStore, CommitOutcome, EventMark, LedgerCommit, LineWrite, Mark, Record};

/// What a commit is for: the shop, and the event it records as processed, if it is one.
pub struct Event<'a> {
    pub shop: &'a str,
    pub mark: Option<EventMark>,
}

impl<'a> Event<'a> {
    /// An event processed once: a second commit under `key` within `ttl` changes nothing.
    pub fn new(shop: &'a str, key: String, topic: &str, ttl: Duration) -> Self {
        Self { shop, mark: Some(EventMark { key, topic: topic.to_string(), ttl }) }
    }

    /// A change that is not an event (a merchant's edit): no processed mark, no count.
    pub fn unmarked(shop: &'a str) -> Self {
        Self { shop, mark: None }
    }

    fn topic(&self) -> &str {
        self.mark.as_ref().map_or("change", |m| m.topic.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    AlreadyProcessed,
}

/// Moves a variant's book by `changes` and a new stock, reading only the lines near its
/// boundary (a wider window only when the first one was too narrow).
pub(super) async fn rebook(
    store: &dyn BookStore,
    shop: &str,
    variant: u64,
    header: &Header,
    changes: &[LineChange],
    stock: i64,
) -> Result<(Header, Vec<Moved>), BookError> {
    let mut reach = window::reach(header, changes, stock);
    loop {
        let read = store.ledger_lines(shop, variant, header.boundary, reach).await?;
        let complete = matches!((&read.low, &read.high), (std::ops::Bound::Unbounded, std::ops::Bound::Unbounded));
        let mut lines: BTreeMap<_, _> = read.lines.into_iter().collect();
        for c in changes {
            if c.new == 0 {
                lines.remove(&c.key);
            } else {
                lines.insert(c.key, c.new);
            }
        }
        let view = Window::new(lines, read.low, read.high);
        if let Some(result) = window::apply(header, changes, stock, &view) {
            return Ok(result);
        }
        if complete {
            // The header was read before the lines, in another round trip: a commit of another
            // instance in between tears them apart. Then the book is not inconsistent, only
            // moved on: the caller's commit, checked against the variant's record as read,
            // conflicts and the caller decides again from fresh reads. Only a book that
            // disagrees with its lines as they stand now is inconsistent.
            let now: Option<VariantRecord> =
                decode(store.ledger_get(shop, &[Record::Variant(variant)]).await?.remove(0).as_deref())?;
            if now.is_some_and(|r| r.header != *header) {
                return Ok((*header, Vec::new()));
            }
            return Err(BookError::Inconsistent { variant });
        }
        reach = reach.saturating_mul(4);
    }
}

/// Writes a variant's new header and lines into the commit, tallies its backlog's move, and
/// marks what changed.
pub(super) fn book_into(
    commit: &mut LedgerCommit,
    diary: &mut Diary,
    before: &Header,
    (variant, record): (u64, &VariantRecord),
    changes: &[LineChange],
    moved: &[Moved],
) {
    diary.backlog(variant, before, &record.header);
    let mut record = record.clone();
    record.daily_since_ms.get_or_insert_with(|| crate::store::now_ms() as i64);
    commit.writes.push((Record::Variant(variant), Some(encode(&record))));
    commit.lines.extend(changes.iter().map(|c| LineWrite { variant, key: c.key, old: c.old, qty: c.new }));
    commit.marks.extend(moved.iter().map(|m| Mark::Order(m.key.order_id)));
    commit.marks.push(Mark::Variant(variant));
}

pub(super) async fn finish(
    store: &dyn BookStore,
    shop: &str,
    commit: &LedgerCommit,
) -> Result<Option<Outcome>, BookError> {
    let mut commit = commit.clone();
    commit.marks.sort_unstable();
    commit.marks.dedup();
    failpoint::hit(points::LEDGER_BEFORE_COMMIT);
    let outcome = store.ledger_commit(shop, &commit).await?;
    failpoint::hit(points::LEDGER_COMMITTED);
    match outcome {
        CommitOutcome::Applied => Ok(Some(Outcome::Applied)),
        CommitOutcome::AlreadyProcessed => Ok(Some(Outcome::AlreadyProcessed)),
        CommitOutcome::Conflict => Ok(None),
        CommitOutcome::Gone => Err(BookError::Gone),
    }
}

pub(super) fn too_contended(event: &Event<'_>) -> BookError {
    tracing::warn!(shop = event.shop, topic = event.topic(), "ledger: kept conflicting with concurrent commits");
    BookError::Contended
}

/// `orders/create`, `orders/updated`, `orders/cancelled`, `orders/fulfilled`.
pub async fn apply_order(books: &Books, event: &Event<'_>, state: &OrderState) -> Result<Outcome, BookError> {
    let store = books.store();
    for _ in 0..super::MAX_TRIES {
        let mut reads = Reads::new(store, event.shop);
        reads.load(&[Record::Rules, Record::Order(state.order_id)]).await?;
        let rules: ShopRules = reads.get(key::Rules)?.unwrap_or_default();
        let old: Option<OrderRecord> = reads.get(key::Order(state.order_id))?;
        let mut variants: Vec<u64> = state.lines.iter().filter_map(|l| l.variant_id).collect();
        variants.extend(old.iter().flat_map(|o| o.lines.iter().filter_map(|l| l.variant_id)));
        variants.sort_unstable();
        variants.dedup();
        let mut diary = Diary::new(&rules);
        let daily = diary.records(&variants, &[state.created_at_ms, state.version.updated_at_ms]);
        let books = load_books(&mut reads, &variants, &daily).await?;
        diary.take(&reads, &daily)?;
        let plan = plan_order(state, old.as_ref(), &rules, |v| books.contains_key(&v));
        let mut commit = reads.commit(event.mark.clone());
        let redacted = old.as_ref().is_some_and(|o| o.redacted);
        if let Some(mut plan) = plan {
            if redacted {
                plan.record.redacted = true;
                plan.record.customer_tags.clear();
            }
            book_order(store, event.shop, state.order_id, &plan, &books, &mut commit, &mut diary).await?;
            // Only a newer state than the ledger's (a plan) may replace what the emails use.
            if !state.contact.is_empty() && !redacted {
                commit.writes.push((Record::Contact(state.order_id), Some(encode(&state.contact))));
            }
        }
        diary.write_into(&mut commit);
        if let Some(outcome) = finish(store, event.shop, &commit).await? {
            return Ok(outcome);
        }
    }
    Err(too_contended(event))
}

/// Every managed variant of the shop, with its record, by id.
pub async fn managed_variants(books: &Books, shop: &str) -> Result<BTreeMap<u64, VariantRecord>, BookError> {
    let ids = books.get_or_default(shop, key::Variants).await?;
    let records: Vec<Record> = ids.iter().map(|v| Record::Variant(*v)).collect();
    let reads = books.read(shop, &records).await?;
    let mut out = BTreeMap::new();
    for id in ids {
        if let Some(record) = reads.get(key::Variant(id))? {
            out.insert(id, record);
        }
    }
    Ok(out)
}

/// The managed variants among `variants`, with their records; `also` is read in the same round
/// trip.
pub(super) async fn load_books(
    reads: &mut Reads<'_>,
    variants: &[u64],
    also: &[Record],
) -> Result<BTreeMap<u64, VariantRecord>, BookError> {
    let mut records: Vec<Record> = variants.iter().map(|v| Record::Variant(*v)).collect();
    records.extend_from_slice(also);
    reads.load(&records).await?;
    let mut books = BTreeMap::new();
    for v in variants {
        if let Some(record) = reads.get(key::Variant(*v))? {
            books.insert(*v, record);
        }
    }
    Ok(books)
}

/// Writes an order plan into `commit`: the order's record and every changed book.
pub(super) async fn book_order(
    store: &dyn BookStore,
    shop: &str,
    order_id: u64,
    plan: &OrderPlan,
    books: &BTreeMap<u64, VariantRecord>,
    commit: &mut LedgerCommit,
    diary: &mut Diary,
) -> Result<(), BookError> {
    commit.writes.push((Record::Order(order_id), Some(encode(&plan.record))));
    commit.marks.push(Mark::Order(order_id));
    let touched: BTreeSet<u64> =
        plan.changes.keys().chain(plan.taken.keys()).chain(plan.taken_new.keys()).copied().collect();
    for variant in touched {
        let mut record = books[&variant].clone();
        let changes = plan.changes.get(&variant).map_or(&[][..], Vec::as_slice);
        let (header, moved) = rebook(store, shop, variant, &record.header, changes, record.header.stock).await?;
        record.header = header;
        let taken = plan.taken.get(&variant).copied().unwrap_or(0);
        let taken_new = plan.taken_new.get(&variant).copied().unwrap_or(0);
        record.taken = record.taken.saturating_add(taken);
        if plan.record.created_at_ms >= record.counted_since_ms {
            record.taken = record.taken.saturating_add(taken_new);
        }
        // Demand counts every order, also one placed before the book started counting stock.
        if taken != 0 {
            diary.add(variant, diary.day(plan.record.version.updated_at_ms), Tally::Taken(taken));
        }
        if taken_new != 0 {
            diary.add(variant, diary.day(plan.record.created_at_ms), Tally::Taken(taken_new));
        }
        book_into(commit, diary, &books[&variant].header, (variant, &record), changes, &moved);
    }
    Ok(())
}

/// `inventory_levels/update`.
pub async fn apply_level(books: &Books, event: &Event<'_>, state: &LevelState) -> Result<Outcome, BookError> {
    let store = books.store();
    let level = key::Level { item: state.inventory_item_id, location: state.location_id };
    for _ in 0..super::MAX_TRIES {
        let mut reads = Reads::new(store, event.shop);
        reads.load(&[Record::Rules, level.record(), Record::Item(state.inventory_item_id)]).await?;
        let rules: ShopRules = reads.get(key::Rules)?.unwrap_or_default();
        let old: Option<LevelState> = reads.get(level)?;
        let item: ItemRecord = reads.get(key::Item(state.inventory_item_id))?.unwrap_or_default();
        let mut diary = Diary::new(&rules);
        let ids: Vec<u64> = item.variants.iter().copied().collect();
        let daily = diary.records(&ids, &[state.version.updated_at_ms]);
        let mut variant_records: Vec<Record> = ids.iter().map(|v| Record::Variant(*v)).collect();
        variant_records.extend_from_slice(&daily);
        reads.load(&variant_records).await?;
        diary.take(&reads, &daily)?;
        let books: Vec<(u64, Option<VariantRecord>)> =
            item.variants.iter().map(|v| reads.get(key::Variant(*v)).map(|r| (*v, r))).collect::<Result<_, _>>()?;

        let mut commit = reads.commit(event.mark.clone());
        if let Some(delta) = plan_level(state, old.as_ref(), &rules) {
            commit.writes.push((level.record(), Some(encode(state))));
            let bumped = ItemRecord { levels_rev: item.levels_rev + 1, ..item.clone() };
            commit.writes.push((Record::Item(state.inventory_item_id), Some(encode(&bumped))));
            for (variant, record) in books {
                // A variant whose levels were unknown learns them now, even when they add nothing.
                let Some(mut record) = record.filter(|r| delta != 0 || !r.levels_read) else { continue };
                record.levels_read = true;
                let stock = record.header.stock.saturating_add(delta);
                let before = record.header;
                let (header, moved) = rebook(store, event.shop, variant, &record.header, &[], stock).await?;
                record.header = header;
                if delta > 0 {
                    diary.add(variant, diary.day(state.version.updated_at_ms), Tally::Received(delta.unsigned_abs()));
                }
                book_into(&mut commit, &mut diary, &before, (variant, &record), &[], &moved);
            }
        }
        diary.write_into(&mut commit);
        if let Some(outcome) = finish(store, event.shop, &commit).await? {
            return Ok(outcome);
        }
    }
    Err(too_contended(event))
}

/// Counted stock of an inventory item from its stored levels.
pub(super) async fn stock_of(
    store: &dyn BookStore,
    shop: &str,
    item: u64,
    rules: &ShopRules,
) -> Result<i64, BookError> {
    Ok(stock_and_known(store, shop, item, rules).await?.0)
}

/// Counted stock of an inventory item from its stored levels, and whether any level is stored.
async fn stock_and_known(
    store: &dyn BookStore,
    shop: &str,
    item: u64,
    rules: &ShopRules,
) -> Result<(i64, bool), BookError> {
    let levels = store.ledger_levels(shop, item).await?;
    let known = !levels.is_empty();
    let mut stock: i64 = 0;
    for (location, bytes) in levels {
        let level: Option<LevelState> = decode(Some(&bytes))?;
        if rules.counts(location) {
            stock = stock.saturating_add(level.and_then(|l| l.available).unwrap_or(0));
        }
    }
    Ok((stock, known))
}

/// Starts managing a variant (or records which inventory item backs it, from `products/update`
/// or the platform): the item index follows, and the book's stock is recounted from the item's
/// levels. A variant that is not managed is left alone unless `enrol` is set.
pub async fn map_variant(
    books: &Books,
    event: &Event<'_>,
    info: &VariantInfo,
    enrol: bool,
) -> Result<Outcome, BookError> {
    let store = books.store();
    for _ in 0..super::MAX_TRIES {
        let mut reads = Reads::new(store, event.shop);
        reads.load(&[Record::Rules, Record::Variant(info.variant_id)]).await?;
        let rules: ShopRules = reads.get(key::Rules)?.unwrap_or_default();
        let mut diary = Diary::new(&rules);
        let daily = diary.records(&[info.variant_id], &[]);
        reads.load(&daily).await?;
        diary.take(&reads, &daily)?;
        let existing: Option<VariantRecord> = reads.get(key::Variant(info.variant_id))?;
        let mut commit;
        // A new book counts the units its orders take from the moment it starts.
        let fresh = || VariantRecord {
            counted_since_ms: crate::store::now_ms() as i64,
            daily_since_ms: Some(crate::store::now_ms() as i64),
            supply_rule: crate::ledger::records::SUPPLY_RULE,
            ..VariantRecord::default()
        };
        match existing.or_else(|| enrol.then(fresh)) {
            Some(mut record)
                if record.inventory_item_id != info.inventory_item_id
                    || enrol
                    || (info.product_id != 0 && record.product_id != Some(info.product_id))
                    || (!info.title.is_empty() && record.title.as_deref() != Some(info.title.as_str()))
                    || (!info.options.is_empty() && record.options != info.options) =>
            {
                let items: Vec<Record> = record
                    .inventory_item_id
                    .iter()
                    .chain(info.inventory_item_id.iter())
                    .map(|i| Record::Item(*i))
                    .collect();
                reads.load(&items).await?;
                let mut item_writes = Vec::new();
                if let Some(old_item) = record.inventory_item_id.filter(|i| Some(*i) != info.inventory_item_id) {
                    let mut index: ItemRecord = reads.get(key::Item(old_item))?.unwrap_or_default();
                    index.variants.remove(&info.variant_id);
                    item_writes.push((Record::Item(old_item), Some(encode(&index))));
                }
                if let Some(new_item) = info.inventory_item_id {
                    let mut index: ItemRecord = reads.get(key::Item(new_item))?.unwrap_or_default();
                    index.variants.insert(info.variant_id);
                    item_writes.push((Record::Item(new_item), Some(encode(&index))));
                }
                let (stock, known) = match info.inventory_item_id {
                    Some(item) => stock_and_known(store, event.shop, item, &rules).await?,
                    None => (0, false),
                };
                record.levels_read = known;
                record.inventory_item_id = info.inventory_item_id;
                if info.product_id != 0 {
                    record.product_id = Some(info.product_id);
                }
                if !info.title.is_empty() {
                    record.title = Some(info.title.clone());
                }
                if !info.options.is_empty() {
                    record.options = info.options.clone();
                }
                let before = record.header;
                let (header, moved) = rebook(store, event.shop, info.variant_id, &record.header, &[], stock).await?;
                record.header = header;
                if enrol {
                    reads.load(&[Record::Variants]).await?;
                    let mut managed: BTreeSet<u64> = reads.get(key::Variants)?.unwrap_or_default();
                    if managed.insert(info.variant_id) {
                        item_writes.push((Record::Variants, Some(encode(&managed))));
                    }
                }
                commit = reads.commit(event.mark.clone());
                commit.writes.extend(item_writes);
                book_into(&mut commit, &mut diary, &before, (info.variant_id, &record), &[], &moved);
                diary.write_into(&mut commit);
            }
            _ => commit = reads.commit(event.mark.clone()),
        }
        if let Some(outcome) = finish(store, event.shop, &commit).await? {
            return Ok(outcome);
        }
    }
    Err(too_contended(event))
}
