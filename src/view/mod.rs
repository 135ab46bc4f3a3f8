//! Every HTML page and email the app renders comes from a template file through one minijinja
//! environment, built once. One escaping rule for all of them: a template named `*.html` is
//! HTML-escaped by minijinja (quotes included), any other (`.txt`, `.subject`) is plain text.
//! So a value never needs escaping by hand, and no page escapes differently from another.
//!
//! Merchants' email templates are not registered here: they are compiled per shop in an
//! environment with fuel (see `notify::templates`), set up by the same [`configure`] so they
//! escape and filter alike.
//!
//! The sources are `include_str!`ed, so the binary runs from any directory.

use std::sync::LazyLock;

use minijinja::{AutoEscape, Environment};
use serde::Serialize;

use crate::shop::{TEMPLATE_KINDS, Template};

/// Pages and non-email HTML, by name. Each file lives next to the module that renders it.
const PAGES: [(&str, &str); 16] = [
    ("install/error.html", include_str!("../http/install/error.html")),
    ("pages/layout.html", include_str!("../http/pages/layout.html")),
    ("pages/bounce.html", include_str!("../http/pages/bounce.html")),
    ("pages/overview.html", include_str!("../http/pages/overview.html")),
    ("pages/variants.html", include_str!("../http/pages/variants.html")),
    ("pages/settings.html", include_str!("../http/pages/settings.html")),
    ("pages/emails.html", include_str!("../http/pages/emails.html")),
    ("pages/variant.html", include_str!("../http/pages/variant.html")),
    ("pages/missing.html", include_str!("../http/pages/missing.html")),
    ("pages/activity.html", include_str!("../http/pages/activity.html")),
    ("devshop/admin.html", include_str!("../devshop/admin/admin.html")),
    ("status/page.html", include_str!("../http/status/page.html")),
    ("status/simple.html", include_str!("../http/status/simple.html")),
    ("status/alert.html", include_str!("../http/status/alert.html")),
    ("owner/message.html", include_str!("../notify/owner.html")),
    ("privacy/data_request.html", include_str!("../worker/customers.html")),
];

#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    /// Our own template failed: a bug, reported to the caller, which shows a fallback.
    #[error("template {name} does not render: {source}")]
    Render {
        name: String,
        #[source]
        source: minijinja::Error,
    },
}

/// The escaping rule and filters every environment uses, ours and the merchants'.
pub fn configure(env: &mut Environment<'_>) {
    env.set_auto_escape_callback(|name| if name.ends_with(".html") { AutoEscape::Html } else { AutoEscape::None });
}

/// The one environment for our own templates.
pub static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    configure(&mut env);
    for (name, source) in PAGES {
        env.add_template(name, source).unwrap_or_else(|e| panic!("{name} does not compile: {e}"));
    }
    for kind in TEMPLATE_KINDS {
        let t = builtin_email(kind).unwrap_or_else(|| panic!("no built-in {kind} email"));
        for (part, source) in [("subject", t.subject), ("txt", t.text), ("html", t.html)] {
            let name = email_name(kind, part);
            env.add_template_owned(name.clone(), source).unwrap_or_else(|e| panic!("{name} does not compile: {e}"));
        }
    }
    env
});

/// The built-in email template of `kind` (one of [`TEMPLATE_KINDS`]); its files live next to
/// `notify`, which renders them.
pub fn builtin_email(kind: &str) -> Option<Template> {
    macro_rules! parts {
        ($k:literal) => {
            Template {
                subject: include_str!(concat!("../notify/templates/", $k, ".subject")).trim().to_string(),
                text: include_str!(concat!("../notify/templates/", $k, ".txt")).to_string(),
                html: include_str!(concat!("../notify/templates/", $k, ".html")).to_string(),
            }
        };
    }
    Some(match kind {
        "backordered" => parts!("backordered"),
        "eta_changed" => parts!("eta_changed"),
        "ready" => parts!("ready"),
        "reminder" => parts!("reminder"),
        "consolation" => parts!("consolation"),
        _ => return None,
    })
}

/// The name of a built-in email's part (`subject`, `txt` or `html`) in [`ENV`].
pub fn email_name(kind: &str, part: &str) -> String {
    format!("email/{kind}.{part}")
}

/// Renders our template `name` for `ctx`.
pub fn render(name: &str, ctx: impl Serialize) -> Result<String, ViewError> {
    let fail = |source| ViewError::Render { name: name.to_string(), source };
    ENV.get_template(name).map_err(fail)?.render(minijinja::value::Serde(ctx)).map_err(fail)
}

#[cfg(test)]
mod tests;
