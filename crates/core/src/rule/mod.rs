//! Audience rules: the JSON grammar of API.md, parsed with every error named by its path, and
//! evaluated against one profile's attributes and event counts.
//!
//! ```text
//! rule := {"all": [rule, …]} | {"any": [rule, …]} | {"not": rule}
//!       | {"attr": "path.in.attributes", "op": OP, "value": V}
//!       | {"event": "name", "op": "count_gte"|"count_lt", "value": N, "within"?: "P30D"}
//! OP   := eq ne lt lte gt gte in not_in contains starts_with exists not_exists
//! ```

mod eval;
mod parse;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use jiff::Timestamp;
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::duration::IsoDuration;
use crate::error::ValidationErrors;

pub use eval::{EventCounts, FallibleCounts, NoEvents, ProfileView};
pub use parse::MAX_DEPTH;

/// One audience rule. Build it with [`Rule::parse`] (or serde), which guarantees the shapes
/// documented on each field; hand-built rules that break them never match instead of failing.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "serde_json::Value")]
pub enum Rule {
    /// True when every rule is; `{"all": []}` is true.
    All(Vec<Rule>),
    /// True when some rule is; `{"any": []}` is false.
    Any(Vec<Rule>),
    Not(Box<Rule>),
    Attr(AttrRule),
    Event(EventRule),
}

/// `{"attr": path, "op": op, "value": value}`.
#[derive(Debug, Clone, PartialEq)]
pub struct AttrRule {
    /// Dot-separated keys into nested objects (`address.city`); no empty segment.
    pub path: String,
    pub op: AttrOp,
    /// `None` exactly for `exists`/`not_exists`; never JSON null; an array for `in`/`not_in`;
    /// a number or string for the orderings; a string for `starts_with`.
    pub value: Option<Value>,
}

/// `{"event": name, "op": op, "value": count, "within"?: duration}`.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRule {
    pub name: String,
    pub op: EventOp,
    pub count: u64,
    /// Only events of the last `within` count; `None` counts them all.
    pub within: Option<IsoDuration>,
}

/// Attribute operators; see [`Rule::matches`] for what each means on each JSON type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttrOp {
    Eq,
    Ne,
    Lt,
    Lte,
    Gt,
    Gte,
    In,
    NotIn,
    Contains,
    StartsWith,
    Exists,
    NotExists,
}

impl AttrOp {
    pub const ALL: [AttrOp; 12] = [
        Self::Eq,
        Self::Ne,
        Self::Lt,
        Self::Lte,
        Self::Gt,
        Self::Gte,
        Self::In,
        Self::NotIn,
        Self::Contains,
        Self::StartsWith,
        Self::Exists,
        Self::NotExists,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "eq",
            Self::Ne => "ne",
            Self::Lt => "lt",
            Self::Lte => "lte",
            Self::Gt => "gt",
            Self::Gte => "gte",
            Self::In => "in",
            Self::NotIn => "not_in",
            Self::Contains => "contains",
            Self::StartsWith => "starts_with",
            Self::Exists => "exists",
            Self::NotExists => "not_exists",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.as_str() == s)
    }

    /// Whether the rule carries a `value` (all but `exists`/`not_exists`).
    pub fn takes_value(self) -> bool {
        !matches!(self, Self::Exists | Self::NotExists)
    }
}

/// Event-count operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventOp {
    CountGte,
    CountLt,
}

impl EventOp {
    pub const ALL: [EventOp; 2] = [Self::CountGte, Self::CountLt];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CountGte => "count_gte",
            Self::CountLt => "count_lt",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.as_str() == s)
    }
}

/// How far back a rule's event counts reach, so a store can load no more than needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// Some event rule has no `within` (or one reaching before the representable past).
    AllTime,
    /// Every event rule counts only events at or after this instant.
    Since(Timestamp),
}

impl Rule {
    /// Parses the JSON grammar, collecting every error with its path relative to the rule
    /// (`all[1].op`); the rule itself is the empty path.
    pub fn parse(value: &Value) -> Result<Rule, ValidationErrors> {
        parse::parse(value)
    }

    /// Distinct event names the rule counts, in order of first appearance.
    pub fn referenced_events(&self) -> Vec<&str> {
        let mut names = Vec::new();
        self.visit_events(&mut |e| {
            if !names.contains(&e.name.as_str()) {
                names.push(e.name.as_str());
            }
        });
        names
    }

    /// The widest event window at `now`, or `None` when the rule counts no events. Takes `now`
    /// because calendar durations (`P1M`) have no fixed length.
    pub fn max_window(&self, now: Timestamp) -> Option<Window> {
        let mut window = None;
        self.visit_events(&mut |e| {
            let this = match e.within.as_ref().and_then(|d| d.before(now)) {
                Some(since) => Window::Since(since),
                None => Window::AllTime,
            };
            window = Some(match (window, this) {
                (Some(Window::Since(a)), Window::Since(b)) => Window::Since(a.min(b)),
                (None, w) => w,
                _ => Window::AllTime,
            });
        });
        window
    }

    /// Each distinct (event name, window start) the rule counts at `now`, so a store can load
    /// exactly those counts once for many profiles. `None` counts all of time.
    pub fn event_windows(&self, now: Timestamp) -> Vec<(&str, Option<Timestamp>)> {
        let mut windows = Vec::new();
        self.visit_events(&mut |e| {
            let w = (
                e.name.as_str(),
                e.within.as_ref().and_then(|d| d.before(now)),
            );
            if !windows.contains(&w) {
                windows.push(w);
            }
        });
        windows
    }

    /// Depth of nesting; a leaf is 1. Parsed rules are at most [`MAX_DEPTH`].
    pub fn depth(&self) -> usize {
        match self {
            Rule::All(rules) | Rule::Any(rules) => {
                1 + rules.iter().map(Rule::depth).max().unwrap_or(0)
            }
            Rule::Not(rule) => 1 + rule.depth(),
            Rule::Attr(_) | Rule::Event(_) => 1,
        }
    }

    fn visit_events<'a>(&'a self, f: &mut impl FnMut(&'a EventRule)) {
        match self {
            Rule::All(rules) | Rule::Any(rules) => rules.iter().for_each(|r| r.visit_events(f)),
            Rule::Not(rule) => rule.visit_events(f),
            Rule::Attr(_) => {}
            Rule::Event(e) => f(e),
        }
    }
}

impl TryFrom<Value> for Rule {
    type Error = ValidationErrors;

    fn try_from(value: Value) -> Result<Self, Self::Error> {
        Rule::parse(&value)
    }
}

impl Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Rule::All(rules) => single(serializer, "all", rules),
            Rule::Any(rules) => single(serializer, "any", rules),
            Rule::Not(rule) => single(serializer, "not", rule),
            Rule::Attr(a) => {
                let mut map = serializer.serialize_map(None)?;
                map.serialize_entry("attr", &a.path)?;
                map.serialize_entry("op", &a.op)?;
                if let Some(value) = &a.value {
                    map.serialize_entry("value", value)?;
                }
                map.end()
            }
            Rule::Event(e) => {
                let mut map = serializer.serialize_map(None)?;
                map.serialize_entry("event", &e.name)?;
                map.serialize_entry("op", &e.op)?;
                map.serialize_entry("value", &e.count)?;
                if let Some(within) = &e.within {
                    map.serialize_entry("within", within)?;
                }
                map.end()
            }
        }
    }
}

fn single<S: serde::Serializer, T: Serialize + ?Sized>(
    serializer: S,
    key: &str,
    value: &T,
) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(Some(1))?;
    map.serialize_entry(key, value)?;
    map.end()
}

const SCHEMA_DESCRIPTION: &str = "An audience rule. Exactly one of:\n\
    - `{\"all\": [rule, …]}` (true when every rule is; empty is true)\n\
    - `{\"any\": [rule, …]}` (true when some rule is; empty is false)\n\
    - `{\"not\": rule}`\n\
    - `{\"attr\": \"address.city\", \"op\": OP, \"value\": V}` with OP one of eq ne lt lte gt gte \
    in not_in contains starts_with exists not_exists (`value` omitted for exists/not_exists, an \
    array for in/not_in, never null). Paths are dot-separated keys into nested objects. Numbers \
    compare numerically, strings by code point (RFC 3339 times in UTC therefore compare in time \
    order); comparing different types is false. A missing or null attribute only satisfies ne, \
    not_in and not_exists. contains is a substring test on strings and an element test on arrays.\n\
    - `{\"event\": \"name\", \"op\": \"count_gte\"|\"count_lt\", \"value\": N, \"within\"?: \
    \"P30D\"}` counting the profile's events of that name (in the last `within` when given).\n\
    Rules nest at most 32 levels deep.";

impl utoipa::PartialSchema for Rule {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Object)
            .description(Some(SCHEMA_DESCRIPTION))
            .examples([serde_json::json!({"all": [
                {"attr": "address.city", "op": "eq", "value": "Berlin"},
                {"event": "purchase", "op": "count_gte", "value": 1, "within": "P30D"}
            ]})])
            .into()
    }
}

impl utoipa::ToSchema for Rule {}
