//! Consolation codes on the platform (SPEC 10.3): the discount one waiting order gets, as
//! `discountCodeBasicCreate` or `discountCodeFreeShippingCreate` take it. Pure: the calls are
//! the effects' (`effects::consolation`), which look the code up before making it.

use serde_json::{Value, json};

use super::ops::{DISCOUNT_CODE_BASIC_CREATE, DISCOUNT_CODE_FREE_SHIPPING_CREATE, Operation};
use crate::ledger::input::admin_time;
use crate::shop::{Consolation, ConsolationKind};

/// One order's code, as the platform is asked to make it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRequest<'a> {
    pub code: &'a str,
    pub order_name: &'a str,
    /// The order's customer: the code is theirs alone. `None` (a guest checkout): anyone may
    /// use it, once, and only its customer knows it (80 unguessable bits).
    pub customer_id: Option<u64>,
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
}

/// The mutation and its variables. `context` names the buyers (never the deprecated
/// `customerSelection`); `usageLimit: 1` makes it single use whoever holds it.
pub fn create(offer: &Consolation, req: &CodeRequest<'_>) -> (&'static Operation, Value) {
    let context = match req.customer_id {
        Some(id) => json!({"customers": {"add": [format!("gid://shopify/Customer/{id}")]}}),
        None => json!({"all": "ALL"}),
    };
    let mut discount = json!({
        "title": format!("Thank you for waiting ({})", req.order_name),
        "code": req.code,
        "startsAt": admin_time(req.starts_at_ms),
        "endsAt": admin_time(req.ends_at_ms),
        "usageLimit": 1,
        "appliesOncePerCustomer": true,
        "context": context,
    });
    let op = match offer.kind {
        ConsolationKind::Percentage => {
            // Shopify takes a share: 10 % is 0.1.
            let share = f64::from(offer.value.clamp(1, 100)) / 100.0;
            discount["customerGets"] = json!({"value": {"percentage": share}, "items": {"all": true}});
            &DISCOUNT_CODE_BASIC_CREATE
        }
        ConsolationKind::FreeShipping => {
            discount["destination"] = json!({"all": true});
            &DISCOUNT_CODE_FREE_SHIPPING_CREATE
        }
    };
    (op, json!({"discount": discount}))
}

/// The discount's GID in a create mutation's reply.
pub fn created_id(data: &Value) -> Option<String> {
    let payload = data.as_object()?.values().next()?;
    payload["codeDiscountNode"]["id"].as_str().map(String::from)
}

/// What the offer gives, for the customer's email: `10% off your next order`.
pub fn what(offer: &Consolation) -> String {
    match offer.kind {
        ConsolationKind::Percentage => format!("{}% off your next order", offer.value.clamp(1, 100)),
        ConsolationKind::FreeShipping => "free shipping on your next order".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(customer_id: Option<u64>) -> CodeRequest<'static> {
        CodeRequest { code: "WAIT-ABC", order_name: "#1001", customer_id, starts_at_ms: 0, ends_at_ms: 86_400_000 }
    }

    #[test]
    fn a_percentage_code_is_for_its_customer_once_and_ends() {
        let offer = Consolation { enabled: true, value: 15, ..Consolation::default() };
        let (op, vars) = create(&offer, &request(Some(7)));
        assert_eq!(op.name, "DiscountCodeBasicCreate");
        let d = &vars["discount"];
        assert_eq!(d["context"]["customers"]["add"][0], "gid://shopify/Customer/7");
        assert!(d.get("customerSelection").is_none());
        assert_eq!(
            (d["usageLimit"].as_u64(), d["customerGets"]["value"]["percentage"].as_f64()),
            (Some(1), Some(0.15))
        );
        assert_eq!(d["endsAt"], "1970-01-02T00:00:00Z");
        assert_eq!(what(&offer), "15% off your next order");
    }

    #[test]
    fn a_guests_free_shipping_code_is_open_to_all_buyers_but_single_use() {
        let offer = Consolation { enabled: true, kind: ConsolationKind::FreeShipping, ..Consolation::default() };
        let (op, vars) = create(&offer, &request(None));
        assert_eq!(op.name, "DiscountCodeFreeShippingCreate");
        assert_eq!(vars["discount"]["context"], json!({"all": "ALL"}));
        assert_eq!(vars["discount"]["usageLimit"], 1);
        assert_eq!(vars["discount"]["destination"], json!({"all": true}));
    }

    #[test]
    fn the_id_is_read_from_either_mutations_reply() {
        let data = json!({"discountCodeFreeShippingCreate": {"codeDiscountNode": {"id": "gid://shopify/DiscountCodeNode/9"}, "userErrors": []}});
        assert_eq!(created_id(&data).as_deref(), Some("gid://shopify/DiscountCodeNode/9"));
        assert_eq!(created_id(&json!({"x": {"codeDiscountNode": null}})), None);
    }
}
