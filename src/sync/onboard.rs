//! Enrolment starts from the platform's truth (SPEC 9), not from the webhooks the service
//! happened to see: before `PUT /api/variants/{id}` answers, the variant's inventory item, its
//! current policy (recorded, to give back at unenrolment) and its levels are read and booked;
//! then a job reads every open order holding the variant and books it in fill order through
//! the ledger engine, with the order's own `updated_at`, so webhooks arriving meanwhile converge.
//!
//! Orders open before the enrolment get what the merchant chose for them: tags, holds and
//! emails each on or off (by default tagged and held, and emailed only when placed after the
//! app was installed), so no customer who ordered before the app hears from it by surprise.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::jobs::Progress;
use super::reconcile::{ReconcileError, Repair, installed_token, repair_levels, repair_order};
use crate::books::apply::{Event, map_variant};
use crate::books::{Edit, key};
use crate::effects::AppliedOrderKey;
use crate::ledger::input::{OrderState, VariantInfo};
use crate::ledger::memory::MemoryLedger;
use crate::notify::MailKey;
use crate::platform::bulk;
use crate::platform::reads::{OPEN_ORDERS_PAGE, item_levels, open_orders, variant_on_platform};
use crate::state::AppState;
use crate::store::now_ms;

/// Which customers who ordered before the enrolment are emailed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailExisting {
    /// Only orders placed after the app was installed.
    #[default]
    AfterInstall,
    All,
    None,
}

/// What the merchant chose for orders already open when a variant is enrolled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExistingOrders {
    pub tag: bool,
    pub hold: bool,
    pub email: EmailExisting,
}

impl Default for ExistingOrders {
    fn default() -> Self {
        Self { tag: true, hold: true, email: EmailExisting::AfterInstall }
    }
}

impl ExistingOrders {
    /// Whether an order placed at `created_ms` is emailed, the app installed at `installed_ms`.
    pub fn emails(&self, created_ms: i64, installed_ms: i64) -> bool {
        match self.email {
            EmailExisting::All => true,
            EmailExisting::None => false,
            EmailExisting::AfterInstall => created_ms >= installed_ms,
        }
    }
}

/// How a new variant's book was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Started {
    /// From the platform: item, policy and levels read.
    Read,
    /// The shop has no install here: the book waits for webhooks.
    NotInstalled,
    /// The platform could not say now: the book waits for `products/update` and level webhooks
    /// (the storefront shows no badge meanwhile), and the order job tries again.
    Unread,
}

/// Starts the book of a variant that is not managed yet, from the platform when it can.
/// `Ok(None)`: the platform has no such variant.
pub async fn start_book(state: &AppState, shop: &str, variant: u64) -> Result<Option<Started>, ReconcileError> {
    let blank = VariantInfo {
        variant_id: variant,
        product_id: 0,
        inventory_item_id: None,
        title: String::new(),
        options: vec![],
    };
    let token = match crate::auth::tokens::access_token(state, shop).await {
        Ok(Some(token)) => token,
        Ok(None) => {
            map_variant(&state.books, &Event::unmarked(shop), &blank, true).await?;
            return Ok(Some(Started::NotInstalled));
        }
        Err(e) => {
            tracing::warn!(shop, error = %e, "enrol: no usable access token for the shop");
            map_variant(&state.books, &Event::unmarked(shop), &blank, true).await?;
            return Ok(Some(Started::Unread));
        }
    };
    let found = match variant_on_platform(&state.platform, shop, &token, variant).await {
        Ok(Some(found)) => found,
        Ok(None) => return Ok(None),
        Err(e) => {
            tracing::warn!(shop, variant, error = %e, "enrol: cannot read the variant; waiting for products/update");
            map_variant(&state.books, &Event::unmarked(shop), &blank, true).await?;
            return Ok(Some(Started::Unread));
        }
    };
    map_variant(&state.books, &Event::unmarked(shop), &found.info, true).await?;
    if state.books.get_or_default(shop, key::Settings).await?.timezone.is_none() {
        super::zone::refresh_or_log(state, shop, &token).await;
    }
    state
        .books
        .update(shop, key::Variant(variant), |record| match record {
            Some(mut record) if record.policy_before.is_none() => {
                record.policy_before = Some(found.policy.clone());
                Edit::put(record, ())
            }
            _ => Edit::Leave(()),
        })
        .await?;
    if let Some(item) = found.info.inventory_item_id {
        match repair_levels(state, shop, &token, item).await {
            Ok(_) => {}
            Err(ReconcileError::Platform(e)) => {
                tracing::warn!(shop, variant, error = %e, "enrol: cannot read the levels; waiting for level webhooks");
                return Ok(Some(Started::Unread));
            }
            Err(e) => return Err(e),
        }
    }
    // Expected supply from the platform's transfers and shipments (SPEC 10.2).
    crate::supply::refresh_or_log(state, shop, &token, variant).await;
    Ok(Some(Started::Read))
}

/// What an onboarding job found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Onboarded {
    /// Open orders holding the variant.
    pub orders: usize,
    /// Of those, orders the ledger had not seen.
    pub added: usize,
    /// Of those, orders whose customers are not emailed (the merchant's choice).
    pub quiet: usize,
    /// The open orders were read in one bulk operation (a large shop).
    pub bulk: bool,
    /// Variant → backordered units no open order explains (orders the platform would not let
    /// us read): the merchant is told, nothing is guessed.
    pub unattributed: std::collections::BTreeMap<u64, u64>,
}

/// The onboarding job: every open order holding one of `variants` (newly enrolled), booked; a
/// variant's levels read again if enrolment could not read them. One read of the open orders
/// serves them all (a bulk enrolment).
pub async fn onboard_orders(
    state: Arc<AppState>,
    progress: Progress,
    shop: String,
    variants: BTreeSet<u64>,
    choice: ExistingOrders,
) -> Result<Option<serde_json::Value>, String> {
    let enrolled_ms = now_ms() as i64;
    let state = state.as_ref();
    let shop = shop.as_str();
    let token = installed_token(state, shop).await.map_err(fail)?;
    let installed_ms = crate::auth::install::installed_at_ms(&state.books, shop).await.map_err(fail)?.unwrap_or(0);
    for variant in &variants {
        if let Some(record) = state.books.get(shop, key::Variant(*variant)).await.map_err(fail)?
            && !record.levels_read
            && let Some(item) = record.inventory_item_id
        {
            repair_levels(state, shop, &token, item).await.map_err(fail)?;
        }
    }
    let booking = Booking { state, shop, variants, choice, enrolled_ms, installed_ms };
    let mut found = Onboarded::default();
    // A large shop's open orders come in one bulk operation rather than page by page.
    let open = bulk::orders_count(&state.platform, shop, &token, "status:open").await.map_err(fail)?;
    if open > state.settings.reconcile.bulk_after_pages.saturating_mul(OPEN_ORDERS_PAGE) {
        progress.set(0, open).await.map_err(fail)?;
        let orders = bulk::open_orders(&state.platform, shop, &token, |_| {}).await.map_err(fail)?;
        found.bulk = true;
        let total = orders.len() as u64;
        for (n, order) in orders.iter().enumerate() {
            booking.book(order, &mut found).await.map_err(fail)?;
            if (n + 1) % 100 == 0 {
                progress.set(n as u64 + 1, total).await.map_err(fail)?;
            }
        }
        progress.set(total, total).await.map_err(fail)?;
        crate::backfill::fill_or_log(state, shop, &token, &booking.variants).await;
        return booking.summary(found).await.map_err(fail);
    }
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let (page, next) = open_orders(&state.platform, shop, &token, after.as_deref()).await.map_err(fail)?;
        pages += 1;
        for order in &page {
            booking.book(order, &mut found).await.map_err(fail)?;
        }
        // The total is known only at the end: a page more than those read so far.
        let more = u64::from(next.is_some());
        progress.set(pages, pages + more).await.map_err(fail)?;
        match next {
            Some(cursor) => after = Some(cursor),
            None => break,
        }
    }
    // The days before enrolment, from one read of the shop's order history (SPEC 10.1).
    crate::backfill::fill_or_log(state, shop, &token, &booking.variants).await;
    booking.summary(found).await.map_err(fail)
}

/// What booking the open orders of an enrolment needs to know.
struct Booking<'a> {
    state: &'a AppState,
    shop: &'a str,
    variants: BTreeSet<u64>,
    choice: ExistingOrders,
    enrolled_ms: i64,
    installed_ms: i64,
}

impl Booking<'_> {
    /// What the job found, with the backlog no open order explains, per variant: orders the
    /// platform did not let us read (older than 60 days without `read_all_orders`), reported
    /// for the merchant rather than guessed.
    async fn summary(&self, mut found: Onboarded) -> Result<Option<serde_json::Value>, ReconcileError> {
        for variant in &self.variants {
            if let Some(record) = self.state.books.get(self.shop, key::Variant(*variant)).await? {
                let units = record.header.unattributed();
                if units > 0 {
                    found.unattributed.insert(*variant, units);
                }
            }
        }
        Ok(Some(serde_json::to_value(&found).unwrap_or_default()))
    }

    /// Books one open order if it holds one of the variants, with the merchant's choice for an
    /// order placed before the enrolment.
    async fn book(&self, order: &OrderState, found: &mut Onboarded) -> Result<(), ReconcileError> {
        let (state, shop) = (self.state, self.shop);
        if !order.lines.iter().any(|l| l.variant_id.is_some_and(|v| self.variants.contains(&v))) {
            return Ok(());
        }
        found.orders += 1;
        // Read only for an order placed before the enrolment: a later one is the webhooks'.
        // The platform gives whole seconds, so an order of the enrolment's own second counts as
        // earlier: the merchant's choice for existing orders (no email, say) is the safe side
        // of the doubt.
        let earlier = order.created_at_ms < self.enrolled_ms;
        if earlier && state.books.get(shop, key::Order(order.order_id)).await?.is_none() {
            let quiet = !self.choice.emails(order.created_at_ms, self.installed_ms);
            hands_off(state, shop, order, self.choice, quiet).await?;
            found.quiet += usize::from(quiet);
        }
        if repair_order(state, shop, order).await? == Repair::Added {
            found.added += 1;
        }
        Ok(())
    }
}

/// One open order an enrolment would keep waiting, and what it would get.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PreviewOrder {
    pub order_id: u64,
    pub name: String,
    pub created_at: String,
    /// Its units of the variant that would wait.
    pub backordered: u32,
    pub tag: bool,
    pub hold: bool,
    pub email: bool,
}

/// What enrolling a variant would do to the orders already open (SPEC 9), with the defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OnboardingPreview {
    pub variant_id: u64,
    pub available: i64,
    /// Open orders holding the variant.
    pub open_orders: usize,
    pub backordered_units: u64,
    /// Backlog no open order explains (orders the platform did not let us read, say).
    pub unattributed_units: u64,
    /// The orders that would wait, in fill order, with the default choice applied.
    pub orders: Vec<PreviewOrder>,
    pub defaults: ExistingOrders,
}

/// Reads the variant, its levels and the open orders holding it from the platform and books
/// them in a ledger held in memory (the same rules), so nothing is stored or sent.
pub async fn preview(state: &AppState, shop: &str, variant: u64) -> Result<Option<OnboardingPreview>, ReconcileError> {
    let token = installed_token(state, shop).await?;
    let Some(found) = variant_on_platform(&state.platform, shop, &token, variant).await? else { return Ok(None) };
    let rules = state.books.get_or_default(shop, key::Rules).await?;
    let settings = state.books.get_or_default(shop, key::Settings).await?;
    let installed_ms = crate::auth::install::installed_at_ms(&state.books, shop).await?.unwrap_or(0);
    let mut ledger = MemoryLedger::new(rules);
    ledger.enrol(variant, found.info.inventory_item_id);
    if let Some(item) = found.info.inventory_item_id {
        for level in item_levels(&state.platform, shop, &token, item).await? {
            ledger.apply_level(&level);
        }
    }
    let mut orders = std::collections::BTreeMap::new();
    let mut after: Option<String> = None;
    loop {
        let (page, next) = open_orders(&state.platform, shop, &token, after.as_deref()).await?;
        for order in page.into_iter().filter(|o| o.lines.iter().any(|l| l.variant_id == Some(variant))) {
            ledger.apply_order(&order);
            orders.insert(order.order_id, order);
        }
        match next {
            Some(cursor) => after = Some(cursor),
            None => break,
        }
    }
    let defaults = ExistingOrders::default();
    let mut waiting: Vec<PreviewOrder> = Vec::new();
    for (key, units) in ledger.backordered(variant) {
        let Some(order) = orders.get(&key.order_id) else { continue };
        match waiting.last_mut() {
            Some(last) if last.order_id == key.order_id => last.backordered += units,
            _ => waiting.push(PreviewOrder {
                order_id: key.order_id,
                name: order.name.clone(),
                created_at: crate::ledger::input::admin_time(order.created_at_ms),
                backordered: units,
                tag: defaults.tag,
                hold: defaults.hold && settings.holds,
                email: defaults.emails(order.created_at_ms, installed_ms),
            }),
        }
    }
    let header = ledger.variants.get(&variant).map(|b| b.header).unwrap_or_default();
    Ok(Some(OnboardingPreview {
        variant_id: variant,
        available: header.stock,
        open_orders: orders.len(),
        backordered_units: header.backordered(),
        unattributed_units: header.unattributed(),
        orders: waiting,
        defaults,
    }))
}

fn fail(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Records, before the order is booked, what the app leaves alone on it: its effects and
/// emails then start from the merchant's choice.
async fn hands_off(
    state: &AppState,
    shop: &str,
    order: &OrderState,
    choice: ExistingOrders,
    quiet: bool,
) -> Result<(), crate::books::BookError> {
    let id = order.order_id;
    if !choice.tag || !choice.hold {
        state
            .books
            .update(shop, AppliedOrderKey(id), |applied| {
                let mut applied = applied.unwrap_or_default();
                applied.leave_tags = !choice.tag;
                applied.leave_holds = !choice.hold;
                Edit::put(applied, ())
            })
            .await?;
    }
    if quiet {
        state
            .books
            .update(shop, MailKey(id), |mail| {
                let mut mail = mail.unwrap_or_default();
                mail.quiet = true;
                Edit::put(mail, ())
            })
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_default_only_orders_placed_after_install_are_emailed() {
        let choice = ExistingOrders::default();
        assert!((choice.tag, choice.hold) == (true, true));
        assert!(!choice.emails(999, 1_000));
        assert!(choice.emails(1_000, 1_000));
        assert!(ExistingOrders { email: EmailExisting::All, ..choice }.emails(0, 1_000));
        assert!(!ExistingOrders { email: EmailExisting::None, ..choice }.emails(2_000, 1_000));
    }
}
