//! An order webhook's body as the queue keeps it: only the fields [`super::input::parse_order`]
//! reads, each value exactly as it came.
//!
//! Shopify's order payloads run to 5–15 KB, of which the ledger reads a few hundred bytes. Every
//! byte queued is copied into the store, written to its append-only file, held in memory while
//! the entry waits, and sent back to the reader: under a flood of webhooks that cost is what
//! slows the store for the ledger (BENCHMARKS.md, "Scale-out"). So intake keeps what the
//! ledger reads and drops the rest.
//!
//! The kept body is itself an order body of the same shape, so any version of the parser that
//! reads these fields (the previous release included) reads it as it would the whole one. A
//! value is kept byte for byte as it came (borrowed from the body, never re-encoded: a number
//! past `u64` stays exact, a string keeps its escapes), null or of a wrong type included, so
//! the parser meets exactly what it would have met: the same state, or the same refusal. A body
//! this module cannot read as an order (not JSON, a list where an object belongs) is queued
//! whole, and the ledger refuses it to the dead letters as before.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

/// The body kept for the queue, or `None` to keep the whole body.
pub fn order_body(body: &[u8]) -> Option<Vec<u8>> {
    // Intake runs this on every order webhook: the leaves are borrowed from the body, so reading
    // allocates only the lists, and writing copies bytes.
    let order: Order<'_> = serde_json::from_slice(body).ok()?;
    let kept = serde_json::to_vec(&order).ok()?;
    (kept.len() < body.len()).then_some(kept)
}

/// A field that was present, with its value's text whatever it is (`null` included).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

/// A list that was present. The parser reads lists with `#[serde(default)]`: absent is empty,
/// `null` is refused; so `null` fails here too, and the body is queued whole.
fn list<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Vec<T>>, D::Error> {
    Vec::deserialize(d).map(Some)
}

/// Declares a struct of kept fields: a `leaf` keeps its value as it came; a nested `one` is read
/// as the parser reads an `Option` (absent and `null` alike), a nested `list` as it reads a
/// `Vec`. A nested field of a wrong type fails here, and the body is then queued whole.
macro_rules! kept {
    ($name:ident { leaf: [$($leaf:ident),*] $(, one $one:ident : $one_ty:ident)* $(, list $list:ident : $list_ty:ident)* $(,)? }) => {
        #[derive(Deserialize, Serialize)]
        struct $name<'a> {
            $(
                #[serde(default, borrow, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
                $leaf: Option<&'a RawValue>,
            )*
            $(
                #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
                $one: Option<$one_ty<'a>>,
            )*
            $(
                #[serde(default, borrow, deserialize_with = "list", skip_serializing_if = "Option::is_none")]
                $list: Option<Vec<$list_ty<'a>>>,
            )*
        }
    };
}

kept!(Order {
    leaf: [id, name, created_at, updated_at, cancelled_at, closed_at, email, contact_email],
    one customer: Customer,
    list line_items: Line,
    list refunds: Refund,
});
kept!(Customer { leaf: [id, tags, first_name] });
kept!(Line { leaf: [id, variant_id, fulfillable_quantity, current_quantity, name, title] });
kept!(Refund { leaf: [], list refund_line_items: RefundLine });
kept!(RefundLine { leaf: [line_item_id, quantity, restock_type] });

#[cfg(test)]
mod tests;
