//! Journey steps run by the engine where the review found them wrong: a condition whose event
//! count cannot be read is tried again, never decided as 0 (down `else`); and a
//! `remove_from_journey` node removes a profile with the same records and audit entry as the
//! API's remove from flow (J9).

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::failing_store::{
    EVENT_COUNT_FAILED, EVENT_COUNT_FAILURES_LEFT, event_counts_fail_on_cue,
};
use common::{Options, TestApp, spawn_with};
use serde_json::{Value, json};

async fn wait_for(what: &str, mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..200 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn publish(app: &TestApp, body: Value) -> String {
    let id = app.journey(body).await;
    app.post_empty(&format!("/api/v1/journeys/{id}/versions/1/publish"))
        .await
        .expect(200);
    id
}

/// Profile `profile`'s enrollment state in version 1 of `journey`, if it entered.
async fn state_in(app: &TestApp, journey: &str, profile: &str) -> Option<String> {
    let r = app
        .get(&format!("/api/v1/journeys/{journey}/versions/1/profiles"))
        .await;
    r.expect(200)["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|e| e["profile_id"] == profile)
        .map(|e| e["state"].as_str().expect("state").to_owned())
}

async fn results(app: &TestApp, journey: &str) -> Value {
    app.get(&format!("/api/v1/journeys/{journey}/versions/1/results"))
        .await
        .expect(200)
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_condition_whose_event_count_cannot_be_read_is_retried_not_sent_down_else() {
    let app = spawn_with(Options {
        engine: true,
        wrap_store: Some(event_counts_fail_on_cue),
        ..Options::default()
    })
    .await;
    let id = publish(
        &app,
        json!({
            "name": "clickers", "entry": {"type": "event", "event": "signed_up"},
            "reentry": {"mode": "never"}, "start": "check",
            "nodes": [
                {"id": "check", "type": "condition",
                 "rule": {"event": "clicked", "op": "count_gte", "value": 1},
                 "then": "yes", "else": "no"},
                {"id": "yes", "type": "update_profile", "set": {"branch": "then"}, "next": "done"},
                {"id": "no", "type": "update_profile", "set": {"branch": "else"}, "next": "done"},
                {"id": "done", "type": "end"}
            ]
        }),
    )
    .await;
    // The first count the condition asks for fails, as a database hiccup would.
    EVENT_COUNT_FAILURES_LEFT.store(1, Ordering::SeqCst);
    app.post(
        "/api/v1/events",
        json!([{"profile_id": "ann", "name": "clicked"},
               {"profile_id": "ann", "name": "signed_up"}]),
    )
    .await
    .expect(202);
    wait_for("the failed read", async || {
        EVENT_COUNT_FAILED.load(Ordering::SeqCst) == 1
    })
    .await;
    // The retry backs off; the test clock has to reach it.
    app.advance("PT1H").await;
    wait_for("ann's walk to end", async || {
        state_in(&app, &id, "ann").await.as_deref() == Some("completed")
    })
    .await;
    let ann = app.get("/api/v1/profiles/ann").await;
    assert_eq!(
        ann.expect(200)["attributes"]["branch"],
        "then",
        "the condition was decided on the real count: {}",
        ann.text
    );
    let res = results(&app, &id).await;
    assert_eq!(res["per_node"]["yes"]["entered"], 1, "{res}");
    assert!(
        res["per_node"]["no"]["entered"].as_u64().unwrap_or(0) == 0,
        "nobody went down `else`: {res}"
    );
    assert_eq!(res["failed"], 0, "{res}");
    assert_eq!(EVENT_COUNT_FAILED.load(Ordering::SeqCst), 1);
}

/// The records a removal left for `profile` in version 1 of `journey`: (action, outcome, node,
/// detail), sorted.
async fn removal_records(app: &TestApp, journey: &str, profile: &str) -> Vec<[String; 4]> {
    let r = app
        .get(&format!(
            "/api/v1/journeys/{journey}/versions/1/results/actions?profile_id={profile}"
        ))
        .await;
    let mut rows: Vec<[String; 4]> = r.expect(200)["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|a| {
            ["action", "outcome", "node_id", "detail"]
                .map(|k| a[k].as_str().unwrap_or("").to_owned())
        })
        .collect();
    rows.sort();
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_remove_from_journey_node_records_the_removal_as_the_api_does() {
    let app = spawn_with(Options {
        engine: true,
        ..Options::default()
    })
    .await;
    let waiting = publish(
        &app,
        json!({
            "name": "nurture", "entry": {"type": "event", "event": "signed_up"},
            "reentry": {"mode": "never"}, "start": "pause",
            "nodes": [
                {"id": "pause", "type": "wait", "duration": "P1D", "next": "done"},
                {"id": "done", "type": "end"}
            ]
        }),
    )
    .await;
    let buyers = publish(
        &app,
        json!({
            "name": "buyers", "entry": {"type": "event", "event": "bought"},
            "reentry": {"mode": "never"}, "start": "rm",
            "nodes": [
                {"id": "rm", "type": "remove_from_journey", "journey_id": waiting, "next": "done"},
                {"id": "done", "type": "end"}
            ]
        }),
    )
    .await;
    app.event("ann", "signed_up").await;
    app.event("bob", "signed_up").await;
    wait_for("both to wait at `pause`", async || {
        results(&app, &waiting).await["per_node"]["pause"]["entered"] == 2
    })
    .await;

    // Ann leaves by the node of `buyers`, Bob by the API.
    app.event("ann", "bought").await;
    wait_for("ann's removal", async || {
        state_in(&app, &waiting, "ann").await.as_deref() == Some("removed")
    })
    .await;
    app.delete(&format!(
        "/api/v1/journeys/{waiting}/versions/1/profiles/bob"
    ))
    .await
    .expect(200);
    assert_eq!(
        state_in(&app, &waiting, "bob").await.as_deref(),
        Some("removed")
    );

    let by_node = format!("by journey:{buyers} v1");
    let step = |detail: &str| {
        [
            "journey_step".to_owned(),
            "cancelled".to_owned(),
            "pause".to_owned(),
            detail.to_owned(),
        ]
    };
    let removed = |detail: &str| {
        [
            "remove_from_flow".to_owned(),
            "removed".to_owned(),
            "pause".to_owned(),
            detail.to_owned(),
        ]
    };
    assert_eq!(
        removal_records(&app, &waiting, "ann").await,
        [step("removed from flow"), removed(&by_node)]
    );
    let admin = "by admin (SLUICE_ADMIN_TOKEN)";
    assert_eq!(
        removal_records(&app, &waiting, "bob").await,
        [step("removed from flow"), removed(admin)]
    );

    let audit = app.audit(&format!("journey:{waiting}")).await;
    let removals: Vec<(&str, &Value, &Value, &Value)> = audit
        .iter()
        .filter(|e| e["action"] == "remove_profile")
        .map(|e| {
            (
                e["actor"].as_str().expect("actor"),
                &e["subject"]["version"],
                &e["from_status"],
                &e["to_status"],
            )
        })
        .collect();
    let (live, one, node_actor) = (json!("live"), json!(1), format!("journey:{buyers} v1"));
    assert_eq!(
        removals,
        [
            ("admin (SLUICE_ADMIN_TOKEN)", &one, &live, &live),
            (node_actor.as_str(), &one, &live, &live),
        ],
        "{audit:?}"
    );

    let res = results(&app, &waiting).await;
    assert_eq!(
        (res["removed"].as_u64(), res["cancelled"].as_u64()),
        (Some(2), Some(2))
    );
    let rows = common::recount::journey_version(app.data_dir(), &waiting, 1);
    common::recount::assert_agrees(&res, &rows, "two removals");
}
