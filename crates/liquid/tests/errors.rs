//! Syntax errors as a marketer saving a template sees them: where (line, column) and what.

use sluice_liquid::Template;

fn error(source: &str) -> String {
    Template::parse(source).expect_err(source).to_string()
}

#[test]
fn errors_say_where_and_what() {
    let cases = [
        (
            "Hi {{ name }",
            "line 1, column 4: this output is never closed with `}}`",
        ),
        (
            "Hi\n  {{ name | upcase: }}",
            "line 2, column 20: expected a value, found the end of the tag",
        ),
        (
            "{% if x %}\na",
            "line 2, column 2: `if` on line 1 is never closed with `{% endif %}`",
        ),
        (
            "{% if x %}a{% endfor %}",
            "line 1, column 12: unexpected `endfor` here",
        ),
        (
            "{% for x y %}{% endfor %}",
            "line 1, column 10: expected `in`, found `y`",
        ),
        (
            "{{ 'abc }}",
            "line 1, column 4: this string is never closed",
        ),
        (
            "\n\n {{ x | shout }}",
            "line 3, column 9: unknown filter `shout`",
        ),
        (
            "{{ x | append }}",
            "line 1, column 8: `append` needs 1 argument",
        ),
        (
            "{{ x | upcase: 1 }}",
            "line 1, column 8: `upcase` takes no arguments",
        ),
        ("{% bogus %}", "line 1, column 1: unknown tag `bogus`"),
        (
            "{% capture %}{% endcapture %}",
            "line 1, column 11: expected a variable name",
        ),
        ("{{ @x }}", "line 1, column 4: unexpected character `@`"),
        (
            "{% for i in (1..99999) %}{% endfor %}",
            "line 1, column 1: this loop would run 99999 times; the limit is 10000",
        ),
        (
            "é {{ x | }}",
            "line 1, column 9: expected a filter name after `|`, found the end of the tag",
        ),
    ];
    for (source, expected) in cases {
        assert_eq!(error(source), expected, "{source:?}");
    }
}

#[test]
fn render_errors_name_the_line() {
    let render = |source: &str| {
        Template::parse(source)
            .expect(source)
            .render(&sluice_liquid::Value::Nil)
            .expect_err(source)
            .to_string()
    };
    assert_eq!(
        render("a\n{{ 10 | divided_by: 0 }}"),
        "line 2: divided_by: divided by 0"
    );
    assert_eq!(
        render("a\nb\n{% assign n = 20000 %}{% for i in (1..n) %}{% endfor %}"),
        "line 3: this loop would run 20000 times; the limit is 10000"
    );
    assert_eq!(
        render("{% for i in (1..3) %}\n{{ 'x' | slice: 'y' }}{% endfor %}"),
        "line 2: slice: slice's start must be a whole number, not 'y'"
    );
}
