//! Journey definitions: the wire shape, the non-graph J2 errors, the engine helpers; and the
//! fixtures `graph_tests` shares.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::*;
use crate::channel::ChannelType;
use crate::error::FieldError;
use crate::rule::Rule;

pub(super) struct Refs;

impl References for Refs {
    fn channel_type(&self, id: &str) -> Option<ChannelType> {
        match id {
            "ch_email" => Some(ChannelType::Email),
            "ch_hook" => Some(ChannelType::Webhook),
            _ => None,
        }
    }
    fn template_channel_type(&self, id: &str) -> Option<ChannelType> {
        match id {
            "tpl_welcome" | "tpl_tip" => Some(ChannelType::Email),
            "tpl_hook" => Some(ChannelType::Webhook),
            _ => None,
        }
    }
    fn audience_exists(&self, id: &str) -> bool {
        id == "aud_new"
    }
    fn journey_exists(&self, id: &str) -> bool {
        id == "jrn_trial"
    }
}

pub(super) fn now() -> Timestamp {
    "2026-01-01T00:00:00Z".parse().unwrap()
}

/// The example of API.md, made consistent.
pub(super) fn example() -> Value {
    json!({
        "entry": {"type": "event", "event": "signed_up"},
        "reentry": {"mode": "after", "wait": "P7D"},
        "timeout": "P30D",
        "start": "welcome",
        "nodes": [
            {"id": "welcome", "type": "message", "channel_id": "ch_email",
             "template_id": "tpl_welcome", "next": "pause"},
            {"id": "pause", "type": "wait", "duration": "P1D", "next": "check"},
            {"id": "check", "type": "condition",
             "rule": {"attr": "plan", "op": "eq", "value": "trial"}, "then": "tip", "else": "done"},
            {"id": "tip", "type": "message", "channel_id": "ch_hook", "template_id": "tpl_hook",
             "next": "tag"},
            {"id": "tag", "type": "update_profile", "set": {"onboarded": true}, "next": "rm"},
            {"id": "rm", "type": "remove_from_journey", "journey_id": "jrn_trial", "next": "done"},
            {"id": "done", "type": "end"}
        ]
    })
}

pub(super) fn def(v: Value) -> JourneyDefinition {
    let text = v.to_string();
    serde_json::from_value(v).unwrap_or_else(|e| panic!("{text} should deserialize: {e}"))
}

/// The example with `f` applied to its JSON.
pub(super) fn edited(f: impl FnOnce(&mut Value)) -> JourneyDefinition {
    let mut v = example();
    f(&mut v);
    def(v)
}

pub(super) fn errors_of(d: &JourneyDefinition) -> Vec<(String, String)> {
    let errs = d
        .validate(&Refs, now())
        .expect_err("definition should be refused");
    errs.0
        .into_iter()
        .map(|FieldError { field, message }| (field, message))
        .collect()
}

pub(super) fn fields_of(d: &JourneyDefinition) -> Vec<String> {
    errors_of(d).into_iter().map(|(f, _)| f).collect()
}

pub(super) fn refused(v: Value) -> String {
    serde_json::from_value::<JourneyDefinition>(v)
        .expect_err("should not deserialize")
        .to_string()
}

#[test]
fn the_example_is_valid_and_round_trips() {
    let d = def(example());
    assert_eq!(d.validate(&Refs, now()), Ok(()));
    assert_eq!(serde_json::to_value(&d).unwrap(), example());
}

#[test]
pub(super) fn defaults_are_never_and_91_days() {
    let d = edited(|v| {
        let o = v.as_object_mut().unwrap();
        o.remove("reentry");
        o.remove("timeout");
    });
    assert_eq!(d.reentry, Reentry::Never);
    assert_eq!(d.timeout.to_string(), "P91D");
    let out = serde_json::to_value(&d).unwrap();
    assert_eq!(out["reentry"], json!({"mode": "never"}));
    assert_eq!(out["timeout"], "P91D");
}

#[test]
fn unknown_fields_are_refused_everywhere() {
    assert!(refused(edited_value(|v| v["extra"] = json!(1))).contains("extra"));
    assert!(
        refused(edited_value(|v| v["entry"]["audience_id"] = json!("a"))).contains("audience_id")
    );
    assert!(
        refused(edited_value(
            |v| v["reentry"] = json!({"mode": "never", "wait": "P1D"})
        ))
        .contains("wait")
    );
    assert!(
        refused(edited_value(
            |v| v["reentry"] = json!({"mode": "always", "x": 1})
        ))
        .contains("x")
    );
    assert!(
        refused(edited_value(|v| v["reentry"] = json!({"mode": "sometimes"})))
            .contains("sometimes")
    );
    assert!(refused(edited_value(|v| v["nodes"][6]["next"] = json!("welcome"))).contains("next"));
    assert!(refused(edited_value(|v| v["nodes"][0]["nxt"] = json!("pause"))).contains("nxt"));
    assert!(refused(edited_value(|v| v["nodes"][0]["type"] = json!("sms"))).contains("sms"));
    assert!(refused(edited_value(|v| v["nodes"][4]["set"] = json!([1]))).contains("map"));
    assert!(
        refused(edited_value(|v| v["nodes"][1]["duration"] = json!("1 day"))).contains("1 day")
    );
}

pub(super) fn edited_value(f: impl FnOnce(&mut Value)) -> Value {
    let mut v = example();
    f(&mut v);
    v
}

#[test]
fn references_must_exist_and_agree() {
    let d = edited(|v| {
        v["nodes"][0]["channel_id"] = json!("ch_gone");
        v["nodes"][0]["template_id"] = json!("tpl_gone");
        v["nodes"][3]["template_id"] = json!("tpl_tip");
        v["nodes"][5]["journey_id"] = json!("jrn_gone");
    });
    let errs = errors_of(&d);
    assert_eq!(errs.len(), 4);
    assert_eq!(
        errs[0],
        (
            "nodes[0].channel_id".into(),
            "node \"welcome\": channel \"ch_gone\" does not exist".into()
        )
    );
    assert_eq!(
        errs[1],
        (
            "nodes[0].template_id".into(),
            "node \"welcome\": template \"tpl_gone\" does not exist".into()
        )
    );
    assert_eq!(
        errs[2],
        (
            "nodes[3].template_id".into(),
            "node \"tip\": template \"tpl_tip\" is for email channels, but channel \"ch_hook\" is a \
             webhook channel"
                .into()
        )
    );
    assert_eq!(
        errs[3],
        (
            "nodes[5].journey_id".into(),
            "node \"rm\": journey \"jrn_gone\" does not exist".into()
        )
    );
}

#[test]
fn audience_entries_are_checked() {
    let entry = |e: Value| edited(|v| v["entry"] = e);
    let ok = entry(json!({"type": "audience", "audience_id": "aud_new",
        "schedule": {"type": "recurring", "cron": "0 9 * * MON", "timezone": "Europe/Berlin"}}));
    assert_eq!(ok.validate(&Refs, now()), Ok(()));
    assert_eq!(ok.referenced_audiences(), ["aud_new"]);
    let d = entry(json!({"type": "audience", "audience_id": "aud_x", "schedule": {"type": "api"}}));
    assert_eq!(fields_of(&d), ["entry.audience_id", "entry.schedule.type"]);
    assert!(errors_of(&d)[1].1.contains("api schedule"));
    let d = entry(json!({"type": "audience", "audience_id": "aud_new",
        "schedule": {"type": "once", "at": "2025-12-31T00:00:00Z"}}));
    assert_eq!(fields_of(&d), ["entry.schedule.at"]);
    let d = entry(json!({"type": "event", "event": " "}));
    assert_eq!(fields_of(&d), ["entry.event"]);
}

#[test]
fn durations_must_be_positive_and_in_range() {
    // Zero and negative durations never deserialize (IsoDuration refuses them), so the API
    // answers them as a 422 naming the field before validation runs.
    let mut zero = example();
    zero["timeout"] = json!("P0D");
    let err = serde_json::from_value::<JourneyDefinition>(zero)
        .unwrap_err()
        .to_string();
    assert!(err.contains("longer than zero"), "{err}");
    let d = edited(|v| v["nodes"][1]["duration"] = json!("P19000Y"));
    let errs = errors_of(&d);
    let fields: Vec<&str> = errs.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(fields, ["nodes[1].duration"]);
    assert!(errs[0].1.contains("beyond the supported range"));
}

#[test]
fn a_wait_has_exactly_one_of_duration_and_until() {
    let both = edited(|v| v["nodes"][1]["until"] = json!("2026-02-01T00:00:00Z"));
    let errs = errors_of(&both);
    assert_eq!(
        errs,
        [(
            "nodes[1]".into(),
            "node \"pause\": a wait node has exactly one of duration, until".into()
        )]
    );
    let neither = edited(|v| {
        v["nodes"][1].as_object_mut().unwrap().remove("duration");
    });
    assert_eq!(fields_of(&neither), ["nodes[1]"]);
    let until = edited(|v| {
        v["nodes"][1].as_object_mut().unwrap().remove("duration");
        v["nodes"][1]["until"] = json!("2026-02-01T00:00:00Z");
    });
    assert_eq!(until.validate(&Refs, now()), Ok(()));
    let w = until.node("pause").unwrap();
    let feb: Timestamp = "2026-02-01T00:00:00Z".parse().unwrap();
    assert_eq!(w.resume_at(now()), Some(feb));
    let later: Timestamp = "2026-03-01T00:00:00Z".parse().unwrap();
    assert_eq!(w.resume_at(later), Some(later));
}

#[test]
fn update_profile_needs_a_non_empty_set() {
    let d = edited(|v| v["nodes"][4]["set"] = json!({}));
    assert_eq!(
        errors_of(&d),
        [(
            "nodes[4].set".into(),
            "node \"tag\": set needs at least one attribute".into()
        )]
    );
    let d = edited(|v| v["nodes"][4]["set"] = json!({"": 1}));
    assert_eq!(fields_of(&d), ["nodes[4].set"]);
}

#[test]
fn condition_rules_report_under_the_node() {
    let d = edited(|v| {
        v["nodes"][2]["rule"] =
            json!({"all": [{"attr": "plan", "op": "equals", "value": 1}, {"nope": 1}]});
    });
    assert_eq!(
        fields_of(&d),
        ["nodes[2].rule.all[0].op", "nodes[2].rule.all[1]"]
    );
    assert_eq!(d.condition_rules().unwrap_err().0.len(), 2);
    let valid = def(example());
    let rules = valid.condition_rules().unwrap();
    assert_eq!(rules.len(), 1);
    assert!(matches!(rules.get("check"), Some(Rule::Attr(_))));
}

#[test]
fn helpers_for_the_engine() {
    let d = def(example());
    assert_eq!(d.start_node().map(Node::id), Some("welcome"));
    assert_eq!(d.node("check").map(Node::type_name), Some("condition"));
    let check = d.node("check").unwrap();
    let next: Vec<&str> = d.successors(check).into_iter().map(Node::id).collect();
    assert_eq!(next, ["tip", "done"]);
    assert!(d.node("done").unwrap().successors().is_empty());
    assert_eq!(d.referenced_channels(), ["ch_email", "ch_hook"]);
    assert_eq!(d.referenced_templates(), ["tpl_welcome", "tpl_hook"]);
    assert!(d.referenced_audiences().is_empty());
    assert_eq!(d.referenced_journeys(), ["jrn_trial"]);
    let pause = d.node("pause").unwrap();
    assert_eq!(pause.resume_at(now()), "2026-01-02T00:00:00Z".parse().ok());
    assert!(pause.always_delays() && !check.always_delays());
    assert_eq!(check.resume_at(now()), None);
}

#[test]
fn openapi_schema_describes_the_wire_shape() {
    use utoipa::{PartialSchema, ToSchema};
    let schema = serde_json::to_value(JourneyDefinition::schema()).unwrap();
    assert_eq!(schema["properties"]["timeout"]["default"], "P91D");
    let mut deps = Vec::new();
    JourneyDefinition::schemas(&mut deps);
    let names: Vec<&str> = deps.iter().map(|(n, _)| n.as_str()).collect();
    for expected in [
        "Entry",
        "Reentry",
        "Node",
        "IsoDuration",
        "Rule",
        "Schedule",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    // Each variant is one object holding its `type` tag, so a node validates against it.
    let node = serde_json::to_value(Node::schema()).unwrap();
    let variants = node["oneOf"].as_array().unwrap();
    assert_eq!(variants.len(), 6);
    for variant in variants {
        assert!(
            variant["properties"]["type"]["enum"].is_array(),
            "{variant}"
        );
        assert!(variant["properties"]["id"].is_object(), "{variant}");
    }
    let condition = variants
        .iter()
        .find(|v| v["properties"]["type"]["enum"][0] == "condition");
    let condition = condition.unwrap();
    assert!(condition["properties"]["else"].is_object(), "{condition}");
    assert_eq!(
        condition["properties"]["rule"]["$ref"],
        "#/components/schemas/Rule"
    );
}
