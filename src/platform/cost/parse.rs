//! Reading the executable documents the service sends, well enough to cost them: tokens, then
//! operations, fields with arguments and selections. Deeper nesting than any real document is
//! refused, so a hostile document cannot exhaust the stack.

use super::{Document, Field, Size, SyntaxError};

/// A whole document.
pub(super) fn document(source: &str) -> Result<Document, SyntaxError> {
    Parser { tokens: tokenize(source)?, at: 0 }.document()
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
