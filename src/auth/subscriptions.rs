//! The webhook subscriptions a custom app's install (`backorder shop add`) creates by API
//! (`webhookSubscriptionCreate`): every topic of SPEC 3.4 but the privacy ones (those are
//! `shopify.app.toml`-only), to `{APP_URL}/webhooks`. Shops installed through Shopify get the
//! app's `shopify.app.toml` subscriptions instead, and none of these: never both (SPEC 3.5).

use serde_json::json;

use crate::platform::PlatformError;
use crate::platform::ops::WEBHOOK_SUBSCRIPTION_CREATE;
use crate::secret::Secret;
use crate::shopify::Topic;
use crate::state::AppState;

/// Registers each subscription. One that exists already (a reinstall) counts as done.
pub async fn register(state: &AppState, shop: &str, token: &Secret) -> Result<usize, PlatformError> {
    let uri = format!("{}/webhooks", state.settings.app.url.trim_end_matches('/'));
    let mut registered = 0;
    for topic in Topic::ALL.into_iter().filter(|t| !t.is_compliance()) {
        let vars = json!({"topic": topic.graphql_enum(), "subscription": {"uri": uri, "format": "JSON"}});
        match state.platform.call(shop, token, &WEBHOOK_SUBSCRIPTION_CREATE, vars).await {
            Ok(_) => registered += 1,
            Err(PlatformError::Refused { message, .. }) if message.contains("already been taken") => {}
            Err(e) => return Err(e),
        }
    }
    Ok(registered)
}
