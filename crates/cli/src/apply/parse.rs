//! Reads an apply file (YAML, multi-document, or JSON: one object or an array) into [`Doc`]s.
//!
//! Every problem in the file is collected, not just the first, so one run shows them all.

use std::collections::HashSet;

use serde::Deserialize;
use serde_json::Value;

use super::{Doc, Issue, Kind, refs};

/// Parses and validates the file's shape and local references (no server needed).
#[cfg(test)]
pub fn parse(text: &str) -> Result<Vec<Doc>, Vec<Issue>> {
    match parse_partial(text) {
        (docs, issues) if issues.is_empty() => Ok(docs),
        (_, issues) => Err(issues),
    }
}

/// Like [`parse`], but also returns the definitions that are valid when others are not, so
/// their references can still be checked and every problem reported in one run.
pub fn parse_partial(text: &str) -> (Vec<Doc>, Vec<Issue>) {
    match raw_items(text) {
        Ok(raw) => validate(raw),
        Err(message) => (
            Vec::new(),
            vec![Issue {
                index: None,
                message,
            }],
        ),
    }
}

/// Parses a file that holds exactly one definition of `kind` (`kind:` may be left out), as
/// `sluice campaigns create -f` and `sluice journeys create -f` take.
pub fn parse_one(text: &str, kind: Kind) -> Result<Doc, Vec<Issue>> {
    let mut raw = raw_items(text).map_err(|message| {
        vec![Issue {
            index: None,
            message,
        }]
    })?;
    if raw.len() != 1 {
        return Err(vec![Issue {
            index: None,
            message: format!("expected one {kind} definition, found {}", raw.len()),
        }]);
    }
    if let Some(Value::Object(m)) = raw.first_mut() {
        m.entry("kind")
            .or_insert_with(|| Value::String(kind.as_str().to_string()));
    }
    let (mut docs, issues) = validate(raw);
    if !issues.is_empty() {
        return Err(issues);
    }
    let doc = docs.remove(0);
    if doc.kind != kind {
        return Err(vec![Issue::at(
            1,
            format!("expected a {kind}, found a {}", doc.kind),
        )]);
    }
    Ok(doc)
}

fn validate(raw: Vec<Value>) -> (Vec<Doc>, Vec<Issue>) {
    if raw.is_empty() {
        let message = "the file holds no definitions".to_string();
        return (
            Vec::new(),
            vec![Issue {
                index: None,
                message,
            }],
        );
    }
    let mut docs = Vec::new();
    let mut issues = Vec::new();
    let mut seen = HashSet::new();
    for (i, value) in raw.into_iter().enumerate() {
        let index = i + 1;
        match doc(index, value) {
            Ok(d) => {
                if !seen.insert((d.kind, d.name.clone())) {
                    issues.push(Issue::at(
                        index,
                        format!("{} {:?} is defined twice in this file", d.kind, d.name),
                    ));
                }
                issues.extend(refs::check_local(&d));
                docs.push(d);
            }
            Err(mut e) => issues.append(&mut e),
        }
    }
    (docs, issues)
}

/// The file's definitions as JSON values, in file order.
fn raw_items(text: &str) -> Result<Vec<Value>, String> {
    let trimmed = text.trim_start();
    // JSON first when it looks like JSON: its errors are clearer than YAML's for a JSON file,
    // and a JSON document is not always valid YAML 1.1 (e.g. tabs as indentation).
    if (trimmed.starts_with('{') || trimmed.starts_with('['))
        && let Ok(v) = serde_json::from_str::<Value>(text)
    {
        return Ok(flatten(v));
    }
    let mut items = Vec::new();
    for (n, document) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        let v =
            Value::deserialize(document).map_err(|e| format!("YAML document {}: {e}", n + 1))?;
        items.extend(flatten(v));
    }
    Ok(items)
}

/// A document that is a list contributes each element; an empty document contributes nothing.
fn flatten(v: Value) -> Vec<Value> {
    match v {
        Value::Null => Vec::new(),
        Value::Array(a) => a,
        other => vec![other],
    }
}

fn doc(index: usize, value: Value) -> Result<Doc, Vec<Issue>> {
    let Value::Object(mut body) = value else {
        return Err(vec![Issue::at(
            index,
            "expected a mapping with `kind` and `name`",
        )]);
    };
    let mut issues = Vec::new();
    let kind = match body.remove("kind") {
        Some(Value::String(k)) => Kind::parse(&k).or_else(|| {
            issues.push(Issue::at(
                index,
                format!(
                    "unknown kind {k:?} (expected audience, channel, template, campaign or journey)"
                ),
            ));
            None
        }),
        Some(other) => {
            issues.push(Issue::at(
                index,
                format!("`kind` must be a string, got {other}"),
            ));
            None
        }
        None => {
            issues.push(Issue::at(index, "missing `kind`"));
            None
        }
    };
    let name = match body.get("name") {
        Some(Value::String(n)) if !n.trim().is_empty() => Some(n.clone()),
        Some(Value::String(_)) => {
            issues.push(Issue::at(index, "`name` is empty"));
            None
        }
        Some(other) => {
            issues.push(Issue::at(
                index,
                format!("`name` must be a string, got {other}"),
            ));
            None
        }
        None => {
            issues.push(Issue::at(index, "missing `name`"));
            None
        }
    };
    let mut go_live = false;
    for key in ["activate", "publish"] {
        let Some(v) = body.remove(key) else { continue };
        if kind.is_some() && kind.and_then(Kind::go_live_key) != Some(key) {
            let owner = if key == "activate" {
                "campaigns"
            } else {
                "journeys"
            };
            issues.push(Issue::at(index, format!("`{key}` is only for {owner}")));
        }
        match v {
            Value::Bool(b) => go_live = b,
            other => issues.push(Issue::at(
                index,
                format!("`{key}` must be true or false, got {other}"),
            )),
        }
    }
    match (kind, name) {
        (Some(kind), Some(name)) if issues.is_empty() => Ok(Doc {
            index,
            kind,
            name,
            body,
            go_live,
        }),
        _ => Err(issues),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(text: &str) -> Vec<String> {
        parse(text)
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn yaml_multi_document() {
        let docs = parse(
            "---\nkind: audience\nname: vips\nrule: {attr: plan, op: eq, value: vip}\n---\n\
             kind: campaign\nname: spring\nchannel: hook\ntemplate: welcome\naudience: vips\n\
             schedule: {type: immediate}\nactivate: true\n",
        )
        .unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(
            (docs[0].kind, docs[0].name.as_str()),
            (Kind::Audience, "vips")
        );
        assert_eq!(docs[1].index, 2);
        assert!(docs[1].go_live);
        assert!(!docs[1].body.contains_key("kind") && !docs[1].body.contains_key("activate"));
        assert_eq!(
            docs[1].body["name"], "spring",
            "name stays in the create body"
        );
    }

    #[test]
    fn empty_documents_are_skipped_and_lists_flattened() {
        let docs = parse("---\n---\n- {kind: audience, name: a, rule: {}}\n- {kind: audience, name: b, rule: {}}\n")
            .unwrap();
        assert_eq!(docs.iter().map(|d| d.index).collect::<Vec<_>>(), [1, 2]);
    }

    #[test]
    fn json_array_and_object() {
        let docs = parse(
            r#"[{"kind":"template","name":"t","channel_type":"webhook","body":"hi"},
                {"kind":"journey","name":"j","publish":true,"start":"a","nodes":[]}]"#,
        )
        .unwrap();
        assert_eq!(docs[1].kind, Kind::Journey);
        assert!(docs[1].go_live);
        let one = parse(r#"{"kind":"channel","name":"c","type":"inbox","config":{}}"#).unwrap();
        assert_eq!(one.len(), 1);
    }

    #[test]
    fn every_shape_error_is_reported_with_its_index() {
        let m = messages(
            "kind: widget\nname: w\n---\nkind: audience\n---\nkind: template\nname: ''\n---\n\
             kind: audience\nname: a\nactivate: true\n---\n- 3\n",
        );
        assert_eq!(m.len(), 5, "{m:#?}");
        assert!(
            m[0].starts_with("document 1: unknown kind \"widget\""),
            "{m:#?}"
        );
        assert_eq!(m[1], "document 2: missing `name`");
        assert_eq!(m[2], "document 3: `name` is empty");
        assert_eq!(m[3], "document 4: `activate` is only for campaigns");
        assert!(m[4].starts_with("document 5: expected a mapping"));
    }

    #[test]
    fn single_definitions_for_create() {
        let doc = parse_one(
            "name: c\nchannel: hook\nschedule: {type: api}\n",
            Kind::Campaign,
        )
        .unwrap();
        assert_eq!((doc.kind, doc.name.as_str()), (Kind::Campaign, "c"));
        assert!(parse_one("kind: journey\nname: j\n", Kind::Campaign).is_err());
        assert!(parse_one("name: a\n---\nname: b\n", Kind::Campaign).is_err());
    }

    #[test]
    fn duplicates_and_bad_syntax() {
        let m = messages("kind: audience\nname: a\n---\nkind: audience\nname: a\n");
        assert_eq!(
            m,
            ["document 2: audience \"a\" is defined twice in this file"]
        );
        let m = messages("kind: [unclosed\n");
        assert!(m[0].starts_with("YAML document 1:"), "{m:?}");
        assert_eq!(
            messages("# only a comment\n"),
            ["the file holds no definitions"]
        );
    }
}
