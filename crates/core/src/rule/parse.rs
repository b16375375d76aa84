//! JSON → [`Rule`], collecting every error (not just the first) under its path in the rule.

use jiff::Timestamp;
use serde_json::{Map, Value};

use super::{AttrOp, AttrRule, EventOp, EventRule, Rule};
use crate::duration::IsoDuration;
use crate::error::ValidationErrors;

/// Deepest nesting accepted, so evaluating or dropping a rule cannot exhaust the stack.
pub const MAX_DEPTH: usize = 32;

const KINDS: [&str; 5] = ["all", "any", "not", "attr", "event"];
const KIND_MESSAGE: &str = "a rule has exactly one of all, any, not, attr, event";
const NULL_MESSAGE: &str = "null never matches; use the exists or not_exists operator";

pub(super) fn parse(value: &Value) -> Result<Rule, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    match parse_at(value, "", 1, &mut errors) {
        Some(rule) if errors.is_empty() => Ok(rule),
        _ => Err(errors),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// The `op` of a leaf rule, one of `names`; `other` are the other leaf kind's operators, so that
/// `count_gte` on an attribute can say where it belongs.
fn parse_op<T>(
    map: &Map<String, Value>,
    path: &str,
    errors: &mut ValidationErrors,
    names: &[&str],
    parse: fn(&str) -> Option<T>,
    (other, other_kind): (&[&str], &str),
) -> Option<T> {
    let expected = format!("expected one of {}", names.join(", "));
    let message = match map.get("op") {
        None => format!("required; {expected}"),
        Some(Value::String(s)) => match parse(s) {
            Some(op) => return Some(op),
            None => {
                let hint = if other.contains(&s.as_str()) {
                    format!(" (`{s}` is for {other_kind} rules)")
                } else {
                    String::new()
                };
                format!("unknown operator `{s}`; {expected}{hint}")
            }
        },
        Some(_) => format!("expected a string; {expected}"),
    };
    errors.push(join(path, "op"), message);
    None
}

/// `None` when this rule (or one inside it) is invalid; its errors are then in `errors`.
fn parse_at(
    value: &Value,
    path: &str,
    depth: usize,
    errors: &mut ValidationErrors,
) -> Option<Rule> {
    if depth > MAX_DEPTH {
        errors.push(path, format!("rules nest deeper than {MAX_DEPTH} levels"));
        return None;
    }
    let Value::Object(map) = value else {
        errors.push(
            path,
            format!("a rule must be a JSON object; {KIND_MESSAGE}"),
        );
        return None;
    };
    let kinds: Vec<(&str, &Value)> = KINDS
        .into_iter()
        .filter_map(|k| map.get(k).map(|v| (k, v)))
        .collect();
    let (kind, inner) = match kinds.as_slice() {
        [kind] => *kind,
        _ => {
            // Name what was there: the competing kinds, or else every key.
            let found: Vec<String> = if kinds.is_empty() {
                map.keys().map(|k| format!("`{k}`")).collect()
            } else {
                kinds.iter().map(|(k, _)| format!("`{k}`")).collect()
            };
            let found = if found.is_empty() {
                "an empty object".to_owned()
            } else {
                found.join(", ")
            };
            errors.push(path, format!("{KIND_MESSAGE}; found {found}"));
            return None;
        }
    };
    let allowed: &[&str] = match kind {
        "attr" => &["attr", "op", "value"],
        "event" => &["event", "op", "value", "within"],
        _ => &[],
    };
    let before = errors.0.len();
    for key in map
        .keys()
        .filter(|k| *k != kind && !allowed.contains(&k.as_str()))
    {
        let expected = if allowed.is_empty() {
            format!("a `{kind}` rule has no other field")
        } else {
            format!("expected one of {}", allowed.join(", "))
        };
        errors.push(
            join(path, key),
            format!("unknown field `{key}`; {expected}"),
        );
    }
    let rule = match kind {
        "all" | "any" => parse_group(inner, kind, path, depth, errors),
        "not" => {
            parse_at(inner, &join(path, "not"), depth + 1, errors).map(|r| Rule::Not(Box::new(r)))
        }
        "attr" => parse_attr(inner, map, path, errors).map(Rule::Attr),
        _ => parse_event(inner, map, path, errors).map(Rule::Event),
    };
    rule.filter(|_| errors.0.len() == before)
}

fn parse_group(
    inner: &Value,
    kind: &str,
    path: &str,
    depth: usize,
    errors: &mut ValidationErrors,
) -> Option<Rule> {
    let here = join(path, kind);
    let Value::Array(items) = inner else {
        errors.push(here, "expected an array of rules");
        return None;
    };
    let mut rules = Vec::with_capacity(items.len());
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        match parse_at(item, &format!("{here}[{i}]"), depth + 1, errors) {
            Some(rule) => rules.push(rule),
            None => ok = false,
        }
    }
    ok.then(|| {
        if kind == "all" {
            Rule::All(rules)
        } else {
            Rule::Any(rules)
        }
    })
}

fn parse_attr(
    inner: &Value,
    map: &Map<String, Value>,
    path: &str,
    errors: &mut ValidationErrors,
) -> Option<AttrRule> {
    let attr = match inner {
        Value::String(s) if s.is_empty() => {
            errors.push(join(path, "attr"), "the attribute path must not be empty");
            None
        }
        Value::String(s) if s.split('.').any(str::is_empty) => {
            errors.push(
                join(path, "attr"),
                format!("`{s}` has an empty segment; keys are separated by single dots"),
            );
            None
        }
        Value::String(s) => Some(s.clone()),
        _ => {
            errors.push(
                join(path, "attr"),
                "expected a string path such as `address.city`",
            );
            None
        }
    };
    let op = parse_op(
        map,
        path,
        errors,
        &AttrOp::ALL.map(AttrOp::as_str),
        AttrOp::parse,
        (&EventOp::ALL.map(EventOp::as_str), "event"),
    );
    let value = op.and_then(|op| attr_value(op, map.get("value"), &join(path, "value"), errors));
    Some(AttrRule {
        path: attr?,
        op: op?,
        value: value?,
    })
}

/// The checked `value` of an attribute rule; the outer `None` means it was refused.
fn attr_value(
    op: AttrOp,
    value: Option<&Value>,
    path: &str,
    errors: &mut ValidationErrors,
) -> Option<Option<Value>> {
    let name = op.as_str();
    // Absent and null mean the same thing to many JSON writers; treat them alike.
    let value = value.filter(|v| !v.is_null());
    let refusal = match (op, value) {
        (AttrOp::Exists | AttrOp::NotExists, None) => return Some(None),
        (AttrOp::Exists | AttrOp::NotExists, Some(_)) => format!("`{name}` takes no value"),
        (_, None) => format!("required for `{name}` ({NULL_MESSAGE} to test for absence)"),
        (AttrOp::In | AttrOp::NotIn, Some(Value::Array(items))) => {
            let before = errors.0.len();
            for (i, _) in items.iter().enumerate().filter(|(_, v)| v.is_null()) {
                errors.push(format!("{path}[{i}]"), NULL_MESSAGE);
            }
            return (errors.0.len() == before).then(|| value.cloned());
        }
        (AttrOp::In | AttrOp::NotIn, Some(_)) => format!("`{name}` needs an array of values"),
        (AttrOp::Lt | AttrOp::Lte | AttrOp::Gt | AttrOp::Gte, Some(v))
            if !v.is_number() && !v.is_string() =>
        {
            format!("`{name}` compares numbers or strings")
        }
        (AttrOp::StartsWith, Some(v)) if !v.is_string() => format!("`{name}` needs a string"),
        (_, Some(v)) => return Some(Some(v.clone())),
    };
    errors.push(path, refusal);
    None
}

fn parse_event(
    inner: &Value,
    map: &Map<String, Value>,
    path: &str,
    errors: &mut ValidationErrors,
) -> Option<EventRule> {
    let name = match inner {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::String(_) => {
            errors.push(join(path, "event"), "the event name must not be empty");
            None
        }
        _ => {
            errors.push(join(path, "event"), "expected an event name (a string)");
            None
        }
    };
    let op = parse_op(
        map,
        path,
        errors,
        &EventOp::ALL.map(EventOp::as_str),
        EventOp::parse,
        (&AttrOp::ALL.map(AttrOp::as_str), "attr"),
    );
    let count = match map.get("value") {
        None | Some(Value::Null) => {
            errors.push(
                join(path, "value"),
                "required: the event count to compare with",
            );
            None
        }
        Some(v) => {
            let count = v.as_u64();
            if count.is_none() {
                errors.push(join(path, "value"), "expected a non-negative integer");
            }
            count
        }
    };
    let within = match map.get("within") {
        None | Some(Value::Null) => Some(None),
        Some(Value::String(s)) => match IsoDuration::parse(s) {
            // Any instant works to tell a positive duration from a zero or negative one.
            Ok(d)
                if d.after(Timestamp::UNIX_EPOCH)
                    .is_some_and(|t| t > Timestamp::UNIX_EPOCH) =>
            {
                Some(Some(d))
            }
            Ok(_) => {
                errors.push(
                    join(path, "within"),
                    format!("`{s}` is not a positive duration"),
                );
                None
            }
            Err(message) => {
                errors.push(join(path, "within"), message);
                None
            }
        },
        Some(_) => {
            errors.push(
                join(path, "within"),
                "expected an ISO 8601 duration such as P30D",
            );
            None
        }
    };
    Some(EventRule {
        name: name?,
        op: op?,
        count: count?,
        within: within?,
    })
}
