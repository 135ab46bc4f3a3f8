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
        Parser { tokens: tokenize(source)?, at: 0 }.document()
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

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Name(String),
    Punct(char),
    Spread,
    Int(u64),
    /// Strings, floats and block strings: values the cost does not depend on.
    Other,
}

fn tokenize(source: &str) -> Result<Vec<Token>, SyntaxError> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = source.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' | '\r' | ',' | '\u{feff}' => i += 1,
            '#' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '{' | '}' | '(' | ')' | '[' | ']' | ':' | '$' | '!' | '=' | '@' | '|' | '&' => {
                tokens.push(Token::Punct(c));
                i += 1;
            }
            '.' if chars.get(i..i + 3) == Some(&['.', '.', '.']) => {
                tokens.push(Token::Spread);
                i += 3;
            }
            '"' => {
                let block = chars.get(i..i + 3) == Some(&['"', '"', '"']);
                i += if block { 3 } else { 1 };
                loop {
                    match chars.get(i) {
                        None => return Err(SyntaxError("unterminated string".into())),
                        Some('\\') => i += 2,
                        Some('"') if !block => {
                            i += 1;
                            break;
                        }
                        Some('"') if chars.get(i..i + 3) == Some(&['"', '"', '"']) => {
                            i += 3;
                            break;
                        }
                        Some('\n') if !block => return Err(SyntaxError("line break in a string".into())),
                        Some(_) => i += 1,
                    }
                }
                tokens.push(Token::Other);
            }
            c if c == '-' || c.is_ascii_digit() => {
                let start = i;
                i += 1;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || matches!(chars[i], '.' | '+' | '-')) {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                tokens.push(text.parse().map(Token::Int).unwrap_or(Token::Other));
            }
            c if c == '_' || c.is_ascii_alphabetic() => {
                let start = i;
                while i < chars.len() && (chars[i] == '_' || chars[i].is_ascii_alphanumeric()) {
                    i += 1;
                }
                tokens.push(Token::Name(chars[start..i].iter().collect()));
            }
            other => return Err(SyntaxError(format!("unexpected character {other:?}"))),
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

/// Deeper nesting than any real document; a bound so a hostile one cannot exhaust the stack.
const MAX_DEPTH: usize = 64;

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Result<Token, SyntaxError> {
        let t = self.tokens.get(self.at).cloned().ok_or_else(|| SyntaxError("unexpected end".into()))?;
        self.at += 1;
        Ok(t)
    }

    fn expect(&mut self, c: char) -> Result<(), SyntaxError> {
        match self.next()? {
            Token::Punct(p) if p == c => Ok(()),
            other => Err(SyntaxError(format!("expected {c:?}, found {other:?}"))),
        }
    }

    fn is(&self, c: char) -> bool {
        self.peek() == Some(&Token::Punct(c))
    }

    fn name(&mut self) -> Result<String, SyntaxError> {
        match self.next()? {
            Token::Name(n) => Ok(n),
            other => Err(SyntaxError(format!("expected a name, found {other:?}"))),
        }
    }

    fn document(mut self) -> Result<Document, SyntaxError> {
        let mutation = match self.peek() {
            Some(Token::Punct('{')) => false,
            Some(Token::Name(kind)) if kind == "query" || kind == "mutation" => {
                let mutation = kind == "mutation";
                self.at += 1;
                if matches!(self.peek(), Some(Token::Name(_))) {
                    self.at += 1;
                }
                if self.is('(') {
                    self.skip_balanced('(', ')')?;
                }
                self.directives()?;
                mutation
            }
            other => return Err(SyntaxError(format!("expected an operation, found {other:?}"))),
        };
        let selection = self.selection(0)?;
        if self.at != self.tokens.len() {
            return Err(SyntaxError("one operation per document".into()));
        }
        Ok(Document { mutation, selection })
    }

    fn skip_balanced(&mut self, open: char, close: char) -> Result<(), SyntaxError> {
        let mut depth = 0usize;
        loop {
            match self.next()? {
                Token::Punct(c) if c == open => depth += 1,
                Token::Punct(c) if c == close => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(());
                    }
                }
                _ => {}
            }
        }
    }

    fn directives(&mut self) -> Result<(), SyntaxError> {
        while self.is('@') {
            self.at += 1;
            self.name()?;
            if self.is('(') {
                self.skip_balanced('(', ')')?;
            }
        }
        Ok(())
    }

    fn selection(&mut self, depth: usize) -> Result<Vec<Field>, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(SyntaxError("nested too deeply".into()));
        }
        self.expect('{')?;
        let mut fields = Vec::new();
        while !self.is('}') {
            if self.peek() == Some(&Token::Spread) {
                // An inline fragment (`... on T { }`) selects its fields where it stands.
                self.at += 1;
                if self.peek() == Some(&Token::Name("on".into())) {
                    self.at += 1;
                    self.name()?;
                } else if !self.is('{') && !self.is('@') {
                    return Err(SyntaxError("named fragments are not supported".into()));
                }
                self.directives()?;
                fields.extend(self.selection(depth + 1)?);
                continue;
            }
            fields.push(self.field(depth)?);
        }
        self.expect('}')?;
        if fields.is_empty() {
            return Err(SyntaxError("empty selection".into()));
        }
        Ok(fields)
    }

    fn field(&mut self, depth: usize) -> Result<Field, SyntaxError> {
        let key = self.name()?;
        let mut name = key.clone();
        if self.is(':') {
            self.at += 1;
            name = self.name()?;
        }
        let mut page = None;
        if self.is('(') {
            self.at += 1;
            while !self.is(')') {
                let arg = self.name()?;
                self.expect(':')?;
                let value = self.value()?;
                if arg == "first" || arg == "last" {
                    page = Some(value.ok_or_else(|| SyntaxError(format!("{arg} must be an integer")))?);
                }
            }
            self.expect(')')?;
        }
        self.directives()?;
        let selection = if self.is('{') { self.selection(depth + 1)? } else { Vec::new() };
        Ok(Field { key, name, page, selection })
    }

    /// An argument's value: a size when it is an integer or a variable, `None` otherwise.
    fn value(&mut self) -> Result<Option<Size>, SyntaxError> {
        match self.next()? {
            Token::Int(n) => Ok(Some(Size::Literal(n))),
            Token::Punct('$') => Ok(Some(Size::Variable(self.name()?))),
            Token::Name(_) | Token::Other => Ok(None),
            Token::Punct('[') => {
                self.at -= 1;
                self.skip_balanced('[', ']')?;
                Ok(None)
            }
            Token::Punct('{') => {
                self.at -= 1;
                self.skip_balanced('{', '}')?;
                Ok(None)
            }
            other => Err(SyntaxError(format!("unexpected {other:?} in an argument"))),
        }
    }
}

#[cfg(test)]
mod tests;
