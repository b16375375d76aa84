//! The filters that fit no family: `default`, `size`, `date`, base64 and URL encoding.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};

use super::{FilterArgs, text};
use crate::render::type_name;
use crate::value::Value;

type R = Result<Value, String>;

/// The argument when the input is nil, false (unless `allow_false: true`) or empty.
pub fn default(v: &Value, a: &FilterArgs<'_>) -> R {
    let allow_false = a.kwarg("allow_false").is_some_and(Value::is_truthy);
    let use_default = match v {
        Value::Nil | Value::Empty | Value::Blank => true,
        Value::Bool(false) => !allow_false,
        Value::Str(s) => s.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    };
    Ok(if use_default {
        a.arg(0).clone()
    } else {
        v.clone()
    })
}

pub fn size(v: &Value, _: &FilterArgs<'_>) -> R {
    Ok(Value::Int(v.size()))
}

pub fn date(v: &Value, a: &FilterArgs<'_>) -> R {
    let format = match a.arg(0) {
        Value::Nil => return Ok(v.clone()),
        f => f.render(),
    };
    if format.is_empty() || v.is_nil() {
        return Ok(v.clone());
    }
    let Some(when) = crate::date::parse(v, a.now) else {
        return Ok(v.clone());
    };
    crate::date::format(&when, &format)
        .map(Value::string)
        .map_err(|e| format!("invalid date format `{format}`: {e}"))
}

fn encode(v: &Value, engine: &base64::engine::GeneralPurpose) -> R {
    if v.is_nil() {
        return Ok(Value::Nil);
    }
    Ok(Value::string(engine.encode(text(v).as_bytes())))
}

fn decode(v: &Value, engine: &base64::engine::GeneralPurpose) -> R {
    let s = match v {
        Value::Nil => return Ok(Value::Nil),
        Value::Str(s) => s,
        other => return Err(format!("expected a string, not {}", type_name(other))),
    };
    let bytes = engine
        .decode(s.trim_end_matches('=').as_bytes())
        .or_else(|_| engine.decode(s.as_bytes()))
        .map_err(|_| "invalid base64".to_owned())?;
    Ok(Value::string(String::from_utf8_lossy(&bytes).into_owned()))
}

pub fn base64_encode(v: &Value, _: &FilterArgs<'_>) -> R {
    encode(v, &STANDARD)
}

pub fn base64_decode(v: &Value, _: &FilterArgs<'_>) -> R {
    decode(v, &lenient(false))
}

pub fn base64_url_safe_encode(v: &Value, _: &FilterArgs<'_>) -> R {
    encode(v, &URL_SAFE)
}

pub fn base64_url_safe_decode(v: &Value, _: &FilterArgs<'_>) -> R {
    decode(v, &lenient(true))
}

/// Decoding accepts input with or without padding.
fn lenient(url: bool) -> base64::engine::GeneralPurpose {
    let config = base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent);
    let alphabet = if url {
        &base64::alphabet::URL_SAFE
    } else {
        &base64::alphabet::STANDARD
    };
    base64::engine::GeneralPurpose::new(alphabet, config)
}

/// Ruby's `CGI.escape`: letters, digits and `_.-~` stay, space becomes `+`, every other
/// byte `%XX`.
pub fn url_encode(v: &Value, _: &FilterArgs<'_>) -> R {
    if v.is_nil() {
        return Ok(Value::Nil);
    }
    let t = text(v);
    let mut out = String::with_capacity(t.len());
    for b in t.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    Ok(Value::string(out))
}

pub fn url_decode(v: &Value, _: &FilterArgs<'_>) -> R {
    if v.is_nil() {
        return Ok(Value::Nil);
    }
    let t = text(v);
    let bytes = t.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |at: usize| bytes.get(at).and_then(|c| char::from(*c).to_digit(16));
        match b {
            b'+' => out.push(b' '),
            b'%' => match (hex(i + 1), hex(i + 2)) {
                (Some(h), Some(l)) => {
                    out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                    i += 2;
                }
                _ => out.push(b),
            },
            _ => out.push(b),
        }
        i += 1;
    }
    Ok(Value::string(String::from_utf8_lossy(&out).into_owned()))
}
