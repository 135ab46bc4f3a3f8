use serde_json::{Value, json};

use super::*;

/// A value no page or email may pass through as markup; `what` tells the variables apart.
fn hostile(what: &str) -> String {
    format!("<script>alert(1)</script>\"'{{{{ x }}}} {what}")
}

/// The same value as minijinja's HTML escaping writes it.
fn escaped(what: &str) -> String {
    format!("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;&quot;&#x27;{{{{ x }}}} {what}")
}

/// Outputs that are numbers, never text.
const NUMBERS: [&str; 36] = [
    "l.id",
    "front_class",
    "j.done",
    "j.total",
    "chart.width",
    "chart.height",
    "chart.max",
    "day[1]",
    "line.quantity",
    "line.position",
    "totals.units",
    "totals.managed",
    "totals.waiting_variants",
    "totals.capped",
    "totals.selling",
    "v.id",
    "v.waiting",
    "v.available",
    "f.count",
    "values.eta_change_threshold_days",
    "default_settle_ms",
    "l.position",
    "l.units",
    "front",
    "values.handling_days",
    "f.variant_id",
    "f.quantity",
    "b.qty",
    "b.index",
    "r.demand_7",
    "r.demand_30",
    "r.waiting",
    "values.consolation_after_days",
    "values.consolation_slip_days",
    "values.consolation_value",
    "values.consolation_expires_days",
];

/// Each template's context, every string in it hostile, and the expressions (as the template
/// writes them in `{{ }}`) that print those strings.
fn contexts(name: &str) -> (Value, Vec<&'static str>) {
    let line = json!({
        "title": hostile("line.title"), "quantity": 2, "position": 3,
        "eta": hostile("line.eta"), "eta_text": hostile("line.eta_text"),
        "previous_eta_text": hostile("line.previous_eta_text"),
    });
    match name {
        "install/error.html" => (json!({"title": hostile("title"), "body": hostile("body")}), vec!["title", "body"]),
        "pages/layout.html" | "pages/overview.html" | "pages/variants.html" => {
            let row = json!({
                "id": 7, "name": hostile("v.name"), "href": hostile("v.href"), "status": hostile("v.status"),
                "tone": hostile("v.tone"), "waiting": 3, "available": -3, "cap": hostile("v.cap"),
                "lead_time": hostile("v.lead_time"),
            });
            (
                json!({
                    "frame": frame(),
                    "totals": {"units": 3, "managed": 1, "waiting_variants": 1, "capped": 0, "selling": 1},
                    "needs": [{"text": hostile("item.text"), "href": hostile("item.href")}],
                    "top": [row], "rows": [row], "managed": 1, "q": hostile("q"),
                    "search_error": hostile("search_error"),
                    "found": [{"variant_id": 9, "name": hostile("f.name"), "sku": hostile("f.sku"), "quantity": 2,
                               "managed": false}],
                    "filters": [{"label": hostile("f.label"), "href": hostile("f.href"), "count": 1, "current": true}],
                    "chart": {"width": 600, "height": 160, "area": hostile("chart.area"), "line": hostile("chart.line"),
                              "max": 3, "first_day": hostile("chart.first_day"), "last_day": hostile("chart.last_day"),
                              "summary": hostile("chart.summary"), "days": [[hostile("day[0]"), 3]]},
                    "in_demand": {
                        "options": [{"label": hostile("r.label"), "href": null, "demand_7": 1, "demand_30": 2, "waiting": 3}],
                        "variants": [{"label": hostile("r.label"), "href": hostile("r.href"), "demand_7": 1, "demand_30": 2, "waiting": 3}],
                    },
                }),
                vec![
                    "frame.api_key",
                    "frame.title",
                    "frame.bridge_url",
                    "frame.css",
                    "frame.js",
                    "link.href",
                    "link.label",
                    "item.text",
                    "item.href",
                    "v.name",
                    "v.href",
                    "v.status",
                    "v.tone",
                    "v.cap",
                    "v.lead_time",
                    "f.label",
                    "f.href",
                    "q",
                    "search_error",
                    "f.name",
                    "f.sku",
                    "chart.area",
                    "chart.line",
                    "chart.first_day",
                    "chart.last_day",
                    "chart.summary",
                    "day[0]",
                    "r.label",
                    "r.href",
                ],
            )
        }
        "pages/settings.html" => (
            json!({
                "frame": frame(),
                "values": {
                    "backordered_tag": hostile("values.backordered_tag"), "ready_tag": hostile("values.ready_tag"),
                    "holds": true, "priority_tags": hostile("values.priority_tags"),
                    "eta_change_threshold_days": 3, "reminder_days": hostile("values.reminder_days"),
                    "alert_threshold_units": hostile("values.alert_threshold_units"),
                    "owner_email": hostile("values.owner_email"), "settle_ms": hostile("values.settle_ms"),
                    "timezone": hostile("values.timezone"),
                    "service_level": hostile("values.service_level"), "consolation_enabled": true,
                    "consolation_free_shipping": true, "consolation_before_install": true,
                    "consolation_after_days": 21, "consolation_slip_days": 7, "consolation_value": 10,
                    "consolation_expires_days": 60,
                },
                "default_settle_ms": 2000,
                "locations": [{"id": 4, "name": hostile("l.name"), "counted": true}],
                "locations_error": hostile("locations_error"),
                "supply_scope_missing": hostile("supply_scope_missing"), "grant_scopes": hostile("grant_scopes"),
                "discount_scope_missing": hostile("discount_scope_missing"),
            }),
            vec![
                "values.backordered_tag",
                "values.ready_tag",
                "values.priority_tags",
                "values.reminder_days",
                "values.alert_threshold_units",
                "values.owner_email",
                "values.settle_ms",
                "values.timezone",
                "values.service_level",
                "l.name",
                "locations_error",
                "supply_scope_missing",
                "grant_scopes",
                "discount_scope_missing",
            ],
        ),
        "pages/emails.html" => (
            json!({
                "frame": frame(),
                "kinds": [{"kind": hostile("k.kind"), "label": hostile("k.label"), "href": hostile("k.href"), "current": true}],
                "kind": hostile("kind"), "when": hostile("when"), "custom": true, "failure": hostile("failure"),
                "owner_email": hostile("owner_email"),
                "template": {"subject": hostile("template.subject"), "text": hostile("template.text"),
                             "html": hostile("template.html")},
            }),
            vec![
                "k.href",
                "k.label",
                "kind",
                "when",
                "failure",
                "owner_email",
                "template.subject",
                "template.text",
                "template.html",
            ],
        ),
        "pages/variant.html" => (
            json!({
                "frame": frame(),
                "v": {"id": 7, "name": hostile("v.name"), "tone": hostile("v.tone"), "status": hostile("v.status"),
                      "waiting": 3, "available": -3, "cap": hostile("v.cap")},
                "queue": [{"position": 1, "order_name": hostile("l.order_name"), "units": 2, "eta": hostile("l.eta"),
                           "priority_action": hostile("l.priority_action"), "by_hand": true}],
                "front_class": 11, "next": hostile("next"), "paged": true, "front": 50, "action": hostile("action"),
                "values": {"enabled": true, "discontinued": false, "cap": hostile("values.cap"), "supply_cap": true,
                           "lead_time_days": hostile("values.lead_time_days"), "handling_days": 2,
                           "supply": hostile("values.supply")},
                "platform": [{"id": hostile("b.id"), "name": hostile("b.name"), "qty": 4, "platform_eta": hostile("b.platform_eta"),
                              "eta_override": hostile("b.eta_override"), "unexplained": true, "index": 0}],
                "unexplained": true, "scope_missing": hostile("scope_missing"),
                "advice": {"demand": hostile("advice.demand"), "reorder_point": hostile("advice.reorder_point"),
                           "suggested": hostile("advice.suggested"), "order_by": hostile("advice.order_by"),
                           "cover": hostile("advice.cover"), "basis": hostile("advice.basis")},
            }),
            vec![
                "v.name",
                "v.tone",
                "v.status",
                "v.cap",
                "l.order_name",
                "l.priority_action",
                "next",
                "l.eta",
                "action",
                "values.cap",
                "values.lead_time_days",
                "values.supply",
                "b.id",
                "b.name",
                "b.platform_eta",
                "b.eta_override",
                "scope_missing",
                "advice.demand",
                "advice.reorder_point",
                "advice.suggested",
                "advice.order_by",
                "advice.cover",
                "advice.basis",
            ],
        ),
        "pages/missing.html" => (json!({"frame": frame(), "text": hostile("text")}), vec!["text"]),
        "pages/activity.html" => (
            json!({
                "frame": frame(),
                "letters": [{"id": hostile("d.id"), "kind": hostile("d.kind"), "what": hostile("d.what"),
                             "when": hostile("d.when"), "reason": hostile("d.reason"), "action": hostile("d.action")}],
                "jobs": [{"what": hostile("j.what"), "state": hostile("j.state"), "done": 1, "total": 2,
                          "when": hostile("j.when"), "errors": hostile("j.errors")}],
                "done": [{"when": hostile("r.when"), "text": hostile("r.text")}],
                "repairs": [{"when": hostile("r.when"), "text": hostile("r.text")}],
                "people": [{"when": hostile("r.when"), "text": hostile("r.text")}],
            }),
            vec![
                "d.id", "d.kind", "d.what", "d.when", "d.reason", "d.action", "j.what", "j.state", "j.when",
                "j.errors", "r.when", "r.text",
            ],
        ),
        "pages/bounce.html" => {
            (json!({"api_key": hostile("api_key"), "bridge_url": hostile("bridge_url")}), vec!["api_key", "bridge_url"])
        }
        "devshop/admin.html" => (
            json!({"shop": hostile("shop"), "app_url": hostile("app_url"), "title": hostile("title")}),
            vec!["shop", "app_url", "title"],
        ),
        "status/simple.html" => (json!({"t": hostile("t"), "x": hostile("x")}), vec!["t", "x"]),
        "status/alert.html" => (
            json!({"name": hostile("name"), "lines": [hostile("l")], "admin": hostile("admin")}),
            vec!["name", "l", "admin"],
        ),
        "status/page.html" => (
            json!({
                "shop_name": hostile("shop_name"), "order_name": hostile("order_name"),
                "notice": hostile("notice"), "waiting": [line], "ready": [line],
                "was_waiting": true, "open": true, "cancel_requested": false,
                "cancel_action": hostile("cancel_action"), "csrf": hostile("csrf"),
            }),
            vec!["shop_name", "order_name", "notice", "line.title", "line.eta_text", "cancel_action", "csrf"],
        ),
        "owner/message.html" => (json!({"paragraphs": [[hostile("line"), hostile("line")]]}), vec!["line"]),
        "privacy/data_request.html" => {
            (json!({"intro": hostile("intro"), "json": hostile("json")}), vec!["intro", "json"])
        }
        email if email.starts_with("email/") => (
            json!({
                "kind": hostile("kind"), "shop_name": hostile("shop_name"), "order_name": hostile("order_name"),
                "first_name": hostile("first_name"), "status_url": hostile("status_url"),
                "lines": [line, line],
                "offer": {"code": hostile("offer.code"), "what": hostile("offer.what"), "ends_text": hostile("offer.ends_text")},
            }),
            vec![
                "shop_name",
                "order_name",
                "first_name",
                "status_url",
                "line.title",
                "line.eta_text",
                "line.previous_eta_text",
                "offer.code",
                "offer.what",
                "offer.ends_text",
            ],
        ),
        other => panic!("{other}: a template the escaping test does not know; add its context here"),
    }
}

/// The layout's context, every string in it hostile.
fn frame() -> Value {
    json!({
        "api_key": hostile("frame.api_key"), "bridge_url": hostile("frame.bridge_url"), "shop": hostile("frame.shop"),
        "title": hostile("frame.title"), "css": hostile("frame.css"), "js": hostile("frame.js"),
        "nav": [{"href": hostile("link.href"), "label": hostile("link.label"), "current": true}],
    })
}

/// The expressions a template prints, as written between `{{` and `}}`.
fn printed(source: &str) -> Vec<&str> {
    source.split("{{").skip(1).filter_map(|s| s.split_once("}}")).map(|(e, _)| e.trim()).collect()
}

#[test]
fn every_page_and_email_escapes_hostile_values() {
    let mut seen = 0;
    for (name, tmpl) in ENV.templates() {
        seen += 1;
        let (ctx, strings) = contexts(name);
        let source = tmpl.source();
        for expr in printed(source) {
            assert!(
                strings.contains(&expr) || NUMBERS.contains(&expr),
                "{name} prints `{expr}`, which the test does not fill with a hostile value"
            );
        }
        let out = render(name, &ctx).unwrap_or_else(|e| panic!("{e}"));
        for what in strings.iter().filter(|w| printed(source).contains(w)) {
            if name.ends_with(".html") {
                assert!(out.contains(&escaped(what)), "{name}: `{what}` is not escaped:\n{out}");
            } else {
                // Plain text stays as it was sent, and is never evaluated as a template.
                assert!(out.contains(&hostile(what)), "{name}: `{what}` is changed:\n{out}");
            }
        }
        if name.ends_with(".html") {
            assert!(!out.contains("<script>alert"), "{name}: markup got through:\n{out}");
        }
    }
    // The pages, the owner's and the privacy mail, and three parts of each built-in email.
    assert_eq!(seen, PAGES.len() + 3 * TEMPLATE_KINDS.len());
}
