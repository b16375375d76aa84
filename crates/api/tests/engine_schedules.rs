//! Schedules run by the engine on the manual test clock: recurring and one-time campaigns
//! (C2, C4, C5, C10) and inbound campaigns served from their time.
//!
//! "The engine has caught up" is observed, never slept for: see `engine_bench::Bench::settle`.

mod common;
mod engine_bench;

use common::id_of;
use engine_bench::*;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recurring_campaign_runs_on_the_clock_and_stop_cancels_the_next_occurrence() {
    let b = Bench::start(Mode::Ok).await;
    b.people(5).await;
    b.app.advance("PT1M").await; // 00:01: the first fire is 00:10
    let id = b.campaign(every_ten_minutes()).await;
    assert_eq!(b.activate(&id).await, "scheduled");
    b.advance("PT8M").await; // 00:09
    assert_eq!(b.hook.count(), 0, "nothing before the first fire time");
    assert_eq!(b.occurrences(&id).await[&1]["state"], "pending");
    b.app.advance("PT1M").await; // 00:10
    let first = async || b.occurrences(&id).await[&1]["state"] == "done";
    wait_for("the first occurrence", first).await;
    b.settle().await;
    let occ = b.occurrences(&id).await;
    assert_eq!(occ[&1]["delivered"], 5);
    assert_eq!(occ[&1]["scheduled_for"], "2026-01-01T00:10:00Z");
    assert_eq!(occ[&2]["state"], "pending");
    assert_eq!(occ[&2]["scheduled_for"], "2026-01-01T00:20:00Z");
    assert_eq!(b.hook.count(), 5);
    assert_eq!(b.status(&id).await, "live");

    assert_eq!(b.command(&id, "stop").await, "stopped");
    assert_eq!(b.occurrences(&id).await[&2]["state"], "cancelled");
    b.advance("PT1H").await;
    b.advance("P1D").await;
    assert_eq!(b.hook.count(), 5, "sent after stop");
    assert_eq!(b.occurrences(&id).await.len(), 2);
    assert_eq!(b.status(&id).await, "stopped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_once_campaign_waits_for_its_time() {
    // The first attempt fails, so the campaign is observably `live` until the retry.
    let b = Bench::start(Mode::FirstFails(503)).await;
    b.people(4).await;
    let id = b
        .campaign(json!({"type": "once", "at": "2026-01-01T01:00:00Z"}))
        .await;
    assert_eq!(b.activate(&id).await, "scheduled");
    b.advance("PT59M").await;
    assert_eq!(b.hook.count(), 0, "sent before its time");
    assert_eq!(b.status(&id).await, "scheduled");
    b.advance("PT1M").await;
    assert_eq!(b.hook.count(), 4);
    // The retry's back-off (at least 2 s of real time) has not passed yet.
    assert_eq!(b.status(&id).await, "live");
    wait_for("the retries", async || {
        b.results(&id).await["delivered"] == 4
    })
    .await;
    assert_eq!(b.hook.count(), 8);
    assert_eq!(b.status(&id).await, "completed");
}

/// C4: activating the draft replaces the live version; the next occurrence uses it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_occurrence_after_activating_a_modified_draft_uses_the_new_version() {
    let b = Bench::start(Mode::Ok).await;
    b.people(3).await;
    let id = b.campaign(every_ten_minutes()).await;
    b.activate(&id).await; // 00:00 is a fire time: occurrence 1 runs on version 1
    // Its sends settle at 00:00: a clock moved past their lease while they are still in
    // flight would let the second worker take them over and send them again.
    b.settle().await;
    b.advance("PT5M").await;
    assert_eq!(b.results(&id).await["delivered"], 3);
    let name = |r: &Value| r["profile_id"].as_str().unwrap().replace("gold", "Ann");
    for (_, r) in b.hook.requests() {
        assert_eq!(
            (&r["version"], &r["body"]),
            (&json!(1), &json!(format!("Hello {}", name(&r))))
        );
    }

    let r = b
        .post_empty(&format!("/api/v1/campaigns/{id}/modify"))
        .await;
    assert_eq!(r.expect(200)["draft_version"], 2, "{}", r.text);
    let template = b.template("webhook", "New {{ profile.first_name }}").await;
    let draft = json!({"channel_id": b.channel, "template_id": template, "audience_id": b.gold,
                       "schedule": every_ten_minutes()});
    b.put(&format!("/api/v1/campaigns/{id}/draft"), draft)
        .await
        .expect(200);
    assert_eq!(b.activate(&id).await, "live");
    b.settle().await;
    let occ = b.occurrences(&id).await;
    assert_eq!(
        occ[&2]["state"], "cancelled",
        "the pending occurrence of version 1: {occ:?}"
    );
    let next: Vec<&Value> = occ.values().filter(|o| o["state"] == "pending").collect();
    assert_eq!(next.len(), 1, "{occ:?}");
    assert_eq!(next[0]["version"], 2);
    assert_eq!(next[0]["scheduled_for"], "2026-01-01T00:10:00Z");
    assert_eq!(b.hook.count(), 3, "nothing sent on activation at 00:05");

    b.advance("PT5M").await; // 00:10
    assert_eq!(b.results(&id).await["delivered"], 6);
    let new = &b.hook.requests()[3..];
    assert_eq!(new.len(), 3);
    for (_, r) in new {
        assert_eq!(
            (&r["version"], &r["body"]),
            (&json!(2), &json!(format!("New {}", name(r))))
        );
    }
    let versions = b.get(&format!("/api/v1/campaigns/{id}/versions")).await;
    let versions = versions.expect(200).as_array().unwrap().clone();
    let states: Vec<&Value> = versions.iter().map(|v| &v["state"]).collect();
    assert_eq!(states, ["superseded", "live"]);
}

/// C4 at a fire time that has just run: the new version takes the *next* occurrence; the slot
/// that ran on the old version is not run again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activating_a_new_version_at_a_fire_time_that_already_ran_does_not_run_it_again() {
    let b = Bench::start(Mode::Ok).await;
    b.people(3).await;
    let id = b.campaign(every_ten_minutes()).await;
    b.activate(&id).await; // occurrence 1 for 00:00 runs now
    b.settle().await;
    assert_eq!(b.hook.count(), 3);
    b.post_empty(&format!("/api/v1/campaigns/{id}/modify"))
        .await
        .expect(200);
    b.activate(&id).await; // still 00:00
    b.settle().await;
    let occ = b.occurrences(&id).await;
    let at_zero: Vec<&Value> = occ
        .values()
        .filter(|o| o["scheduled_for"] == "2026-01-01T00:00:00Z")
        .collect();
    assert_eq!(
        at_zero.len(),
        1,
        "the 00:00 slot was planned twice: {at_zero:?}"
    );
    assert_eq!(b.hook.count(), 3, "everybody got the 00:00 message twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inbound_campaign_at_a_later_time_is_served_from_that_time() {
    let b = Bench::start(Mode::Ok).await;
    let setup = b.inbox_setup().await;
    b.put_profile("p1", json!({"first_name": "Ann"})).await;
    let once = json!({"type": "once", "at": "2026-01-01T01:00:00Z"});
    let id = id_of(&b.app.campaign(&setup, "Banner", once).await);
    assert_eq!(b.activate(&id).await, "scheduled");
    let inbox = async || {
        let r = b.get("/api/v1/inbox/p1").await;
        r.expect(200)["items"].as_array().unwrap().clone()
    };
    assert!(inbox().await.is_empty(), "served before its time");
    b.advance("PT1H").await;
    assert_eq!(
        b.status(&id).await,
        "live",
        "an inbound campaign stays live once its time came"
    );
    let items = inbox().await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(
        (&items[0]["campaign_id"], &items[0]["body"]),
        (&json!(id), &json!("Hello Ann"))
    );
}

/// C5: stop cancels the next occurrence, but the one in progress runs to its end. 600 members
/// are more than one claimed batch; the receiver holds the first batch until stop has returned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_lets_the_occurrence_in_progress_run_to_its_end() {
    let b = Bench::start(Mode::Ok).await;
    b.people(600).await;
    let id = b.campaign(every_ten_minutes()).await;
    b.hook.gate.send_replace(false);
    b.activate(&id).await; // 00:00 is a fire time: occurrence 1 starts now
    wait_for("the first deliveries", async || b.hook.count() > 0).await;
    assert_eq!(b.command(&id, "stop").await, "stopped");
    b.hook.gate.send_replace(true);
    let ended = async || b.occurrences(&id).await[&1]["state"] != "running";
    wait_for("occurrence 1 to end", ended).await;
    b.settle().await;
    let occ = b.occurrences(&id).await;
    assert_eq!(occ[&1]["state"], "done", "{occ:?}");
    let r = b.results(&id).await;
    assert_eq!(
        counts(&r, ["delivered", "cancelled"]),
        [600, 0],
        "cut short: {r}"
    );
    assert_eq!(b.hook.by_key().len(), 600);
}
