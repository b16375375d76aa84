//! Evaluating a [`Rule`] for one profile; never fails: a test that makes no sense is false.

use std::cmp::Ordering;

use jiff::Timestamp;
use serde_json::{Map, Number, Value};

use super::{AttrOp, AttrRule, EventOp, EventRule, Rule};

/// How many events of a name a profile has, optionally only those at or after `since`.
pub trait EventCounts {
    fn count(&self, name: &str, since: Option<Timestamp>) -> u64;
}

/// For callers that know the rule counts no events (see [`Rule::referenced_events`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoEvents;

impl EventCounts for NoEvents {
    fn count(&self, _name: &str, _since: Option<Timestamp>) -> u64 {
        0
    }
}

/// Event counts read from somewhere that can fail (a store), for a caller that must not act on
/// a guess: the first failed read is kept, later reads are not made, and every count reads 0
/// from then on — so whatever the rule decided is void, and the caller asks `failure` before
/// using it.
pub struct FallibleCounts<F, E> {
    read: F,
    failed: std::cell::RefCell<Option<E>>,
}

impl<F, E> FallibleCounts<F, E>
where
    F: Fn(&str, Option<Timestamp>) -> Result<u64, E>,
{
    pub fn new(read: F) -> Self {
        Self {
            read,
            failed: std::cell::RefCell::new(None),
        }
    }

    /// The read that failed, if one did: what was decided with these counts is void.
    pub fn failure(self) -> Option<E> {
        self.failed.into_inner()
    }
}

impl<F, E> EventCounts for FallibleCounts<F, E>
where
    F: Fn(&str, Option<Timestamp>) -> Result<u64, E>,
{
    fn count(&self, name: &str, since: Option<Timestamp>) -> u64 {
        if self.failed.borrow().is_some() {
            return 0;
        }
        (self.read)(name, since).unwrap_or_else(|e| {
            *self.failed.borrow_mut() = Some(e);
            0
        })
    }
}

/// What a rule sees of one profile.
#[derive(Clone, Copy)]
pub struct ProfileView<'a> {
    pub attributes: &'a Map<String, Value>,
    pub events: &'a dyn EventCounts,
    /// The engine's clock (which may be a test clock), for `within`.
    pub now: Timestamp,
}

impl Rule {
    /// Whether the profile satisfies the rule.
    ///
    /// Attributes: a missing or null attribute only satisfies `ne`, `not_in` and `not_exists`.
    /// `eq`/`ne`/`in`/`not_in` use JSON equality, except that numbers compare by value (`1` equals
    /// `1.0`). The orderings compare number with number and string with string (by Unicode code
    /// point, so RFC 3339 UTC times written alike order by time; no date parsing is done); any
    /// other pair is false, not an error. `contains` is a substring test on a string attribute
    /// and an element test on an array; `starts_with` needs a string attribute. An array
    /// attribute is one value: `eq "a"` does not match `["a"]` (use `contains`).
    ///
    /// Events: `within` counts events at or after `now − within`; a window reaching before the
    /// representable past counts every event.
    pub fn matches(&self, profile: &ProfileView<'_>) -> bool {
        match self {
            Rule::All(rules) => rules.iter().all(|r| r.matches(profile)),
            Rule::Any(rules) => rules.iter().any(|r| r.matches(profile)),
            Rule::Not(rule) => !rule.matches(profile),
            Rule::Attr(a) => a.matches(profile.attributes),
            Rule::Event(e) => e.matches(profile),
        }
    }
}

impl AttrRule {
    pub fn matches(&self, attributes: &Map<String, Value>) -> bool {
        let actual = lookup(attributes, &self.path);
        let value = self.value.as_ref();
        match self.op {
            AttrOp::Eq => is_eq(actual, value),
            AttrOp::Ne => !is_eq(actual, value),
            AttrOp::Lt => ordered(actual, value, Ordering::is_lt),
            AttrOp::Lte => ordered(actual, value, Ordering::is_le),
            AttrOp::Gt => ordered(actual, value, Ordering::is_gt),
            AttrOp::Gte => ordered(actual, value, Ordering::is_ge),
            AttrOp::In => is_in(actual, value),
            AttrOp::NotIn => !is_in(actual, value),
            AttrOp::Contains => contains(actual, value),
            AttrOp::StartsWith => match (actual, value) {
                (Some(Value::String(a)), Some(Value::String(v))) => a.starts_with(v.as_str()),
                _ => false,
            },
            AttrOp::Exists => actual.is_some(),
            AttrOp::NotExists => actual.is_none(),
        }
    }
}

impl EventRule {
    pub fn matches(&self, profile: &ProfileView<'_>) -> bool {
        let since = self.within.as_ref().and_then(|d| d.before(profile.now));
        let count = profile.events.count(&self.name, since);
        match self.op {
            EventOp::CountGte => count >= self.count,
            EventOp::CountLt => count < self.count,
        }
    }
}

/// The attribute at a dot-separated path; null counts as absent, as `exists` promises.
fn lookup<'a>(attributes: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut keys = path.split('.');
    let mut current = attributes.get(keys.next()?)?;
    for key in keys {
        current = current.as_object()?.get(key)?;
    }
    (!current.is_null()).then_some(current)
}

fn is_eq(actual: Option<&Value>, value: Option<&Value>) -> bool {
    matches!((actual, value), (Some(a), Some(v)) if equal(a, v))
}

fn is_in(actual: Option<&Value>, value: Option<&Value>) -> bool {
    match (actual, value) {
        (Some(a), Some(Value::Array(items))) => items.iter().any(|v| equal(a, v)),
        _ => false,
    }
}

fn contains(actual: Option<&Value>, value: Option<&Value>) -> bool {
    match (actual, value) {
        (Some(Value::String(a)), Some(Value::String(v))) => a.contains(v.as_str()),
        (Some(Value::Array(items)), Some(v)) => items.iter().any(|a| equal(a, v)),
        _ => false,
    }
}

fn ordered(actual: Option<&Value>, value: Option<&Value>, test: fn(Ordering) -> bool) -> bool {
    let ordering = match (actual, value) {
        (Some(Value::Number(a)), Some(Value::Number(v))) => compare_numbers(a, v),
        (Some(Value::String(a)), Some(Value::String(v))) => Some(a.as_str().cmp(v.as_str())),
        _ => None,
    };
    ordering.is_some_and(test)
}

/// JSON equality where numbers are equal by value, at any depth.
fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => compare_numbers(x, y) == Some(Ordering::Equal),
        (Value::Array(xs), Value::Array(ys)) => {
            xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| equal(x, y))
        }
        (Value::Object(xs), Value::Object(ys)) => {
            xs.len() == ys.len()
                && xs
                    .iter()
                    .all(|(k, x)| ys.get(k).is_some_and(|y| equal(x, y)))
        }
        _ => a == b,
    }
}

/// Integers compare exactly (i64 and u64 alike); anything with a fraction as f64.
fn compare_numbers(a: &Number, b: &Number) -> Option<Ordering> {
    fn integer(n: &Number) -> Option<i128> {
        n.as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
    }
    match (integer(a), integer(b)) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}
