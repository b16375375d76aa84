//! B3: every lifecycle command given through the API leaves an audit entry whose `action` is
//! the command's name (as API.md and the 409s' `allowed_actions` name it), on the version it
//! concerned. A command that also changes another version says so in entries of their own,
//! named by what happened there (publishing closes the previous live version, J6; a closed
//! version nobody is inside finishes, J3). A duplicate's entry is the copy's first one.

mod common;

use reqwest::Method;
use serde_json::{Value, json};

use common::{Body, TestApp, id_of, immediate, once_later, recurring, spawn_app};

/// Entries of `subject` newer than the first `seen`, oldest first: (action, version).
async fn since(app: &TestApp, subject: &str, seen: &mut usize) -> Vec<(String, Option<u64>)> {
    let audit = app.audit(subject).await;
    let new = audit.len() - *seen;
    *seen = audit.len();
    audit[..new]
        .iter()
        .rev()
        .map(|e| {
            (
                e["action"].as_str().expect("action").to_owned(),
                e["subject"]["version"].as_u64(),
            )
        })
        .collect()
}

fn entry(action: &str, version: u64) -> (String, Option<u64>) {
    (action.to_owned(), Some(version))
}

#[tokio::test]
async fn campaign_commands_are_audited_by_their_names() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let id = id_of(&app.campaign(&setup, "Weekly", recurring()).await);
    let subject = format!("campaign:{id}");
    let mut seen = 0;
    assert_eq!(since(&app, &subject, &mut seen).await, [entry("create", 1)]);

    let mut command = async |path: &str, version: u64, action: &str| {
        let r = if path == "draft" {
            app.put(
                &format!("/api/v1/campaigns/{id}/draft"),
                setup.campaign_body("Weekly", recurring()),
            )
            .await
        } else {
            app.post_empty(&format!("/api/v1/campaigns/{id}/{path}"))
                .await
        };
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        assert_eq!(
            since(&app, &subject, &mut seen).await,
            [entry(action, version)],
            "{path}"
        );
    };
    command("draft", 1, "edit_draft").await;
    command("activate", 1, "activate").await;
    command("modify", 2, "modify").await;
    command("draft", 2, "edit_draft").await;
    command("activate", 2, "activate").await;
    command("stop", 2, "stop").await;
    let r = app
        .post_empty(&format!("/api/v1/campaigns/{id}/duplicate"))
        .await;
    let copy = id_of(r.expect(201));
    assert_eq!(
        since(&app, &format!("campaign:{copy}"), &mut 0).await,
        [entry("duplicate", 1)]
    );

    let once = app.active_campaign(&setup, once_later()).await;
    let r = app
        .post_empty(&format!("/api/v1/campaigns/{once}/abort"))
        .await;
    r.expect(200);
    let actions: Vec<Value> = app
        .audit(&format!("campaign:{once}"))
        .await
        .iter()
        .map(|e| e["action"].clone())
        .collect();
    assert_eq!(actions, ["abort", "activate", "create"]);

    let inbox = app.inbox_setup().await;
    let served = app.active_campaign(&inbox, immediate()).await;
    for action in ["pause", "resume"] {
        app.post_empty(&format!("/api/v1/campaigns/{served}/{action}"))
            .await
            .expect(200);
    }
    let actions: Vec<Value> = app
        .audit(&format!("campaign:{served}"))
        .await
        .iter()
        .map(|e| e["action"].clone())
        .collect();
    assert_eq!(actions, ["resume", "pause", "activate", "create"]);

    let draft = id_of(&app.campaign(&setup, "Never sent", immediate()).await);
    app.delete(&format!("/api/v1/campaigns/{draft}"))
        .await
        .expect(204);
    let actions: Vec<Value> = app
        .audit(&format!("campaign:{draft}"))
        .await
        .iter()
        .map(|e| e["action"].clone())
        .collect();
    assert_eq!(actions, ["delete", "create"]);
}

fn journey_body(setup: &common::Setup) -> Value {
    json!({
        "name": "Welcome", "entry": {"type": "event", "event": "signed_up"},
        "reentry": {"mode": "never"}, "start": "welcome",
        "nodes": [
            {"id": "welcome", "type": "message", "channel_id": setup.channel,
             "template_id": setup.template, "next": "done"},
            {"id": "done", "type": "end"}
        ]
    })
}

#[tokio::test]
async fn journey_commands_are_audited_by_their_names() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let id = app.journey(journey_body(&setup)).await;
    let subject = format!("journey:{id}");
    let mut seen = 0;
    assert_eq!(since(&app, &subject, &mut seen).await, [entry("create", 1)]);
    let version = |n: u64, tail: &str| format!("/api/v1/journeys/{id}/versions/{n}{tail}");

    app.put(&version(1, ""), journey_body(&setup))
        .await
        .expect(200);
    assert_eq!(since(&app, &subject, &mut seen).await, [entry("edit", 1)]);
    app.post_empty(&version(1, "/publish")).await.expect(200);
    assert_eq!(
        since(&app, &subject, &mut seen).await,
        [entry("publish", 1)]
    );

    let r = app
        .post_empty(&format!("/api/v1/journeys/{id}/versions"))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        since(&app, &subject, &mut seen).await,
        [entry("new_version", 2)],
        "a new version is not an edit"
    );
    // Publishing version 2 closes version 1 (J6), which nobody is inside: it finishes (J3).
    app.post_empty(&version(2, "/publish")).await.expect(200);
    assert_eq!(
        since(&app, &subject, &mut seen).await,
        [entry("publish", 2), entry("close", 1), entry("finish", 1)]
    );

    app.event("ann", "signed_up").await;
    app.event("bob", "signed_up").await;
    let r = app
        .call(
            Method::DELETE,
            &version(2, "/profiles/ann"),
            Body::Json(json!({"reason": "asked"})),
        )
        .await;
    r.expect(200);
    assert_eq!(
        since(&app, &subject, &mut seen).await,
        [entry("remove_profile", 2)]
    );
    app.post_empty(&version(2, "/close")).await.expect(200);
    assert_eq!(since(&app, &subject, &mut seen).await, [entry("close", 2)]);
    app.post_empty(&version(2, "/stop")).await.expect(200);
    assert_eq!(since(&app, &subject, &mut seen).await, [entry("stop", 2)]);
    let r = app.post_empty(&version(2, "/duplicate")).await;
    let copy = id_of(r.expect(201));
    assert_eq!(
        since(&app, &format!("journey:{copy}"), &mut 0).await,
        [entry("duplicate", 1)]
    );

    let draft = app.journey(journey_body(&setup)).await;
    app.post_empty(&format!("/api/v1/journeys/{draft}/versions"))
        .await
        .expect(409);
    app.delete(&format!("/api/v1/journeys/{draft}"))
        .await
        .expect(204);
    let actions: Vec<Value> = app
        .audit(&format!("journey:{draft}"))
        .await
        .iter()
        .map(|e| e["action"].clone())
        .collect();
    assert_eq!(
        actions,
        ["delete", "create"],
        "a refused command leaves no entry"
    );
}
