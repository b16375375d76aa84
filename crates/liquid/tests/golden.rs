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

/// Why a case failed, or None when it passed.
fn run(case: &Case) -> Option<String> {
    let partials = case.templates.clone().unwrap_or_default();
    let context = case.data.clone().unwrap_or(Value::Nil);
    let outcome = std::panic::catch_unwind(|| {
        let template = Template::parse(&case.template)?;
        let options = RenderOptions {
            deadline: Some(Instant::now() + Duration::from_secs(5)),
            partials: Some(&partials),
            ..RenderOptions::default()
        };
        template.render_with(&context, &options)
    });
    let outcome = match outcome {
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
