//! String filters. Inputs and arguments are turned into text first (nil is empty), as
//! Shopify does; lengths and positions count characters, not bytes.

use super::{FilterArgs, items, text, to_integer};
use crate::value::Value;

type R = Result<Value, String>;

fn s(out: String) -> R {
    Ok(Value::string(out))
}

pub fn append(v: &Value, a: &FilterArgs<'_>) -> R {
    s(format!("{}{}", text(v), text(a.arg(0))))
}

pub fn prepend(v: &Value, a: &FilterArgs<'_>) -> R {
    s(format!("{}{}", text(a.arg(0)), text(v)))
}

pub fn capitalize(v: &Value, _: &FilterArgs<'_>) -> R {
    let t = text(v);
    let mut chars = t.chars();
    s(match chars.next() {
        Some(c) => c
            .to_uppercase()
            .chain(chars.as_str().to_lowercase().chars())
            .collect(),
        None => String::new(),
    })
}

pub fn downcase(v: &Value, _: &FilterArgs<'_>) -> R {
    s(text(v).to_lowercase())
}

pub fn upcase(v: &Value, _: &FilterArgs<'_>) -> R {
    s(text(v).to_uppercase())
}

fn escape_char(c: char, out: &mut String) {
    match c {
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '"' => out.push_str("&quot;"),
        '\'' => out.push_str("&#39;"),
        c => out.push(c),
    }
}

pub fn escape(v: &Value, _: &FilterArgs<'_>) -> R {
    if v.is_nil() {
        return Ok(Value::Nil);
    }
    let t = text(v);
    let mut out = String::with_capacity(t.len());
    t.chars().for_each(|c| escape_char(c, &mut out));
    s(out)
}

/// Like `escape`, but leaves existing entities (`&amp;`, `&#39;`, `&#x27;`) alone.
pub fn escape_once(v: &Value, _: &FilterArgs<'_>) -> R {
    let t = text(v);
    let mut out = String::with_capacity(t.len());
    for (i, c) in t.char_indices() {
        if c == '&' && is_entity(t.get(i + 1..).unwrap_or("")) {
            out.push('&');
        } else {
            escape_char(c, &mut out);
        }
    }
    s(out)
}

fn is_entity(rest: &str) -> bool {
    let Some(end) = rest.find(';') else {
        return false;
    };
    let name = rest.get(..end).unwrap_or("");
    if let Some(num) = name.strip_prefix('#') {
        let (digits, hex) = match num.strip_prefix(['x', 'X']) {
            Some(h) => (h, true),
            None => (num, false),
        };
        !digits.is_empty()
            && digits.chars().all(|c| {
                if hex {
                    c.is_ascii_hexdigit()
                } else {
                    c.is_ascii_digit()
                }
            })
    } else {
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric())
    }
}

fn is_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c' | '\0')
}

pub fn lstrip(v: &Value, _: &FilterArgs<'_>) -> R {
    s(text(v).trim_start_matches(is_ws).to_owned())
}

pub fn rstrip(v: &Value, _: &FilterArgs<'_>) -> R {
    s(text(v).trim_end_matches(is_ws).to_owned())
}

pub fn strip(v: &Value, _: &FilterArgs<'_>) -> R {
    s(text(v).trim_matches(is_ws).to_owned())
}

pub fn newline_to_br(v: &Value, _: &FilterArgs<'_>) -> R {
    s(text(v).replace("\r\n", "\n").replace('\n', "<br />\n"))
}

pub fn strip_newlines(v: &Value, _: &FilterArgs<'_>) -> R {
    s(text(v).replace("\r\n", "").replace('\n', ""))
}

/// Replaces `count` occurrences (all when None) from the start, refusing to build a string
/// larger than the output limit.
fn replace_n(t: &str, from: &str, to: &str, count: Option<usize>, max: usize) -> R {
    if from.is_empty() {
        // Ruby inserts the replacement between every character; bounded like the rest.
        let mut out = String::new();
        for (n, c) in t.chars().enumerate() {
            if count.is_none_or(|k| n < k) {
                out.push_str(to);
            }
            out.push(c);
            if out.len() > max {
                return Err(format!("the result is larger than {max} bytes"));
            }
        }
        if count.is_none() {
            out.push_str(to);
        }
        return s(out);
    }
    let mut out = String::with_capacity(t.len());
    let mut rest = t;
    let mut done = 0;
    while count.is_none_or(|k| done < k) {
        let Some(i) = rest.find(from) else { break };
        out.push_str(rest.get(..i).unwrap_or(""));
        out.push_str(to);
        rest = rest.get(i + from.len()..).unwrap_or("");
        done += 1;
        if out.len() > max {
            return Err(format!("the result is larger than {max} bytes"));
        }
    }
    out.push_str(rest);
    s(out)
}

fn replace_last_of(t: &str, from: &str, to: &str) -> R {
    match t.rfind(from) {
        Some(i) => s(format!(
            "{}{to}{}",
            t.get(..i).unwrap_or(""),
            t.get(i + from.len()..).unwrap_or("")
        )),
        None => s(t.to_owned()),
    }
}

pub fn replace(v: &Value, a: &FilterArgs<'_>) -> R {
    replace_n(
        &text(v),
        &text(a.arg(0)),
        &text(a.arg(1)),
        None,
        a.max_bytes,
    )
}

pub fn replace_first(v: &Value, a: &FilterArgs<'_>) -> R {
    replace_n(
        &text(v),
        &text(a.arg(0)),
        &text(a.arg(1)),
        Some(1),
        a.max_bytes,
    )
}

pub fn replace_last(v: &Value, a: &FilterArgs<'_>) -> R {
    replace_last_of(&text(v), &text(a.arg(0)), &text(a.arg(1)))
}

pub fn remove(v: &Value, a: &FilterArgs<'_>) -> R {
    replace_n(&text(v), &text(a.arg(0)), "", None, a.max_bytes)
}

pub fn remove_first(v: &Value, a: &FilterArgs<'_>) -> R {
    replace_n(&text(v), &text(a.arg(0)), "", Some(1), a.max_bytes)
}

pub fn remove_last(v: &Value, a: &FilterArgs<'_>) -> R {
    replace_last_of(&text(v), &text(a.arg(0)), "")
}

pub fn slice(v: &Value, a: &FilterArgs<'_>) -> R {
    let start = to_integer(a.arg(0), "slice's start")?;
    let len = match a.get(1) {
        None | Some(Value::Nil) => 1,
        Some(l) => to_integer(l, "slice's length")?,
    };
    if v.is_nil() {
        return Ok(Value::Nil);
    }
    let window = |n: usize| -> Option<(usize, usize)> {
        let n = i64::try_from(n).ok()?;
        let from = if start < 0 {
            n.checked_add(start)?
        } else {
            start
        };
        if from < 0 || from > n || len < 0 {
            return None;
        }
        let to = from.saturating_add(len).min(n);
        Some((usize::try_from(from).ok()?, usize::try_from(to).ok()?))
    };
    match v {
        Value::Array(_) | Value::Range(..) => {
            let list = items(v, a.max_items)?;
            Ok(match window(list.len()) {
                Some((f, t)) => {
                    Value::array(list.get(f..t).map(<[Value]>::to_vec).unwrap_or_default())
                }
                None => Value::array(Vec::new()),
            })
        }
        Value::Str(t) => {
            let n = t.chars().count();
            Ok(match window(n) {
                Some((f, to)) => Value::string(t.chars().skip(f).take(to - f).collect()),
                None => Value::str(""),
            })
        }
        _ => Ok(Value::str("")),
    }
}

pub fn split(v: &Value, a: &FilterArgs<'_>) -> R {
    let t = text(v);
    let sep = match a.arg(0) {
        Value::Nil => String::new(),
        other => other.render(),
    };
    let mut parts: Vec<Value> = if sep.is_empty() {
        t.chars().map(|c| Value::string(c.to_string())).collect()
    } else if sep == " " {
        t.split(is_ws)
            .filter(|p| !p.is_empty())
            .map(Value::str)
            .collect()
    } else {
        t.split(sep.as_str()).map(Value::str).collect()
    };
    while matches!(parts.last(), Some(Value::Str(p)) if p.is_empty()) {
        parts.pop();
    }
    Ok(Value::array(parts))
}

/// Drops `<script>`, `<style>` and comments with their content, then every other tag. One
/// pass: the closing marker is searched in a lowercased copy made once.
pub fn strip_html(v: &Value, _: &FilterArgs<'_>) -> R {
    let t = text(v);
    // ASCII lowercasing keeps every byte offset, so positions found in `lower` apply to `t`.
    let lower = t.to_ascii_lowercase();
    let mut out = String::with_capacity(t.len());
    let mut pos = 0;
    while let Some(i) = lower.get(pos..).and_then(|r| r.find('<')) {
        let at = pos + i;
        out.push_str(t.get(pos..at).unwrap_or(""));
        let tail = lower.get(at..).unwrap_or("");
        let close = if tail.starts_with("<!--") {
            "-->"
        } else if tail.starts_with("<script") {
            "</script>"
        } else if tail.starts_with("<style") {
            "</style>"
        } else {
            ">"
        };
        match tail.find(close) {
            Some(j) => pos = at + j + close.len(),
            None => {
                out.push_str(t.get(at..).unwrap_or(""));
                pos = t.len();
            }
        }
    }
    out.push_str(t.get(pos..).unwrap_or(""));
    s(out)
}

pub fn truncate(v: &Value, a: &FilterArgs<'_>) -> R {
    if v.is_nil() {
        return Ok(Value::Nil);
    }
    let length = match a.get(0) {
        None => 50,
        Some(l) => to_integer(l, "truncate's length")?,
    };
    let ellipsis = match a.get(1) {
        None => "...".into(),
        Some(e) => text(e),
    };
    let t = text(v);
    let n = t.chars().count();
    if i64::try_from(n).unwrap_or(i64::MAX) <= length {
        return s(t.to_string());
    }
    let keep = usize::try_from(
        length
            .saturating_sub(i64::try_from(ellipsis.chars().count()).unwrap_or(0))
            .max(0),
    )
    .unwrap_or(0);
    s(t.chars().take(keep).chain(ellipsis.chars()).collect())
}

pub fn truncatewords(v: &Value, a: &FilterArgs<'_>) -> R {
    if v.is_nil() {
        return Ok(Value::Nil);
    }
    let words = match a.get(0) {
        None => 15,
        Some(w) => to_integer(w, "truncatewords' count")?,
    }
    .max(1);
    let ellipsis = match a.get(1) {
        None => "...".into(),
        Some(e) => text(e),
    };
    let t = text(v);
    let list: Vec<&str> = t.split(is_ws).filter(|w| !w.is_empty()).collect();
    let words = usize::try_from(words).unwrap_or(usize::MAX);
    if list.len() <= words {
        return s(t.to_string());
    }
    let mut out = list.get(..words).unwrap_or(&[]).join(" ");
    out.push_str(&ellipsis);
    s(out)
}
