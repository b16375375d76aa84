//! The render context as a liquid value in which a missing key, at any depth, reads as nil.
//!
//! Why a wrapper rather than pre-filling the variables a template mentions: liquid-rust
//! offers no way to list a template's variable paths, and guessing them from the source text
//! misses computed lookups (`profile[key]`, `items[3].name`, loop variables). A view that
//! answers nil for whatever is absent covers every lookup the engine can make, including
//! lookups inside loop items, which are borrowed from this same tree.
//!
//! What it does not cover: a value copied out by `assign` becomes a plain liquid value, so
//! `{% assign p = profile %}{{ p.nope }}` is still an error; indexing into a string or number
//! (`profile.name.first`) is an error too. Both are rare in message templates.

use std::collections::BTreeMap;
use std::fmt;

use liquid_core::model::{
    ArrayView, DisplayCow, KStringCow, ObjectView, Scalar, ScalarCow, State, Value, ValueView,
};

/// JSON converted once per render. Nil stands both for JSON `null` and for anything missing.
#[derive(Debug)]
pub(super) enum Node {
    Nil,
    Scalar(Scalar),
    Array(Vec<Node>),
    Object(BTreeMap<String, Node>),
}

/// What every missing key and out-of-range index resolves to.
static MISSING: Node = Node::Nil;

impl Node {
    pub(super) fn from_json(json: &serde_json::Value) -> Node {
        use serde_json::Value as J;
        match json {
            J::Null => Node::Nil,
            J::Bool(b) => Node::Scalar(Scalar::new(*b)),
            J::Number(n) => match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => Node::Scalar(Scalar::new(i)),
                (None, Some(f)) => Node::Scalar(Scalar::new(f)),
                (None, None) => Node::Nil,
            },
            J::String(s) => Node::Scalar(Scalar::new(s.clone())),
            J::Array(items) => Node::Array(items.iter().map(Node::from_json).collect()),
            J::Object(map) => Node::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), Node::from_json(v)))
                    .collect(),
            ),
        }
    }

    fn child(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Object(map) => map.get(key),
            _ => None,
        }
    }
}

impl ValueView for Node {
    fn as_debug(&self) -> &dyn fmt::Debug {
        self
    }

    fn render(&self) -> DisplayCow<'_> {
        match self {
            Node::Nil => DisplayCow::Borrowed(&""),
            Node::Scalar(s) => s.render(),
            _ => DisplayCow::Owned(Box::new(self.to_value().render().to_string())),
        }
    }

    fn source(&self) -> DisplayCow<'_> {
        match self {
            Node::Nil => DisplayCow::Borrowed(&"nil"),
            Node::Scalar(s) => s.source(),
            _ => DisplayCow::Owned(Box::new(self.to_value().source().to_string())),
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            Node::Nil => "nil",
            Node::Scalar(s) => s.type_name(),
            Node::Array(_) => "array",
            Node::Object(_) => "object",
        }
    }

    fn query_state(&self, state: State) -> bool {
        match self {
            Node::Nil => !matches!(state, State::Truthy),
            Node::Scalar(s) => s.query_state(state),
            Node::Array(items) => matches!(state, State::Truthy) || items.is_empty(),
            Node::Object(map) => matches!(state, State::Truthy) || map.is_empty(),
        }
    }

    fn to_kstr(&self) -> KStringCow<'_> {
        match self {
            Node::Nil => KStringCow::from_static(""),
            Node::Scalar(s) => s.to_kstr(),
            _ => KStringCow::from(self.to_value().to_kstr().into_owned()),
        }
    }

    fn to_value(&self) -> Value {
        match self {
            Node::Nil => Value::Nil,
            Node::Scalar(s) => Value::Scalar(s.clone()),
            Node::Array(items) => Value::Array(items.iter().map(Node::to_value).collect()),
            Node::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone().into(), v.to_value()))
                    .collect(),
            ),
        }
    }

    fn as_scalar(&self) -> Option<ScalarCow<'_>> {
        match self {
            Node::Scalar(s) => Some(s.as_ref()),
            _ => None,
        }
    }

    fn as_array(&self) -> Option<&dyn ArrayView> {
        match self {
            Node::Array(_) => Some(self),
            _ => None,
        }
    }

    /// Nil answers as an empty object so that `a.b.c` under a missing `a` is nil, not an error.
    fn as_object(&self) -> Option<&dyn ObjectView> {
        match self {
            Node::Object(_) | Node::Nil => Some(self),
            _ => None,
        }
    }

    fn is_nil(&self) -> bool {
        matches!(self, Node::Nil)
    }
}

impl ArrayView for Node {
    fn as_value(&self) -> &dyn ValueView {
        self
    }

    fn size(&self) -> i64 {
        match self {
            Node::Array(items) => i64::try_from(items.len()).unwrap_or(i64::MAX),
            _ => 0,
        }
    }

    fn values<'k>(&'k self) -> Box<dyn Iterator<Item = &'k dyn ValueView> + 'k> {
        match self {
            Node::Array(items) => Box::new(items.iter().map(|n| n as &dyn ValueView)),
            _ => Box::new(std::iter::empty()),
        }
    }

    fn contains_key(&self, index: i64) -> bool {
        self.element(index).is_some()
    }

    /// Out of range is nil, so `items[5]` and `items.first` on a short list render empty.
    fn get(&self, index: i64) -> Option<&dyn ValueView> {
        Some(self.element(index).unwrap_or(&MISSING))
    }
}

impl Node {
    /// Liquid indexes from the end with negative numbers.
    fn element(&self, index: i64) -> Option<&Node> {
        let Node::Array(items) = self else {
            return None;
        };
        let len = i64::try_from(items.len()).ok()?;
        let index = if index < 0 {
            index.checked_add(len)?
        } else {
            index
        };
        // `as_slice`: `Vec<Node>` is an `ArrayView` too, whose `get` would win here.
        items.as_slice().get(usize::try_from(index).ok()?)
    }
}

impl ObjectView for Node {
    fn as_value(&self) -> &dyn ValueView {
        self
    }

    fn size(&self) -> i64 {
        match self {
            Node::Object(map) => i64::try_from(map.len()).unwrap_or(i64::MAX),
            _ => 0,
        }
    }

    fn keys<'k>(&'k self) -> Box<dyn Iterator<Item = KStringCow<'k>> + 'k> {
        match self {
            Node::Object(map) => Box::new(map.keys().map(|k| KStringCow::from_ref(k))),
            _ => Box::new(std::iter::empty()),
        }
    }

    fn values<'k>(&'k self) -> Box<dyn Iterator<Item = &'k dyn ValueView> + 'k> {
        match self {
            Node::Object(map) => Box::new(map.values().map(|n| n as &dyn ValueView)),
            _ => Box::new(std::iter::empty()),
        }
    }

    fn iter<'k>(&'k self) -> Box<dyn Iterator<Item = (KStringCow<'k>, &'k dyn ValueView)> + 'k> {
        match self {
            Node::Object(map) => Box::new(
                map.iter()
                    .map(|(k, v)| (KStringCow::from_ref(k), v as &dyn ValueView)),
            ),
            _ => Box::new(std::iter::empty()),
        }
    }

    /// Honest, because `{% if profile contains "vip" %}` asks this.
    fn contains_key(&self, index: &str) -> bool {
        self.child(index).is_some()
    }

    /// A missing key is nil, except `size`, which liquid answers with the key count when the
    /// object has no such key.
    fn get<'s>(&'s self, index: &str) -> Option<&'s dyn ValueView> {
        match self.child(index) {
            Some(child) => Some(child),
            None if index == "size" => None,
            None => Some(&MISSING),
        }
    }
}

/// The top-level variables. liquid asks the globals `contains_key` before it looks a name
/// up and raises "Unknown variable" on `false`, so the root claims every name. Variables made
/// by `assign` and loop variables live in frames above it and are still found first.
#[derive(Debug)]
pub(super) struct Root(pub(super) Node);

impl ValueView for Root {
    fn as_debug(&self) -> &dyn fmt::Debug {
        self
    }
    fn render(&self) -> DisplayCow<'_> {
        self.0.render()
    }
    fn source(&self) -> DisplayCow<'_> {
        self.0.source()
    }
    fn type_name(&self) -> &'static str {
        "object"
    }
    fn query_state(&self, state: State) -> bool {
        self.0.query_state(state)
    }
    fn to_kstr(&self) -> KStringCow<'_> {
        self.0.to_kstr()
    }
    fn to_value(&self) -> Value {
        self.0.to_value()
    }
    fn as_object(&self) -> Option<&dyn ObjectView> {
        Some(self)
    }
}

impl ObjectView for Root {
    fn as_value(&self) -> &dyn ValueView {
        self
    }
    fn size(&self) -> i64 {
        ObjectView::size(&self.0)
    }
    fn keys<'k>(&'k self) -> Box<dyn Iterator<Item = KStringCow<'k>> + 'k> {
        self.0.keys()
    }
    fn values<'k>(&'k self) -> Box<dyn Iterator<Item = &'k dyn ValueView> + 'k> {
        ObjectView::values(&self.0)
    }
    fn iter<'k>(&'k self) -> Box<dyn Iterator<Item = (KStringCow<'k>, &'k dyn ValueView)> + 'k> {
        self.0.iter()
    }
    fn contains_key(&self, _index: &str) -> bool {
        true
    }
    fn get<'s>(&'s self, index: &str) -> Option<&'s dyn ValueView> {
        Some(
            self.0
                .child(index)
                .map_or(&MISSING as &dyn ValueView, |n| n as &dyn ValueView),
        )
    }
}
