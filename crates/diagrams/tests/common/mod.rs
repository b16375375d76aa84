//! Journey definitions and delivery figures shared by the integration tests and the samples.

#![allow(dead_code)]

use serde_json::{Value, json};
use sluice_core::journey::JourneyDefinition;
use sluice_diagrams::{DeliveryOutcome, NodeCount, NodeCounts, Series};

pub fn def(v: Value) -> JourneyDefinition {
    let text = v.to_string();
    serde_json::from_value(v).unwrap_or_else(|e| panic!("{text} should deserialize: {e}"))
}

pub fn message(id: &str, next: Option<&str>) -> Value {
    let mut node = json!({"id": id, "type": "message", "channel_id": "ch_email",
                          "template_id": format!("tpl_{id}")});
    if let Some(next) = next {
        node["next"] = json!(next);
    }
    node
}

pub fn wait(id: &str, duration: &str, next: &str) -> Value {
    json!({"id": id, "type": "wait", "duration": duration, "next": next})
}

pub fn condition(id: &str, attr: &str, then: &str, r#else: &str) -> Value {
    json!({"id": id, "type": "condition", "rule": {"attr": attr, "op": "eq", "value": true},
           "then": then, "else": r#else})
}

/// API.md's example: a straight walk with one condition.
pub fn onboarding() -> JourneyDefinition {
    def(json!({
        "entry": {"type": "event", "event": "signed_up"},
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
    }))
}

/// A reminder loop: until the profile has opened, remind every two days (a cycle through a
/// wait, as J2 allows).
pub fn reminder_loop() -> JourneyDefinition {
    def(json!({
        "entry": {"type": "audience", "audience_id": "aud_trial_users",
                  "schedule": {"type": "immediate"}},
        "start": "invite",
        "nodes": [
            message("invite", Some("settle")),
            wait("settle", "P1D", "opened"),
            {"id": "opened", "type": "condition",
             "rule": {"event": "email_opened", "op": "count_gte", "value": 1, "within": "P7D"},
             "then": "thanks", "else": "reminder"},
            message("reminder", Some("again")),
            wait("again", "P2D", "opened"),
            {"id": "thanks", "type": "update_profile", "set": {"engaged": true, "tier": "gold"},
             "next": "bye"},
            {"id": "bye", "type": "end"}
        ]
    }))
}

pub fn counts_for(definition: &JourneyDefinition) -> NodeCounts {
    definition
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let entered = 12_480u64 / (i as u64 + 1);
            let waiting = if n.type_name() == "wait" {
                entered / 3
            } else {
                0
            };
            (
                n.id().to_owned(),
                NodeCount {
                    entered,
                    waiting,
                    done: entered - waiting,
                },
            )
        })
        .collect()
}

/// Fourteen days of a daily campaign, the last one cut short by an abort.
pub fn two_weeks() -> (Vec<Series>, Vec<String>) {
    let days: Vec<String> = (1..=14).map(|d| format!("Mar {d}")).collect();
    let delivered = vec![
        820, 910, 1_050, 990, 1_200, 640, 580, 1_130, 1_240, 1_310, 1_180, 1_420, 700, 260,
    ];
    let failed = vec![12, 8, 30, 9, 14, 5, 4, 22, 18, 11, 9, 16, 7, 3];
    let skipped = vec![40, 35, 38, 44, 51, 20, 18, 47, 49, 55, 52, 60, 30, 12];
    let mut cancelled = vec![0; 14];
    cancelled[13] = 540;
    let mut unknown = vec![0; 14];
    unknown[13] = 6;
    let series = vec![
        Series::new(DeliveryOutcome::Delivered, delivered),
        Series::new(DeliveryOutcome::Failed, failed),
        Series::new(DeliveryOutcome::Skipped, skipped),
        Series::new(DeliveryOutcome::Cancelled, cancelled),
        Series::new(DeliveryOutcome::Unknown, unknown),
    ];
    (series, days)
}
