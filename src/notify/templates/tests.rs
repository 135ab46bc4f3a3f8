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
