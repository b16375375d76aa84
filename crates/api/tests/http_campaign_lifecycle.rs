//! Over HTTP: the campaign lifecycle C1–C9 (PRODUCT.md) and every 409 it gives. The brakes'
//! summaries, notifications and audit entries are in `http_brakes.rs`.

mod common;

use common::*;
use serde_json::{Value, json};

async fn command(app: &TestApp, id: &str, action: &str) -> Resp {
    app.post_empty(&format!("/api/v1/campaigns/{id}/{action}"))
        .await
}

async fn campaign(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/api/v1/campaigns/{id}"))
        .await
        .expect(200)
        .clone()
}

async fn version_states(app: &TestApp, id: &str) -> Vec<(u64, String)> {
    let r = app.get(&format!("/api/v1/campaigns/{id}/versions")).await;
    r.expect(200)
        .as_array()
        .expect("versions")
        .iter()
        .map(|v| {
            (
                v["version"].as_u64().expect("n"),
                v["state"].as_str().expect("state").to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn c1_a_draft_can_be_edited_and_deleted() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let id = id_of(&app.campaign(&setup, "Draft", immediate()).await);
    let r = app
        .put(
            &format!("/api/v1/campaigns/{id}/draft"),
            setup.campaign_body("Renamed", once_later()),
        )
        .await;
    assert_eq!(r.expect(200)["name"], "Renamed");
    let r = app.delete(&format!("/api/v1/campaigns/{id}")).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_problem(&app.get(&format!("/api/v1/campaigns/{id}")).await, 404);
    assert_problem(&app.delete(&format!("/api/v1/campaigns/{id}")).await, 404);
    assert_problem(&command(&app, &id, "activate").await, 404);
}

#[tokio::test]
async fn c2_activate_makes_it_live_or_scheduled() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let cases = [
        (immediate(), "live", vec!["abort", "duplicate"]),
        (once_later(), "scheduled", vec!["abort", "duplicate"]),
        (
            recurring(),
            "scheduled",
            vec!["modify", "stop", "abort", "duplicate"],
        ),
        (
            json!({"type": "api"}),
            "live",
            vec!["abort", "trigger", "duplicate"],
        ),
    ];
    for (schedule, status, allowed) in cases {
        let id = id_of(&app.campaign(&setup, "c", schedule.clone()).await);
        let r = command(&app, &id, "activate").await;
        let c = r.expect(200);
        assert_eq!(c["status"], status, "{schedule}: {}", r.text);
        assert_eq!(c["live_version"], 1);
        assert_eq!(c["draft_version"], Value::Null);
        let r = app.get(&format!("/api/v1/campaigns/{id}/versions/1")).await;
        let v = r.expect(200);
        assert_eq!(v["state"], "live");
        assert_eq!(v["activated_at"], NOW);
        // activating twice is refused, naming the status and what it allows.
        assert_refused(&command(&app, &id, "activate").await, status, &allowed);
        assert_eq!(campaign(&app, &id).await["status"], status);
    }
}

#[tokio::test]
async fn c2_activation_validates_what_the_draft_references_as_of_now() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let at_soon = json!({"type": "once", "at": "2026-01-01T06:00:00Z"});
    let id = id_of(&app.campaign(&setup, "Soon", at_soon).await);
    app.advance("PT7H").await;
    let r = command(&app, &id, "activate").await;
    assert_invalid(&r, "schedule.at");
    assert_eq!(
        campaign(&app, &id).await["status"],
        "draft",
        "a failed call changes nothing"
    );

    let id = id_of(&app.campaign(&setup, "Orphan", immediate()).await);
    let r = app
        .delete(&format!("/api/v1/templates/{}", setup.template))
        .await;
    assert_eq!(
        r.status, 204,
        "a template used only by drafts can go: {}",
        r.text
    );
    let r = command(&app, &id, "activate").await;
    assert_invalid(&r, "template_id");
    assert_eq!(campaign(&app, &id).await["status"], "draft");
    assert_problem(&command(&app, "cmp_missing", "activate").await, 404);
}

#[tokio::test]
async fn c3_modify_makes_draft_n_plus_1_of_a_recurring_campaign_only() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let id = app.active_campaign(&setup, recurring()).await;
    let r = command(&app, &id, "modify").await;
    let c = r.expect(200);
    assert_eq!(c["status"], "scheduled");
    assert_eq!(c["live_version"], 1);
    assert_eq!(
        c["draft_version"], 2,
        "the list can mark a live campaign with a draft"
    );
    assert_eq!(
        version_states(&app, &id).await,
        [(1, "live".into()), (2, "draft".into())]
    );
    let r = app.get(&format!("/api/v1/campaigns/{id}/versions/2")).await;
    assert_eq!(
        r.expect(200)["schedule"],
        recurring(),
        "a copy of the live one"
    );
    let r = app.get("/api/v1/campaigns?status=scheduled").await;
    assert_eq!(r.expect(200)["items"][0]["draft_version"], 2);

    // a second modify while the draft exists.
    assert_refused(
        &command(&app, &id, "modify").await,
        "scheduled",
        &["edit_draft", "activate", "stop", "abort", "duplicate"],
    );
    // the new version must stay recurring.
    let r = app
        .put(
            &format!("/api/v1/campaigns/{id}/draft"),
            setup.campaign_body("x", immediate()),
        )
        .await;
    assert_invalid(&r, "schedule.type");

    let one_time = app.active_campaign(&setup, immediate()).await;
    let r = command(&app, &one_time, "modify").await;
    assert_refused(&r, "live", &["abort", "duplicate"]);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("recurring"),
        "{}",
        r.text
    );
    let scheduled_once = app.active_campaign(&setup, once_later()).await;
    assert_refused(
        &command(&app, &scheduled_once, "modify").await,
        "scheduled",
        &["abort", "duplicate"],
    );
    let draft = id_of(&app.campaign(&setup, "d", recurring()).await);
    assert_refused(
        &command(&app, &draft, "modify").await,
        "draft",
        &["edit_draft", "delete", "activate", "duplicate"],
    );
    assert_eq!(version_states(&app, &one_time).await, [(1, "live".into())]);
}

#[tokio::test]
async fn c4_activating_the_draft_replaces_the_live_version() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let id = app.active_campaign(&setup, recurring()).await;
    command(&app, &id, "modify").await.expect(200);
    let evenings = json!({"type": "recurring", "cron": "0 18 * * *", "timezone": "Europe/Berlin"});
    app.put(
        &format!("/api/v1/campaigns/{id}/draft"),
        setup.campaign_body("Evenings", evenings.clone()),
    )
    .await
    .expect(200);
    assert_eq!(
        app.get(&format!("/api/v1/campaigns/{id}/versions/1"))
            .await
            .expect(200)["schedule"],
        recurring(),
        "the live version is untouched by draft edits"
    );
    let r = command(&app, &id, "activate").await;
    let c = r.expect(200);
    assert_eq!(c["status"], "scheduled");
    assert_eq!(c["live_version"], 2);
    assert_eq!(c["draft_version"], Value::Null);
    assert_eq!(c["name"], "Evenings");
    assert_eq!(
        version_states(&app, &id).await,
        [(1, "superseded".into()), (2, "live".into())]
    );
    // the next occurrence uses version 2; the one planned for version 1 will not run.
    let r = app
        .get(&format!("/api/v1/campaigns/{id}/occurrences"))
        .await;
    let runs: Vec<(Value, Value, Value)> = r.expect(200)["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|o| {
            (
                o["version"].clone(),
                o["state"].clone(),
                o["scheduled_for"].clone(),
            )
        })
        .collect();
    assert_eq!(
        runs,
        [
            (json!(1), json!("cancelled"), json!("2026-01-01T08:00:00Z")),
            (json!(2), json!("pending"), json!("2026-01-01T17:00:00Z")),
        ],
        "{}",
        r.text
    );
}

#[tokio::test]
async fn c5_stop_ends_a_recurring_campaign_for_good() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let id = app.active_campaign(&setup, recurring()).await;
    let r = command(&app, &id, "stop").await;
    assert_eq!(r.expect(200)["status"], "stopped", "{}", r.text);
    assert_eq!(campaign(&app, &id).await["status"], "stopped");
    assert_eq!(version_states(&app, &id).await[0].1, "stopped");
    let r = app
        .get(&format!("/api/v1/campaigns/{id}/occurrences"))
        .await;
    assert_eq!(
        r.expect(200)["items"][0]["state"],
        "cancelled",
        "{}",
        r.text
    );
    for action in ["activate", "resume", "stop", "abort", "modify"] {
        assert_refused(&command(&app, &id, action).await, "stopped", &["duplicate"]);
    }
    // one-time campaigns cannot be stopped.
    let once = app.active_campaign(&setup, once_later()).await;
    assert_refused(
        &command(&app, &once, "stop").await,
        "scheduled",
        &["abort", "duplicate"],
    );
    let now = app.active_campaign(&setup, immediate()).await;
    assert_refused(
        &command(&app, &now, "stop").await,
        "live",
        &["abort", "duplicate"],
    );
    assert_eq!(campaign(&app, &now).await["status"], "live");
}

#[tokio::test]
async fn c6_abort_works_on_live_and_scheduled_campaigns_only() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    for schedule in [immediate(), once_later(), recurring()] {
        let id = app.active_campaign(&setup, schedule.clone()).await;
        let r = command(&app, &id, "abort").await;
        assert_eq!(r.expect(200)["status"], "aborted", "{schedule}: {}", r.text);
        assert_eq!(campaign(&app, &id).await["status"], "aborted");
        let r = app
            .get(&format!("/api/v1/campaigns/{id}/occurrences"))
            .await;
        assert_eq!(
            r.expect(200)["items"][0]["state"],
            "cancelled",
            "{}",
            r.text
        );
        for action in ["abort", "activate", "stop", "resume"] {
            assert_refused(&command(&app, &id, action).await, "aborted", &["duplicate"]);
        }
    }
    let draft = id_of(&app.campaign(&setup, "d", immediate()).await);
    assert_refused(
        &command(&app, &draft, "abort").await,
        "draft",
        &["edit_draft", "delete", "activate", "duplicate"],
    );
    assert_problem(&command(&app, "cmp_missing", "abort").await, 404);
}

#[tokio::test]
async fn c7_only_inbound_campaigns_pause_and_resume() {
    let app = spawn_app().await;
    let inbox = app.inbox_setup().await;
    let id = app.active_campaign(&inbox, immediate()).await;
    assert_eq!(campaign(&app, &id).await["status"], "live");
    let r = command(&app, &id, "pause").await;
    assert_eq!(r.expect(200)["status"], "paused");
    assert_refused(
        &command(&app, &id, "pause").await,
        "paused",
        &["abort", "resume", "duplicate"],
    );
    let r = command(&app, &id, "resume").await;
    assert_eq!(r.expect(200)["status"], "live");
    assert_refused(
        &command(&app, &id, "resume").await,
        "live",
        &["abort", "pause", "duplicate"],
    );

    let setup = app.setup().await;
    let hook = app.active_campaign(&setup, immediate()).await;
    let r = command(&app, &hook, "pause").await;
    assert_refused(&r, "live", &["abort", "duplicate"]);
    assert!(
        r.body["detail"].as_str().unwrap_or("").contains("inbound"),
        "{}",
        r.text
    );
    let rec = app.active_campaign(&setup, recurring()).await;
    assert_refused(
        &command(&app, &rec, "pause").await,
        "scheduled",
        &["modify", "stop", "abort", "duplicate"],
    );
}

#[tokio::test]
async fn c8_duplicate_copies_the_latest_version_of_any_campaign() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let draft = id_of(&app.campaign(&setup, "Draft one", once_later()).await);
    let aborted = app.active_campaign(&setup, immediate()).await;
    command(&app, &aborted, "abort").await.expect(200);
    let modified = app.active_campaign(&setup, recurring()).await;
    command(&app, &modified, "modify").await.expect(200);
    let evenings = json!({"type": "recurring", "cron": "0 18 * * *", "timezone": "Europe/Berlin"});
    app.put(
        &format!("/api/v1/campaigns/{modified}/draft"),
        setup.campaign_body("Spring sale", evenings.clone()),
    )
    .await
    .expect(200);

    for (source, name, schedule) in [
        (draft, "Draft one (copy)", once_later()),
        (aborted, "Spring sale (copy)", immediate()),
        (modified, "Spring sale (copy)", evenings),
    ] {
        let r = command(&app, &source, "duplicate").await;
        let copy = r.expect(201).clone();
        assert_ne!(id_of(&copy), source);
        assert_eq!(copy["name"], name, "{}", r.text);
        assert_eq!(copy["status"], "draft");
        assert_eq!(copy["draft_version"], 1);
        assert_eq!(copy["live_version"], Value::Null);
        let r = app
            .get(&format!("/api/v1/campaigns/{}/versions", id_of(&copy)))
            .await;
        let versions = r.expect(200).as_array().expect("versions").clone();
        assert_eq!(versions.len(), 1, "{}", r.text);
        assert_eq!(versions[0]["schedule"], schedule);
        assert_eq!(versions[0]["audience_id"], setup.audience.as_str());
    }
    assert_problem(&command(&app, "cmp_missing", "duplicate").await, 404);
}

#[tokio::test]
async fn c9_only_a_never_activated_campaign_can_be_deleted() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let live = app.active_campaign(&setup, immediate()).await;
    let r = app.delete(&format!("/api/v1/campaigns/{live}")).await;
    assert_refused(&r, "live", &["abort", "duplicate"]);
    command(&app, &live, "abort").await.expect(200);
    let r = app.delete(&format!("/api/v1/campaigns/{live}")).await;
    assert_refused(&r, "aborted", &["duplicate"]);
    assert_eq!(campaign(&app, &live).await["status"], "aborted");
}

#[tokio::test]
async fn lifecycle_bodies_take_only_an_optional_reason() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let id = id_of(&app.campaign(&setup, "c", recurring()).await);
    let r = app
        .post(
            &format!("/api/v1/campaigns/{id}/activate"),
            json!({"reason": 5}),
        )
        .await;
    assert_invalid(&r, "reason");
    let r = app
        .post(
            &format!("/api/v1/campaigns/{id}/activate"),
            json!({"reasn": "x"}),
        )
        .await;
    assert_invalid(&r, "reasn");
    assert_eq!(campaign(&app, &id).await["status"], "draft");
    let r = app
        .post(
            &format!("/api/v1/campaigns/{id}/activate"),
            json!({"reason": "go"}),
        )
        .await;
    assert_eq!(r.expect(200)["status"], "scheduled");
}

#[tokio::test]
async fn viewers_cannot_run_lifecycle_commands() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let id = app.active_campaign(&setup, immediate()).await;
    let viewer = app.as_token(&app.token("viewer").await);
    for action in ["abort", "duplicate"] {
        let r = viewer
            .post_empty(&format!("/api/v1/campaigns/{id}/{action}"))
            .await;
        assert_problem(&r, 403);
    }
    viewer
        .get(&format!("/api/v1/campaigns/{id}"))
        .await
        .expect(200);
    assert_eq!(campaign(&app, &id).await["status"], "live");
    let r = app.get("/api/v1/campaigns").await;
    assert_eq!(
        r.expect(200)["items"].as_array().expect("items").len(),
        1,
        "no duplicate was made"
    );
}
