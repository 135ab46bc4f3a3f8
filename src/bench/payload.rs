//! Realistic, correctly signed `orders/create` bodies for the load generator.
//!
//! Bodies come from our fixture. Only the order's identity changes from one body to the next (order
//! id, name, number, line item ids), so each one reads as a distinct real order to the service.
//! Rendering goes through a pre-split template instead of `serde_json::Value`: it keeps Shopify's
//! key order (our `serde_json` has no `preserve_order`) and costs about a microsecond per body.

use std::io::Write as _;

pub use super::signed::{Signed, sign};

/// Our own `orders/create` sample in Shopify's shape. Tests use it too.
pub const FIXTURE: &str = include_str!("../../fixtures/orders_create.json");

/// Ordinals available to one run. Each run starts at a random multiple of this, so two runs
/// against the same store do not send the same orders again.
pub const ORDINALS_PER_RUN: u64 = 10_000_000;

/// How far the same line's id moves from one body to the next. It exceeds the number of lines in
/// the fixture, so no line id is ever reused by another body's line.
const LINE_ID_STRIDE: u64 = 16;

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("the fixture is not JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the fixture has no usable {0}")]
    Missing(&'static str),
}

/// The places in the body that change per order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Var {
    OrderId,
    OrderNumber,
    Number,
    Name,
    LineId(usize),
}

#[derive(Debug)]
enum Piece {
    Lit(String),
    Var(Var),
}

/// The fixture, minified (Shopify sends compact JSON) and split around the varying values.
#[derive(Debug)]
pub struct Template {
    pieces: Vec<Piece>,
    order_id: u64,
    order_number: u64,
    number: u64,
    line_ids: Vec<u64>,
    approx_len: usize,
}

impl Template {
    pub fn from_fixture() -> Result<Self, TemplateError> {
        Self::parse(FIXTURE)
    }

    pub fn parse(json: &str) -> Result<Self, TemplateError> {
        let v: serde_json::Value = serde_json::from_str(json)?;
        let order_id = v["id"].as_u64().ok_or(TemplateError::Missing("id"))?;
        let order_number = v["order_number"].as_u64().ok_or(TemplateError::Missing("order_number"))?;
        let number = v["number"].as_u64().ok_or(TemplateError::Missing("number"))?;
        let name = v["name"].as_str().ok_or(TemplateError::Missing("name"))?;
        if name != format!("#{order_number}") {
            return Err(TemplateError::Missing("name of the form #<order_number>"));
        }
        let line_ids = v["line_items"]
            .as_array()
            .map(|lines| lines.iter().map(|l| l["id"].as_u64()).collect::<Option<Vec<_>>>())
            .and_then(|ids| ids.filter(|ids| !ids.is_empty() && ids.len() < LINE_ID_STRIDE as usize))
            .ok_or(TemplateError::Missing("line_items[].id"))?;

        let compact = minify(json);
        let approx_len = compact.len();
        let mut pieces = vec![Piece::Lit(compact)];
        // Key-qualified needles where the bare value could also occur elsewhere (prices, zips).
        let mut needles = vec![
            (order_id.to_string(), Var::OrderId),
            (format!("\"order_number\":{order_number}"), Var::OrderNumber),
            (format!("\"number\":{number}"), Var::Number),
            (format!("\"name\":\"{name}\""), Var::Name),
        ];
        needles.extend(line_ids.iter().enumerate().map(|(i, id)| (id.to_string(), Var::LineId(i))));
        for (needle, var) in needles {
            if !split_on(&mut pieces, &needle, var) {
                return Err(TemplateError::Missing("varying value in the minified body"));
            }
        }
        Ok(Self { pieces, order_id, order_number, number, line_ids, approx_len })
    }

    /// The body of order `ordinal`: distinct ordinals give distinct orders.
    pub fn render(&self, ordinal: u64, out: &mut Vec<u8>) {
        out.clear();
        out.reserve(self.approx_len + 64);
        for piece in &self.pieces {
            // Writing into a Vec cannot fail.
            let _ = match piece {
                Piece::Lit(s) => out.write_all(s.as_bytes()),
                Piece::Var(Var::OrderId) => write!(out, "{}", self.order_id + ordinal),
                Piece::Var(Var::OrderNumber) => write!(out, "\"order_number\":{}", self.order_number + ordinal),
                Piece::Var(Var::Number) => write!(out, "\"number\":{}", self.number + ordinal),
                Piece::Var(Var::Name) => write!(out, "\"name\":\"#{}\"", self.order_number + ordinal),
                Piece::Var(Var::LineId(i)) => write!(out, "{}", self.line_ids[*i] + ordinal * LINE_ID_STRIDE),
            };
        }
    }
}

/// Replaces every occurrence of `needle` in the literal pieces by `var`. A needle only matches
/// where it is not part of a longer number. Returns whether it matched at least once.
fn split_on(pieces: &mut Vec<Piece>, needle: &str, var: Var) -> bool {
    let mut found = false;
    let mut out = Vec::with_capacity(pieces.len() + 4);
    for piece in pieces.drain(..) {
        let Piece::Lit(text) = piece else {
            out.push(piece);
            continue;
        };
        let mut rest = text.as_str();
        let mut lit = String::new();
        while let Some(at) = rest.find(needle) {
            let end = at + needle.len();
            let before_digit = rest[..at].bytes().next_back().is_some_and(|b| b.is_ascii_digit());
            let after_digit = rest[end..].bytes().next().is_some_and(|b| b.is_ascii_digit());
            if before_digit || after_digit {
                lit.push_str(&rest[..end]);
            } else {
                lit.push_str(&rest[..at]);
                out.push(Piece::Lit(std::mem::take(&mut lit)));
                out.push(Piece::Var(var));
                found = true;
            }
            rest = &rest[end..];
        }
        lit.push_str(rest);
        out.push(Piece::Lit(lit));
    }
    *pieces = out;
    found
}

/// Drops the whitespace between JSON tokens, leaving strings untouched.
fn minify(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if !c.is_ascii_whitespace() {
            in_string = c == '"';
            out.push(c);
        }
    }
    out
}

/// Renders and signs `count` consecutive orders starting at `first_ordinal`. Done before a phase
/// so the load generator spends no CPU on JSON or HMAC while it measures.
pub fn signed_pool(template: &Template, secret: &[u8], first_ordinal: u64, count: usize) -> Vec<Signed> {
    let mut buf = Vec::new();
    (first_ordinal..first_ordinal + count as u64)
        .map(|ordinal| {
            template.render(ordinal, &mut buf);
            sign(secret, buf.clone())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::*;

    /// JSON paths (`/a/0/b`) where two documents differ.
    fn diff(a: &Value, b: &Value, path: String, out: &mut BTreeSet<String>) {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) if x.len() == y.len() => {
                for (k, v) in x {
                    match y.get(k) {
                        Some(w) => diff(v, w, format!("{path}/{k}"), out),
                        None => _ = out.insert(format!("{path}/{k}")),
                    }
                }
            }
            (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
                for (i, (v, w)) in x.iter().zip(y).enumerate() {
                    diff(v, w, format!("{path}/{i}"), out);
                }
            }
            _ if a != b => _ = out.insert(path),
            _ => {}
        }
    }

    fn body(t: &Template, ordinal: u64) -> Vec<u8> {
        let mut out = Vec::new();
        t.render(ordinal, &mut out);
        out
    }

    #[test]
    fn ordinal_zero_is_the_fixture_itself_in_compact_form() {
        let t = Template::from_fixture().unwrap();
        let fixture: Value = serde_json::from_str(FIXTURE).unwrap();
        let b = body(&t, 0);
        assert_eq!(serde_json::from_slice::<Value>(&b).unwrap(), fixture);
        assert!(!b.contains(&b'\n'));
    }

    #[test]
    fn only_the_order_identity_changes_between_bodies() {
        let t = Template::from_fixture().unwrap();
        let a: Value = serde_json::from_slice(&body(&t, 7)).unwrap();
        let b: Value = serde_json::from_slice(&body(&t, 8)).unwrap();
        let mut paths = BTreeSet::new();
        diff(&a, &b, String::new(), &mut paths);
        let mut expected: BTreeSet<String> =
            ["/id", "/admin_graphql_api_id", "/name", "/number", "/order_number"].map(String::from).into();
        for i in 0..a["line_items"].as_array().unwrap().len() {
            expected.insert(format!("/line_items/{i}/id"));
            expected.insert(format!("/line_items/{i}/admin_graphql_api_id"));
        }
        assert_eq!(paths, expected);
        assert_eq!(b["id"].as_u64(), a["id"].as_u64().map(|id| id + 1));
        assert_eq!(b["name"], format!("#{}", b["order_number"]));
        assert_eq!(b["admin_graphql_api_id"], format!("gid://shopify/Order/{}", b["id"]));
    }

    #[test]
    fn a_generated_body_is_signed_correctly_and_two_bodies_differ() {
        let t = Template::from_fixture().unwrap();
        let pool = signed_pool(&t, b"shpss_bench", 3 * ORDINALS_PER_RUN, 2);
        for s in &pool {
            assert_eq!(crate::webhook::verify::verify(b"shpss_bench", &s.body, Some(s.hmac.as_bytes())), Ok(()));
            assert!(crate::webhook::verify::verify(b"other", &s.body, Some(s.hmac.as_bytes())).is_err());
            let v: Value = serde_json::from_slice(&s.body).unwrap();
            assert!(v["line_items"][1]["variant_id"].as_u64().unwrap() > 1 << 53, "big ids survive");
        }
        assert_ne!(pool[0].body, pool[1].body);
        assert_ne!(pool[0].hmac, pool[1].hmac);
    }

    #[test]
    fn line_ids_never_repeat_across_bodies() {
        let t = Template::from_fixture().unwrap();
        let mut seen = BTreeSet::new();
        for ordinal in 0..200 {
            let v: Value = serde_json::from_slice(&body(&t, ordinal)).unwrap();
            for line in v["line_items"].as_array().unwrap() {
                assert!(seen.insert(line["id"].as_u64().unwrap()));
            }
        }
    }

    #[test]
    fn the_fixture_is_a_realistic_order() {
        let v: Value = serde_json::from_str(FIXTURE).unwrap();
        assert!(v["line_items"].as_array().unwrap().len() >= 2);
        for line in v["line_items"].as_array().unwrap() {
            assert!(line["variant_id"].as_u64().is_some() && line["fulfillable_quantity"].as_u64().is_some());
        }
        assert!(v["customer"]["tags"].is_string());
        assert!(FIXTURE.starts_with("{\n  \"id\": "), "two-space indented");
    }

    #[test]
    fn minify_keeps_whitespace_inside_strings() {
        assert_eq!(minify("{ \"a b\" : [ 1, \"x \\\" y\" ] }\n"), "{\"a b\":[1,\"x \\\" y\"]}");
    }
}
