//! The dev shop's Admin GraphQL endpoint: Shopify's checks in Shopify's order (version, token,
//! scope, the query's cost against the limit for one query and against the shop's bucket),
//! injected faults, then the operation's answer with its actual cost.

use std::time::Instant;

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::faults::pass_gate;
use super::{Call, Shared, graphql, lock, transfers};
use crate::platform::cost::{Document, MAX_COST};

pub(super) async fn admin_graphql(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Json<Value>,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let (shop, version) = path.into_inner();
    let Some(served) = served_version(&version) else {
        return HttpResponse::NotFound().json(json!({"errors": "Not Found"}));
    };
    pass_gate(&shared, &shop).await;
    let own = lock(&shared.shop_faults).get(&shop).cloned();
    let faults = own.unwrap_or_else(|| lock(&shared.faults).clone());
    if !faults.latency.is_zero() {
        tokio::time::sleep(faults.latency).await;
    }
    let operation = body["operationName"].as_str().unwrap_or_default().to_string();
    let variables = body["variables"].clone();
    let token = req.headers().get("x-shopify-access-token").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let mut shops = lock(&shared.shops);
    let Some(account) = shops.get_mut(&shop) else {
        return HttpResponse::NotFound().json(json!({"errors": "Not Found"}));
    };
    // Taken under the lock, so the bucket's clock only moves forward.
    let now = Instant::now();
    let log = |outcome: &'static str, cost: f64| Call {
        operation: operation.clone(),
        variables: variables.clone(),
        outcome,
        at: now,
        cost,
    };
    let known = bool::from(subtle::ConstantTimeEq::ct_eq(token.as_bytes(), account.token.as_bytes()));
    if faults.denied || !known {
        account.calls.push(log("denied", 0.0));
        return HttpResponse::Unauthorized()
            .json(json!({"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}));
    }
    // A field of a scope the shop has not granted: Shopify answers 200 with the field null and
    // `ACCESS_DENIED`. A custom app's token (no scopes recorded) has what its config gave it.
    let granted = |scope: &str| account.scopes.is_empty() || account.scopes.iter().any(|s| s == scope);
    let needed = transfers::scope_needed(&operation).or_else(|| super::discounts::scope_needed(&operation));
    if let Some((field, scope)) = needed.filter(|(_, scope)| !granted(scope)) {
        account.calls.push(log("denied", 0.0));
        return HttpResponse::Ok().json(json!({
            "data": {field: null},
            "errors": [{"message": format!("Access denied for {field} field. Required access: `{scope}` access scope."),
                        "locations": [{"line": 2, "column": 3}], "path": [field],
                        "extensions": {"code": "ACCESS_DENIED", "documentation": "https://shopify.dev/api/usage/access-scopes",
                                       "requiredAccess": format!("`{scope}` access scope.")}}],
        }));
    }
    // Shopify costs the document the client sent, not the one it meant to send.
    let document = match Document::parse(body["query"].as_str().unwrap_or_default()) {
        Ok(d) => d,
        Err(e) => {
            account.calls.push(log("error", 0.0));
            return HttpResponse::Ok().json(json!({"errors": [{"message": e.to_string(),
                "extensions": {"code": "PARSE_ERROR"}}]}));
        }
    };
    let requested = document.requested(&variables);
    if requested > MAX_COST {
        account.calls.push(log("too_costly", 0.0));
        return HttpResponse::Ok().json(json!({
            "errors": [{
                "message": format!("Query cost is {requested}, which exceeds the single query max cost limit ({MAX_COST}).\n\nSee https://shopify.dev/concepts/about-apis/rate-limits for more information on how the\ncost of a query is calculated.\n\nTo query larger amounts of data with fewer limits, bulk operations should be used instead.\nSee https://shopify.dev/tutorials/perform-bulk-operations-with-admin-api for usage details.\n"),
                "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": MAX_COST,
                               "documentation": "https://shopify.dev/api/usage/rate-limits"},
            }],
            "extensions": account.bucket.extensions(requested as f64, None, now),
        }));
    }
    let requested = requested as f64;
    let draw = fastrand::f64();
    let nth = shared.calls_seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
    let forced = faults.every_nth_server_error > 0 && nth.is_multiple_of(faults.every_nth_server_error);
    if forced || draw < faults.server_errors {
        account.calls.push(log("5xx", 0.0));
        return HttpResponse::ServiceUnavailable().json(json!({"errors": "Service Unavailable"}));
    }
    if draw < faults.server_errors + faults.too_many_requests {
        account.calls.push(log("429", 0.0));
        return HttpResponse::TooManyRequests()
            .insert_header(("Retry-After", format!("{:.1}", faults.retry_after_secs)))
            .json(json!({"errors": "Exceeded rate limit"}));
    }
    if !account.bucket.admit(requested, now) {
        account.calls.push(log("throttled", 0.0));
        return HttpResponse::Ok().json(json!({
            "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
            "extensions": account.bucket.extensions(requested, None, now),
        }));
    }
    let forced_drop = faults.every_nth_dropped > 0 && nth.is_multiple_of(faults.every_nth_dropped);
    let dropped = forced_drop || draw < faults.server_errors + faults.too_many_requests + faults.dropped;
    account.world.all_orders = granted("read_all_orders");
    let resolved = graphql::resolve(&mut account.world, &operation, &variables, &document);
    let reply = match resolved {
        Ok(data) => {
            // Shopify refunds what the query asked for beyond what it returned.
            let actual = (document.actual(&data) as f64).min(requested);
            account.bucket.refund(requested - actual, now);
            account.calls.push(log(if dropped { "dropped" } else { "ok" }, actual));
            json!({"data": data, "extensions": account.bucket.extensions(requested, Some(actual), now)})
        }
        Err(message) => {
            account.bucket.refund(requested, now);
            account.calls.push(log("error", 0.0));
            json!({"errors": [{"message": message}], "extensions": account.bucket.extensions(requested, None, now)})
        }
    };
    drop(shops);
    if dropped {
        // The change happened, the reply never arrives: the client must not apply it twice.
        let broken =
            futures_util::stream::once(async { Err::<web::Bytes, _>(std::io::Error::other("connection dropped")) });
        return HttpResponse::Ok().content_type("application/json").streaming(broken);
    }
    HttpResponse::Ok().insert_header(("X-Shopify-API-Version", served)).json(reply)
}

/// The Admin API versions the platform serves on 2026-12-02, oldest first: each is supported for
/// a year after its release.
pub const SUPPORTED_VERSIONS: [&str; 4] = ["2026-01", "2026-04", "2026-07", "2026-10"];

/// The version a request for `asked` is served in: itself while supported; an older one falls
/// forward to the oldest supported version, silently but for the `X-Shopify-API-Version` header,
/// as Shopify does. `None` (404) for what is not a version at all.
pub fn served_version(asked: &str) -> Option<&'static str> {
    let (year, month) = asked.split_once('-')?;
    let valid = year.len() == 4 && year.parse::<u16>().is_ok() && matches!(month, "01" | "04" | "07" | "10");
    if !valid {
        return None;
    }
    SUPPORTED_VERSIONS.iter().find(|v| **v == asked).copied().or_else(|| {
        // Versions compare as text: both parts are zero-padded.
        (asked < SUPPORTED_VERSIONS[0]).then_some(SUPPORTED_VERSIONS[0])
    })
}
