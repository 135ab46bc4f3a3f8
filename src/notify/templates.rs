//! Email templates: the built-in ones and the merchant's edits, rendered with minijinja.
//!
//! The HTML part is auto-escaped (a product titled `<script>` arrives as text); subject and text
//! parts are plain text. A merchant's edit is checked when it is saved, by compiling it and
//! rendering it strictly against a sample with every field present, so a typo is a 422 naming
//! the line and never a failure at send time.

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;

use crate::shop::{ShopSettings, TEMPLATE_KINDS, Template};

/// What an order email's templates can use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct MailContext {
    pub kind: String,
    pub shop_name: String,
    pub order_name: String,
    pub first_name: Option<String>,
    pub status_url: String,
    pub lines: Vec<MailLine>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct MailLine {
    pub title: String,
    /// Backordered units (for `ready`: the units that waited and are now covered).
    pub quantity: u32,
    /// `YYYY-MM-DD`, or none when the merchant has still to confirm a date.
    pub eta: Option<String>,
    /// The date for people: `December 12, 2026`.
    pub eta_text: Option<String>,
    /// For `eta_changed`: the date the customer was told before.
    pub previous_eta_text: Option<String>,
    /// Backordered units ahead of and including this line's first one.
    pub position: Option<u64>,
}

/// The top-level names a template may use.
const VARIABLES: [&str; 6] = ["kind", "shop_name", "order_name", "first_name", "status_url", "lines"];

/// A rendered email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// What is wrong with a template, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("templates.{kind}.{part}{}: {message}", line.map(|l| format!(", line {l}")).unwrap_or_default())]
pub struct TemplateError {
    pub kind: String,
    pub part: &'static str,
    pub line: Option<usize>,
    pub message: String,
}

/// The built-in template of `kind` (one of [`TEMPLATE_KINDS`]).
pub fn builtin(kind: &str) -> Option<Template> {
    macro_rules! parts {
        ($k:literal) => {
            Template {
                subject: include_str!(concat!("templates/", $k, ".subject")).trim().to_string(),
                text: include_str!(concat!("templates/", $k, ".txt")).to_string(),
                html: include_str!(concat!("templates/", $k, ".html")).to_string(),
            }
        };
    }
    Some(match kind {
        "backordered" => parts!("backordered"),
        "eta_changed" => parts!("eta_changed"),
        "ready" => parts!("ready"),
        "reminder" => parts!("reminder"),
        _ => return None,
    })
}

/// The template the shop uses for `kind`: the merchant's edit, else the built-in one.
pub fn for_shop(settings: &ShopSettings, kind: &str) -> Option<Template> {
    settings.templates.get(kind).cloned().or_else(|| builtin(kind))
}

fn environment(strict: bool) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|name| if name.ends_with(".html") { AutoEscape::Html } else { AutoEscape::None });
    env.set_undefined_behavior(if strict { UndefinedBehavior::Strict } else { UndefinedBehavior::Lenient });
    env
}

fn parts(t: &Template) -> [(&'static str, &str); 3] {
    [("subject", t.subject.as_str()), ("text", t.text.as_str()), ("html", t.html.as_str())]
}

fn error(kind: &str, part: &'static str, e: &minijinja::Error) -> TemplateError {
    let message = match e.kind() {
        minijinja::ErrorKind::UndefinedError => "uses a variable that does not exist".to_string(),
        _ => e.detail().map_or_else(|| e.kind().to_string(), str::to_string),
    };
    TemplateError { kind: kind.to_string(), part, line: e.line(), message }
}

/// Renders `template` for `ctx`. Templates were checked on save; a failure here is a template
/// that bypassed the check (stored before it existed) and is reported, not sent half-done.
pub fn render(kind: &str, template: &Template, ctx: &MailContext) -> Result<Rendered, TemplateError> {
    render_with(&environment(false), kind, template, ctx)
}

fn render_with(env: &Environment<'_>, kind: &str, t: &Template, ctx: &MailContext) -> Result<Rendered, TemplateError> {
    let mut out = Vec::with_capacity(3);
    for (part, source) in parts(t) {
        let name = format!("{kind}.{part}");
        let tmpl = env.template_from_named_str(&name, source).map_err(|e| error(kind, part, &e))?;
        out.push(tmpl.render(minijinja::value::Serde(ctx)).map_err(|e| error(kind, part, &e))?);
    }
    let html = out.pop().unwrap_or_default();
    let text = out.pop().unwrap_or_default();
    // A subject is one line: whatever a template puts in, a header stays a header.
    let subject = out.pop().unwrap_or_default().split_whitespace().collect::<Vec<_>>().join(" ");
    Ok(Rendered { subject, text, html })
}

/// Checks a merchant's template before it is saved.
pub fn validate(kind: &str, template: &Template) -> Result<(), TemplateError> {
    if !TEMPLATE_KINDS.contains(&kind) {
        return Err(TemplateError {
            kind: kind.to_string(),
            part: "kind",
            line: None,
            message: format!("no such email; the kinds are {}", TEMPLATE_KINDS.join(", ")),
        });
    }
    let env = environment(true);
    for (part, source) in parts(template) {
        let name = format!("{kind}.{part}");
        let tmpl = env.template_from_named_str(&name, source).map_err(|e| error(kind, part, &e))?;
        // Names used only in branches the sample does not take are caught here.
        let mut unknown: Vec<String> =
            tmpl.undeclared_variables(false).into_iter().filter(|v| !VARIABLES.contains(&v.as_str())).collect();
        unknown.sort();
        if let Some(name) = unknown.first() {
            return Err(TemplateError {
                kind: kind.to_string(),
                part,
                line: line_of(source, name),
                message: format!("unknown variable `{name}`; the variables are {}", VARIABLES.join(", ")),
            });
        }
    }
    render_with(&env, kind, template, &sample(kind)).map(|_| ())
}

/// The first line where `name` appears as a whole word.
fn line_of(source: &str, name: &str) -> Option<usize> {
    source
        .lines()
        .position(|l| {
            l.match_indices(name).any(|(i, _)| {
                let word = |c: char| c.is_alphanumeric() || c == '_';
                !l[..i].chars().next_back().is_some_and(word) && !l[i + name.len()..].chars().next().is_some_and(word)
            })
        })
        .map(|i| i + 1)
}

/// Every field present, so a strict render touches each name a template may use.
fn sample(kind: &str) -> MailContext {
    MailContext {
        kind: kind.to_string(),
        shop_name: "Example Shop".into(),
        order_name: "#1001".into(),
        first_name: Some("Ada".into()),
        status_url: "https://example.com/status/token".into(),
        lines: vec![MailLine {
            title: "Example product".into(),
            quantity: 2,
            eta: Some("2026-12-12".into()),
            eta_text: Some("December 12, 2026".into()),
            previous_eta_text: Some("December 2, 2026".into()),
            position: Some(3),
        }],
    }
}

/// Checks every template a settings change carries.
pub fn validate_all(templates: &std::collections::BTreeMap<String, Template>) -> Result<(), TemplateError> {
    templates.iter().try_for_each(|(kind, t)| validate(kind, t))
}

#[cfg(test)]
mod tests;
