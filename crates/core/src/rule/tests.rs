//! Rule parsing errors, evaluation semantics and round-trip properties.

use std::collections::HashMap;

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::*;
use crate::error::FieldError;

fn errors(v: Value) -> Vec<(String, String)> {
    let errs = Rule::try_from(v).expect_err("rule should be refused");
    errs.0
        .into_iter()
        .map(|FieldError { field, message }| (field, message))
        .collect()
}

fn fields(v: Value) -> Vec<String> {
    errors(v).into_iter().map(|(f, _)| f).collect()
}

fn rule(v: Value) -> Rule {
    let text = v.to_string();
    Rule::try_from(v).unwrap_or_else(|e| panic!("{text} should parse: {e}"))
}

struct Counts(HashMap<&'static str, Vec<Timestamp>>);

impl EventCounts for Counts {
    fn count(&self, name: &str, since: Option<Timestamp>) -> u64 {
        let times = self.0.get(name).map(Vec::as_slice).unwrap_or_default();
        times
            .iter()
            .filter(|t| since.is_none_or(|s| **t >= s))
            .count() as u64
    }
}

fn now() -> Timestamp {
    "2026-01-31T00:00:00Z".parse().unwrap()
}

fn attrs_match(r: Value, attributes: Value) -> bool {
    let Value::Object(attributes) = attributes else {
        panic!("attributes must be an object")
    };
    rule(r).matches(&ProfileView {
        attributes: &attributes,
        events: &NoEvents,
        now: now(),
    })
}

#[test]
fn unknown_operator_is_named_with_its_path() {
    let errs = errors(json!({"all": [
        {"attr": "a", "op": "eq", "value": 1},
        {"attr": "b", "op": "equals", "value": 1}
    ]}));
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].0, "all[1].op");
    assert_eq!(
        errs[0].1,
        "unknown operator `equals`; expected one of eq, ne, lt, lte, gt, gte, in, not_in, \
         contains, starts_with, exists, not_exists"
    );
}

#[test]
fn a_rule_needs_exactly_one_kind() {
    let errs = errors(json!({"any": [{"attr": "a", "event": "e", "op": "eq"}, {}, {"x": 1}]}));
    let expected = "a rule has exactly one of all, any, not, attr, event";
    assert_eq!(errs.len(), 3);
    for (i, (field, message)) in errs.iter().enumerate() {
        assert_eq!(field, &format!("any[{i}]"));
        assert!(message.starts_with(expected), "{message}");
    }
    assert!(errs[2].1.contains("`x`"));
    assert_eq!(fields(json!([1])), [""]);
    assert_eq!(fields(json!("eq")), [""]);
}

#[test]
fn unknown_fields_are_refused_and_named() {
    let errs = errors(json!({"not": {"attr": "a", "op": "exists", "extra": 1}, "negate": true}));
    assert_eq!(errs.len(), 2);
    assert_eq!(errs[0].0, "negate");
    assert!(errs[0].1.contains("unknown field `negate`"));
    assert_eq!(errs[1].0, "not.extra");
    assert!(errs[1].1.contains("expected one of attr, op, value"));
    assert_eq!(
        fields(json!({"event": "e", "op": "count_gte", "value": 1, "since": "P1D"})),
        ["since"]
    );
}

#[test]
fn value_is_required_except_for_existence_tests() {
    assert_eq!(fields(json!({"attr": "a", "op": "eq"})), ["value"]);
    assert_eq!(
        fields(json!({"attr": "a", "op": "ne", "value": null})),
        ["value"]
    );
    assert_eq!(
        fields(json!({"attr": "a", "op": "exists", "value": 1})),
        ["value"]
    );
    rule(json!({"attr": "a", "op": "exists"}));
    rule(json!({"attr": "a", "op": "not_exists", "value": null}));
    assert_eq!(fields(json!({"attr": "a"})), ["op"]);
    assert_eq!(fields(json!({"attr": "a", "op": 3, "value": 1})), ["op"]);
}

#[test]
fn operator_values_are_type_checked() {
    assert_eq!(
        fields(json!({"attr": "a", "op": "in", "value": "x"})),
        ["value"]
    );
    assert_eq!(
        fields(json!({"attr": "a", "op": "not_in", "value": {"x": 1}})),
        ["value"]
    );
    assert_eq!(
        fields(json!({"attr": "a", "op": "in", "value": [1, null]})),
        ["value[1]"]
    );
    assert_eq!(
        fields(json!({"attr": "a", "op": "lt", "value": true})),
        ["value"]
    );
    assert_eq!(
        fields(json!({"attr": "a", "op": "starts_with", "value": 1})),
        ["value"]
    );
    rule(json!({"attr": "a", "op": "in", "value": []}));
    rule(json!({"attr": "a", "op": "gte", "value": "2026-01-01T00:00:00Z"}));
    rule(json!({"attr": "a", "op": "contains", "value": {"k": 1}}));
}

#[test]
fn attribute_paths_are_checked() {
    assert_eq!(fields(json!({"attr": "", "op": "exists"})), ["attr"]);
    assert_eq!(fields(json!({"attr": "a..b", "op": "exists"})), ["attr"]);
    assert_eq!(fields(json!({"attr": ".a", "op": "exists"})), ["attr"]);
    assert_eq!(fields(json!({"attr": ["a"], "op": "exists"})), ["attr"]);
}

#[test]
fn event_rules_are_checked() {
    let e = |v: Value| fields(json!({"all": [v]}));
    assert_eq!(
        e(json!({"event": "e", "op": "count_gte", "value": -1})),
        ["all[0].value"]
    );
    assert_eq!(
        e(json!({"event": "e", "op": "count_gte", "value": 1.5})),
        ["all[0].value"]
    );
    assert_eq!(e(json!({"event": "e", "op": "count_lt"})), ["all[0].value"]);
    assert_eq!(
        e(json!({"event": "e", "op": "eq", "value": 1})),
        ["all[0].op"]
    );
    assert_eq!(
        e(json!({"event": "", "op": "count_lt", "value": 1})),
        ["all[0].event"]
    );
    assert_eq!(
        e(json!({"event": "e", "op": "count_lt", "value": 1, "within": "30 days"})),
        ["all[0].within"]
    );
    assert_eq!(
        e(json!({"event": "e", "op": "count_lt", "value": 1, "within": "P0D"})),
        ["all[0].within"]
    );
    assert_eq!(
        e(json!({"event": "e", "op": "count_lt", "value": 1, "within": 30})),
        ["all[0].within"]
    );
    let errs = errors(json!({"attr": "a", "op": "count_gte", "value": 1}));
    assert!(
        errs[0].1.contains("(`count_gte` is for event rules)"),
        "{}",
        errs[0].1
    );
}

#[test]
fn every_error_is_collected() {
    let f = fields(json!({"any": [
        {"attr": "", "op": "nope"},
        {"all": "x"},
        {"not": {"event": 1, "op": "count_gte", "value": "1"}}
    ]}));
    assert_eq!(
        f,
        [
            "any[0].attr",
            "any[0].op",
            "any[1].all",
            "any[2].not.event",
            "any[2].not.value"
        ]
    );
}

#[test]
fn nesting_is_capped() {
    let mut v = json!({"attr": "a", "op": "exists"});
    for _ in 1..MAX_DEPTH {
        v = json!({"not": v});
    }
    assert_eq!(rule(v.clone()).depth(), MAX_DEPTH);
    let too_deep = json!({"all": [v]});
    let errs = errors(too_deep);
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].0, format!("all[0]{}", ".not".repeat(MAX_DEPTH - 1)));
    // Deeper input (serde_json reads up to 128 levels of text) is refused at the cap, once.
    let mut deep = json!({"attr": "a", "op": "exists"});
    for _ in 0..60 {
        deep = json!({"all": [deep]});
    }
    assert_eq!(errors(deep).len(), 1);
}

#[test]
fn serde_uses_the_same_shape() {
    let v = json!({"all": [
        {"attr": "address.city", "op": "eq", "value": "Berlin"},
        {"not": {"attr": "email", "op": "not_exists"}},
        {"any": [{"event": "purchase", "op": "count_gte", "value": 2, "within": "P30D"},
                 {"event": "visit", "op": "count_lt", "value": 1}]}
    ]});
    let r: Rule = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(serde_json::to_value(&r).unwrap(), v);
    let err = serde_json::from_str::<Rule>(r#"{"attr":"a","op":"equals","value":1}"#).unwrap_err();
    assert!(
        err.to_string().contains("op: unknown operator `equals`"),
        "{err}"
    );
}

#[test]
fn comparisons() {
    let a = json!({"n": 5, "f": 2.5, "s": "beta", "t": "2026-01-15T10:00:00Z", "b": true});
    let m = |op: &str, attr: &str, value: Value| {
        attrs_match(json!({"attr": attr, "op": op, "value": value}), a.clone())
    };
    assert!(m("eq", "n", json!(5.0)) && m("eq", "n", json!(5)) && m("gte", "n", json!(5)));
    assert!(m("lt", "n", json!(5.5)) && !m("gt", "n", json!(5.5)) && m("lte", "f", json!(2.5)));
    assert!(m("gt", "n", json!(-3)) && !m("gt", "n", json!(u64::MAX)));
    assert!(
        m("lt", "s", json!("gamma")) && m("gt", "s", json!("alpha")) && !m("lt", "s", json!("B"))
    );
    // RFC 3339 in UTC written alike: string order is time order.
    assert!(m("gte", "t", json!("2026-01-01T00:00:00Z")) && m("lt", "t", json!("2026-02-01")));
    // Mixing types is false, whichever way round.
    assert!(!m("lt", "n", json!("9")) && !m("gte", "n", json!("9")) && !m("gt", "s", json!(1)));
    assert!(!m("lt", "b", json!(1)) && !m("gte", "b", json!(0)));
    assert!(!m("eq", "n", json!("5")) && m("ne", "n", json!("5")) && m("ne", "b", json!(false)));
}

#[test]
fn missing_and_null_attributes() {
    let a = json!({"x": null, "o": {"p": 1}});
    for path in ["missing", "x", "o.q", "o.p.r", "n.o"] {
        let m = |op: &str, value: Option<Value>| {
            let mut r = json!({"attr": path, "op": op});
            if let Some(v) = value {
                r["value"] = v;
            }
            attrs_match(r, a.clone())
        };
        assert!(m("ne", Some(json!(1))) && m("not_in", Some(json!([1]))) && m("not_exists", None));
        assert!(!m("eq", Some(json!(1))) && !m("in", Some(json!([1]))) && !m("exists", None));
        assert!(!m("lt", Some(json!(1))) && !m("contains", Some(json!("a"))));
        assert!(!m("starts_with", Some(json!(""))));
    }
    assert!(attrs_match(
        json!({"attr": "o.p", "op": "exists"}),
        a.clone()
    ));
    assert!(attrs_match(json!({"attr": "o", "op": "exists"}), a));
}

#[test]
fn nested_paths_and_membership() {
    let a = json!({"address": {"city": "Berlin", "zip": "10115"}, "tags": ["vip", 3], "n": 3});
    assert!(attrs_match(
        json!({"attr": "address.city", "op": "eq", "value": "Berlin"}),
        a.clone()
    ));
    assert!(attrs_match(
        json!({"attr": "address.zip", "op": "starts_with", "value": "101"}),
        a.clone()
    ));
    assert!(attrs_match(
        json!({"attr": "address.city", "op": "contains", "value": "erl"}),
        a.clone()
    ));
    assert!(attrs_match(
        json!({"attr": "tags", "op": "contains", "value": "vip"}),
        a.clone()
    ));
    assert!(attrs_match(
        json!({"attr": "tags", "op": "contains", "value": 3.0}),
        a.clone()
    ));
    assert!(!attrs_match(
        json!({"attr": "tags", "op": "contains", "value": "vi"}),
        a.clone()
    ));
    assert!(!attrs_match(
        json!({"attr": "tags", "op": "eq", "value": "vip"}),
        a.clone()
    ));
    assert!(attrs_match(
        json!({"attr": "n", "op": "in", "value": [1, 3.0]}),
        a.clone()
    ));
    assert!(attrs_match(
        json!({"attr": "n", "op": "not_in", "value": ["3"]}),
        a.clone()
    ));
    assert!(!attrs_match(
        json!({"attr": "n", "op": "contains", "value": 3}),
        a.clone()
    ));
    assert!(!attrs_match(
        json!({"attr": "n", "op": "starts_with", "value": "3"}),
        a.clone()
    ));
    assert!(attrs_match(
        json!({"attr": "address", "op": "eq", "value": {"zip": "10115", "city": "Berlin"}}),
        a
    ));
    assert!(attrs_match(json!({"all": []}), json!({})));
    assert!(!attrs_match(json!({"any": []}), json!({})));
}

#[test]
fn event_counts_and_windows() {
    let t = |s: &str| -> Timestamp { s.parse().unwrap() };
    let counts = Counts(HashMap::from([(
        "purchase",
        vec![
            t("2025-11-01T00:00:00Z"),
            t("2026-01-10T00:00:00Z"),
            t("2026-01-30T00:00:00Z"),
        ],
    )]));
    let attributes = Map::new();
    let view = ProfileView {
        attributes: &attributes,
        events: &counts,
        now: now(),
    };
    let m = |v: Value| rule(v).matches(&view);
    assert!(m(
        json!({"event": "purchase", "op": "count_gte", "value": 3})
    ));
    assert!(m(
        json!({"event": "purchase", "op": "count_gte", "value": 2, "within": "P30D"})
    ));
    assert!(!m(
        json!({"event": "purchase", "op": "count_gte", "value": 3, "within": "P30D"})
    ));
    assert!(m(
        json!({"event": "purchase", "op": "count_lt", "value": 2, "within": "P7D"})
    ));
    assert!(m(
        json!({"event": "purchase", "op": "count_gte", "value": 1, "within": "P1M"})
    ));
    assert!(m(json!({"event": "visit", "op": "count_lt", "value": 1})));
    assert!(m(json!({"event": "visit", "op": "count_gte", "value": 0})));
}

#[test]
fn store_helpers() {
    let r = rule(json!({"any": [
        {"event": "b", "op": "count_gte", "value": 1, "within": "P7D"},
        {"not": {"event": "a", "op": "count_lt", "value": 1, "within": "P30D"}},
        {"event": "b", "op": "count_lt", "value": 9, "within": "P1D"},
        {"attr": "x", "op": "exists"}
    ]}));
    assert_eq!(r.referenced_events(), ["b", "a"]);
    let since: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
    assert_eq!(r.max_window(now()), Some(Window::Since(since)));
    let all_time = rule(json!({"all": [r, {"event": "c", "op": "count_lt", "value": 1}]}));
    assert_eq!(all_time.max_window(now()), Some(Window::AllTime));
    assert_eq!(
        rule(json!({"attr": "x", "op": "exists"})).max_window(now()),
        None
    );
    assert!(
        rule(json!({"attr": "x", "op": "exists"}))
            .referenced_events()
            .is_empty()
    );
}

#[test]
fn schema_is_an_object_with_a_description() {
    let schema = serde_json::to_value(<Rule as utoipa::PartialSchema>::schema()).unwrap();
    assert_eq!(schema["type"], "object");
    assert!(
        schema["description"]
            .as_str()
            .unwrap()
            .contains("not_exists")
    );
    assert_eq!(<Rule as utoipa::ToSchema>::name(), "Rule");
}

/// A failed read voids the decision: it is kept for the caller, and no further read is made.
#[test]
fn fallible_counts_keep_the_first_failure_and_read_no_more() {
    let reads = std::cell::Cell::new(0);
    let events = FallibleCounts::new(|name: &str, _since: Option<Timestamp>| {
        reads.set(reads.get() + 1);
        if name == "broken" {
            Err("database is locked")
        } else {
            Ok(3)
        }
    });
    let r = rule(json!({"any": [
        {"event": "broken", "op": "count_gte", "value": 1},
        {"event": "purchase", "op": "count_gte", "value": 1}
    ]}));
    let view = ProfileView {
        attributes: &Map::new(),
        events: &events,
        now: now(),
    };
    r.matches(&view);
    assert_eq!(reads.get(), 1, "nothing is read after a failure");
    assert_eq!(events.failure(), Some("database is locked"));

    let fine = FallibleCounts::new(|_: &str, _: Option<Timestamp>| Ok::<_, ()>(3));
    let view = ProfileView {
        attributes: &Map::new(),
        events: &fine,
        now: now(),
    };
    assert!(r.matches(&view));
    assert_eq!(fine.failure(), None);
}
