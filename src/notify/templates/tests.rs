use super::*;

fn ctx(title: &str) -> MailContext {
    let mut c = sample("backordered");
    c.lines[0].title = title.into();
    c
}

#[test]
fn every_builtin_template_passes_its_own_check() {
    for kind in TEMPLATE_KINDS {
        validate(kind, &builtin(kind).expect("built in")).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn a_title_with_markup_is_escaped_in_html_and_left_as_text_in_the_text_part() {
    let t = builtin("backordered").expect("built in");
    let r = render("backordered", &t, &ctx("<script>alert(1)</script>")).expect("renders");
    assert!(r.html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"), "{}", r.html);
    assert!(!r.html.contains("<script>"));
    assert!(r.text.contains("<script>alert(1)</script>"));
}

#[test]
fn a_subject_is_always_one_line() {
    let t = Template { subject: "Order\r\n{{ order_name }}\nBcc: x@example.com".into(), ..builtin("ready").unwrap() };
    let r = render("ready", &t, &sample("ready")).expect("renders");
    assert_eq!(r.subject, "Order #1001 Bcc: x@example.com");
}

#[test]
fn a_syntax_error_is_reported_with_its_part_and_line() {
    let t = Template { html: "<p>Hi</p>\n<p>{{ order_name </p>\n".into(), ..builtin("ready").unwrap() };
    let e = validate("ready", &t).unwrap_err();
    assert_eq!((e.part, e.line), ("html", Some(2)), "{e}");
    assert!(e.to_string().starts_with("templates.ready.html, line 2:"), "{e}");
}

#[test]
fn an_unknown_variable_is_reported_with_its_line_even_in_a_branch_not_taken() {
    let t = Template { text: "Hi\n{% if false %}\n{{ order_total }}\n{% endif %}".into(), ..builtin("ready").unwrap() };
    let e = validate("ready", &t).unwrap_err();
    assert_eq!((e.part, e.line), ("text", Some(3)), "{e}");
    assert!(e.message.contains("order_total"), "{e}");
}

#[test]
fn an_unknown_field_of_a_line_is_reported() {
    let t = Template {
        text: "{% for line in lines %}\n{{ line.price }}\n{% endfor %}".into(),
        ..builtin("ready").unwrap()
    };
    let e = validate("ready", &t).unwrap_err();
    assert_eq!((e.part, e.line), ("text", Some(2)), "{e}");
}

#[test]
fn an_unknown_kind_is_refused() {
    let e = validate("welcome", &builtin("ready").unwrap()).unwrap_err();
    assert_eq!(e.part, "kind");
}

/// Runs `validate` in a thread of its own: a template that made it run away fails the test at
/// the deadline instead of hanging the suite. The assertion is on the answer, not the time.
fn validate_within_deadline(kind: &'static str, t: Template) -> Result<(), TemplateError> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(validate(kind, &t));
    });
    rx.recv_timeout(std::time::Duration::from_secs(30)).expect("validate returned")
}

/// `range` is not a name templates may use (refused as an unknown variable), so the bombs
/// build their work from string repetition, capped at 100,000,000 bytes per repetition.
const STRING_BOMB: &str = r#"{% set s = "x" * 100000000 %}{{ s }}{{ s }}{{ s }}{{ s }}{{ s }}{{ s }}{{ s }}{{ s }}"#;

#[test]
fn validate_refuses_the_string_repetition_bomb() {
    let t = Template { text: STRING_BOMB.into(), ..builtin("backordered").unwrap() };
    let e = validate_within_deadline("backordered", t).unwrap_err();
    assert_eq!(e.part, "text", "{e}");
    assert!(e.message.contains("too much work"), "{e}");
}

#[test]
fn validate_refuses_nested_loops_that_would_run_for_minutes() {
    let t = Template {
        html: r#"{% for a in "x" * 100000 %}{% for b in "x" * 100000 %}{% endfor %}{% endfor %}"#.into(),
        ..builtin("ready").unwrap()
    };
    let e = validate_within_deadline("ready", t).unwrap_err();
    assert_eq!(e.part, "html", "{e}");
}

#[test]
fn a_part_that_renders_past_the_output_cap_is_refused_naming_the_cap() {
    let t = Template { text: r#"{% set s = "x" * 100000 %}{{ s }}{{ s }}{{ s }}"#.into(), ..builtin("ready").unwrap() };
    let e = validate_within_deadline("ready", t).unwrap_err();
    assert_eq!(e.part, "text", "{e}");
    assert!(e.message.contains("256 KiB"), "{e}");
}

#[test]
fn a_template_that_blows_up_only_for_an_order_other_than_the_first_sample_is_refused_on_save() {
    let t = Template {
        text: r##"{% if order_name != "#1001" %}{% set s = "x" * 100000000 %}{{ s }}{% endif %}"##.into(),
        ..builtin("backordered").unwrap()
    };
    assert_eq!(validate_within_deadline("backordered", t).unwrap_err().part, "text");
}

#[test]
fn a_template_that_passes_on_save_still_fails_at_send_time_for_data_that_blows_it_up() {
    // The samples' status links are all on example.com; a real order's is not.
    let t = Template {
        text: r#"{% if "example.com" not in status_url %}{% set s = "x" * 100000000 %}{{ s }}{% endif %}"#.into(),
        ..builtin("backordered").unwrap()
    };
    validate("backordered", &t).expect("passes on save");
    let real = MailContext { status_url: "https://app.example.org/status/t".into(), ..sample("backordered") };
    assert_eq!(render("backordered", &t, &real).unwrap_err().part, "text");
}

#[test]
fn the_builtin_templates_render_an_order_of_many_lines() {
    for kind in TEMPLATE_KINDS {
        let mut ctx = samples(kind)[2].clone();
        ctx.lines = (0..5).flat_map(|_| ctx.lines.clone()).collect();
        render(kind, &builtin(kind).unwrap(), &ctx).unwrap_or_else(|e| panic!("{e}"));
        render_builtin(kind, &ctx).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn a_template_that_failed_is_set_aside_until_it_changes() {
    let t = Template { text: "custom".into(), ..builtin("ready").unwrap() };
    let mut settings = ShopSettings::default();
    settings.templates.insert("ready".into(), t.clone());
    assert_eq!(merchant(&settings, "ready"), Some(&t));
    let failure = crate::shop::TemplateFailure {
        part: "text".into(),
        reason: "boom".into(),
        at: "2026-12-01T00:00:00Z".into(),
        template_sha256: fingerprint(&t),
    };
    settings.template_failures.insert("ready".into(), failure);
    assert_eq!(merchant(&settings, "ready"), None, "the built-in one, without trying it again");
    let edited = Template { text: "custom, fixed".into(), ..t };
    settings.templates.insert("ready".into(), edited.clone());
    assert_eq!(merchant(&settings, "ready"), Some(&edited));
    assert_eq!(merchant(&settings, "reminder"), None, "no template of the shop's own");
}
