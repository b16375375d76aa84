//! Template tests: missing variables, filters, loops, limits and error lines.

use serde_json::{Value, json};

use super::*;

fn ctx() -> Value {
    json!({
        "profile": {
            "id": "p1",
            "first_name": "Ann",
            "tags": ["vip", "beta"],
            "orders": [{"sku": "A-1", "qty": 2}, {"sku": "B-2", "qty": 1}],
            "signed_up_at": "2026-03-05T14:30:00Z",
            "birthday": "1990-05-17",
            "stars": 3,
            "huge": 100_000_000,
            "bio": "<b>hi</b> & bye",
            "nothing": null
        },
        "event": {"order": "o-42"},
        "campaign": {"name": "Spring"}
    })
}

fn r(source: &str) -> String {
    render(source, &ctx()).unwrap_or_else(|e| panic!("{source}: {e}"))
}

#[test]
fn plain_variables() {
    assert_eq!(
        r("Hi {{ profile.first_name }} ({{ profile.id }})"),
        "Hi Ann (p1)"
    );
    assert_eq!(r("{{ campaign.name }}/{{ event.order }}"), "Spring/o-42");
}

#[test]
fn missing_variables_render_empty_at_any_depth() {
    assert_eq!(r("[{{ profile.last_name }}]"), "[]");
    assert_eq!(r("[{{ nobody }}]"), "[]");
    assert_eq!(r("[{{ profile.address.city }}]"), "[]");
    assert_eq!(r("[{{ profile.nothing.deeper.still }}]"), "[]");
    assert_eq!(r("[{{ journey.name }}]"), "[]");
    assert_eq!(
        r("[{{ profile.tags[7] }}{{ profile.orders[9].sku }}]"),
        "[]"
    );
    assert_eq!(
        r("{% for o in profile.orders %}[{{ o.colour }}]{% endfor %}"),
        "[][]"
    );
    assert_eq!(
        r("{% if profile.address.city %}yes{% else %}no{% endif %}"),
        "no"
    );
    assert_eq!(r("{% if profile.address == nil %}nil{% endif %}"), "nil");
    assert_eq!(
        r("{% for x in profile.wishlist %}x{% else %}none{% endfor %}"),
        "none"
    );
}

#[test]
fn default_filter_applies_to_missing_and_null() {
    assert_eq!(
        r(r#"Hi {{ profile.last_name | default: "there" }}"#),
        "Hi there"
    );
    assert_eq!(
        r(r#"{{ profile.address.city | default: "your city" }}"#),
        "your city"
    );
    assert_eq!(r(r#"{{ profile.nothing | default: "n/a" }}"#), "n/a");
    assert_eq!(r(r#"{{ profile.first_name | default: "there" }}"#), "Ann");
}

#[test]
fn assigned_and_loop_variables_still_resolve() {
    assert_eq!(r("{% assign n = 2 %}{{ n }}"), "2");
    assert_eq!(
        r("{% capture c %}x{{ profile.id }}{% endcapture %}{{ c }}"),
        "xp1"
    );
    assert_eq!(
        r("{% for t in profile.tags %}{{ forloop.index }}{{ t }} {% endfor %}"),
        "1vip 2beta "
    );
    assert_eq!(
        r("{{ profile.tags.size }}/{{ profile.size }}/{{ profile.tags.first }}"),
        "2/10/vip"
    );
    assert_eq!(
        r("{% if profile contains 'stars' %}a{% endif %}{% if profile contains 'x' %}b{% endif %}"),
        "a"
    );
}

#[test]
fn filters_work() {
    assert_eq!(r("{{ profile.first_name | upcase }}"), "ANN");
    assert_eq!(r("{{ profile.tags | join: ', ' }}"), "vip, beta");
    assert_eq!(
        r(r#"{{ profile.signed_up_at | date: "%B %-d, %Y %H:%M" }}"#),
        "March 5, 2026 14:30"
    );
    assert_eq!(r(r#"{{ profile.birthday | date: "%d/%m" }}"#), "17/05");
    assert_eq!(
        r(r#"{{ "2026-01-02 10:00:00 +0100" | date: "%H:%M %z" }}"#),
        "10:00 +0100"
    );
    assert_eq!(
        r(r#"[{{ profile.missing | date: "%Y" }}][{{ "soon" | date: "%Y" }}]"#),
        "[][soon]"
    );
    let err =
        render(r#"{{ profile.signed_up_at | date: "%Y %" }}"#, &ctx()).expect_err("bad format");
    assert!(err.to_string().contains("invalid date format"), "{err}");
}

#[test]
fn loops_over_attribute_arrays() {
    let source = "{% for o in profile.orders %}{{ o.qty }}x{{ o.sku }};{% endfor %}";
    assert_eq!(r(source), "2xA-1;1xB-2;");
    assert_eq!(r("{% for i in (1..profile.stars) %}*{% endfor %}"), "***");
    assert_eq!(r("{%- for i in (1..3) -%} {{ i }} {%- endfor -%}"), "123");
    assert_eq!(
        r("a {%- for i in (1..profile.stars) %}{{ i }}{% endfor %}"),
        "a123"
    );
    assert_eq!(
        r("{% for i in (1..profile.missing) %}*{% else %}none{% endfor %}"),
        "none"
    );
}

#[test]
fn html_is_not_escaped_unless_asked() {
    assert_eq!(r("{{ profile.bio }}"), "<b>hi</b> & bye");
    assert_eq!(
        r("{{ profile.bio | escape }}"),
        "&lt;b&gt;hi&lt;/b&gt; &amp; bye"
    );
}

#[test]
fn syntax_errors_name_the_line() {
    let err = check("Hello\n{{ profile.first_name }}\n{{ profile.id | }}\n").expect_err("bad");
    assert_eq!(err.line, Some(3), "{err}");
    assert!(err.to_string().starts_with("line 3, column 16: "), "{err}");
    assert_eq!(err.column, Some(16), "{err}");
    let err = check("a\n\n{% if x %}\nfoo").expect_err("unclosed");
    assert_eq!(err.line, Some(4), "{err}");
    assert!(err.message.contains("endif"), "{err}");
    let err = check("one\ntwo\n{% bogus %}").expect_err("unknown tag");
    assert_eq!(
        (err.line, err.message.contains("bogus")),
        (Some(3), true),
        "{err}"
    );
    let err = check("one\ntwo\n\n{{ profile.id | shout }}").expect_err("unknown filter");
    assert_eq!(err.line, Some(4), "{err}");
    assert!(err.message.contains("shout"), "{err}");
}

/// Sluice templates have no partials: a Shopify theme's `{% render %}` or `{% include %}` is
/// refused where it stands when the template is saved, not failed at every message.
#[test]
fn partials_are_refused_at_save_time() {
    for tag in ["render", "include"] {
        let source = format!("Hi\n  {{% {tag} 'footer' %}}\n");
        let err = check(&source).expect_err("no partials");
        assert_eq!((err.line, err.column), (Some(2), Some(3)), "{err}");
        assert!(
            err.message.contains(tag) && err.message.contains("partial"),
            "{err}"
        );
    }
}

#[test]
fn literal_ranges_are_limited_at_save_time() {
    assert!(check("{% for i in (1..10000) %}{{ i }}{% endfor %}").is_ok());
    let err = check("a\nb\n{% for i in (1..10001) %}{{ i }}{% endfor %}").expect_err("too big");
    assert_eq!(err.line, Some(3), "{err}");
    assert!(
        err.message.contains("10001 times") && err.message.contains("10000"),
        "{err}"
    );
    let err = check("x\n{% for i in (-5..99999999999) reversed %}{% endfor %}").expect_err("big");
    assert_eq!(err.line, Some(2), "{err}");
    // tablerow is supported now (the old engine refused it) and limited like `for`.
    assert!(check("{% tablerow i in (1..3) %}{% endtablerow %}").is_ok());
    let err = check("{% tablerow i in (1..10001) %}{% endtablerow %}").expect_err("tablerow");
    assert!(err.message.contains("10001 times"), "{err}");
    // Not loops: text in raw blocks, comments and strings.
    assert!(check("{% raw %}{% for i in (1..99999) %}{% endraw %}").is_ok());
    assert!(check("{% comment %}{% for i in (1..99999) %}{% endfor %}{% endcomment %}").is_ok());
    assert!(check(r#"{{ "{% for i in (1..99999) %}" }}"#).is_ok());
}

#[test]
fn nested_loops_share_one_budget() {
    let nested = "{% for i in (1..1000) %}{% for j in (1..1000) %}{% endfor %}{% endfor %}";
    assert!(check(nested).is_ok());
    let err = render(nested, &ctx()).expect_err("a million iterations");
    assert!(
        err.to_string().contains(&MAX_RENDER_ITERATIONS.to_string()),
        "{err}"
    );
    let within = "{% for i in (1..100) %}{% for j in (1..900) %}{% endfor %}{% endfor %}ok";
    assert_eq!(r(within), "ok");
}

#[test]
fn loop_parameters_and_break() {
    assert_eq!(
        r("{% for i in (1..10) limit: 3 offset: 2 %}{{ i }}{% endfor %}"),
        "345"
    );
    assert_eq!(
        r("{% for i in (1..3) reversed %}{{ i }}{% endfor %}"),
        "321"
    );
    assert_eq!(
        r("{% for i in (1..9) %}{% if i == 3 %}{% break %}{% endif %}{{ i }}{% endfor %}"),
        "12"
    );
    assert_eq!(
        r("{% for i in (1..4) %}{% if i == 2 %}{% continue %}{% endif %}{{ i }}{% endfor %}"),
        "134"
    );
    let nested = "{% for a in (1..2) %}{% for b in (1..2) %}{{ forloop.parentloop.index }}{{ b }}\
                  {% unless forloop.last %},{% endunless %}{% endfor %};{% endfor %}";
    assert_eq!(r(nested), "11,12;21,22;");
    assert_eq!(
        r("{% for pair in event %}{{ pair[0] }}={{ pair[1] }}{% endfor %}"),
        "order=o-42"
    );
    assert_eq!(
        r("{% for t in profile.tags %}{{ forloop.rindex }}{% endfor %}"),
        "21"
    );
}

#[test]
fn text_built_in_memory_is_limited() {
    let doubling = "{% assign s = 'xxxxxxxx' %}{% for i in (1..40) %}\
                    {% capture s %}{{ s }}{{ s }}{% endcapture %}{% endfor %}";
    let err = render(doubling, &ctx()).expect_err("doubling");
    assert!(err.to_string().contains("captured into `s`"), "{err}");
    let doubling = "{% assign s = 'xxxxxxxx' %}{% for i in (1..40) %}\
                    {% assign s = s | append: s %}{% endfor %}";
    assert!(
        render(doubling, &ctx())
            .expect_err("append")
            .to_string()
            .contains("larger than")
    );
    assert_eq!(
        r("{{ 'b' | append: 'c' | prepend: 'a' }}{% assign t = profile.tags %}{{ t | join: '+' }}"),
        "abcvip+beta"
    );
}

#[test]
fn variable_ranges_fail_at_render_not_hang() {
    let err = render("{% for i in (1..profile.huge) %}x{% endfor %}", &ctx()).expect_err("huge");
    assert!(
        matches!(&err, RenderError::Failed(m) if m.contains("100000000 times")),
        "{err}"
    );
    let err = render(
        "{% assign n = 20000 %}{% for i in (1..n) %}{% endfor %}",
        &ctx(),
    );
    assert!(err.is_err());
    // A range bound that is not a number counts as 0, as in Shopify's Liquid (golden-liquid
    // "range, end is not a number"); the old engine failed the render instead.
    assert_eq!(r("{% for i in (1..profile.first_name) %}x{% endfor %}"), "");
}

#[test]
fn output_and_source_are_limited() {
    let big = "{% for i in (1..10000) %}{{ profile.bio }}{{ profile.bio }}{% endfor %}";
    assert_eq!(render(big, &ctx()), Err(RenderError::OutputTooLarge));
    let fits = "{% for i in (1..10000) %}{{ profile.first_name }}{% endfor %}";
    assert_eq!(r(fits).len(), 30_000);
    let long = "x".repeat(MAX_SOURCE_BYTES + 1);
    assert_eq!(check(&long).expect_err("too long").line, None);
    assert!(check(&"x".repeat(MAX_SOURCE_BYTES)).is_ok());
}

#[test]
fn compiled_template_renders_many_contexts() {
    let template = CompiledTemplate::compile("Hi {{ profile.first_name | default: 'there' }}")
        .expect("compiles");
    for (attrs, expected) in [
        (json!({"first_name": "Bo"}), "Hi Bo"),
        (json!({}), "Hi there"),
    ] {
        assert_eq!(
            template.render(&json!({"profile": attrs})).as_deref(),
            Ok(expected)
        );
    }
    assert_eq!(
        template.render(&json!([1])),
        Err(RenderError::ContextNotObject)
    );
}

#[test]
fn render_with_timeout_gives_up() {
    let quick = render_with_timeout("{{ profile.id }}", &ctx(), Duration::from_secs(5));
    assert_eq!(quick.as_deref(), Ok("p1"));
    // Within every limit, but slow: 5,000 upper-casings of a 200 KB string.
    let slow = "{% capture s %}{% for i in (1..10000) %}xxxxxxxxxxxxxxxxxxxx{% endfor %}\
                {% endcapture %}{% for i in (1..5000) %}{% assign t = s | upcase %}{% endfor %}";
    let result = render_with_timeout(slow, &ctx(), Duration::from_millis(50));
    assert_eq!(result, Err(RenderError::Timeout(Duration::from_millis(50))));
}

#[test]
fn comments_holding_tag_like_text_compile() {
    // The old engine panicked on this: tag-like text inside a comment block.
    let source = "{% comment %}{% if ... %}{%- for ? -%}{% while true %}{% endcase %}\
                  {% endcomment %}ok";
    assert_eq!(r(source), "ok");
    assert!(check("{% comment %}{% assign x = '1'{% endcomment %}").is_err());
}

#[test]
fn errors_name_line_and_column() {
    let err = check(
        "Hi {{ profile.first_name }},\n  {% if profile.vip %}VIP{% endif %}\n  {{ x | shout }}",
    )
    .expect_err("unknown filter");
    assert_eq!((err.line, err.column), (Some(3), Some(10)), "{err}");
    assert_eq!(err.to_string(), "line 3, column 10: unknown filter `shout`");
    let err = check("{% if a and %}x{% endif %}").expect_err("dangling and");
    assert_eq!((err.line, err.column), (Some(1), Some(12)), "{err}");
}

#[test]
fn shopify_liquid_that_the_old_engine_refused() {
    assert_eq!(
        r("{{ 'March 14, 2016' | date: '%b %d, %y' }}"),
        "Mar 14, 16"
    );
    let year = r("{{ 'now' | date: '%Y' }}");
    assert!(year.len() == 4 && year.starts_with("20"), "{year}");
    assert_eq!(r("{%- if true -%}\n  a\n{%- endif -%}\n"), "a");
    assert_eq!(
        r("{% echo profile.first_name | upcase %}{% # a note %}"),
        "ANN"
    );
    assert_eq!(
        r("{% liquid\n assign n = profile.stars | plus: 1\n echo n\n%}"),
        "4"
    );
    assert_eq!(r("{{ (1..5) | join: ',' }}"), "1,2,3,4,5");
    assert_eq!(r("{{ false | default: 'x', allow_false: true }}"), "false");
    assert_eq!(r("{{ 'hello' | base64_encode }}"), "aGVsbG8=");
    assert_eq!(r("{{ '3' | plus: 2 }}"), "5");
    assert_eq!(
        r("{% if profile.nothing == blank %}b{% endif %}{% if '' == empty %}e{% endif %}"),
        "be"
    );
}

#[test]
fn arithmetic_overflow_does_not_panic() {
    assert_eq!(
        r("{{ 9223372036854775807 | plus: 1 }}"),
        "9.223372036854776e+18"
    );
    assert_eq!(
        r("{{ -9223372036854775808 | abs }}"),
        "9.223372036854776e+18"
    );
    assert!(render("{{ 1 | divided_by: 0 }}", &ctx()).is_err());
}
