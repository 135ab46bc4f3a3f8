//! `PUT /api/orders/{order_id}/priority`: the merchant moves an order ahead in its queues by
//! hand (SPEC 11), recorded as a priority class of its own that wins over its customer's tags:
//! body `{"priority": N}` (a higher class fills first; the shop's tags' classes are its
//! settings' `priority_tags`), or `{"priority": null}` to give it back its tags' class. Its lines
//! move at once, in one commit; the emails and effects follow as for any move.

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::enrol::invalid;
use super::{ApiError, ShopSession};
use crate::books::apply::Event;
use crate::books::key;
use crate::books::rework::override_order;
use crate::state::AppState;

/// The classes a merchant may give by hand: beyond any tag's, both ways, and no further.
const MAX_CLASS: i64 = 1_000_000;

pub async fn update(
    session: ShopSession,
    path: web::Path<u64>,
    body: web::Json<Value>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let order_id = path.into_inner();
    let fields = body.as_object().ok_or_else(|| invalid("body", "must be a JSON object"))?;
    let by_hand = match fields.get("priority") {
        Some(Value::Null) => None,
        Some(v) => Some(v.as_i64().filter(|n| n.abs() <= MAX_CLASS).ok_or_else(|| {
            invalid("priority", &format!("must be a whole number from -{MAX_CLASS} to {MAX_CLASS}, or null"))
        })? as i32),
        None => return Err(invalid("priority", "is missing: give a class, or null to take the order's tags' class")),
    };
    if let Some(other) = fields.keys().find(|k| *k != "priority" && *k != "order_id") {
        return Err(invalid(other, "is not a field of an order's priority"));
    }
    let shop = session.shop.as_str();
    let event = Event::unmarked(shop);
    match override_order(&state.books, &event, order_id, by_hand).await? {
        None => Err(ApiError::NotFound(format!("order {order_id} is not in the books of this shop"))),
        Some(_) => {
            let order = state.books.get(shop, key::Order(order_id)).await?;
            let priority = order.as_ref().map(|o| o.priority);
            Ok(HttpResponse::Ok().json(json!({ "order_id": order_id, "priority": priority, "by_hand": by_hand })))
        }
    }
}
