//! Discount codes as Shopify makes them (`discountCodeBasicCreate`,
//! `discountCodeFreeShippingCreate`) and finds them (`codeDiscountNodeByCode`), with the checks
//! Shopify makes on create: a code unique in the shop (case-insensitive), a title, a start,
//! an end after the start, a percentage within 0–1, buyers named by `context` and existing, and
//! `context` and the deprecated `customerSelection` not both.

use serde_json::{Value, json};

use super::graphql::{gid, parse_gid};
use super::world::World;
use crate::ledger::input::timestamp_ms;

/// A code discount in the dev shop.
#[derive(Debug, Clone, PartialEq)]
pub struct Discount {
    pub id: u64,
    pub code: String,
    pub title: String,
    /// `basic` or `free_shipping`.
    pub kind: &'static str,
    /// The share off (`basic`); `None` for free shipping.
    pub percentage: Option<f64>,
    /// The customers who may use it; empty: all buyers.
    pub customers: Vec<u64>,
    pub usage_limit: Option<u64>,
    pub starts_at_ms: i64,
    pub ends_at_ms: Option<i64>,
}

/// The customer id the dev shop gives an order's buyer (its payloads say the same).
pub fn customer_of(order_id: u64) -> u64 {
    900_000 + order_id
}

/// The field and scope an operation on discounts needs (`write_discounts` includes reading).
pub fn scope_needed(operation: &str) -> Option<(&'static str, &'static str)> {
    match operation {
        "ConsolationCode" => Some(("codeDiscountNodeByCode", "write_discounts")),
        "DiscountCodeBasicCreate" => Some(("discountCodeBasicCreate", "write_discounts")),
        "DiscountCodeFreeShippingCreate" => Some(("discountCodeFreeShippingCreate", "write_discounts")),
        _ => None,
    }
}

/// `codeDiscountNodeByCode`: the discount with that code, whatever its case, or null.
pub fn by_code(world: &World, vars: &Value) -> Value {
    let code = vars["code"].as_str().unwrap_or_default();
    let found = world.discounts.values().find(|d| d.code.eq_ignore_ascii_case(code));
    json!({"codeDiscountNodeByCode": found.map(|d| json!({"id": gid("DiscountCodeNode", d.id)}))})
}

/// Either create mutation: `kind` is `basic` or `free_shipping`.
pub fn create(world: &mut World, kind: &'static str, vars: &Value) -> Value {
    let (field, arg) = match kind {
        "basic" => ("discountCodeBasicCreate", "basicCodeDiscount"),
        _ => ("discountCodeFreeShippingCreate", "freeShippingCodeDiscount"),
    };
    let input = &vars["discount"];
    match check(world, kind, input) {
        Ok(discount) => {
            let id = discount.id;
            world.discounts.insert(id, discount);
            json!({field: {"codeDiscountNode": {"id": gid("DiscountCodeNode", id)}, "userErrors": []}})
        }
        Err((path, code, message)) => {
            let field_path: Vec<&str> = std::iter::once(arg).chain(path.iter().copied()).collect();
            json!({field: {"codeDiscountNode": null, "userErrors": [{"field": field_path, "code": code, "message": message}]}})
        }
    }
}

type Refusal = (Vec<&'static str>, &'static str, String);

fn check(world: &mut World, kind: &'static str, input: &Value) -> Result<Discount, Refusal> {
    let text = |name: &'static str| input[name].as_str().map(str::trim).filter(|s| !s.is_empty());
    let blank = |name: &'static str| (vec![name], "BLANK", "can't be blank".to_string());
    let code = text("code").ok_or_else(|| blank("code"))?.to_string();
    if code.len() > 255 {
        return Err((vec!["code"], "TOO_LONG", "is too long (maximum is 255 characters)".into()));
    }
    if world.discounts.values().any(|d| d.code.eq_ignore_ascii_case(&code)) {
        return Err((vec!["code"], "TAKEN", "Code must be unique. Please try a different code.".into()));
    }
    let title = text("title").ok_or_else(|| blank("title"))?.to_string();
    let time = |name: &'static str| -> Result<Option<i64>, Refusal> {
        match input[name].as_str() {
            None => Ok(None),
            Some(t) => timestamp_ms("date", t).map(Some).map_err(|_| (vec![name], "INVALID", "is invalid".into())),
        }
    };
    let starts_at_ms = time("startsAt")?.ok_or_else(|| blank("startsAt"))?;
    let ends_at_ms = time("endsAt")?;
    if ends_at_ms.is_some_and(|end| end <= starts_at_ms) {
        return Err((vec!["endsAt"], "END_DATE_BEFORE_START_DATE", "Ends at needs to be after starts_at".into()));
    }
    if !input["customerSelection"].is_null() && !input["context"].is_null() {
        return Err((vec!["context"], "INVALID", "Only one of context or customerSelection can be provided.".into()));
    }
    let context = &input["context"];
    let customers = match (context["all"].as_str(), context["customers"]["add"].as_array()) {
        (Some("ALL"), None) => Vec::new(),
        (None, Some(ids)) if !ids.is_empty() => {
            let mut out = Vec::new();
            for id in ids {
                let known = parse_gid("Customer", id)
                    .filter(|c| c.checked_sub(900_000).is_some_and(|order| world.orders.contains_key(&order)));
                let Some(customer) = known else {
                    return Err((vec!["context", "customers", "add"], "INVALID", "Customer does not exist".into()));
                };
                out.push(customer);
            }
            out
        }
        _ => {
            return Err((vec!["context"], "BLANK", "A context is required: all buyers or a list of customers.".into()));
        }
    };
    let percentage = if kind == "basic" {
        let value = &input["customerGets"]["value"];
        let share = value["percentage"].as_f64().ok_or_else(|| {
            (vec!["customerGets", "value"], "BLANK", "A percentage or an amount is required.".to_string())
        })?;
        if !(share > 0.0 && share <= 1.0) {
            return Err((
                vec!["customerGets", "value", "percentage"],
                "VALUE_OUTSIDE_RANGE",
                "Value must be between 0.0 and 1.0".into(),
            ));
        }
        if input["customerGets"]["items"]["all"].as_bool() != Some(true) {
            return Err((
                vec!["customerGets", "items"],
                "BLANK",
                "Items to which the discount applies are required.".into(),
            ));
        }
        Some(share)
    } else {
        None
    };
    let usage_limit = input["usageLimit"].as_u64();
    if usage_limit == Some(0) {
        return Err((vec!["usageLimit"], "GREATER_THAN", "must be greater than 0".into()));
    }
    Ok(Discount {
        id: world.next_id(),
        code,
        title,
        kind,
        percentage,
        customers,
        usage_limit,
        starts_at_ms,
        ends_at_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(code: &str) -> Value {
        json!({"discount": {"title": "t", "code": code, "startsAt": "2026-12-01T00:00:00Z",
            "endsAt": "2027-01-30T00:00:00Z", "usageLimit": 1, "context": {"all": "ALL"},
            "customerGets": {"value": {"percentage": 0.1}, "items": {"all": true}}}})
    }

    #[test]
    fn a_code_is_made_once_and_found_whatever_its_case() {
        let mut world = World::default();
        let made = create(&mut world, "basic", &input("WAIT-AB"));
        assert_eq!(made["discountCodeBasicCreate"]["userErrors"], json!([]));
        let again = create(&mut world, "free_shipping", &input("wait-ab"));
        assert_eq!(again["discountCodeFreeShippingCreate"]["userErrors"][0]["code"], "TAKEN");
        assert_eq!(world.discounts.len(), 1);
        let found = by_code(&world, &json!({"code": "wait-AB"}));
        assert_eq!(found["codeDiscountNodeByCode"]["id"], made["discountCodeBasicCreate"]["codeDiscountNode"]["id"]);
        assert!(by_code(&world, &json!({"code": "WAIT-CD"}))["codeDiscountNodeByCode"].is_null());
    }

    #[test]
    fn shopifys_checks_refuse_what_shopify_refuses() {
        let mut world = World::default();
        let refused = |world: &mut World, edit: &dyn Fn(&mut Value)| {
            let mut vars = input("WAIT-X");
            edit(&mut vars["discount"]);
            create(world, "basic", &vars)["discountCodeBasicCreate"]["userErrors"][0]["code"].clone()
        };
        assert_eq!(refused(&mut world, &|d| d["endsAt"] = json!("2026-11-01T00:00:00Z")), "END_DATE_BEFORE_START_DATE");
        assert_eq!(
            refused(&mut world, &|d| d["customerGets"]["value"]["percentage"] = json!(10)),
            "VALUE_OUTSIDE_RANGE"
        );
        assert_eq!(
            refused(&mut world, &|d| d["context"] = json!({"customers": {"add": ["gid://shopify/Customer/1"]}})),
            "INVALID"
        );
        assert_eq!(refused(&mut world, &|d| d["customerSelection"] = json!({"all": true})), "INVALID");
        assert_eq!(refused(&mut world, &|d| d["title"] = json!(" ")), "BLANK");
        assert!(world.discounts.is_empty());
    }
}
