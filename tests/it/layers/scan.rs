//! Reading Rust source just enough to find the paths that start with `crate::`.

/// The source with comments, strings and character literals blanked out, so a path in a doc
/// link or a message is not an import.
pub fn code_only(source: &str) -> String {
    let s: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    let blank = |out: &mut String, c: char| out.push(if c == '\n' { '\n' } else { ' ' });
    while i < s.len() {
        let c = s[i];
        let next = s.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < s.len() && s[i] != '\n' {
                blank(&mut out, s[i]);
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < s.len() {
                if s[i] == '/' && s.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if s[i] == '*' && s.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, s[i]);
                    i += 1;
                }
            }
        } else if c == 'r' && matches!(next, Some('"' | '#')) && starts_literal(&s, i) {
            // A raw string: r"…", r#"…"#, br#"…"#, …
            let hashes = s[i + 1..].iter().take_while(|c| **c == '#').count();
            if s.get(i + 1 + hashes) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            let close: Vec<char> = std::iter::once('"').chain(std::iter::repeat_n('#', hashes)).collect();
            let mut j = i + 2 + hashes;
            while j < s.len() && !s[j..].starts_with(&close) {
                j += 1;
            }
            let end = (j + close.len()).min(s.len());
            for &ch in &s[i..end] {
                blank(&mut out, ch);
            }
            i = end;
        } else if c == '"' {
            blank(&mut out, c);
            i += 1;
            while i < s.len() && s[i] != '"' {
                if s[i] == '\\' {
                    blank(&mut out, s[i]);
                    i += 1;
                }
                if i < s.len() {
                    blank(&mut out, s[i]);
                    i += 1;
                }
            }
            if i < s.len() {
                blank(&mut out, s[i]);
                i += 1;
            }
        } else if c == '\'' {
            // A character literal ('x', '\n', '\u{1F600}'), or else a lifetime, kept.
            let end = if next == Some('\\') {
                s[i + 2..].iter().position(|c| *c == '\'').map(|p| i + 2 + p + 1)
            } else if s.get(i + 2) == Some(&'\'') {
                Some(i + 3)
            } else {
                None
            };
            match end {
                Some(end) => {
                    for &ch in &s[i..end] {
                        blank(&mut out, ch);
                    }
                    i = end;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn ident_before(s: &[char], i: usize) -> bool {
    i > 0 && (s[i - 1].is_alphanumeric() || s[i - 1] == '_')
}

/// Whether the `r` at `i` opens a raw string rather than ending an identifier (`br` opens one).
fn starts_literal(s: &[char], i: usize) -> bool {
    !ident_before(s, i) || (s[i - 1] == 'b' && !ident_before(s, i - 1))
}

/// Every path after `crate::` in code; `crate::{a::X, b}` gives one path per item.
pub fn crate_paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = matching_brace(group);
            out.extend(split_top_level(&group[..end]).into_iter().map(|item| squash(&item)));
        } else {
            let len = rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).unwrap_or(rest.len());
            let mut path = rest[..len].to_string();
            if path.ends_with("::") && rest[len..].starts_with('{') {
                let group = &rest[len + 1..];
                path.push('{');
                path.push_str(&squash(&group[..matching_brace(group)]));
                path.push('}');
            }
            out.push(path);
        }
    }
    out
}

/// Where the group that starts just before `s` closes.
fn matching_brace(s: &str) -> usize {
    let mut depth = 0;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return i,
            '}' => depth -= 1,
            _ => {}
        }
    }
    s.len()
}

fn split_top_level(group: &str) -> Vec<String> {
    let mut items = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(group[start..i].to_string());
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(group[start..].to_string());
    items.into_iter().filter(|item| !item.trim().is_empty()).collect()
}

/// One line, single spaces.
fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn the_reader_finds_grouped_and_nested_paths_and_skips_comments_strings_and_other_crates() {
    let source = r##"
        //! See [`crate::state::AppState`].
        use crate::{books::{Books, Key}, store};
        use crate::store::{
            Mark, Record,
        };
        /* a block /* nested */ crate::http */
        let s = "crate::worker"; let r = r#"crate::cli"#; let c = '"'; let l: &'static str = x; let b = br#"a"b crate::bench"#;
        other_crate::thing(); crate::metrics::Metrics::new(); $crate::view::render
    "##;
    assert_eq!(
        crate_paths(&code_only(source)),
        ["books::{Books, Key}", "store", "store::{Mark, Record,}", "metrics::Metrics::new", "view::render"]
    );
}
