//! The standard filters: a registry checked at parse time (unknown names and wrong argument
//! counts are syntax errors), and the coercions Shopify applies to filter inputs and
//! arguments. The filters themselves are split by family.

mod array;
mod math;
mod misc;
mod string;

use std::sync::Arc;

use crate::value::Value;

pub(crate) struct FilterArgs<'a> {
    pub pos: &'a [Value],
    pub kw: &'a [(Arc<str>, Value)],
    /// Strings a filter builds may not grow past this (checked while building where a
    /// result could otherwise explode, as `replace` can).
    pub max_bytes: usize,
    /// Ranges materialised into arrays may not be longer.
    pub max_items: u64,
    /// What `"now"` and `"today"` mean to `date`; without it they are left as text.
    pub now: Option<jiff::Timestamp>,
}

impl FilterArgs<'_> {
    pub fn get(&self, i: usize) -> Option<&Value> {
        self.pos.get(i)
    }

    pub fn arg(&self, i: usize) -> &Value {
        self.pos.get(i).unwrap_or(&Value::Nil)
    }

    pub fn kwarg(&self, name: &str) -> Option<&Value> {
        self.kw.iter().find(|(k, _)| &**k == name).map(|(_, v)| v)
    }
}

pub(crate) type FilterFn = fn(&Value, &FilterArgs<'_>) -> Result<Value, String>;

/// Name, fewest and most positional arguments, function.
const FILTERS: &[(&str, usize, usize, FilterFn)] = &[
    ("abs", 0, 0, math::abs),
    ("append", 1, 1, string::append),
    ("at_least", 1, 1, math::at_least),
    ("at_most", 1, 1, math::at_most),
    ("base64_decode", 0, 0, misc::base64_decode),
    ("base64_encode", 0, 0, misc::base64_encode),
    ("base64_url_safe_decode", 0, 0, misc::base64_url_safe_decode),
    ("base64_url_safe_encode", 0, 0, misc::base64_url_safe_encode),
    ("capitalize", 0, 0, string::capitalize),
    ("ceil", 0, 0, math::ceil),
    ("compact", 0, 1, array::compact),
    ("concat", 1, 1, array::concat),
    ("date", 1, 1, misc::date),
    ("default", 0, 1, misc::default),
    ("divided_by", 1, 1, math::divided_by),
    ("downcase", 0, 0, string::downcase),
    ("escape", 0, 0, string::escape),
    ("escape_once", 0, 0, string::escape_once),
    ("find", 1, 2, array::find),
    ("find_index", 1, 2, array::find_index),
    ("first", 0, 0, array::first),
    ("floor", 0, 0, math::floor),
    ("h", 0, 0, string::escape),
    ("has", 1, 2, array::has),
    ("join", 0, 1, array::join),
    ("last", 0, 0, array::last),
    ("lstrip", 0, 0, string::lstrip),
    ("map", 1, 1, array::map),
    ("minus", 1, 1, math::minus),
    ("modulo", 1, 1, math::modulo),
    ("newline_to_br", 0, 0, string::newline_to_br),
    ("plus", 1, 1, math::plus),
    ("prepend", 1, 1, string::prepend),
    ("reject", 1, 2, array::reject),
    ("remove", 1, 1, string::remove),
    ("remove_first", 1, 1, string::remove_first),
    ("remove_last", 1, 1, string::remove_last),
    ("replace", 1, 2, string::replace),
    ("replace_first", 1, 2, string::replace_first),
    ("replace_last", 2, 2, string::replace_last),
    ("reverse", 0, 0, array::reverse),
    ("round", 0, 1, math::round),
    ("rstrip", 0, 0, string::rstrip),
    ("size", 0, 0, misc::size),
    ("slice", 1, 2, string::slice),
    ("sort", 0, 1, array::sort),
    ("sort_natural", 0, 1, array::sort_natural),
    ("split", 1, 1, string::split),
    ("strip", 0, 0, string::strip),
    ("strip_html", 0, 0, string::strip_html),
    ("strip_newlines", 0, 0, string::strip_newlines),
    ("sum", 0, 1, array::sum),
    ("times", 1, 1, math::times),
    ("truncate", 0, 2, string::truncate),
    ("truncatewords", 0, 2, string::truncatewords),
    ("uniq", 0, 1, array::uniq),
    ("upcase", 0, 0, string::upcase),
    ("url_decode", 0, 0, misc::url_decode),
    ("url_encode", 0, 0, misc::url_encode),
    ("where", 1, 2, array::where_),
];

/// Finds a filter and checks its argument count, for the parser.
pub(crate) fn lookup(
    name: &str,
    args: usize,
    kwargs: &[(Arc<str>, crate::ast::Expr)],
) -> Result<(&'static str, FilterFn), String> {
    let Some(&(name, min, max, func)) = FILTERS.iter().find(|f| f.0 == name) else {
        return Err(format!("unknown filter `{name}`"));
    };
    if args < min {
        return Err(format!(
            "`{name}` needs {min} argument{}",
            if min == 1 { "" } else { "s" }
        ));
    }
    if args > max {
        return Err(match max {
            0 => format!("`{name}` takes no arguments"),
            1 => format!("`{name}` takes one argument"),
            _ => format!("`{name}` takes at most {max} arguments"),
        });
    }
    if let Some((k, _)) = kwargs
        .iter()
        .find(|(k, _)| !(name == "default" && &**k == "allow_false"))
    {
        return Err(format!("`{name}` has no argument `{k}`"));
    }
    Ok((name, func))
}

/// A number as filters see one: integers stay integers.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Num {
    I(i64),
    F(f64),
}

impl Num {
    pub fn f(self) -> f64 {
        match self {
            Num::I(i) => i as f64,
            Num::F(f) => f,
        }
    }

    pub fn value(self) -> Value {
        match self {
            Num::I(i) => Value::Int(i),
            Num::F(f) => Value::Float(f),
        }
    }
}

/// Shopify's number coercion: numbers as they are, `"1.5"` a float, other strings their
/// leading integer (`"12abc"` is 12, `"foo"` 0), anything else 0.
pub(crate) fn to_number(v: &Value) -> Num {
    match v {
        Value::Int(i) => Num::I(*i),
        Value::Float(f) => Num::F(*f),
        Value::Str(s) => parse_number(s),
        _ => Num::I(0),
    }
}

pub(crate) fn parse_number(s: &str) -> Num {
    let t = s.trim();
    let digits = t.strip_prefix('-').unwrap_or(t);
    if let Some((int, frac)) = digits.split_once('.')
        && !int.is_empty()
        && !frac.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Num::F(t.parse().unwrap_or(0.0));
    }
    let bytes = t.as_bytes();
    let mut end = usize::from(matches!(bytes.first(), Some(b'-' | b'+')));
    while bytes.get(end).is_some_and(u8::is_ascii_digit) {
        end += 1;
    }
    let prefix = t.get(..end).unwrap_or("");
    match prefix.parse::<i64>() {
        Ok(i) => Num::I(i),
        Err(_) if end > 1 => Num::F(prefix.parse().unwrap_or(0.0)),
        Err(_) => Num::I(0),
    }
}

/// Ruby's `Integer(x.to_s)`: whole numbers and their strings only.
pub(crate) fn to_integer(v: &Value, what: &str) -> Result<i64, String> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::Str(s) => s
            .trim()
            .parse()
            .map_err(|_| format!("{what} must be a whole number, not '{s}'")),
        other => Err(format!(
            "{what} must be a whole number, not {}",
            crate::render::type_name(other)
        )),
    }
}

/// The items a collection filter works on: arrays flattened, ranges expanded, nil nothing,
/// anything else a one-item list.
pub(crate) fn items(v: &Value, max: u64) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    match v {
        Value::Nil => {}
        Value::Array(a) => flatten(a, &mut out, 0),
        Value::Range(a, b) => {
            let n = Value::range_len(*a, *b);
            if n > max {
                return Err(format!("the range has {n} items; the limit is {max}"));
            }
            let mut i = *a;
            for _ in 0..n {
                out.push(Value::Int(i));
                i = i.saturating_add(1);
            }
        }
        other => out.push(other.clone()),
    }
    Ok(out)
}

fn flatten(items: &[Value], out: &mut Vec<Value>, depth: usize) {
    for item in items {
        match item {
            Value::Array(inner) if depth < 32 => flatten(inner, out, depth + 1),
            other => out.push(other.clone()),
        }
    }
}

/// Text of a value for string filters (nil is empty).
pub(crate) fn text(v: &Value) -> Arc<str> {
    v.to_str()
}
