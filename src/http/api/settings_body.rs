//! Reading a `PUT /api/settings` body into the shop's rules and settings. Every field is
//! optional; the first bad one gets a 422 naming it. The handler works on copies, so a refused
//! body changes nothing.

use serde_json::Value;

use super::ApiError;
use super::enrol::{invalid, whole};
use crate::ledger::rules::ShopRules;
use crate::shop::{ShopSettings, TEMPLATE_KINDS, Template};

/// Shopify keeps tags up to 255 characters.
const MAX_TAG: usize = 255;
const MAX_TEMPLATE: usize = 64 * 1024;
/// Customer tags that set a priority class: a handful in practice.
const MAX_PRIORITY_TAGS: usize = 100;

fn boolean(v: &Value, field: &str) -> Result<bool, ApiError> {
    v.as_bool().ok_or_else(|| invalid(field, "must be true or false"))
}

fn optional(v: &Value, field: &str, min: u64, max: u64) -> Result<Option<u64>, ApiError> {
    if v.is_null() {
        return Ok(None);
    }
    let n = whole(v, field, max)?;
    if n < min {
        return Err(invalid(field, &format!("must be null or a whole number from {min} to {max}")));
    }
    Ok(Some(n))
}

/// `consolation` (SPEC 10.3): each field optional, each checked and named when refused.
fn consolation(v: &Value, field: &str, settings: &mut ShopSettings) -> Result<(), ApiError> {
    use crate::shop::ConsolationKind;
    let fields = v.as_object().ok_or_else(|| invalid(field, "must be an object"))?;
    let c = &mut settings.consolation;
    for (name, v) in fields {
        let f = format!("{field}.{name}");
        // A wait or a slip of 0 days: from the first day, or at any slip. A code lasts a day at least.
        let days = |v: &Value, least: u64| {
            v.as_u64()
                .filter(|d| (least..=365).contains(d))
                .map(|d| d as u32)
                .ok_or_else(|| invalid(&f, &format!("must be a whole number of days from {least} to 365")))
        };
        match name.as_str() {
            "enabled" => c.enabled = boolean(v, &f)?,
            "before_install" => c.before_install = boolean(v, &f)?,
            "after_days" => c.after_days = days(v, 0)?,
            "slip_days" => c.slip_days = days(v, 0)?,
            "expires_days" => c.expires_days = days(v, 1)?,
            "value" => {
                let percent = v.as_u64().filter(|p| (1..=100).contains(p));
                c.value = percent.ok_or_else(|| invalid(&f, "must be a percentage from 1 to 100"))? as u32;
            }
            "kind" => {
                c.kind = match v.as_str() {
                    Some("percentage") => ConsolationKind::Percentage,
                    Some("free_shipping") => ConsolationKind::FreeShipping,
                    _ => return Err(invalid(&f, "must be \"percentage\" or \"free_shipping\"")),
                }
            }
            _ => return Err(invalid(&f, "is not a setting of the consolation")),
        }
    }
    Ok(())
}

fn tag(v: &Value, field: &str) -> Result<String, ApiError> {
    let t = v.as_str().map(str::trim).unwrap_or_default();
    if t.is_empty() || t.len() > MAX_TAG || t.contains(',') {
        return Err(invalid(field, &format!("must be a tag of 1 to {MAX_TAG} characters without commas")));
    }
    Ok(t.to_string())
}

fn email(v: &Value, field: &str) -> Result<Option<String>, ApiError> {
    if v.is_null() {
        return Ok(None);
    }
    let e = v.as_str().map(str::trim).unwrap_or_default();
    let well_formed = e.len() <= 254
        && !e.chars().any(char::is_whitespace)
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.contains('@') && !domain.starts_with('.')
        });
    if !well_formed {
        return Err(invalid(field, "must be null or an email address like owner@example.com"));
    }
    Ok(Some(e.to_string()))
}

fn priority_tags(v: &Value, field: &str) -> Result<std::collections::BTreeMap<String, i32>, ApiError> {
    let map = v.as_object().ok_or_else(|| invalid(field, "must be an object of customer tag → priority class"))?;
    // The rules are read with every ledger event of the shop: they stay small.
    if map.len() > MAX_PRIORITY_TAGS {
        return Err(invalid(field, &format!("must name at most {MAX_PRIORITY_TAGS} tags")));
    }
    let mut out = std::collections::BTreeMap::new();
    // Tags compare without case: one set of lower-cased names keeps the check linear.
    let mut seen = std::collections::HashSet::with_capacity(map.len());
    for (name, class) in map {
        let inner = format!("{field}.{name}");
        let name = tag(&Value::String(name.clone()), &inner)?;
        let class = class
            .as_i64()
            .filter(|c| (-1000..=1000).contains(c))
            .ok_or_else(|| invalid(&inner, "must be a whole number from -1000 to 1000"))?;
        if !seen.insert(name.to_ascii_lowercase()) {
            return Err(invalid(&inner, "repeats a tag (tags compare without case)"));
        }
        out.insert(name, class as i32);
    }
    Ok(out)
}

fn locations(v: &Value, field: &str) -> Result<Option<std::collections::BTreeSet<u64>>, ApiError> {
    if v.is_null() {
        return Ok(None);
    }
    let list = v.as_array().ok_or_else(|| invalid(field, "must be null (all locations) or a list of location ids"))?;
    let ids = list
        .iter()
        .map(|id| id.as_u64().filter(|n| *n > 0))
        .collect::<Option<std::collections::BTreeSet<u64>>>()
        .ok_or_else(|| invalid(field, "must list location ids as positive whole numbers"))?;
    if ids.is_empty() {
        return Err(invalid(field, "must name at least one location, or be null for all"));
    }
    Ok(Some(ids))
}

fn templates(v: &Value, field: &str, settings: &mut ShopSettings) -> Result<(), ApiError> {
    let map = v.as_object().ok_or_else(|| invalid(field, "must be an object of email kind → template"))?;
    for (kind, t) in map {
        let inner = format!("{field}.{kind}");
        if !TEMPLATE_KINDS.contains(&kind.as_str()) {
            return Err(invalid(&inner, &format!("is not an email kind ({})", TEMPLATE_KINDS.join(", "))));
        }
        if t.is_null() {
            settings.templates.remove(kind);
            settings.template_failures.remove(kind);
            continue;
        }
        let template = template(kind, t, &inner)?;
        // A new template gets a fresh start; the same one sent back keeps its failure on record.
        if settings.templates.get(kind) != Some(&template) {
            settings.template_failures.remove(kind);
        }
        settings.templates.insert(kind.clone(), template);
    }
    Ok(())
}

/// A merchant's template of `kind` (`{subject, text, html}`), checked as a save checks it; a bad
/// part is named `{field}.{part}`.
pub fn template(kind: &str, t: &Value, field: &str) -> Result<Template, ApiError> {
    let part = |name: &str| -> Result<String, ApiError> {
        let p = format!("{field}.{name}");
        t.get(name)
            .and_then(Value::as_str)
            .filter(|s| s.len() <= MAX_TEMPLATE)
            .map(str::to_string)
            .ok_or_else(|| invalid(&p, &format!("must be a text of at most {MAX_TEMPLATE} bytes")))
    };
    let template = Template { subject: part("subject")?, text: part("text")?, html: part("html")? };
    // Checked now, so a typo is this 422 and never a failure when a customer is owed an email.
    crate::notify::templates::validate(kind, &template).map_err(|e| {
        let at = e.line.map(|l| format!("line {l}: ")).unwrap_or_default();
        invalid(&format!("{field}.{}", e.part), &format!("{at}{}", e.message))
    })?;
    Ok(template)
}

/// Applies the body to `rules` and `settings`, or names the first bad field.
pub fn apply(body: &Value, rules: &mut ShopRules, settings: &mut ShopSettings) -> Result<(), ApiError> {
    let fields = body.as_object().ok_or_else(|| invalid("body", "must be a JSON object"))?;
    for (field, v) in fields {
        let f = field.as_str();
        match f {
            "priority_tags" => rules.priority_tags = priority_tags(v, f)?,
            "counted_locations" => rules.counted_locations = locations(v, f)?,
            "tags" => {
                let names = v.as_object().ok_or_else(|| invalid(f, "must be {\"backordered\": …, \"ready\": …}"))?;
                for (which, name) in names {
                    let inner = format!("tags.{which}");
                    match which.as_str() {
                        "backordered" => settings.tags.backordered = tag(name, &inner)?,
                        "ready" => settings.tags.ready = tag(name, &inner)?,
                        _ => return Err(invalid(&inner, "is not a tag setting (backordered, ready)")),
                    }
                }
                if settings.tags.backordered.eq_ignore_ascii_case(&settings.tags.ready) {
                    return Err(invalid("tags.ready", "must differ from tags.backordered"));
                }
            }
            "holds" => settings.holds = boolean(v, f)?,
            "settle_ms" => settings.settle_ms = optional(v, f, 0, 86_400_000)?,
            "eta_change_threshold_days" => settings.eta_change_threshold_days = whole(v, f, 365)? as u32,
            "reminder_days" => settings.reminder_days = optional(v, f, 1, 365)?.map(|d| d as u32),
            "alert_threshold_units" => settings.alert_threshold_units = optional(v, f, 1, 1_000_000)?,
            "owner_email" => settings.owner_email = email(v, f)?,
            "consolation" => consolation(v, f, settings)?,
            "service_level" => {
                let level = v.as_f64().filter(|l| (0.5..=0.999).contains(l));
                let level = level.ok_or_else(|| invalid(f, "must be a share from 0.5 to 0.999, like 0.95"))?;
                settings.service_level_permille = (level * 1000.0).round() as u16;
            }
            "templates" => templates(v, f, settings)?,
            // Read-only: what `GET` shows of templates that failed at send time, of a rework in
            // progress, and the shop's time zone (the platform's). A client that sends back what
            // it read is not refused for it.
            "template_failures" | "rework" | "timezone" | "supply_scope_missing" | "discount_scope_missing" => {}
            _ => return Err(invalid(f, "is not a shop setting")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn field_of(body: Value) -> String {
        match apply(&body, &mut ShopRules::default(), &mut ShopSettings::default()) {
            Err(ApiError::Invalid { field, .. }) => field,
            other => panic!("expected a 422, got {other:?}"),
        }
    }

    #[test]
    fn the_example_of_the_spec_is_accepted() {
        let body = json!({"priority_tags": {"VIP": 10, "wholesale": 5}, "counted_locations": null,
            "tags": {"backordered": "backorder", "ready": "backorder-ready"},
            "holds": true, "settle_ms": 2000, "eta_change_threshold_days": 3, "reminder_days": null,
            "alert_threshold_units": 20, "owner_email": "owner@example.com",
            "templates": {"backordered": {"subject": "s", "text": "t", "html": "<p>h</p>"}}});
        let (mut rules, mut settings) = (ShopRules::default(), ShopSettings::default());
        apply(&body, &mut rules, &mut settings).unwrap();
        assert_eq!(rules.priority(&["vip".into()]), 10);
        assert_eq!(settings.settle_ms, Some(2000));
        assert_eq!(settings.owner_email.as_deref(), Some("owner@example.com"));
        assert_eq!(settings.templates["backordered"].html, "<p>h</p>");
    }

    #[test]
    fn the_consolation_of_the_spec_is_accepted_and_each_bad_field_of_it_named() {
        let body = json!({"consolation": {"enabled": true, "after_days": 21, "slip_days": 7,
            "kind": "free_shipping", "value": 10, "expires_days": 60}, "service_level": 0.9});
        let (mut rules, mut settings) = (ShopRules::default(), ShopSettings::default());
        apply(&body, &mut rules, &mut settings).unwrap();
        assert!(settings.consolation.enabled);
        assert_eq!(settings.consolation.kind, crate::shop::ConsolationKind::FreeShipping);
        assert_eq!(settings.service_level(), 0.9);
        assert_eq!(field_of(json!({"consolation": {"after_days": 366}})), "consolation.after_days");
        assert_eq!(field_of(json!({"consolation": {"slip_days": -1}})), "consolation.slip_days");
        assert_eq!(field_of(json!({"consolation": {"expires_days": 0}})), "consolation.expires_days");
        let from_the_first_day = json!({"consolation": {"after_days": 0, "slip_days": 0}});
        apply(&from_the_first_day, &mut rules, &mut settings).unwrap();
        assert_eq!((settings.consolation.after_days, settings.consolation.slip_days), (0, 0));
        assert_eq!(field_of(json!({"consolation": {"value": 101}})), "consolation.value");
        assert_eq!(field_of(json!({"consolation": {"kind": "gift"}})), "consolation.kind");
        assert_eq!(field_of(json!({"consolation": {"code": "X"}})), "consolation.code");
        assert_eq!(field_of(json!({"consolation": true})), "consolation");
        assert_eq!(field_of(json!({"service_level": 1.0})), "service_level");
    }

    #[test]
    fn each_bad_field_is_named() {
        assert_eq!(field_of(json!({"priority_tags": {"VIP": "high"}})), "priority_tags.VIP");
        assert_eq!(field_of(json!({"priority_tags": {"VIP": 1, "vip": 2}})), "priority_tags.vip");
        assert_eq!(field_of(json!({"counted_locations": [1, -2]})), "counted_locations");
        assert_eq!(field_of(json!({"counted_locations": []})), "counted_locations");
        assert_eq!(field_of(json!({"tags": {"ready": "a,b"}})), "tags.ready");
        assert_eq!(field_of(json!({"tags": {"ready": "backorder"}})), "tags.ready");
        assert_eq!(field_of(json!({"holds": "yes"})), "holds");
        assert_eq!(field_of(json!({"settle_ms": -1})), "settle_ms");
        assert_eq!(field_of(json!({"reminder_days": 0})), "reminder_days");
        assert_eq!(field_of(json!({"owner_email": "not-an-email"})), "owner_email");
        assert_eq!(field_of(json!({"templates": {"welcome": {}}})), "templates.welcome");
        assert_eq!(field_of(json!({"templates": {"ready": {"subject": "s"}}})), "templates.ready.text");
        assert_eq!(field_of(json!({"colour": "red"})), "colour");
        assert_eq!(field_of(json!([1])), "body");
    }

    #[test]
    fn at_most_a_hundred_priority_tags_are_taken_each_compared_without_case() {
        let tags = |n: usize| Value::Object((0..n).map(|i| (format!("Tag{i}"), json!(1))).collect());
        let (mut rules, mut settings) = (ShopRules::default(), ShopSettings::default());
        apply(&json!({"priority_tags": tags(100)}), &mut rules, &mut settings).unwrap();
        assert_eq!(rules.priority_tags.len(), 100);
        assert_eq!(field_of(json!({"priority_tags": tags(101)})), "priority_tags");
        assert_eq!(field_of(json!({"priority_tags": {"Tag1": 1, "TAG1": 2}})), "priority_tags.Tag1");
    }

    proptest! {
        /// Outside input: any JSON is either applied or refused with a field named, never a
        /// panic. (The handler applies a body to copies and stores them only when it passes.)
        #[test]
        fn any_body_is_applied_or_refused_whole(body in arb_json()) {
            let (mut rules, mut settings) = (ShopRules::default(), ShopSettings::default());
            match apply(&body, &mut rules, &mut settings) {
                Ok(()) => {}
                Err(ApiError::Invalid { field, .. }) => prop_assert!(!field.is_empty()),
                Err(other) => prop_assert!(false, "unexpected error {other:?}"),
            }
        }
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            "[a-z@.,]{0,12}".prop_map(Value::String),
        ];
        let value = leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        });
        let keys = prop_oneof![
            Just("priority_tags".to_string()),
            Just("counted_locations".to_string()),
            Just("tags".to_string()),
            Just("holds".to_string()),
            Just("settle_ms".to_string()),
            Just("reminder_days".to_string()),
            Just("owner_email".to_string()),
            Just("templates".to_string()),
            "[a-z_]{1,8}",
        ];
        prop::collection::btree_map(keys, value, 0..5).prop_map(|m| Value::Object(m.into_iter().collect()))
    }
}
