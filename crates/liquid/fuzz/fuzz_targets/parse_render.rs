//! Parses and renders arbitrary input: the first line (up to a NUL byte) is JSON for the
//! context, the rest the template, which is also the partial `p`. Any panic is a finding;
//! so is output over the limit.
#![no_main]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use sluice_liquid::{Limits, RenderOptions, Template, Value};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (context, source) = text.split_once('\0').unwrap_or(("{}", &text));
    let context: Value = serde_json_from(context);
    let limits = Limits {
        max_loop_iterations: 1_000,
        max_render_iterations: 10_000,
        max_output_bytes: 64 * 1024,
        max_partial_depth: 4,
        max_filter_work: 1_000_000,
        partials: true,
    };
    let Ok(template) = Template::parse_with(source, &limits) else {
        return;
    };
    let partials: HashMap<String, String> = [("p".to_owned(), source.to_owned())].into();
    let options = RenderOptions {
        limits: limits.clone(),
        deadline: Some(Instant::now() + Duration::from_secs(1)),
        partials: Some(&partials),
        now: None,
    };
    if let Ok(out) = template.render_with(&context, &options) {
        assert!(out.len() <= limits.max_output_bytes);
    }
});

/// A context from the input when it is a JSON object, else a fixed one with every kind of
/// value, so templates that name `a`, `items`, `n` or `s` reach real data.
fn serde_json_from(text: &str) -> Value {
    let fallback = r#"{"a": {"b": [1, 2.5, "x", null, true]}, "items": [{"k": 1}, {"k": "2"}],
        "n": 3, "s": "Hello <b>world</b>", "o": {}}"#;
    serde_json::from_str::<Value>(text)
        .ok()
        .filter(|v| matches!(v, Value::Object(_)))
        .or_else(|| serde_json::from_str::<Value>(fallback).ok())
        .unwrap_or(Value::Nil)
}
