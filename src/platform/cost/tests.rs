use proptest::prelude::*;
use serde_json::json;

use super::*;

fn cost(doc: &str, vars: Value) -> u64 {
    Document::parse(doc).expect("parses").requested(&vars)
}

/// The fulfillment-order read as it stood before it was sized to Shopify's limit.
const UNPAGED_FULFILLMENT_ORDERS: &str = r#"
query OrderFulfillmentOrders($id: ID!) {
  order(id: $id) {
    id
    fulfillmentOrders(first: 50) {
      nodes {
        id
        status
        fulfillmentHolds { id handle reason }
        lineItems(first: 250) { nodes { id remainingQuantity lineItem { id } } }
      }
    }
  }
}"#;

/// The reconcile read as it stood before it was sized to Shopify's limit.
const UNPAGED_OPEN_ORDERS: &str = r#"
# Reconciliation: open orders, a page at a time.
query OpenOrders($query: String!, $after: String) {
  orders(first: 50, after: $after, query: $query, sortKey: CREATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id name createdAt updatedAt cancelledAt closedAt
      customer { tags }
      lineItems(first: 250) { nodes { id quantity unfulfilledQuantity variant { id } } }
    }
  }
}"#;

#[test]
fn the_old_fulfillment_order_read_requests_the_points_shopify_computes() {
    assert_eq!(cost(UNPAGED_FULFILLMENT_ORDERS, json!({})), 25_203);
}

#[test]
fn the_old_open_orders_read_requests_the_points_shopify_computes() {
    assert_eq!(cost(UNPAGED_OPEN_ORDERS, json!({})), 25_202);
}

#[test]
fn shopify_documents_example_of_nested_connections_multiplies() {
    let doc = "{ fulfillmentOrders(first: 50) { nodes { lineItems(first: 250) { nodes { id lineItem { id } } } } } }";
    assert_eq!(cost(doc, json!({})), 25_152);
}

#[test]
fn a_mutation_costs_ten_whatever_it_selects() {
    let doc =
        "mutation M($id: ID!) { tagsAdd(id: $id, tags: [\"a\", \"b\"]) { node { id } userErrors { field message } } }";
    assert_eq!(cost(doc, json!({})), 10);
}

#[test]
fn a_page_size_in_a_variable_is_read_from_the_variables() {
    let doc = "query Q($n: Int!) { orders(first: $n) { edges { cursor node { id customer { id } } } } }";
    assert_eq!(cost(doc, json!({"n": 10})), 2 + 10 * 2);
    assert_eq!(cost(doc, json!({})), 2, "no size asks for nothing");
}

#[test]
fn edges_and_nodes_cost_the_same_and_page_info_is_free() {
    let nodes = "{ orders(first: 3) { pageInfo { hasNextPage } nodes { id } } }";
    let edges = "{ orders(first: 3) { pageInfo { hasNextPage } edges { node { id } } } }";
    assert_eq!(cost(nodes, json!({})), 5);
    assert_eq!(cost(edges, json!({})), 5);
}

#[test]
fn the_actual_cost_counts_the_nodes_that_came_back() {
    let doc = Document::parse(UNPAGED_FULFILLMENT_ORDERS).unwrap();
    let data = json!({"order": {"id": "o", "fulfillmentOrders": {"nodes": [{
        "id": "f", "status": "OPEN", "fulfillmentHolds": [],
        "lineItems": {"nodes": [{"id": "a", "remainingQuantity": 1, "lineItem": {"id": "l"}}]},
    }]}}});
    // order 1 + connection 2 + one node (1 + holds 1 + connection 2 + one line (1 + 1)).
    assert_eq!(doc.actual(&data), 1 + 2 + (1 + 1 + 2 + 2));
    assert_eq!(doc.actual(&json!({"order": null})), 0);
}

#[test]
fn the_page_size_at_a_path_is_what_the_document_asks() {
    let doc = Document::parse(UNPAGED_OPEN_ORDERS).unwrap();
    assert_eq!(doc.page_size(&["orders"], &json!({})), Some(50));
    assert_eq!(doc.page_size(&["orders", "nodes", "lineItems"], &json!({})), Some(250));
    assert_eq!(doc.page_size(&["orders", "nodes"], &json!({})), None);
}

#[test]
fn malformed_documents_are_syntax_errors() {
    for doc in ["", "{", "query Q { a(first: -1) { id } }", "{ a } { b }", "fragment F on X { id }", "{ a(b: \"x) }"] {
        assert!(Document::parse(doc).is_err(), "{doc:?} should not parse");
    }
}

proptest! {
    /// The dev shop parses whatever a client sends: no input may panic it.
    #[test]
    fn no_document_panics_the_parser(doc in ".{0,200}", first in 0u64..u64::MAX) {
        if let Ok(d) = Document::parse(&doc) {
            let _ = d.requested(&json!({"n": first}));
            let _ = d.actual(&json!({}));
        }
    }

    #[test]
    fn no_nesting_of_braces_panics_the_parser(depth in 0usize..200, open in "[{(\\[ a:$1]{0,50}") {
        let doc = format!("{}{}{}", "{ a ".repeat(depth), open, "}".repeat(depth));
        let _ = Document::parse(&doc);
    }
}
