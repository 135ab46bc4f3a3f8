//! The cost of a GraphQL document as Shopify calculates it (SPEC 3.5), before it runs
//! (`requested`) and after, from what it returned (`actual`).
//!
//! Shopify refuses any query whose *requested* cost exceeds 1,000 points, whatever it would have
//! returned, so the pages our documents ask for must be sized by this number, not by what a
//! typical shop holds. The rules: a scalar or enum costs 0; an object 1; a connection
//! (`first`/`last`) 2 plus `first` times the cost of one node, so nested connections multiply;
//! `pageInfo` is free; a mutation costs 10. Both the client (to pace its calls) and the dev shop
//! (to enforce the limit as Shopify does) use this one calculation.
//!
//! This is not a GraphQL engine: it reads the executable documents the service sends (one
//! operation, fields with arguments, no fragments it needs to resolve) well enough to cost them.

mod parse;

use serde_json::Value;

/// Shopify's limit for one query.
pub const MAX_COST: u64 = 1000;
/// What Shopify charges for any mutation.
const MUTATION: u64 = 10;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("GraphQL syntax error: {0}")]
pub struct SyntaxError(String);

/// A parsed operation: its kind and its selection tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub mutation: bool,
    pub selection: Vec<Field>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The key the reply uses (the alias when there is one).
    pub key: String,
    pub name: String,
    /// `first` or `last`: a literal, or the variable that holds it.
    page: Option<Size>,
    pub selection: Vec<Field>,
}

#[derive(Debug, Clone, PartialEq)]
enum Size {
    Literal(u64),
    Variable(String),
}

impl Document {
    pub fn parse(source: &str) -> Result<Self, SyntaxError> {
        parse::document(source)
    }

    /// The requested cost with these variables.
    pub fn requested(&self, variables: &Value) -> u64 {
        if self.mutation {
            return MUTATION;
        }
        self.selection.iter().map(|f| f.requested(variables)).fold(0, u64::saturating_add)
    }

    /// The cost of what `data` holds, the reply to this document: connections count the nodes
    /// they returned, not the nodes they asked for.
    pub fn actual(&self, data: &Value) -> u64 {
        if self.mutation {
            return MUTATION;
        }
        self.selection.iter().map(|f| f.actual(&data[&f.key])).fold(0, u64::saturating_add)
    }

    /// The page size asked for at `path` (field names from the root), if that field is a
    /// connection: the dev shop answers with pages of exactly what the document asks.
    pub fn page_size(&self, path: &[&str], variables: &Value) -> Option<u64> {
        let mut fields = &self.selection;
        let mut found = None;
        for name in path {
            let f = fields.iter().find(|f| f.name == *name)?;
            found = Some(f);
            fields = &f.selection;
        }
        found?.size(variables)
    }
}

impl Field {
    fn size(&self, variables: &Value) -> Option<u64> {
        match self.page.as_ref()? {
            Size::Literal(n) => Some(*n),
            // An absent variable asks for nothing; Shopify refuses a connection without a size.
            Size::Variable(v) => Some(variables.get(v).and_then(Value::as_u64).unwrap_or(0)),
        }
    }

    fn requested(&self, variables: &Value) -> u64 {
        if self.selection.is_empty() || self.name == "pageInfo" {
            return 0;
        }
        let children = |fields: &[Field]| fields.iter().map(|f| f.requested(variables)).fold(0, u64::saturating_add);
        match self.size(variables) {
            Some(n) => {
                let node: u64 = self
                    .selection
                    .iter()
                    .map(|f| match f.name.as_str() {
                        "nodes" => 1 + children(&f.selection),
                        "edges" => f
                            .selection
                            .iter()
                            .filter(|e| e.name == "node")
                            .map(|e| 1 + children(&e.selection))
                            .fold(0, u64::saturating_add),
                        _ => f.requested(variables),
                    })
                    .fold(0, u64::saturating_add);
                2u64.saturating_add(n.saturating_mul(node))
            }
            None => 1u64.saturating_add(children(&self.selection)),
        }
    }

    fn actual(&self, value: &Value) -> u64 {
        if self.selection.is_empty() || self.name == "pageInfo" || value.is_null() {
            return 0;
        }
        let object = |fields: &[Field], v: &Value| -> u64 {
            1 + fields.iter().map(|f| f.actual(&v[&f.key])).fold(0, u64::saturating_add)
        };
        if self.page.is_some() {
            let mut total = 2u64;
            for f in &self.selection {
                let v = &value[&f.key];
                let cost = match f.name.as_str() {
                    "nodes" => v.as_array().into_iter().flatten().map(|n| object(&f.selection, n)).sum(),
                    "edges" => v
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|e| {
                            f.selection
                                .iter()
                                .filter(|n| n.name == "node")
                                .map(|n| object(&n.selection, &e[&n.key]))
                                .sum::<u64>()
                        })
                        .sum(),
                    _ => f.actual(v),
                };
                total = total.saturating_add(cost);
            }
            return total;
        }
        match value {
            // A list of objects (`fulfillmentHolds`, `quantities`) is charged as one object.
            Value::Array(items) => {
                1 + items
                    .iter()
                    .map(|item| self.selection.iter().map(|f| f.actual(&item[&f.key])).sum::<u64>())
                    .max()
                    .unwrap_or(0)
            }
            v => object(&self.selection, v),
        }
    }
}

#[cfg(test)]
mod tests;
