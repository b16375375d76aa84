//! Over HTTP, across restarts: what one server wrote, the next one on the same data dir
//! serves; and the first start without an admin token makes one, once.

mod common;

use common::*;
use serde_json::{Value, json};

async fn snapshot(api: &Api, paths: &[String]) -> Vec<Value> {
    let mut out = Vec::new();
    for path in paths {
        let r = api.get(path).await;
        out.push(r.expect(200).clone());
    }
    out
}

#[tokio::test]
async fn everything_survives_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = start_in(dir.path(), &Options::default()).await;
    app.put(
        "/api/v1/profiles/ann",
        json!({"attributes": {"first_name": "Ann", "age": 42}, "consent": {"email": false}}),
    )
    .await
    .expect(201);
    let setup = app.setup().await;
    let viewer_token = app.token("viewer").await;
    let editor_token = app.token("editor").await;

    // a recurring campaign with a live version and a draft, an aborted one, a draft one.
    let recurring_id = app.active_campaign(&setup, recurring()).await;
    app.post_empty(&format!("/api/v1/campaigns/{recurring_id}/modify"))
        .await
        .expect(200);
    let aborted = app.active_campaign(&setup, immediate()).await;
    app.post(
        &format!("/api/v1/campaigns/{aborted}/abort"),
        json!({"reason": "oops"}),
    )
    .await
    .expect(200);
    let draft = id_of(&app.campaign(&setup, "Later", once_later()).await);
    // a journey with someone inside, a closed-and-finished one, a stopped one.
    let live = app
        .live_event_journey(&setup, "signed_up", json!({"mode": "never"}))
        .await;
    app.event("bob", "signed_up").await;
    let finished = app
        .live_event_journey(&setup, "other", json!({"mode": "never"}))
        .await;
    app.post_empty(&format!("/api/v1/journeys/{finished}/versions/1/close"))
        .await
        .expect(200);
    app.post_empty(&format!("/api/v1/journeys/{live}/versions"))
        .await
        .expect(201);
    app.put(
        "/api/v1/settings",
        json!({"notification_webhook_url": "http://127.0.0.1:9/n"}),
    )
    .await
    .expect(200);
    let read = id_of(&app.notifications("").await[0]);
    app.post_empty(&format!("/api/v1/notifications/{read}/read"))
        .await
        .expect(200);
    app.advance("PT2H").await;

    let paths: Vec<String> = [
        "/api/v1/profiles/ann".to_owned(),
        "/api/v1/profiles/bob".to_owned(),
        "/api/v1/profiles".to_owned(),
        format!("/api/v1/audiences/{}", setup.audience),
        format!("/api/v1/channels/{}", setup.channel),
        format!("/api/v1/templates/{}", setup.template),
        "/api/v1/campaigns".to_owned(),
        format!("/api/v1/campaigns/{recurring_id}/versions"),
        format!("/api/v1/campaigns/{aborted}"),
        format!("/api/v1/campaigns/{draft}"),
        format!("/api/v1/campaigns/{recurring_id}/occurrences"),
        "/api/v1/journeys".to_owned(),
        format!("/api/v1/journeys/{live}/versions/1"),
        format!("/api/v1/journeys/{live}/versions/1/profiles?state=active"),
        format!("/api/v1/journeys/{live}/versions/1/results"),
        "/api/v1/audit?limit=1000".to_owned(),
        "/api/v1/notifications".to_owned(),
        "/api/v1/settings".to_owned(),
    ]
    .into();
    let before = snapshot(&app, &paths).await;
    app.stop().await;

    let app = start_in(dir.path(), &Options::default()).await;
    let after = snapshot(&app, &paths).await;
    for ((path, a), b) in paths.iter().zip(&before).zip(&after) {
        assert_eq!(a, b, "{path} changed across the restart");
    }
    // spot checks that the snapshot held what it should.
    assert_eq!(after[0]["attributes"]["age"], 42);
    assert_eq!(after[0]["consent"], json!({"email": false}));
    let versions: Vec<&str> = after[7]
        .as_array()
        .expect("versions")
        .iter()
        .map(|v| v["state"].as_str().expect("state"))
        .collect();
    assert_eq!(versions, ["live", "draft"]);
    assert_eq!(after[8]["status"], "aborted");
    assert_eq!(after[9]["status"], "draft");
    assert_eq!(after[13]["items"][0]["profile_id"], "bob");
    assert!(
        after[15]["items"]
            .as_array()
            .expect("audit")
            .iter()
            .any(|e| e["action"] == "abort" && e["reason"] == "oops")
    );
    let notes = after[16]["items"].as_array().expect("notifications");
    assert!(notes.iter().any(|n| n["kind"] == "finished"), "{notes:?}");
    assert!(notes.iter().any(|n| n["read"] == true), "{notes:?}");

    // tokens made through the API still work, with their roles.
    app.as_token(&viewer_token)
        .get("/api/v1/campaigns")
        .await
        .expect(200);
    assert_problem(
        &app.as_token(&viewer_token)
            .put("/api/v1/profiles/x", json!({"attributes": {}}))
            .await,
        403,
    );
    app.as_token(&editor_token)
        .put_profile("x", json!({}))
        .await;
    // lifecycle state carries on: the draft of v2 can be activated, the live journey admits.
    let r = app
        .post_empty(&format!("/api/v1/campaigns/{recurring_id}/activate"))
        .await;
    assert_eq!(r.expect(200)["live_version"], 2);
    app.event("cy", "signed_up").await;
    assert_eq!(app.active_in(&live, 1).await, ["bob", "cy"]);
    app.stop().await;
}

#[tokio::test]
async fn the_first_start_without_an_admin_token_writes_one_and_only_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let options = Options {
        admin_token: None,
        ..Options::default()
    };
    let app = start_in(dir.path(), &options).await;
    let file = dir.path().join("admin-token");
    let token = std::fs::read_to_string(&file).expect("<data-dir>/admin-token was written");
    let token = token.trim().to_owned();
    assert!(!token.is_empty());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the token file is private: {mode:o}");
    }
    assert_problem(&app.get("/api/v1/profiles").await, 401);
    let admin = app.as_token(&token);
    admin.inbox_channel().await;
    admin.token("viewer").await;
    app.stop().await;

    // a second start finds the admin and makes no other.
    std::fs::remove_file(&file).expect("remove the token file");
    let app = start_in(dir.path(), &options).await;
    assert!(!file.exists(), "a second start created another admin token");
    let admin = app.as_token(&token);
    let r = admin.get("/api/v1/channels").await;
    assert_eq!(r.expect(200)["items"].as_array().expect("items").len(), 1);
    admin.put_profile("p1", json!({})).await;
    app.stop().await;
}

#[tokio::test]
async fn an_admin_token_setting_is_accepted_beside_stored_tokens() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = start_in(dir.path(), &Options::default()).await;
    assert!(
        !dir.path().join("admin-token").exists(),
        "no token file when one is configured"
    );
    let stored = app.token("admin").await;
    app.stop().await;
    let app = start_in(
        dir.path(),
        &Options {
            admin_token: Some("another-admin".into()),
            ..Options::default()
        },
    )
    .await;
    app.as_token("another-admin").inbox_channel().await;
    app.as_token(&stored).inbox_channel().await;
    assert_problem(&app.as_token(ADMIN).get("/api/v1/channels").await, 401);
    app.stop().await;
}
