//! Template values: what variables hold, what filters take and return, and Liquid's rules
//! for printing, truthiness, equality and ordering between them.

use std::cmp::Ordering;
use std::fmt::Write as _;
use std::sync::Arc;

/// An ordered map: Liquid iterates objects in insertion order, and most are small, so a
/// vector searched linearly beats hashing for the contexts templates see.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Object {
    entries: Vec<(Arc<str>, Value)>,
}

impl Object {
    pub fn new() -> Object {
        Object::default()
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries
            .iter()
            .find(|(k, _)| &**k == key)
            .map(|(_, v)| v)
    }

    /// Sets `key`, replacing an existing value in place (keeping its position).
    pub fn insert(&mut self, key: Arc<str>, value: Value) {
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.entries.push((key, value)),
        }
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&Arc<str>, &Value)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    pub fn first(&self) -> Option<(&Arc<str>, &Value)> {
        self.entries.first().map(|(k, v)| (k, v))
    }
}

impl FromIterator<(Arc<str>, Value)> for Object {
    fn from_iter<I: IntoIterator<Item = (Arc<str>, Value)>>(iter: I) -> Object {
        let mut object = Object::new();
        for (k, v) in iter {
            object.insert(k, v);
        }
        object
    }
}

/// A Liquid value. Strings, arrays and objects are reference-counted so that copying a value
/// out of the context or into a loop variable never copies its contents.
#[derive(Debug, Clone, Default)]
pub enum Value {
    #[default]
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Arc<str>),
    Array(Arc<Vec<Value>>),
    Object(Arc<Object>),
    /// An inclusive integer range, `(a..b)`; materialised only when a filter needs items.
    Range(i64, i64),
    /// The `empty` literal: equal to empty strings, arrays and objects.
    Empty,
    /// The `blank` literal: `empty`, plus nil, false and whitespace-only strings.
    Blank,
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        liquid_eq(self, other)
    }
}

impl Value {
    pub fn str(s: &str) -> Value {
        Value::Str(Arc::from(s))
    }

    pub fn string(s: String) -> Value {
        Value::Str(Arc::from(s))
    }

    pub fn array(items: Vec<Value>) -> Value {
        Value::Array(Arc::new(items))
    }

    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    /// Only nil and false are falsy in Liquid; `0`, `""` and `[]` are true.
    pub fn is_truthy(&self) -> bool {
        !matches!(self, Value::Nil | Value::Bool(false))
    }

    /// Builds a value from JSON (the render context).
    pub fn from_json(json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Nil,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(0.0)),
            },
            serde_json::Value::String(s) => Value::str(s),
            serde_json::Value::Array(items) => {
                Value::array(items.iter().map(Value::from_json).collect())
            }
            // A JSON map's keys are unique already: no need for `insert`'s search.
            serde_json::Value::Object(map) => Value::Object(Arc::new(Object {
                entries: map
                    .iter()
                    .map(|(k, v)| (Arc::from(k.as_str()), Value::from_json(v)))
                    .collect(),
            })),
        }
    }

    /// The items of a range, an array, or nothing. Ranges are materialised; callers bound
    /// their length first with `range_len`.
    pub fn range_len(a: i64, b: i64) -> u64 {
        if b < a {
            0
        } else {
            (i128::from(b) - i128::from(a) + 1)
                .try_into()
                .unwrap_or(u64::MAX)
        }
    }

    /// The length Liquid's `size` reports.
    pub fn size(&self) -> i64 {
        let n = match self {
            Value::Str(s) => s.chars().count(),
            Value::Array(a) => a.len(),
            Value::Object(o) => o.len(),
            Value::Range(a, b) => usize::try_from(Value::range_len(*a, *b)).unwrap_or(usize::MAX),
            _ => 0,
        };
        i64::try_from(n).unwrap_or(i64::MAX)
    }

    /// Appends the printed form: how `{{ value }}` shows it. Arrays and objects stop adding
    /// items past `MAX_TEXT`: an array can hold the same large string many times over, and
    /// the size limits that catch the result run only after it is written.
    pub fn write_to(&self, out: &mut String) {
        match self {
            Value::Nil | Value::Empty | Value::Blank => {}
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Value::Float(f) => write_float(*f, out),
            Value::Str(s) => out.push_str(s),
            Value::Array(items) => {
                for item in items.iter() {
                    if out.len() >= MAX_TEXT {
                        break;
                    }
                    item.write_to(out);
                }
            }
            Value::Object(o) => write_inspect_object(o, out),
            Value::Range(a, b) => {
                let _ = write!(out, "{a}..{b}");
            }
        }
    }

    pub fn render(&self) -> String {
        match self {
            Value::Str(s) => s.to_string(),
            _ => {
                let mut out = String::new();
                self.write_to(&mut out);
                out
            }
        }
    }

    /// A hash of the content, consistent with `same_as`.
    pub(crate) fn content_hash(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        fn feed(v: &Value, h: &mut std::collections::hash_map::DefaultHasher) {
            match v {
                Value::Nil => 0u8.hash(h),
                Value::Bool(b) => (1u8, b).hash(h),
                Value::Int(i) => (2u8, i).hash(h),
                Value::Float(f) => (3u8, f.to_bits()).hash(h),
                Value::Str(s) => (4u8, &**s).hash(h),
                Value::Array(items) => {
                    (5u8, items.len()).hash(h);
                    items.iter().for_each(|i| feed(i, h));
                }
                Value::Object(o) => {
                    (6u8, o.len()).hash(h);
                    for (k, v) in o.iter() {
                        k.hash(h);
                        feed(v, h);
                    }
                }
                Value::Range(a, b) => (7u8, a, b).hash(h),
                Value::Empty => 8u8.hash(h),
                Value::Blank => 9u8.hash(h),
            }
        }
        let mut h = std::collections::hash_map::DefaultHasher::new();
        feed(self, &mut h);
        h.finish()
    }

    /// Whether Ruby would call two values the same hash key: like `==` but `1`, `1.0` and
    /// `"1"` all differ, and `empty`/`blank` match only themselves.
    pub(crate) fn same_as(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
            (Value::Array(x), Value::Array(y)) => {
                x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| p.same_as(q))
            }
            (Value::Object(x), Value::Object(y)) => {
                x.len() == y.len()
                    && x.iter()
                        .zip(y.iter())
                        .all(|((k1, v1), (k2, v2))| k1 == k2 && v1.same_as(v2))
            }
            (Value::Nil, Value::Nil) | (Value::Empty, Value::Empty) => true,
            (Value::Blank, Value::Blank) => true,
            (Value::Bool(x), Value::Bool(y)) => x == y,
            (Value::Int(x), Value::Int(y)) => x == y,
            (Value::Str(x), Value::Str(y)) => x == y,
            (Value::Range(a1, b1), Value::Range(a2, b2)) => a1 == a2 && b1 == b2,
            _ => false,
        }
    }

    /// The text form as a shared string, without copying when it already is one.
    pub fn to_str(&self) -> Arc<str> {
        match self {
            Value::Str(s) => Arc::clone(s),
            other => Arc::from(other.render()),
        }
    }
}

/// No printed array or object grows past this much text (the render's own limits are far
/// smaller, so the result always fails them rather than being cut silently).
pub(crate) const MAX_TEXT: usize = 64 << 20;

/// Floats print as Ruby does: always with a fraction (`5.0`), shortest round-trip digits, and
/// an exponent outside 1e-4 ..< 1e16.
pub fn write_float(f: f64, out: &mut String) {
    if f.is_nan() {
        out.push_str("NaN");
        return;
    }
    if f.is_infinite() {
        out.push_str(if f > 0.0 { "Infinity" } else { "-Infinity" });
        return;
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-4..1e16).contains(&abs) {
        let text = format!("{f:e}");
        let (mantissa, exp) = text.split_once('e').unwrap_or((&text, "0"));
        out.push_str(mantissa);
        if !mantissa.contains('.') {
            out.push_str(".0");
        }
        out.push('e');
        if !exp.starts_with('-') {
            out.push('+');
        }
        if let Some(digits) = exp.strip_prefix('-') {
            out.push('-');
            let _ = write!(out, "{digits:0>2}");
        } else {
            let _ = write!(out, "{exp:0>2}");
        }
        return;
    }
    let start = out.len();
    let _ = write!(out, "{f}");
    if !out.get(start..).unwrap_or("").contains('.') {
        out.push_str(".0");
    }
}

/// Ruby's `Hash#inspect`, which is how Shopify prints an object.
fn write_inspect_object(o: &Object, out: &mut String) {
    out.push('{');
    for (i, (k, v)) in o.iter().enumerate() {
        if out.len() >= MAX_TEXT {
            break;
        }
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{k:?} => ");
        write_inspect(v, out);
    }
    out.push('}');
}

fn write_inspect(v: &Value, out: &mut String) {
    match v {
        Value::Nil => out.push_str("nil"),
        Value::Str(s) => {
            let _ = write!(out, "{s:?}");
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if out.len() >= MAX_TEXT {
                    break;
                }
                if i > 0 {
                    out.push_str(", ");
                }
                write_inspect(item, out);
            }
            out.push(']');
        }
        other => other.write_to(out),
    }
}

fn is_blank(v: &Value) -> bool {
    match v {
        Value::Nil | Value::Bool(false) | Value::Blank | Value::Empty => true,
        Value::Str(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Empty => true,
        Value::Str(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// Liquid's `==`: numbers compare by value across int and float; strings never equal numbers;
/// `empty` and `blank` match the empty (or blank) values and never each other.
pub fn liquid_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Empty, Value::Blank) | (Value::Blank, Value::Empty) => false,
        (Value::Empty, Value::Empty) | (Value::Blank, Value::Blank) => true,
        (Value::Empty, other) | (other, Value::Empty) => is_empty(other),
        (Value::Blank, other) | (other, Value::Blank) => is_blank(other),
        (Value::Nil, Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Int(x), Value::Float(y)) | (Value::Float(y), Value::Int(x)) => *x as f64 == *y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| liquid_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| liquid_eq(v, w)))
        }
        (Value::Range(a1, b1), Value::Range(a2, b2)) => a1 == a2 && b1 == b2,
        _ => false,
    }
}

/// Ordering for `<`, `>`, `sort`: numbers with numbers, strings with strings. `None` when
/// the two cannot be ordered (Shopify raises an error then).
pub fn liquid_cmp(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Int(x), Value::Float(y)) => (*x as f64).partial_cmp(y),
        (Value::Float(x), Value::Int(y)) => x.partial_cmp(&(*y as f64)),
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y),
        (Value::Str(x), Value::Str(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

impl<'de> serde::Deserialize<'de> for Value {
    /// Keeps object keys in document order, which `serde_json::Value` (a sorted map in this
    /// workspace) does not.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> serde::de::Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::str(v))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Object::new();
        while let Some((k, v)) = map.next_entry::<String, Value>()? {
            object.insert(Arc::from(k), v);
        }
        Ok(Value::Object(Arc::new(object)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn float(f: f64) -> String {
        let mut s = String::new();
        write_float(f, &mut s);
        s
    }

    #[test]
    fn floats_print_like_ruby() {
        assert_eq!(float(5.0), "5.0");
        assert_eq!(float(-5.0), "-5.0");
        assert_eq!(float(2.857142857142857), "2.857142857142857");
        assert_eq!(float(1e20), "1.0e+20");
        assert_eq!(float(1.5e-7), "1.5e-07");
        assert_eq!(float(0.0), "0.0");
        let mut out = String::from("1.5 and ");
        write_float(89.0, &mut out);
        assert_eq!(out, "1.5 and 89.0");
    }
}
