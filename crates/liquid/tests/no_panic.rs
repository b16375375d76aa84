//! Property tests: no template (grammar-shaped, or any text at all) and no context makes
//! parsing or rendering panic, and a render never returns more than the output limit.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use sluice_liquid::{Limits, Object, RenderOptions, Template, Value};

/// Fragments that tokenize into Liquid: delimiters, tags, filters, literals, operators.
const PIECES: &[&str] = &[
    "{{",
    "}}",
    "{%",
    "%}",
    "{{-",
    "-}}",
    "{%-",
    "-%}",
    " ",
    "\n",
    "x",
    "a.b",
    "a[0]",
    "a[-1]",
    "['k']",
    "[x]",
    "items",
    "forloop.index",
    "forloop.parentloop.last",
    "tablerowloop.col",
    "'s'",
    "\"t\"",
    "1",
    "-7",
    "2.5",
    "9223372036854775807",
    "-9223372036854775808",
    "(1..3)",
    "(a..b)",
    "(1..999999999)",
    "true",
    "nil",
    "empty",
    "blank",
    "|",
    ":",
    ",",
    "==",
    "!=",
    "<",
    ">=",
    "contains",
    "and",
    "or",
    "if",
    "elsif",
    "else",
    "endif",
    "unless",
    "endunless",
    "case",
    "when",
    "endcase",
    "for",
    "in",
    "endfor",
    "limit:",
    "offset:",
    "continue",
    "reversed",
    "tablerow",
    "endtablerow",
    "cols:",
    "break",
    "assign",
    "=",
    "capture",
    "endcapture",
    "comment",
    "endcomment",
    "raw",
    "endraw",
    "doc",
    "enddoc",
    "#",
    "echo",
    "liquid",
    "cycle",
    "increment",
    "decrement",
    "include",
    "render",
    "with",
    "as",
    "ifchanged",
    "endifchanged",
    "upcase",
    "default",
    "allow_false:",
    "date",
    "'%Y-%m-%d %%'",
    "plus",
    "times",
    "divided_by",
    "modulo",
    "abs",
    "round",
    "append",
    "replace",
    "split",
    "join",
    "slice",
    "truncate",
    "truncatewords",
    "sort",
    "sort_natural",
    "map",
    "where",
    "reject",
    "find",
    "has",
    "sum",
    "uniq",
    "concat",
    "first",
    "last",
    "size",
    "base64_decode",
    "url_encode",
    "escape_once",
    "strip_html",
    "newline_to_br",
    "'p'",
    "é",
    "\u{1F600}",
];

fn template_text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..60).prop_map(|p| p.concat())
}

/// Well-formed nested blocks, so rendering (not only parsing) gets exercised deeply.
fn structured() -> impl Strategy<Value = String> {
    let leaf = prop::sample::select(
        &[
            "{{ x | append: x }}",
            "{{ items | join: ',' }}",
            "{% assign x = x | append: 'ab' %}",
            "{% cycle 'a', 'b' %}",
            "{% increment n %}",
            "{{ forloop.index }}",
            "{% break %}",
            "{% continue %}",
            "{{ a.b | default: 'd' | upcase }}",
            "{{ n | times: 3 | plus: 9223372036854775807 }}",
            "{% include 'p' %}",
            "{% render 'p', x: x %}",
            "text ",
        ][..],
    )
    .prop_map(str::to_owned);
    leaf.prop_recursive(6, 200, 4, |inner| {
        let body = prop::collection::vec(inner, 1..4).prop_map(|v| v.concat());
        (prop::sample::select(&[0usize, 1, 2, 3, 4, 5][..]), body).prop_map(|(kind, body)| {
            match kind {
                0 => format!("{{% for i in (1..50) %}}{body}{{% endfor %}}"),
                1 => format!(
                    "{{% for i in items reversed limit: 3 %}}{body}{{% else %}}e{{% endfor %}}"
                ),
                2 => format!(
                    "{{% if x contains 'a' or n > 2 %}}{body}{{% else %}}{body}{{% endif %}}"
                ),
                3 => format!("{{% capture x %}}{body}{body}{{% endcapture %}}"),
                4 => format!("{{% tablerow i in items cols: 2 %}}{body}{{% endtablerow %}}"),
                _ => format!(
                    "{{% case n %}}{{% when 1, 2 %}}{body}{{% else %}}{body}{{% endcase %}}"
                ),
            }
        })
    })
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Nil),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        any::<f64>().prop_map(Value::Float),
        ".{0,12}".prop_map(|s| Value::str(&s)),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::array),
            prop::collection::vec(("[a-z]{1,3}", inner), 0..6).prop_map(|entries| {
                let object: Object = entries
                    .into_iter()
                    .map(|(k, v)| (Arc::from(k.as_str()), v))
                    .collect();
                Value::Object(Arc::new(object))
            }),
        ]
    })
}

fn context() -> impl Strategy<Value = Value> {
    (json_value(), json_value(), json_value(), json_value()).prop_map(|(x, a, items, n)| {
        let object: Object = [("x", x), ("a", a), ("items", items), ("n", n)]
            .into_iter()
            .map(|(k, v)| (Arc::from(k), v))
            .collect();
        Value::Object(Arc::new(object))
    })
}

fn check(source: &str, context: &Value) {
    let limits = Limits {
        max_loop_iterations: 1_000,
        max_render_iterations: 5_000,
        max_output_bytes: 16 * 1024,
        max_partial_depth: 4,
        max_filter_work: 1_000_000,
        partials: true,
    };
    let Ok(template) = Template::parse_with(source, &limits) else {
        return;
    };
    let partials: HashMap<String, String> = [("p".to_owned(), source.to_owned())].into();
    let options = RenderOptions {
        limits: limits.clone(),
        deadline: Some(Instant::now() + Duration::from_secs(2)),
        partials: Some(&partials),
        now: None,
    };
    if let Ok(out) = template.render_with(context, &options) {
        assert!(out.len() <= limits.max_output_bytes, "{} bytes", out.len());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn grammar_shaped_templates_never_panic(source in template_text(), ctx in context()) {
        check(&source, &ctx);
    }

    #[test]
    fn nested_blocks_never_panic(source in structured(), ctx in context()) {
        check(&source, &ctx);
    }

    #[test]
    fn any_text_never_panics(source in ".{0,200}", ctx in context()) {
        check(&source, &ctx);
    }

    #[test]
    fn any_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        check(&String::from_utf8_lossy(&bytes), &Value::Nil);
    }
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let deep = "{% if true %}".repeat(10_000);
    assert!(Template::parse(&deep).is_err());
    let brackets = format!("{{{{ {}x{} }}}}", "[".repeat(10_000), "]".repeat(10_000));
    assert!(Template::parse(&brackets).is_err());
    let ands = format!("{{% if {} %}}{{% endif %}}", vec!["a"; 5_000].join(" and "));
    assert!(Template::parse(&ands).is_err());
}

#[test]
fn self_including_partials_stop_at_the_depth_limit() {
    let partials: HashMap<String, String> =
        [("p".to_owned(), "x{% include 'p' %}".to_owned())].into();
    let template = Template::parse("{% include 'p' %}").expect("parses");
    let options = RenderOptions {
        partials: Some(&partials),
        ..RenderOptions::default()
    };
    let err = template
        .render_with(&Value::Nil, &options)
        .expect_err("too deep");
    assert!(err.to_string().contains("nest"), "{err}");
}

#[test]
fn huge_replacements_are_refused_while_building() {
    let template = Template::parse(
        "{% capture a %}{% for i in (1..5000) %}aaaaaaaaaa{% endfor %}{% endcapture %}\
         {{ a | replace: 'a', a }}",
    )
    .expect("parses");
    assert!(template.render(&Value::Nil).is_err());
}

#[test]
fn deepest_blocks_in_deepest_partials_fit_half_a_test_stack() {
    // 62 nested blocks of every kind in a partial that includes itself at the bottom, as deep
    // as the limits allow, on half the 2 MiB stack a test thread (or a debug build) has.
    const OPEN: [&str; 7] = [
        "{% if true %}",
        "{% for i in (1..1) %}",
        "{% tablerow i in (1..1) %}",
        "{% case 1 %}{% when 1 %}",
        "{% capture c %}",
        "{% unless false %}",
        "{% ifchanged %}",
    ];
    const CLOSE: [&str; 7] = [
        "{% endif %}",
        "{% endfor %}",
        "{% endtablerow %}",
        "{% endcase %}",
        "{% endcapture %}{{ c }}",
        "{% endunless %}",
        "{% endifchanged %}",
    ];
    let mut source = String::new();
    for i in 0..62 {
        source.push_str(OPEN[i % 7]);
    }
    source.push_str("{{ 'x' | append: 'y' }}{% include 'p' %}");
    for i in (0..62).rev() {
        source.push_str(CLOSE[i % 7]);
    }
    let handle = std::thread::Builder::new()
        .stack_size(1024 * 1024)
        .spawn(move || {
            let partials: HashMap<String, String> = [("p".to_owned(), source.clone())].into();
            let template = Template::parse(&source).expect("parses");
            let options = RenderOptions {
                partials: Some(&partials),
                ..RenderOptions::default()
            };
            template
                .render_with(&Value::Nil, &options)
                .expect_err("too deep")
                .to_string()
        })
        .expect("spawns");
    let err = handle.join().expect("no overflow");
    assert!(err.contains("nest"), "{err}");
}

#[test]
fn filters_stay_linear_on_large_inputs() {
    let numbers: Vec<String> = (0..100_000).map(|i| i.to_string()).collect();
    let context: Object = [
        ("s", Value::str(&numbers.join(","))),
        (
            "h",
            Value::str(&"<SCRIPT>x</script><b><!-- c -->".repeat(10_000)),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (Arc::from(k), v))
    .collect();
    let context = Value::Object(Arc::new(context));
    let started = Instant::now();
    let template = Template::parse(
        "{{ s | split: ',' | uniq | size }} {{ h | strip_html | size }} \
         {{ s | split: ',' | sort_natural | last }}",
    )
    .expect("parses");
    assert_eq!(
        template.render(&context).expect("renders"),
        "100000 0 99999"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn extreme_numbers_do_not_panic() {
    const MIN: &str = "-9223372036854775808";
    const MAX: &str = "9223372036854775807";
    let templates = [
        format!("{{{{ 5.5 | round: {MIN} }}}}{{{{ 5.5 | round: {MAX} }}}}"),
        format!("{{{{ 'abc' | slice: {MIN}, {MIN} }}}}{{{{ 'abc' | slice: {MAX}, {MAX} }}}}"),
        format!("{{{{ (1..3) | slice: {MIN}, {MAX} }}}}"),
        format!("{{{{ 'abc' | truncate: {MIN} }}}}{{{{ 'a b' | truncatewords: {MIN} }}}}"),
        format!("{{{{ {MIN} | divided_by: -1 }}}}{{{{ {MIN} | modulo: -1 }}}}"),
        format!("{{{{ {MIN} | times: -1 }}}}{{{{ {MIN} | abs }}}}{{{{ {MAX} | plus: 1 }}}}"),
        format!("{{{{ {MIN} | minus: 1 }}}}{{{{ {MAX} | at_least: {MIN} }}}}"),
        format!(
            "{{{{ {MAX} | date: '%Y' }}}}{{{{ {MIN} | date: '%Y' }}}}{{{{ 1e308 | date: '%Y' }}}}"
        ),
        format!("{{% for i in ({MIN}..{MAX}) %}}{{% endfor %}}"),
        format!("{{% for i in (1..3) limit: {MAX} offset: {MAX} %}}{{% endfor %}}"),
        format!("{{% for i in (1..3) limit: {MIN} offset: {MIN} %}}{{% endfor %}}"),
        format!("{{% tablerow i in (1..3) cols: {MIN} %}}{{% endtablerow %}}"),
        format!("{{% tablerow i in (1..3) cols: {MAX} limit: {MAX} %}}{{% endtablerow %}}"),
        format!("{{{{ ({MAX}..{MAX}) | join }}}}{{{{ ({MIN}..{MIN}) | last }}}}"),
        format!("{{{{ a[{MIN}] }}}}{{{{ a[{MAX}] }}}}{{{{ ({MIN}..{MAX})[{MAX}] }}}}"),
        format!(
            "{{{{ 1.5 | plus: {MAX}.5 | times: {MAX}.5 | times: {MAX}.5 | round: 2 | ceil }}}}"
        ),
        "{{ 10 | divided_by: 0.0 }}{{ 10.0 | modulo: 0 }}".to_owned(),
        format!("{{% decrement x %}}{{% assign n = {MIN} %}}{{{{ n | minus: 1 | abs }}}}"),
    ];
    for source in templates {
        let Ok(template) = Template::parse(&source) else {
            continue;
        };
        let _ = template.render(&Value::Nil);
    }
}

#[test]
fn filter_work_is_bounded_without_a_deadline() {
    let template = Template::parse(
        "{% assign big = (1..40000) | join: ',' | split: ',' %}\
         {% for i in (1..10000) %}{{ big | sort | last }}{% endfor %}",
    )
    .expect("parses");
    let started = Instant::now();
    let err = template.render(&Value::Nil).expect_err("too much work");
    assert!(
        err.to_string()
            .contains("filters and comparisons processed more than"),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn comparisons_count_as_work() {
    let template = Template::parse(
        "{% assign big = (1..40000) | join: ',' | split: ',' %}\
         {% for i in (1..10000) %}{% if big contains 'x' %}{% endif %}{% endfor %}",
    )
    .expect("parses");
    let err = template.render(&Value::Nil).expect_err("too much work");
    assert!(err.to_string().contains("processed more than"), "{err}");
}

#[test]
fn arrays_of_large_strings_are_refused_not_copied() {
    // Up to 65,536 references to one 200 KB string: 13 GB if printed, lowercased or parsed
    // item by item. The work budget counts their text and stops it first.
    let started = Instant::now();
    for filter in [
        "append: 'x'",
        "uniq | size",
        "sort_natural | size",
        "sum",
        "join: ','",
    ] {
        let source = format!(
            "{{% capture s %}}{{% for i in (1..10000) %}}xxxxxxxxxxxxxxxxxxxx{{% endfor %}}\
             {{% endcapture %}}{{% assign a = s | split: ',' %}}\
             {{% for i in (1..16) %}}{{% assign a = a | concat: a %}}{{% endfor %}}\
             {{{{ a | {filter} }}}}"
        );
        let template = Template::parse(&source).expect("parses");
        let err = template.render(&Value::Nil).expect_err(filter).to_string();
        assert!(err.contains("processed more than"), "{filter}: {err}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    // Without the budget's help (a generous one), printing still stops at MAX_TEXT's 64 MiB.
    let template = Template::parse(
        "{% capture s %}{% for i in (1..10000) %}xxxxxxxxxxxxxxxxxxxx{% endfor %}{% endcapture %}\
         {% assign a = s | split: ',' %}{% for i in (1..10) %}{% assign a = a | concat: a %}{% endfor %}\
         {{ a }}",
    )
    .expect("parses");
    let options = RenderOptions {
        limits: Limits {
            max_filter_work: u64::MAX,
            ..Limits::default()
        },
        ..RenderOptions::default()
    };
    assert!(template.render_with(&Value::Nil, &options).is_err());
}
