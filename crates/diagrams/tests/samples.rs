//! Writes sample diagrams to `target/diagram-samples/` for a person to look at (and to turn
//! into PNG with `rsvg-convert`). Asserts only that each file is written.

mod common;

use std::path::PathBuf;

use serde_json::json;
use sluice_diagrams::{
    DeliveryOutcome, GraphOptions, NodeCounts, Series, counter_bar, deliveries_chart,
    journey_graph, journey_graph_with, sparkline,
};

use common::*;

fn out_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("diagram-samples");
    std::fs::create_dir_all(&dir).expect("create target/diagram-samples");
    dir
}

fn write(name: &str, svg: &str) {
    let path = out_dir().join(name);
    std::fs::write(&path, svg).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// About thirty nodes: a welcome series with branches, two reminder loops, a missing node.
fn big() -> serde_json::Value {
    json!({
        "entry": {"type": "event", "event": "trial_started"},
        "start": "welcome",
        "nodes": [
            message("welcome", Some("day1")),
            wait("day1", "P1D", "activated"),
            condition("activated", "activated", "tips", "nudge"),
            message("nudge", Some("nudge_wait")),
            wait("nudge_wait", "P2D", "activated_again"),
            condition("activated_again", "activated", "tips", "call"),
            {"id": "call", "type": "update_profile", "set": {"needs_call": true}, "next": "sales_hook"},
            {"id": "sales_hook", "type": "message", "channel_id": "ch_hook", "template_id": "tpl_crm", "next": "call_wait"},
            wait("call_wait", "P3D", "activated"),
            message("tips", Some("tips_wait")),
            wait("tips_wait", "P3D", "uses_api"),
            condition("uses_api", "api_user", "api_docs", "ui_tour"),
            message("api_docs", Some("api_wait")),
            wait("api_wait", "P2D", "plan_check"),
            message("ui_tour", Some("tour_wait")),
            wait("tour_wait", "P2D", "plan_check"),
            condition("plan_check", "paid", "thank_you", "trial_ending"),
            message("thank_you", Some("mark_paid")),
            {"id": "mark_paid", "type": "update_profile", "set": {"stage": "customer"}, "next": "leave_trial"},
            {"id": "leave_trial", "type": "remove_from_journey", "journey_id": "jrn_trial_ads", "next": "done"},
            message("trial_ending", Some("last_wait")),
            {"id": "last_wait", "type": "wait", "until": "2026-06-30T09:00:00Z", "next": "converted"},
            condition("converted", "paid", "thank_you", "winback"),
            message("winback", Some("winback_wait")),
            wait("winback_wait", "P7D", "winback_check"),
            condition("winback_check", "paid", "thank_you", "survey"),
            {"id": "survey", "type": "message", "channel_id": "ch_inbox", "template_id": "tpl_why_not", "next": "archive"},
            {"id": "archive", "type": "update_profile", "set": {"stage": "lost"}, "next": "done"},
            {"id": "done", "type": "end"},
            {"id": "<script>alert('x')</script> & \"friends\"", "type": "end"}
        ]
    })
}

/// A segmentation tree: three levels of conditions, eight branches, two of them looping back
/// through waits to re-check.
fn wide() -> serde_json::Value {
    let mut nodes = vec![message("hello", Some("c0"))];
    let mut frontier = vec!["c0".to_owned()];
    for level in 0..3 {
        let mut next = Vec::new();
        for c in &frontier {
            let (yes, no) = (format!("{c}y"), format!("{c}n"));
            let target = |id: &str| {
                if level == 2 {
                    format!("m_{id}")
                } else {
                    id.to_owned()
                }
            };
            nodes.push(condition(
                c,
                &format!("seg{level}"),
                &target(&yes),
                &target(&no),
            ));
            next.push(yes);
            next.push(no);
        }
        frontier = next;
    }
    for (i, leaf) in frontier.iter().enumerate() {
        let after = match i {
            2 => "w_retry_a".to_owned(),
            5 => "w_retry_b".to_owned(),
            _ => "fin".to_owned(),
        };
        nodes.push(message(&format!("m_{leaf}"), Some(&after)));
    }
    nodes.push(wait("w_retry_a", "P1W", "c0y"));
    nodes.push(wait("w_retry_b", "PT12H", "c0"));
    nodes.push(json!({"id": "fin", "type": "end"}));
    json!({"entry": {"type": "audience", "audience_id": "aud_all",
                     "schedule": {"type": "recurring", "cron": "0 9 * * MON", "timezone": "Europe/Berlin"}},
           "start": "hello", "nodes": nodes})
}

/// Sixty nodes from a fixed pseudo-random sequence, all reachable: mostly forward, branches
/// that skip ahead, and loops back through waits.
fn sixty() -> serde_json::Value {
    let mut seed: u64 = 0x5eed;
    let mut next = |bound: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % bound
    };
    let n = 60;
    let id = |i: u64| format!("step_{i:02}");
    let mut nodes = Vec::new();
    let mut i = 0;
    while i < n {
        let ahead = |r: u64| id((i + 1 + r).min(n - 1));
        if i == n - 1 {
            nodes.push(json!({"id": id(i), "type": "end"}));
            i += 1;
            continue;
        }
        match next(10) {
            // A check whose "no" waits and goes back a few steps.
            0 if i > 6 && i + 2 < n => {
                nodes.push(condition(&id(i), "done", &ahead(1), &ahead(0)));
                nodes.push(wait(&id(i + 1), "P2D", &id(i - 1 - next(5))));
                i += 2;
                continue;
            }
            0..=3 => nodes.push(message(&id(i), Some(&ahead(0)))),
            4..=5 => nodes.push(condition(&id(i), "flag", &ahead(0), &ahead(1 + next(5)))),
            6 | 7 => nodes.push(wait(&id(i), "PT6H", &ahead(0))),
            8 => nodes.push(json!({"id": id(i), "type": "update_profile", "set": {"k": i}, "next": ahead(0)})),
            _ => nodes.push(json!({"id": id(i), "type": "remove_from_journey", "journey_id": "jrn_x", "next": ahead(0)})),
        }
        i += 1;
    }
    json!({"entry": {"type": "event", "event": "big"}, "start": id(0), "nodes": nodes})
}

#[test]
fn write_samples() {
    let sixty = def(sixty());
    write(
        "journey-sixty.svg",
        journey_graph(&sixty, &counts_for(&sixty)).as_str(),
    );
    let wide = def(wide());
    write(
        "journey-wide.svg",
        journey_graph(&wide, &counts_for(&wide)).as_str(),
    );
    let onboarding = onboarding();
    write(
        "journey-onboarding.svg",
        journey_graph(&onboarding, &counts_for(&onboarding)).as_str(),
    );
    let looped = reminder_loop();
    write(
        "journey-reminder-loop.svg",
        journey_graph(&looped, &counts_for(&looped)).as_str(),
    );
    write(
        "journey-reminder-loop-no-counts.svg",
        journey_graph(&looped, &NodeCounts::new()).as_str(),
    );
    let big = def(big());
    let mut options = GraphOptions::default();
    options
        .links
        .insert("welcome".into(), "/journeys/j1/nodes/welcome".into());
    write(
        "journey-big.svg",
        journey_graph_with(&big, &counts_for(&big), &options).as_str(),
    );
    let mut draft = big_draft();
    draft.nodes.truncate(6);
    write(
        "journey-draft.svg",
        journey_graph(&draft, &NodeCounts::new()).as_str(),
    );

    let (series, days) = two_weeks();
    write(
        "deliveries-two-weeks.svg",
        deliveries_chart(&series, &days).as_str(),
    );
    let hours: Vec<String> = (0..48).map(|h| format!("{:02}:00", h % 24)).collect();
    let hourly: Vec<u64> = (0..48u64).map(|h| (h * 37 % 23) * 40 + 5).collect();
    write(
        "deliveries-hourly.svg",
        deliveries_chart(
            &[
                Series::new(DeliveryOutcome::Delivered, hourly.clone()),
                Series::new(
                    DeliveryOutcome::Failed,
                    hourly.iter().map(|v| v / 9).collect(),
                ),
                Series::new(
                    DeliveryOutcome::Removed,
                    hourly.iter().map(|v| v / 14).collect(),
                ),
                Series::new(
                    DeliveryOutcome::TimedOut,
                    hourly.iter().map(|v| v / 11).collect(),
                ),
            ],
            &hours,
        )
        .as_str(),
    );
    write(
        "deliveries-empty.svg",
        deliveries_chart(&[], &days).as_str(),
    );
    write(
        "counter-bar.svg",
        counter_bar(
            "Email",
            &[
                (DeliveryOutcome::Delivered, 9_120),
                (DeliveryOutcome::Failed, 140),
                (DeliveryOutcome::Skipped, 510),
            ],
        )
        .as_str(),
    );
    write(
        "sparkline.svg",
        sparkline("Delivered per day", &series[0].counts).as_str(),
    );
}

/// The big journey as a draft being edited: a node points at an id that does not exist yet.
fn big_draft() -> sluice_core::journey::JourneyDefinition {
    let mut v = big();
    v["nodes"][2]["else"] = json!("nudge_v2");
    def(v)
}
