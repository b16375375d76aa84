//! Journeys run by the engine, end to end: event entry, message through a real webhook
//! receiver, wait on the test clock, condition, profile update, end (J2, J8 timeout), and the
//! brakes: close lets people finish (J3), stop halts them at once (J4).

mod common;
mod journey_bench;

use std::time::Duration;

use common::{Options, TestApp, id_of, spawn_with};
use journey_bench::{Receiver, hello_journey, hook, wait_for};
use serde_json::{Value, json};

/// welcome (message) → pause (wait P1D) → check (plan = vip) → tag (update) → done.
async fn onboarding(app: &TestApp, url: &str, timeout: &str) -> String {
    let body = "Welcome {{ profile.first_name }} to {{ journey.name }}\
                {% if event.source %} via {{ event.source }}{% endif %}";
    let (channel, template) = hook(app, url, body).await;
    let journey = app
        .post(
            "/api/v1/journeys",
            json!({
                "name": "onboarding", "entry": {"type": "event", "event": "signed_up"}, "timeout": timeout,
                "start": "welcome",
                "nodes": [
                    {"id": "welcome", "type": "message", "channel_id": channel, "template_id": template, "next": "pause"},
                    {"id": "pause", "type": "wait", "duration": "P1D", "next": "check"},
                    {"id": "check", "type": "condition", "rule": {"attr": "plan", "op": "eq", "value": "vip"},
                     "then": "tag", "else": "done"},
                    {"id": "tag", "type": "update_profile", "set": {"onboarded": true}, "next": "done"},
                    {"id": "done", "type": "end"}
                ]
            }),
        )
        .await;
    let id = id_of(journey.expect(201));
    app.post_empty(&format!("/api/v1/journeys/{id}/versions/1/publish"))
        .await
        .expect(200);
    app.put_profile("ann", json!({"first_name": "Ann", "plan": "vip"}))
        .await;
    app.put_profile("bob", json!({"first_name": "Bob", "plan": "free"}))
        .await;
    // Ann's messages see the properties of the event she entered by, as `event`.
    app.post(
        "/api/v1/events",
        json!([{"profile_id": "ann", "name": "signed_up", "properties": {"source": "ads"}},
                                      {"profile_id": "bob", "name": "signed_up"}]),
    )
    .await
    .expect(202);
    id
}

async fn states(app: &TestApp, id: &str) -> Vec<(String, String, String)> {
    let page = app
        .get(&format!("/api/v1/journeys/{id}/versions/1/profiles"))
        .await;
    let mut rows: Vec<(String, String, String)> = page.expect(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["profile_id"].as_str().unwrap().to_owned(),
                e["state"].as_str().unwrap().to_owned(),
                e["node_id"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    rows.sort();
    rows
}

fn row(p: &str, s: &str, n: &str) -> (String, String, String) {
    (p.into(), s.into(), n.into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profiles_walk_message_wait_condition_and_update() {
    let app = spawn_with(Options {
        engine: true,
        ..Options::default()
    })
    .await;
    let (receiver, url) = Receiver::start().await;
    let id = onboarding(&app, &url, "P91D").await;

    wait_for("the welcome messages", async || {
        receiver.bodies().len() == 2
    })
    .await;
    let ann = receiver
        .bodies()
        .into_iter()
        .find(|b| b["profile_id"] == "ann")
        .unwrap();
    assert_eq!(ann["journey_id"], id.as_str());
    assert_eq!(ann["node_id"], "welcome");
    assert_eq!(ann["version"], 1);
    assert_eq!(ann["body"], "Welcome Ann to onboarding via ads");
    let bob = receiver
        .bodies()
        .into_iter()
        .find(|b| b["profile_id"] == "bob")
        .unwrap();
    assert_eq!(bob["body"], "Welcome Bob to onboarding");
    wait_for("both waiting", async || {
        states(&app, &id).await == [row("ann", "active", "pause"), row("bob", "active", "pause")]
    })
    .await;

    // Nothing moves before the wait is over.
    app.advance("PT23H").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        states(&app, &id).await,
        [row("ann", "active", "pause"), row("bob", "active", "pause")]
    );

    app.advance("PT1H").await;
    wait_for("both done", async || {
        states(&app, &id).await
            == [
                row("ann", "completed", "done"),
                row("bob", "completed", "done"),
            ]
    })
    .await;
    let ann = app.get("/api/v1/profiles/ann").await;
    assert_eq!(
        ann.expect(200)["attributes"]["onboarded"],
        true,
        "the vip branch updated ann"
    );
    let bob = app.get("/api/v1/profiles/bob").await;
    assert!(
        bob.expect(200)["attributes"].get("onboarded").is_none(),
        "bob took the else branch"
    );
    let results = app
        .get(&format!("/api/v1/journeys/{id}/versions/1/results"))
        .await;
    let results = results.expect(200);
    assert_eq!(
        (results["entered"].as_u64(), results["completed"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(results["delivered"], 2);
    assert_eq!(results["per_node"]["welcome"]["sent"], 2);
    let entered = |node: &str| results["per_node"][node]["entered"].as_u64();
    assert_eq!(
        ["welcome", "pause", "check", "tag", "done"].map(entered),
        [Some(2), Some(2), Some(2), Some(1), Some(2)],
        "arrivals per node: {results}"
    );
    let rows = common::recount::journey_version(app.data_dir(), &id, 1);
    common::recount::assert_agrees(results, &rows, "completed");
    assert_eq!(receiver.bodies().len(), 2, "each message once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_global_timeout_takes_people_out_while_they_wait() {
    let app = spawn_with(Options {
        engine: true,
        ..Options::default()
    })
    .await;
    let (receiver, url) = Receiver::start().await;
    let id = onboarding(&app, &url, "PT12H").await;
    app.post(
        "/api/v1/events",
        json!({"profile_id": "cat", "name": "signed_up"}),
    )
    .await
    .expect(202);
    wait_for("the welcome messages", async || {
        receiver.bodies().len() == 3
    })
    .await;
    // Answered is not yet recorded: the profiles are at `pause` once their steps settled.
    wait_for("the welcome messages recorded", async || {
        app.get(&format!("/api/v1/journeys/{id}/versions/1/results"))
            .await
            .expect(200)["delivered"]
            .as_u64()
            == Some(3)
    })
    .await;
    // An erased profile leaves its journeys as `removed`, and Results count it so; its
    // enrollment stays, under an alias that names nobody.
    app.delete("/api/v1/profiles/cat").await.expect(204);
    app.advance("PT12H").await;
    wait_for("the timeout", async || {
        let rows = states(&app, &id).await;
        rows.len() == 3
            && rows[..2]
                == [
                    row("ann", "timed_out", "pause"),
                    row("bob", "timed_out", "pause"),
                ]
            && rows[2].0.starts_with("erased-")
            && (rows[2].1.as_str(), rows[2].2.as_str()) == ("removed", "pause")
    })
    .await;
    let results = app
        .get(&format!("/api/v1/journeys/{id}/versions/1/results"))
        .await
        .expect(200)
        .clone();
    assert_eq!(
        (results["timed_out"].as_u64(), results["removed"].as_u64()),
        (Some(2), Some(1))
    );
    let rows = common::recount::journey_version(app.data_dir(), &id, 1);
    common::recount::assert_agrees(&results, &rows, "timed out and erased");
    let ann = app.get("/api/v1/profiles/ann").await;
    assert!(
        ann.expect(200)["attributes"].get("onboarded").is_none(),
        "no node ran after the timeout"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_lets_people_finish_and_stop_halts_them() {
    let app = spawn_with(Options {
        engine: true,
        ..Options::default()
    })
    .await;
    let (receiver, url) = Receiver::start().await;
    let id = onboarding(&app, &url, "P91D").await;
    wait_for("the welcome messages", async || {
        receiver.bodies().len() == 2
    })
    .await;

    // J3: closed, the two inside go on; a new event enters nobody; the last one out finishes it.
    app.post_empty(&format!("/api/v1/journeys/{id}/versions/1/close"))
        .await
        .expect(200);
    app.post(
        "/api/v1/events",
        json!({"profile_id": "cat", "name": "signed_up"}),
    )
    .await
    .expect(202);
    app.advance("P1D").await;
    wait_for("finished", async || {
        app.version_status(&id, 1).await == "finished"
    })
    .await;
    assert_eq!(
        states(&app, &id).await,
        [
            row("ann", "completed", "done"),
            row("bob", "completed", "done")
        ]
    );
    assert_eq!(
        receiver.bodies().len(),
        2,
        "cat never entered a closed version"
    );

    // J4: a second journey is stopped while its people wait: nothing runs for them afterwards.
    let dup = app
        .post_empty(&format!("/api/v1/journeys/{id}/versions/1/duplicate"))
        .await;
    let second = id_of(dup.expect(201));
    app.post_empty(&format!("/api/v1/journeys/{second}/versions/1/publish"))
        .await
        .expect(200);
    app.post("/api/v1/events", json!([{"profile_id": "ann", "name": "signed_up"}, {"profile_id": "bob", "name": "signed_up"}]))
        .await
        .expect(202);
    wait_for("the second welcome", async || receiver.bodies().len() == 4).await;
    wait_for("both waiting", async || {
        states(&app, &second).await
            == [row("ann", "active", "pause"), row("bob", "active", "pause")]
    })
    .await;
    let stopped = app
        .post_empty(&format!("/api/v1/journeys/{second}/versions/1/stop"))
        .await;
    let summary = stopped.expect(200)["summary"].clone();
    assert_eq!(summary["halted"], 2);
    assert_eq!(summary["delivered"], 2);
    app.advance("P2D").await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        states(&app, &second).await,
        [
            row("ann", "stopped", "pause"),
            row("bob", "stopped", "pause")
        ]
    );
    assert_eq!(receiver.bodies().len(), 4, "nothing was sent after stop");
    for journey in [&id, &second] {
        let results = app
            .get(&format!("/api/v1/journeys/{journey}/versions/1/results"))
            .await
            .expect(200)
            .clone();
        let rows = common::recount::journey_version(app.data_dir(), journey, 1);
        common::recount::assert_agrees(&results, &rows, "finished and stopped");
    }
}

/// An audience-entry version (J1): `welcome` (message) → `done`, entered by the members of
/// `plan = vip` on `schedule`, under `reentry`.
async fn audience_journey(app: &TestApp, url: &str, schedule: Value, reentry: Value) -> String {
    let (channel, template) = hook(app, url, "Hello {{ profile.first_name }}").await;
    let audience = app
        .post(
            "/api/v1/audiences",
            json!({"name": "vips", "rule": {"attr": "plan", "op": "eq", "value": "vip"}}),
        )
        .await;
    let audience = id_of(audience.expect(201));
    let journey = app
        .post(
            "/api/v1/journeys",
            json!({
                "name": "vip welcome",
                "entry": {"type": "audience", "audience_id": audience, "schedule": schedule},
                "reentry": reentry,
                "start": "welcome",
                "nodes": [
                    {"id": "welcome", "type": "message", "channel_id": channel, "template_id": template, "next": "done"},
                    {"id": "done", "type": "end"}
                ]
            }),
        )
        .await;
    id_of(journey.expect(201))
}

/// Whom the receiver greeted, sorted.
fn greeted(receiver: &Receiver) -> Vec<String> {
    let mut who: Vec<String> = receiver
        .bodies()
        .iter()
        .map(|b| b["profile_id"].as_str().unwrap_or_default().to_owned())
        .collect();
    who.sort();
    who
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audience_enters_once_at_publish_and_only_its_members() {
    let app = spawn_with(Options {
        engine: true,
        ..Options::default()
    })
    .await;
    let (receiver, url) = Receiver::start().await;
    for (id, plan) in [("ann", "vip"), ("bob", "free"), ("cy", "vip")] {
        app.put_profile(id, json!({"first_name": id, "plan": plan}))
            .await;
    }
    let id = audience_journey(
        &app,
        &url,
        json!({"type": "immediate"}),
        json!({"mode": "always"}),
    )
    .await;
    app.post_empty(&format!("/api/v1/journeys/{id}/versions/1/publish"))
        .await
        .expect(200);
    wait_for("both vips completed", async || {
        states(&app, &id).await
            == [
                row("ann", "completed", "done"),
                row("cy", "completed", "done"),
            ]
    })
    .await;
    assert_eq!(greeted(&receiver), ["ann", "cy"]);
    // Immediate means once: a day later nobody enters again, although re-entry is allowed.
    app.advance("P1D").await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(greeted(&receiver), ["ann", "cy"]);
    let results = app
        .get(&format!("/api/v1/journeys/{id}/versions/1/results"))
        .await;
    let results = results.expect(200);
    assert_eq!(
        (results["entered"].as_u64(), results["delivered"].as_u64()),
        (Some(2), Some(2))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recurring_audience_entry_follows_its_schedule_reentry_and_close() {
    let app = spawn_with(Options {
        engine: true,
        ..Options::default()
    })
    .await;
    let (receiver, url) = Receiver::start().await;
    for (id, plan) in [("ann", "vip"), ("bob", "free")] {
        app.put_profile(id, json!({"first_name": id, "plan": plan}))
            .await;
    }
    // Every day at noon UTC; a profile may come back 36 hours after it last entered.
    let id = audience_journey(
        &app,
        &url,
        json!({"type": "recurring", "cron": "0 12 * * *", "timezone": "UTC"}),
        json!({"mode": "after", "wait": "PT36H"}),
    )
    .await;
    app.post_empty(&format!("/api/v1/journeys/{id}/versions/1/publish"))
        .await
        .expect(200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        greeted(&receiver).is_empty(),
        "nothing before the first noon"
    );

    // Day 1 noon: ann. Then bob becomes a vip.
    app.advance("P1D").await;
    wait_for("ann greeted", async || greeted(&receiver) == ["ann"]).await;
    app.put_profile("bob", json!({"first_name": "bob", "plan": "vip"}))
        .await;
    // Day 2 noon: bob enters; ann entered 24 hours ago, not yet 36.
    app.advance("P1D").await;
    wait_for("bob greeted", async || greeted(&receiver) == ["ann", "bob"]).await;
    // Day 3 noon: ann again (48 hours), bob not (24 hours).
    app.advance("P1D").await;
    wait_for("ann greeted again", async || {
        greeted(&receiver) == ["ann", "ann", "bob"]
    })
    .await;

    // J3: closed, the schedule admits nobody any more.
    app.post_empty(&format!("/api/v1/journeys/{id}/versions/1/close"))
        .await
        .expect(200);
    app.advance("P2D").await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(greeted(&receiver), ["ann", "ann", "bob"]);
    assert_eq!(app.version_status(&id, 1).await, "finished");
}

/// A journey's messages to a rate-limited channel beyond what a batch may send are deferred in
/// the store, as a campaign's are, instead of holding the engine while the limit lets them
/// through one by one: with the (test) clock standing still, only the batch's allowance goes
/// out; as time passes the rest follow, each profile greeted exactly once, and the Results and
/// the rows agree.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_channel_paces_journey_messages_in_real_time() {
    const PEOPLE: usize = 12;
    let app = spawn_with(Options {
        engine: true,
        ..Options::default()
    })
    .await;
    let (receiver, url) = Receiver::start().await;
    let (channel, template) = hook(&app, &url, "{{ profile.id }}").await;
    // Four a second: a batch may send one (a quarter second's worth).
    app.put(
        &format!("/api/v1/channels/{channel}"),
        json!({"name": "hook", "type": "webhook", "config": {"url": url},
               "rate_limit_per_second": 4}),
    )
    .await
    .expect(200);
    let id = hello_journey(&app, (&channel, &template), PEOPLE).await;
    wait_for("the first message", async || !receiver.bodies().is_empty()).await;
    let first = std::time::Instant::now();
    // Real time passes, the test clock does not: the messages go out at the limit's rate.
    wait_for("everybody greeted", async || {
        receiver.bodies().len() >= PEOPLE
    })
    .await;
    let took = first.elapsed();
    assert!(
        took >= Duration::from_millis(2000),
        "{PEOPLE} messages at 4 a second went out in {took:?}"
    );
    let mut greeted: Vec<String> = receiver
        .bodies()
        .iter()
        .map(|b| b["body"].as_str().unwrap_or_default().to_owned())
        .collect();
    greeted.sort();
    let expected: Vec<String> = (0..PEOPLE).map(|i| format!("p{i:02}")).collect();
    assert_eq!(greeted, expected, "each profile greeted exactly once");
    wait_for("everybody done", async || {
        app.get(&format!("/api/v1/journeys/{id}/versions/1/results"))
            .await
            .expect(200)["completed"]
            .as_u64()
            == Some(PEOPLE as u64)
    })
    .await;
    let results = app
        .get(&format!("/api/v1/journeys/{id}/versions/1/results"))
        .await;
    let results = results.expect(200);
    assert_eq!(results["delivered"].as_u64(), Some(PEOPLE as u64));
    let rows = common::recount::journey_version(app.data_dir(), &id, 1);
    common::recount::assert_agrees(results, &rows, "rate-limited journey");
    app.stop().await;
}
