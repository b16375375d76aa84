//! The render context's top-level variables: a `Value` object, or JSON read in place, so a
//! render converts only the values a template actually reaches (a path is walked through the
//! JSON by reference and just its end becomes a `Value`).

use std::sync::Arc;

use serde_json::Value as Json;

use crate::value::{Object, Value};

#[derive(Clone, Copy)]
pub(crate) enum Globals<'a> {
    Value(&'a Object),
    Json(&'a serde_json::Map<String, Json>),
}

/// One step along a path through JSON: still JSON, or a value Liquid computed (`size`,
/// `first` of an object, a string's first character).
pub(crate) enum Step<'j> {
    Json(&'j Json),
    Owned(Value),
}

fn int(n: usize) -> Step<'static> {
    Step::Owned(Value::Int(i64::try_from(n).unwrap_or(i64::MAX)))
}

/// `json.key`, with the `size`, `first` and `last` properties `render::property` gives
/// values.
pub(crate) fn property<'j>(v: &'j Json, key: &str) -> Option<Step<'j>> {
    match v {
        Json::Object(map) => match map.get(key) {
            Some(x) => Some(Step::Json(x)),
            None => match key {
                "size" => Some(int(map.len())),
                "first" => map.iter().next().map(|(k, x)| {
                    Step::Owned(Value::array(vec![
                        Value::Str(Arc::from(k.as_str())),
                        Value::from_json(x),
                    ]))
                }),
                _ => None,
            },
        },
        Json::Array(items) => match key {
            "size" => Some(int(items.len())),
            "first" => items.first().map(Step::Json),
            "last" => items.last().map(Step::Json),
            _ => None,
        },
        Json::String(s) => match key {
            "size" => Some(int(s.chars().count())),
            "first" => s
                .chars()
                .next()
                .map(|c| Step::Owned(Value::string(c.to_string()))),
            "last" => s
                .chars()
                .last()
                .map(|c| Step::Owned(Value::string(c.to_string()))),
            _ => None,
        },
        _ => None,
    }
}

/// `json[i]`, negative from the end.
pub(crate) fn index(v: &Json, i: i64) -> Option<Step<'_>> {
    match v {
        Json::Array(items) => {
            let len = i64::try_from(items.len()).ok()?;
            let at = if i < 0 { len.checked_add(i)? } else { i };
            items.get(usize::try_from(at).ok()?).map(Step::Json)
        }
        Json::Object(map) => map.get(&i.to_string()).map(Step::Json),
        _ => None,
    }
}
