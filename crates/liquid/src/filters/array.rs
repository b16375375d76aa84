//! Collection filters. Inputs go through `items` (arrays flattened, one value a one-item
//! list); property lookups on items follow Ruby's `item[property]`, so a string item
//! "has" a property that is its substring and a nil item makes the whole result nil.

use std::cmp::Ordering;
use std::sync::Arc;

use super::{FilterArgs, Num, items, to_number};
use crate::render::type_name;
use crate::value::{Value, liquid_cmp, liquid_eq};

type R = Result<Value, String>;

pub fn first(v: &Value, _: &FilterArgs<'_>) -> R {
    Ok(match v {
        Value::Array(a) => a.first().cloned().unwrap_or_default(),
        Value::Range(a, b) if a <= b => Value::Int(*a),
        Value::Object(o) => o
            .first()
            .map(|(k, v)| Value::array(vec![Value::Str(Arc::clone(k)), v.clone()]))
            .unwrap_or_default(),
        Value::Str(s) => s
            .chars()
            .next()
            .map(|c| Value::string(c.to_string()))
            .unwrap_or_default(),
        _ => Value::Nil,
    })
}

pub fn last(v: &Value, _: &FilterArgs<'_>) -> R {
    Ok(match v {
        Value::Array(a) => a.last().cloned().unwrap_or_default(),
        Value::Range(a, b) if a <= b => Value::Int(*b),
        Value::Str(s) => s
            .chars()
            .last()
            .map(|c| Value::string(c.to_string()))
            .unwrap_or_default(),
        _ => Value::Nil,
    })
}

pub fn join(v: &Value, a: &FilterArgs<'_>) -> R {
    let list = match v {
        Value::Array(_) | Value::Range(..) => items(v, a.max_items)?,
        Value::Nil => return Ok(Value::Nil),
        other => return Ok(other.clone()),
    };
    let sep = match a.get(0) {
        None => " ".into(),
        Some(s) => s.to_str(),
    };
    let mut out = String::new();
    for (i, item) in list.iter().enumerate() {
        if i > 0 {
            out.push_str(&sep);
        }
        item.write_to(&mut out);
        if out.len() > a.max_bytes {
            return Err(format!("the result is larger than {} bytes", a.max_bytes));
        }
    }
    Ok(Value::string(out))
}

pub fn reverse(v: &Value, a: &FilterArgs<'_>) -> R {
    let mut list = items(v, a.max_items)?;
    list.reverse();
    Ok(Value::array(list))
}

pub fn concat(v: &Value, a: &FilterArgs<'_>) -> R {
    let extra = match a.arg(0) {
        Value::Array(x) => x,
        other => {
            return Err(format!(
                "expected an array to concatenate, not {}",
                type_name(other)
            ));
        }
    };
    let mut list = items(v, a.max_items)?;
    list.extend(extra.iter().cloned());
    Ok(Value::array(list))
}

/// `item[property]` as Ruby would answer it: `Ok(None)` for a missing property,
/// `Err(None)` when the item is nil (the filter's result is then nil), `Err(Some)` when the
/// item cannot be indexed so.
fn prop(item: &Value, key: &Value) -> Result<Option<Value>, Option<String>> {
    match item {
        Value::Object(o) => Ok(match key {
            Value::Str(k) => o.get(k).cloned(),
            _ => None,
        }),
        Value::Str(s) => match key {
            Value::Str(k) => Ok(s.contains(&**k).then(|| Value::Str(Arc::clone(k)))),
            Value::Int(_) => Ok(None),
            Value::Nil => Err(None),
            _ => Err(Some("cannot look up a property of a string".into())),
        },
        Value::Int(i) => match key {
            Value::Int(bit) => Ok(Some(Value::Int(
                u32::try_from(*bit)
                    .ok()
                    .and_then(|b| i.checked_shr(b))
                    .map_or(0, |x| x & 1),
            ))),
            _ => Err(Some("cannot look up a property of a number".into())),
        },
        Value::Nil => Err(None),
        other => Err(Some(format!(
            "cannot look up a property of {}",
            type_name(other)
        ))),
    }
}

/// Whether `item` passes `property[, value]`: a truthy property, or one equal to `value`.
fn matches(item: &Value, a: &FilterArgs<'_>) -> Result<bool, Option<String>> {
    let found = prop(item, a.arg(0))?;
    Ok(match a.get(1) {
        Some(want) if !want.is_nil() => found.is_some_and(|f| liquid_eq(&f, want)),
        _ => found.is_some_and(|f| f.is_truthy()),
    })
}

/// Runs `f` over the items; a nil item makes the result nil.
fn each(
    v: &Value,
    a: &FilterArgs<'_>,
    mut f: impl FnMut(usize, &Value) -> Result<bool, Option<String>>,
) -> Result<Option<()>, String> {
    for (i, item) in items(v, a.max_items)?.iter().enumerate() {
        match f(i, item) {
            Ok(true) => {}
            Ok(false) => return Ok(Some(())),
            Err(None) => return Ok(None),
            Err(Some(e)) => return Err(e),
        }
    }
    Ok(Some(()))
}

fn filter(v: &Value, a: &FilterArgs<'_>, keep_matching: bool) -> R {
    let mut kept = Vec::new();
    let done = each(v, a, |_, item| {
        if matches(item, a)? == keep_matching {
            kept.push(item.clone());
        }
        Ok(true)
    })?;
    Ok(done.map_or(Value::Nil, |()| Value::array(kept)))
}

pub fn where_(v: &Value, a: &FilterArgs<'_>) -> R {
    if matches!(v, Value::Int(_) | Value::Float(_) | Value::Bool(_)) {
        return Err(format!("expected an array, not {}", type_name(v)));
    }
    filter(v, a, true)
}

pub fn reject(v: &Value, a: &FilterArgs<'_>) -> R {
    filter(v, a, false)
}

fn find_at(v: &Value, a: &FilterArgs<'_>) -> Result<Option<Option<(usize, Value)>>, String> {
    let mut hit = None;
    let done = each(v, a, |i, item| {
        if matches(item, a)? {
            hit = Some((i, item.clone()));
            return Ok(false);
        }
        Ok(true)
    })?;
    Ok(done.map(|()| hit))
}

pub fn find(v: &Value, a: &FilterArgs<'_>) -> R {
    Ok(find_at(v, a)?
        .flatten()
        .map(|(_, item)| item)
        .unwrap_or_default())
}

pub fn find_index(v: &Value, a: &FilterArgs<'_>) -> R {
    Ok(find_at(v, a)?
        .flatten()
        .map(|(i, _)| Value::Int(i64::try_from(i).unwrap_or(i64::MAX)))
        .unwrap_or_default())
}

pub fn has(v: &Value, a: &FilterArgs<'_>) -> R {
    Ok(match find_at(v, a)? {
        Some(hit) => Value::Bool(hit.is_some()),
        None => Value::Nil,
    })
}

pub fn map(v: &Value, a: &FilterArgs<'_>) -> R {
    let mut out = Vec::new();
    for item in items(v, a.max_items)? {
        match item {
            Value::Object(o) => out.push(match a.arg(0) {
                Value::Str(k) => o.get(k).cloned().unwrap_or_default(),
                _ => Value::Nil,
            }),
            Value::Nil => out.push(Value::Nil),
            other => return Err(format!("cannot map a property of {}", type_name(&other))),
        }
    }
    Ok(Value::array(out))
}

pub fn compact(v: &Value, a: &FilterArgs<'_>) -> R {
    let list = items(v, a.max_items)?;
    let kept = list
        .into_iter()
        .filter(|item| match a.get(0) {
            None => !item.is_nil(),
            Some(key) => prop(item, key).ok().flatten().is_some_and(|p| !p.is_nil()),
        })
        .collect();
    Ok(Value::array(kept))
}

/// Buckets items by a hash of their content, so that large lists stay linear without
/// copying any item's text.
pub fn uniq(v: &Value, a: &FilterArgs<'_>) -> R {
    let mut seen: std::collections::HashMap<u64, Vec<Value>> = std::collections::HashMap::new();
    let mut out = Vec::new();
    for item in items(v, a.max_items)? {
        let key = match a.get(0) {
            None => item.clone(),
            Some(k) => prop(&item, k).ok().flatten().unwrap_or_default(),
        };
        let bucket = seen.entry(key.content_hash()).or_default();
        if !bucket.iter().any(|k| k.same_as(&key)) {
            bucket.push(key);
            out.push(item);
        }
    }
    Ok(Value::array(out))
}

fn sort_key(item: &Value, key: Option<&Value>) -> Value {
    match key {
        Some(k) if !k.is_nil() => prop(item, k).ok().flatten().unwrap_or_default(),
        _ => item.clone(),
    }
}

pub fn sort(v: &Value, a: &FilterArgs<'_>) -> R {
    let list = items(v, a.max_items)?;
    let mut keyed: Vec<(Value, Value)> = list
        .into_iter()
        .map(|i| (sort_key(&i, a.get(0)), i))
        .collect();
    let mut failed = None;
    keyed.sort_by(|(x, _), (y, _)| match (x.is_nil(), y.is_nil()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => liquid_cmp(x, y).unwrap_or_else(|| {
            failed = Some(format!(
                "cannot sort {} with {}",
                type_name(x),
                type_name(y)
            ));
            Ordering::Equal
        }),
    });
    if let Some(e) = failed {
        return Err(e);
    }
    Ok(Value::array(keyed.into_iter().map(|(_, i)| i).collect()))
}

pub fn sort_natural(v: &Value, a: &FilterArgs<'_>) -> R {
    let list = items(v, a.max_items)?;
    // Keys are shared strings compared case-insensitively as they go, not lowercased copies.
    let mut keyed: Vec<(Option<Arc<str>>, Value)> = list
        .into_iter()
        .map(|i| {
            let k = sort_key(&i, a.get(0));
            ((!k.is_nil()).then(|| k.to_str()), i)
        })
        .collect();
    keyed.sort_by(|(x, _), (y, _)| match (x, y) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => x
            .chars()
            .flat_map(char::to_lowercase)
            .cmp(y.chars().flat_map(char::to_lowercase)),
    });
    Ok(Value::array(keyed.into_iter().map(|(_, i)| i).collect()))
}

pub fn sum(v: &Value, a: &FilterArgs<'_>) -> R {
    let mut int: i64 = 0;
    let mut float: Option<f64> = None;
    for item in items(v, a.max_items)? {
        let n = match a.get(0) {
            None => match &item {
                Value::Int(_) | Value::Float(_) | Value::Str(_) => to_number(&item),
                _ => Num::I(0),
            },
            Some(k) => match &item {
                Value::Object(o) => match k {
                    Value::Str(k) => o.get(k).map_or(Num::I(0), to_number),
                    _ => Num::I(0),
                },
                other => return Err(format!("cannot sum a property of {}", type_name(other))),
            },
        };
        match (n, float.as_mut()) {
            (Num::I(i), None) => match int.checked_add(i) {
                Some(s) => int = s,
                None => float = Some(int as f64 + i as f64),
            },
            (n, Some(f)) => *f += n.f(),
            (Num::F(x), None) => float = Some(int as f64 + x),
        }
    }
    Ok(float.map_or(Value::Int(int), Value::Float))
}
