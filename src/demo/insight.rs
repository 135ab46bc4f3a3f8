//! The demo's last act: the supplier pushes a batch back, the customers it moves are told and,
//! with the consolation on (SPEC 10.3), each gets a discount code for waiting; then what the
//! service advises the merchant to reorder (SPEC 10.1).

use reqwest::Method;
use serde_json::{Value, json};

use super::scene::{Snapshot, snapshot};
use super::{DemoError, Stage, show};

/// What the act left behind, for the demo's checks.
#[derive(Debug, Clone)]
pub struct Advised {
    /// The orders that got a consolation code.
    pub consoled: Vec<u64>,
    /// The codes the dev shop holds.
    pub codes: usize,
    pub after_delay: Snapshot,
    /// `GET /api/variants/{id}/insight`.
    pub insight: Value,
}

const DELAY_DAYS: i64 = 14;

pub async fn play(stage: &mut Stage, variant: u64, before: &Snapshot) -> Result<Advised, DemoError> {
    let offer = json!({"enabled": true, "after_days": 30, "slip_days": 7, "kind": "percentage", "value": 10,
                       "expires_days": 60, "before_install": true});
    stage.api(Method::PUT, "/api/settings", Some(json!({"consolation": offer}))).await?;
    let shown = stage.api(Method::GET, &format!("/api/variants/{variant}"), None).await?;
    let later: Vec<Value> = shown["supply"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| b["source"] != "platform")
        .map(|b| {
            let eta =
                b["eta"].as_str().and_then(crate::ledger::eta::parse).map(|d| d + time::Duration::days(DELAY_DAYS));
            json!({"qty": b["qty"], "eta": eta.map(crate::ledger::eta::format)})
        })
        .collect();
    stage.api(Method::PUT, &format!("/api/variants/{variant}"), Some(json!({"supply": later}))).await?;
    stage.settled().await?;
    let after_delay = snapshot(stage, variant).await?;
    let consoled: Vec<u64> =
        after_delay.emails.keys().filter(|(_, occasion)| occasion == "consolation").map(|(order, _)| *order).collect();
    let codes = stage.devshop.world(crate::demo::SHOP, |w| w.discounts.len());
    stage.say(&format!(
        "8. The supplier pushes the next batch back {DELAY_DAYS} days. With the consolation on (10% off after a slip of more than 7 days),\n   the customers it moves are told their new date and each gets one code for waiting ({codes} codes made on the shop)."
    ));
    show::snapshot(stage, &after_delay);
    show::emails(stage, Some(before), &after_delay);

    let insight = stage.api(Method::GET, &format!("/api/variants/{variant}/insight"), None).await?;
    stage.say("\n   What to reorder (GET /api/variants/{id}/insight), from demand that the stockout did not hide:");
    stage.say(&format!(
        "     method {}, demand {:.2}/day (sigma {:.2}), lead time {} days at a {}% service level",
        insight["method"].as_str().unwrap_or("?"),
        insight["demand_per_day"].as_f64().unwrap_or(0.0),
        insight["sigma_per_day"].as_f64().unwrap_or(0.0),
        insight["lead_time_days"],
        (insight["service_level"].as_f64().unwrap_or(0.0) * 100.0).round(),
    ));
    stage.say(&format!(
        "     safety stock {}, reorder point {}, position {} (available + incoming - backordered): order {} units by {}",
        insight["safety_stock"],
        insight["reorder_point"],
        insight["inventory_position"],
        insight["suggested_order_qty"],
        insight["order_by"].as_str().unwrap_or("now"),
    ));
    stage.say("");
    Ok(Advised { consoled, codes, after_delay, insight })
}
