//! Email templates: the built-in ones and the merchant's edits, rendered with minijinja.
//!
//! The HTML part is auto-escaped (a product titled `<script>` arrives as text); subject and text
//! parts are plain text. A merchant's edit is checked when it is saved, by compiling it and
//! rendering it strictly against samples with every field present, so a typo is a 422 naming
//! the line and never a failure at send time.
//!
//! A merchant's template is code that runs on our threads, so each render of it has limits:
//! minijinja's fuel bounds the work and the memory of one part, and the output of a part is
//! capped as it is written. A template that only blows up for real data still fails at send
//! time; the caller then sends the built-in one and flags the failure to the merchant.

use std::io;
use std::sync::LazyLock;

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use crate::shop::{ShopSettings, TEMPLATE_KINDS, Template};
use crate::view;

/// Work one render of one part of a merchant's template may do: about this many instructions,
/// or 64 times as many bytes of data created. The built-in templates need a few thousand for an
/// order of many lines; a loop nest or a string built to fill memory runs out long before it
/// costs anything.
const FUEL: u64 = 200_000;
/// The most one part of a merchant's template may render to. Emails are far smaller.
pub const MAX_OUTPUT: usize = 256 * 1024;

#[derive(Debug, Clone, Copy)]
struct Limits {
    fuel: Option<u64>,
    max_output: usize,
}

/// For merchants' templates, at save time and at send time alike.
const MERCHANT: Limits = Limits { fuel: Some(FUEL), max_output: MAX_OUTPUT };
/// For the built-in templates, which are ours: an order of a thousand lines still gets its email.
const TRUSTED: Limits = Limits { fuel: None, max_output: usize::MAX };

/// What an order email's templates can use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct MailContext {
    pub kind: String,
    pub shop_name: String,
    pub order_name: String,
    pub first_name: Option<String>,
    pub status_url: String,
    pub lines: Vec<MailLine>,
    /// The consolation's code (SPEC 10.3): set in the `consolation` email only.
    #[serde(default)]
    pub offer: Option<Offer>,
}

/// A discount code for a customer who waits (the `consolation` email).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Offer {
    pub code: String,
    /// What it gives, for people: `10% off your next order`, `free shipping on your next order`.
    pub what: String,
    /// The last day it can be used: `February 4, 2027`.
    pub ends_text: String,
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
const VARIABLES: [&str; 7] = ["kind", "shop_name", "order_name", "first_name", "status_url", "lines", "offer"];

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

// The built-in templates' files live in `templates/` here; `view` reads them in with the pages,
// so the one environment holds them without importing this module.
pub use crate::view::builtin_email as builtin;

/// The merchant's template of `kind` to render, if any, unless it failed at send time and is
/// unchanged since: then the built-in one is used directly instead of failing on every pass.
pub fn merchant<'a>(settings: &'a ShopSettings, kind: &str) -> Option<&'a Template> {
    let t = settings.templates.get(kind)?;
    let failed = settings.template_failures.get(kind).is_some_and(|f| f.template_sha256 == fingerprint(t));
    (!failed).then_some(t)
}

/// SHA-256 of a template's three parts (each length-prefixed, so no two templates share one).
pub fn fingerprint(t: &Template) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for (_, source) in parts(t) {
        h.update((source.len() as u64).to_be_bytes());
        h.update(source.as_bytes());
    }
    format!("{:x}", h.finalize())
}

/// The environment merchants' templates compile in: fuel, and the escaping and filters of
/// every other template ([`view::configure`]). Strict to check a template on save, lenient at
/// send time (a missing first name renders as nothing).
fn environment(strict: bool) -> Environment<'static> {
    let mut env = Environment::new();
    view::configure(&mut env);
    env.set_undefined_behavior(if strict { UndefinedBehavior::Strict } else { UndefinedBehavior::Lenient });
    env.set_fuel(MERCHANT.fuel);
    env
}

/// Built once each: a template is compiled from its source on each render, the setup is not.
static AT_SEND: LazyLock<Environment<'static>> = LazyLock::new(|| environment(false));
static AT_SAVE: LazyLock<Environment<'static>> = LazyLock::new(|| environment(true));

fn parts(t: &Template) -> [(&'static str, &str); 3] {
    [("subject", t.subject.as_str()), ("text", t.text.as_str()), ("html", t.html.as_str())]
}

fn error(kind: &str, part: &'static str, e: &minijinja::Error) -> TemplateError {
    let message = match e.kind() {
        minijinja::ErrorKind::UndefinedError => "uses a variable that does not exist".to_string(),
        minijinja::ErrorKind::OutOfFuel => {
            "takes too much work to render (a loop or a value far too large for an email)".to_string()
        }
        _ => e.detail().map_or_else(|| e.kind().to_string(), str::to_string),
    };
    TemplateError { kind: kind.to_string(), part, line: e.line(), message }
}

/// Collects one part's output and fails the render at the first write past `cap`: a template
/// that would write gigabytes stops at the cap, before the memory is taken.
struct Capped {
    out: Vec<u8>,
    cap: usize,
    over: bool,
}

impl io::Write for Capped {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.out.len().saturating_add(buf.len()) > self.cap {
            self.over = true;
            return Err(io::Error::other("over the output cap"));
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Renders a merchant's `template` for `ctx`, within the limits. It was checked on save, but
/// real data can take branches the samples did not: a failure is reported, never sent half-done.
pub fn render(kind: &str, template: &Template, ctx: &MailContext) -> Result<Rendered, TemplateError> {
    render_with(MERCHANT, kind, &compile(&AT_SEND, kind, template)?, ctx)
}

/// Renders the built-in template of `kind` for `ctx`, from the one environment of our templates.
pub fn render_builtin(kind: &str, ctx: &MailContext) -> Result<Rendered, TemplateError> {
    let compiled = [("subject", "subject"), ("text", "txt"), ("html", "html")].map(|(part, ext)| {
        view::ENV.get_template(&view::email_name(kind, ext)).map(|t| (part, t)).map_err(|_| TemplateError {
            kind: kind.to_string(),
            part: "kind",
            line: None,
            message: "no built-in template".into(),
        })
    });
    let [subject, text, html] = compiled;
    render_with(TRUSTED, kind, &[subject?, text?, html?], ctx)
}

type Compiled<'e> = [(&'static str, minijinja::Template<'e, 'e>); 3];

/// Compiles a merchant's template's parts. The names only choose the escaping: `.html` is HTML.
fn compile<'e>(env: &'e Environment<'static>, kind: &str, t: &'e Template) -> Result<Compiled<'e>, TemplateError> {
    let one = |(part, source): (&'static str, &'e str)| {
        let name = match part {
            "html" => "merchant.html",
            "text" => "merchant.txt",
            _ => "merchant.subject",
        };
        env.template_from_named_str(name, source).map(|t| (part, t)).map_err(|e| error(kind, part, &e))
    };
    let [subject, text, html] = parts(t);
    Ok([one(subject)?, one(text)?, one(html)?])
}

fn render_with(
    limits: Limits,
    kind: &str,
    compiled: &Compiled<'_>,
    ctx: &MailContext,
) -> Result<Rendered, TemplateError> {
    let mut out = Vec::with_capacity(3);
    for (part, tmpl) in compiled {
        let mut sink = Capped { out: Vec::new(), cap: limits.max_output, over: false };
        if let Err(e) = tmpl.render_captured_to(minijinja::value::Serde(ctx), &mut sink) {
            let mut err = error(kind, part, &e);
            if sink.over {
                err.message = format!("renders more than {} KiB", limits.max_output / 1024);
            }
            return Err(err);
        }
        // Whole `str`s are written, so the bytes are UTF-8; lossy only to never panic.
        out.push(String::from_utf8(sink.out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()));
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
    let compiled = compile(&AT_SAVE, kind, template)?;
    for ((part, tmpl), (_, source)) in compiled.iter().zip(parts(template)) {
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
    // Several samples, so a template that blows up only for other data (more lines, another
    // name, a missing first name or date) is more likely refused now than at send time.
    samples(kind).iter().try_for_each(|ctx| render_with(MERCHANT, kind, &compiled, ctx).map(|_| ()))
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
pub fn sample(kind: &str) -> MailContext {
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
        offer: Some(Offer {
            code: "WAIT-7K2M9QXR4TBNHC3D".into(),
            what: "10% off your next order".into(),
            ends_text: "February 4, 2027".into(),
        }),
    }
}

/// The first sample, and two more like real orders: one without a first name whose lines have
/// a date still to confirm, and a large one.
fn samples(kind: &str) -> [MailContext; 3] {
    let line = |i: u32, eta: bool| MailLine {
        title: format!("Example product {i} – \"Limited\" <edition> & more"),
        quantity: i,
        eta: eta.then(|| "2027-01-31".into()),
        eta_text: eta.then(|| "January 31, 2027".into()),
        previous_eta_text: eta.then(|| "January 3, 2027".into()),
        position: eta.then_some(u64::from(i) * 40),
    };
    let other = MailContext {
        shop_name: "Another Example Store".into(),
        order_name: "#20457".into(),
        first_name: None,
        status_url: "https://example.com/status/another-token".into(),
        lines: vec![line(1, true), line(5, false), line(12, true)],
        ..sample(kind)
    };
    let large = MailContext {
        order_name: "#987654".into(),
        first_name: Some("Bartholomew".into()),
        lines: (1..=40).map(|i| line(i, i % 3 != 0)).collect(),
        ..other.clone()
    };
    [sample(kind), other, large]
}

/// Checks every template a settings change carries.
pub fn validate_all(templates: &std::collections::BTreeMap<String, Template>) -> Result<(), TemplateError> {
    templates.iter().try_for_each(|(kind, t)| validate(kind, t))
}

#[cfg(test)]
mod tests;
