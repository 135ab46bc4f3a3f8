//! The demo's act on expected supply from the platform (SPEC 10.2): stock on its way on a
//! transfer in the dev shop dates the front of the queue, a delayed shipment moves those dates
//! (and tells those customers), and its receipt fills the oldest orders.

use reqwest::Method;
use serde_json::json;

use super::scene::{Snapshot, new_variant, snapshot};
use super::{DemoError, Stage, show};

/// What the act left behind, for the demo's checks.
#[derive(Debug, Clone)]
pub struct Shipped {
    pub variant: u64,
    pub orders: Vec<u64>,
    pub on_its_way: Snapshot,
    pub delayed: Snapshot,
    pub received: Snapshot,
}

fn step(e: impl std::fmt::Display) -> DemoError {
    DemoError::Step(e.to_string())
}

/// Noon UTC (the dev shop's zone) `days` from today, as a shipment's `arrivesAt`.
fn noon(days: i64) -> i64 {
    let day = time::OffsetDateTime::now_utc().date() + time::Duration::days(days);
    day.with_hms(12, 0, 0).map_or(0, |t| t.assume_utc().unix_timestamp() * 1000)
}

pub async fn play(stage: &mut Stage, seed: u64) -> Result<Shipped, DemoError> {
    let settings = json!({"enabled": true, "lead_time_days": 21, "handling_days": 1});
    let variant = new_variant(stage, "Rain Jacket", 0, settings).await?;
    let (_, shipment) = stage.devshop.ship_notify(&mut stage.sender, variant, 4, Some(noon(7))).map_err(step)?;
    stage.deliver(seed).await?;
    let mut orders = Vec::new();
    for i in 0..6 {
        let email = format!("jacket{}@example.com", i + 1);
        orders.push(stage.devshop.place_order_notify(&mut stage.sender, &email, &[], &[(variant, 1)]).map_err(step)?);
    }
    stage.deliver(seed + 1).await?;
    let on_its_way = snapshot(stage, variant).await?;
    stage.say("6. \"Rain Jacket\", out of stock: a transfer of 4 is shipped to the warehouse on Shopify, tracked to arrive in 7 days; 6 orders come.");
    stage.say("   The service read the transfer (no date typed in): the oldest 4 get its date plus a handling day, the rest the lead time.");
    show::snapshot(stage, &on_its_way);
    show::emails(stage, None, &on_its_way);

    stage.devshop.track_notify(&mut stage.sender, shipment, Some(noon(15))).map_err(step)?;
    stage.deliver(seed + 2).await?;
    let delayed = snapshot(stage, variant).await?;
    stage.say("   The carrier moves the shipment 8 days later: the 4 orders it carries are told their new date.");
    show::snapshot(stage, &delayed);
    show::emails(stage, Some(&on_its_way), &delayed);

    stage.devshop.receive_notify(&mut stage.sender, shipment, variant, 4).map_err(step)?;
    stage.deliver(seed + 3).await?;
    let received = snapshot(stage, variant).await?;
    let shown = stage.api(Method::GET, &format!("/api/variants/{variant}"), None).await?;
    stage.say(&format!(
        "   Received on Shopify: the oldest 4 are filled, and the shipment's batch is gone ({} supply batches left).",
        shown["supply"].as_array().map_or(0, Vec::len)
    ));
    show::snapshot(stage, &received);
    show::emails(stage, Some(&delayed), &received);
    stage.say("");
    Ok(Shipped { variant, orders, on_its_way, delayed, received })
}
