//! Runs the vendored golden-liquid suite (see `tests/golden/README.md`) and fails below
//! 99.5 % of all cases passing.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::Deserialize;
use sluice_liquid::{RenderOptions, Template, Value};

#[derive(Deserialize)]
struct Suite {
    tests: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    template: String,
    #[serde(default)]
    data: Option<Value>,
    #[serde(default)]
    templates: Option<HashMap<String, String>>,
    #[serde(default)]
    result: Option<String>,
    #[serde(default)]
    results: Option<Vec<String>>,
    #[serde(default)]
    invalid: bool,
}

/// Renders a case, with its data as a `Value` or, given `json`, read in place as JSON.
fn outcome(
    case: &Case,
    json: Option<&serde_json::Value>,
) -> std::thread::Result<Result<String, sluice_liquid::Error>> {
    let partials = case.templates.clone().unwrap_or_default();
    let context = case.data.clone().unwrap_or(Value::Nil);
    std::panic::catch_unwind(|| {
        let template = Template::parse(&case.template)?;
        let options = RenderOptions {
            deadline: Some(Instant::now() + Duration::from_secs(5)),
            partials: Some(&partials),
            ..RenderOptions::default()
        };
        match json {
            Some(json) => template.render_json(json, &options),
            None => template.render_with(&context, &options),
        }
    })
}

/// True when every object's keys are in sorted order, so that a `serde_json::Value` (a
/// sorted map here) holds the data in the suite's own order.
fn keys_sorted(v: &Value) -> bool {
    match v {
        Value::Array(items) => items.iter().all(keys_sorted),
        Value::Object(o) => {
            let keys: Vec<_> = o.iter().map(|(k, _)| k.clone()).collect();
            keys.windows(2).all(|w| w[0] <= w[1]) && o.iter().all(|(_, v)| keys_sorted(v))
        }
        _ => true,
    }
}

/// Why a case failed, or None when it passed.
fn run(case: &Case) -> Option<String> {
    let outcome = match outcome(case, None) {
        Ok(outcome) => outcome,
        Err(_) => return Some("PANICKED".into()),
    };
    if case.invalid {
        return match outcome {
            Err(_) => None,
            Ok(out) => Some(format!("expected an error, rendered {out:?}")),
        };
    }
    let expected: Vec<&String> = case
        .result
        .iter()
        .chain(case.results.iter().flatten())
        .collect();
    match outcome {
        Ok(out) if expected.contains(&&out) => None,
        Ok(out) => Some(format!("rendered {out:?}, expected {expected:?}")),
        Err(e) => Some(format!("failed: {e}; expected {expected:?}")),
    }
}

#[test]
fn golden_liquid() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/golden_liquid.json"
    ))
    .expect("the suite is vendored");
    let suite: Suite = serde_json::from_str(&text).expect("the suite parses");
    let raw: serde_json::Value = serde_json::from_str(&text).expect("the suite parses");
    let raw_cases = raw["tests"].as_array().expect("a list of tests");
    let total = suite.tests.len();
    let mut failures = Vec::new();
    for case in &suite.tests {
        if let Some(why) = run(case) {
            failures.push(format!(
                "{}: {why}\n    template: {:?}",
                case.name, case.template
            ));
        }
    }
    // The same cases with their data read in place as JSON must render the same.
    let mut compared = 0;
    for (case, raw) in suite.tests.iter().zip(raw_cases) {
        if !case.data.as_ref().is_none_or(keys_sorted) {
            continue;
        }
        compared += 1;
        let empty = serde_json::json!({});
        let data = raw.get("data").unwrap_or(&empty);
        let as_value = outcome(case, None)
            .map_err(|_| ())
            .map(|r| r.map_err(|e| e.to_string()));
        let as_json = outcome(case, Some(data))
            .map_err(|_| ())
            .map(|r| r.map_err(|e| e.to_string()));
        assert_eq!(
            as_value, as_json,
            "{}: JSON context renders differently",
            case.name
        );
    }
    println!("golden-liquid: {compared} cases render the same from JSON read in place");
    let passed = total - failures.len();
    let percent = passed as f64 * 100.0 / total as f64;
    for f in &failures {
        println!("FAIL {f}");
    }
    println!("golden-liquid: {passed} of {total} passed ({percent:.1} %)");
    assert_eq!(total, 1054, "the vendored suite has 1,054 cases");
    assert!(
        percent >= 99.5,
        "golden-liquid: {passed} of {total} passed ({percent:.1} %)"
    );
}
