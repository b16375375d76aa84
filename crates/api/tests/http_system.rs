//! Over HTTP: /healthz, /metrics, the OpenAPI document, auth and roles, tokens, settings, the
//! test clock, and the generic failures (unknown paths, malformed JSON, wrong content type,
//! bodies over the limits).

mod common;

use common::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn healthz_answers_ok_without_a_token() {
    let app = spawn_app().await;
    let r = app.anonymous().get("/healthz").await;
    assert_eq!(r.expect(200), &json!({"status": "ok"}));
}

#[tokio::test]
async fn metrics_are_prometheus_text_with_request_counts() {
    let app = spawn_app().await;
    app.get("/api/v1/profiles").await.expect(200);
    let r = app.anonymous().get("/metrics").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.content_type().starts_with("text/plain"),
        "{}",
        r.content_type()
    );
    assert!(r.text.contains("sluice_http_requests_total"), "{}", r.text);
    assert!(
        r.text.contains("# TYPE sluice_http_requests_total counter"),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn metrics_can_be_served_elsewhere() {
    let app = spawn_with(Options {
        with_metrics: false,
        ..Options::default()
    })
    .await;
    // Not served here: the path is the web UI's, which has no such page.
    let r = app.anonymous().get("/metrics").await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert!(!r.text.contains("sluice_http_requests_total"), "{}", r.text);
    app.get("/healthz").await.expect(200);
}

/// Every path of API.md, as the OpenAPI document should name it.
const CONTRACT_PATHS: &[&str] = &[
    "/api/v1/tokens",
    "/api/v1/test/clock",
    "/api/v1/profiles",
    "/api/v1/profiles/{profile_id}",
    "/api/v1/profiles/import",
    "/api/v1/events",
    "/api/v1/audiences",
    "/api/v1/audiences/{id}",
    "/api/v1/audiences/{id}/count",
    "/api/v1/channels",
    "/api/v1/templates",
    "/api/v1/templates/{id}/preview",
    "/api/v1/campaigns",
    "/api/v1/campaigns/{id}",
    "/api/v1/campaigns/{id}/versions",
    "/api/v1/campaigns/{id}/versions/{n}",
    "/api/v1/campaigns/{id}/draft",
    "/api/v1/campaigns/{id}/activate",
    "/api/v1/campaigns/{id}/modify",
    "/api/v1/campaigns/{id}/stop",
    "/api/v1/campaigns/{id}/abort",
    "/api/v1/campaigns/{id}/pause",
    "/api/v1/campaigns/{id}/resume",
    "/api/v1/campaigns/{id}/duplicate",
    "/api/v1/campaigns/{id}/trigger",
    "/api/v1/campaigns/{id}/occurrences",
    "/api/v1/campaigns/{id}/results",
    "/api/v1/campaigns/{id}/results/actions",
    "/api/v1/inbox/{profile_id}",
    "/api/v1/journeys",
    "/api/v1/journeys/{id}",
    "/api/v1/journeys/{id}/versions",
    "/api/v1/journeys/{id}/versions/{n}",
    "/api/v1/journeys/{id}/versions/{n}/publish",
    "/api/v1/journeys/{id}/versions/{n}/close",
    "/api/v1/journeys/{id}/versions/{n}/stop",
    "/api/v1/journeys/{id}/versions/{n}/duplicate",
    "/api/v1/journeys/{id}/versions/{n}/profiles",
    "/api/v1/journeys/{id}/versions/{n}/profiles/{profile_id}",
    "/api/v1/journeys/{id}/versions/{n}/results",
    "/api/v1/journeys/{id}/versions/{n}/results/actions",
    "/api/v1/notifications",
    "/api/v1/notifications/{id}/read",
    "/api/v1/settings",
    "/api/v1/audit",
];

#[tokio::test]
async fn openapi_is_3_1_without_a_token_and_documents_every_contract_path() {
    let app = spawn_app().await;
    let r = app.anonymous().get("/api/v1/openapi.json").await;
    let doc = r.expect(200);
    let version = doc["openapi"].as_str().expect("openapi version");
    assert!(version.starts_with("3.1."), "openapi {version}");
    let paths = doc["paths"].as_object().expect("paths");
    let abort = &paths["/api/v1/campaigns/{id}/abort"];
    assert!(abort["post"].is_object(), "abort is a POST: {abort}");
    let missing: Vec<&str> = CONTRACT_PATHS
        .iter()
        .copied()
        .filter(|p| !paths.contains_key(*p))
        .collect();
    assert!(
        missing.is_empty(),
        "API.md paths missing from openapi.json: {missing:?}"
    );
}

#[tokio::test]
async fn a_missing_or_unknown_token_is_401() {
    let app = spawn_app().await;
    let r = app.anonymous().get("/api/v1/profiles").await;
    assert_problem(&r, 401);
    let r = app.as_token("not-a-token").get("/api/v1/profiles").await;
    assert_problem(&r, 401);
    let r = app
        .anonymous()
        .call_with(
            Method::GET,
            "/api/v1/profiles",
            &[("authorization", "Basic dGVzdDp0ZXN0")],
            Body::None,
        )
        .await;
    assert_problem(&r, 401);
    // A write without a token changes nothing.
    let r = app
        .anonymous()
        .put("/api/v1/profiles/p1", json!({"attributes": {}}))
        .await;
    assert_problem(&r, 401);
    assert_problem(&app.get("/api/v1/profiles/p1").await, 404);
}

#[tokio::test]
async fn tokens_carry_roles_viewer_reads_editor_writes_admin_administers() {
    let app = spawn_app().await;
    let r = app
        .post("/api/v1/tokens", json!({"name": "ci", "role": "viewer"}))
        .await;
    let created = r.expect(201);
    assert!(
        created["id"].as_str().is_some_and(|s| !s.is_empty()),
        "{}",
        r.text
    );
    let viewer = app.as_token(created["token"].as_str().expect("token"));
    let editor = app.as_token(&app.token("editor").await);
    let admin = app.as_token(&app.token("admin").await);

    // viewer: reads yes, writes no.
    viewer.get("/api/v1/profiles").await.expect(200);
    viewer.get("/api/v1/campaigns").await.expect(200);
    let r = viewer
        .put("/api/v1/profiles/p1", json!({"attributes": {}}))
        .await;
    assert_problem(&r, 403);
    let r = viewer
        .post("/api/v1/events", json!({"profile_id": "p1", "name": "x"}))
        .await;
    assert_problem(&r, 403);
    let r = viewer.delete("/api/v1/profiles/p1").await;
    assert_problem(&r, 403);
    assert_problem(&app.get("/api/v1/profiles/p1").await, 404);

    // editor: profiles, audiences, templates yes; channels, tokens, settings no.
    editor.put_profile("p1", json!({"a": 1})).await;
    editor.audience(json!({"all": []})).await;
    editor.template("webhook", "x").await;
    let r = editor
        .post(
            "/api/v1/channels",
            json!({"name": "c", "type": "inbox", "config": {}}),
        )
        .await;
    assert_problem(&r, 403);
    let r = editor
        .post("/api/v1/tokens", json!({"name": "x", "role": "admin"}))
        .await;
    assert_problem(&r, 403);
    let r = editor
        .put(
            "/api/v1/settings",
            json!({"notification_webhook_url": "http://127.0.0.1:9/n"}),
        )
        .await;
    assert_problem(&r, 403);
    let channel = app.inbox_channel().await;
    let r = editor.delete(&format!("/api/v1/channels/{channel}")).await;
    assert_problem(&r, 403);
    app.get(&format!("/api/v1/channels/{channel}"))
        .await
        .expect(200);
    let r = app.get("/api/v1/settings").await;
    assert_eq!(
        r.expect(200)["notification_webhook_url"],
        json!(null),
        "{}",
        r.text
    );

    // a token made by a token-made admin works too.
    admin.inbox_channel().await;
    let r = admin
        .post("/api/v1/tokens", json!({"name": "x", "role": "editor"}))
        .await;
    r.expect(201);
}

#[tokio::test]
async fn token_creation_validates_its_body() {
    let app = spawn_app().await;
    let r = app
        .post("/api/v1/tokens", json!({"name": "x", "role": "superuser"}))
        .await;
    assert_invalid(&r, "role");
    let r = app.post("/api/v1/tokens", json!({"name": "x"})).await;
    assert_invalid(&r, "role");
    let r = app
        .post("/api/v1/tokens", json!({"name": "", "role": "viewer"}))
        .await;
    assert_invalid(&r, "name");
}

#[tokio::test]
async fn settings_put_and_get_for_admins() {
    let app = spawn_app().await;
    let url = "http://127.0.0.1:9/notify";
    let r = app
        .put("/api/v1/settings", json!({"notification_webhook_url": url}))
        .await;
    assert_eq!(r.expect(200)["notification_webhook_url"], url);
    let r = app.get("/api/v1/settings").await;
    assert_eq!(r.expect(200)["notification_webhook_url"], url);
    let r = app
        .put(
            "/api/v1/settings",
            json!({"notification_webhook_url": "ftp://x"}),
        )
        .await;
    assert_invalid(&r, "notification_webhook_url");
    let r = app
        .put("/api/v1/settings", json!({"notification_webhok_url": url}))
        .await;
    assert_invalid(&r, "notification_webhok_url");
    // failed calls changed nothing; null clears.
    let r = app.get("/api/v1/settings").await;
    assert_eq!(r.expect(200)["notification_webhook_url"], url);
    let r = app
        .put(
            "/api/v1/settings",
            json!({"notification_webhook_url": null}),
        )
        .await;
    r.expect(200);
    let r = app.get("/api/v1/settings").await;
    assert_eq!(r.expect(200)["notification_webhook_url"], json!(null));
}

#[tokio::test]
async fn test_clock_reads_advances_and_sets_but_never_goes_back() {
    let app = spawn_app().await;
    let r = app.get("/api/v1/test/clock").await;
    assert_eq!(r.expect(200)["now"], NOW);
    assert_eq!(app.advance("PT1H").await, "2026-01-01T01:00:00Z");
    assert_eq!(app.advance("P1D").await, "2026-01-02T01:00:00Z");
    let r = app
        .post("/api/v1/test/clock", json!({"set": "2026-02-01T12:00:00Z"}))
        .await;
    assert_eq!(r.expect(200)["now"], "2026-02-01T12:00:00Z");
    let r = app
        .post("/api/v1/test/clock", json!({"set": "2026-01-15T00:00:00Z"}))
        .await;
    assert_invalid(&r, "set");
    let r = app
        .post("/api/v1/test/clock", json!({"advance": "soon"}))
        .await;
    assert_invalid(&r, "advance");
    let r = app
        .post("/api/v1/test/clock", json!({"set": "yesterday"}))
        .await;
    assert_invalid(&r, "set");
    let r = app
        .post(
            "/api/v1/test/clock",
            json!({"advance": "PT1H", "set": "2026-03-01T00:00:00Z"}),
        )
        .await;
    assert_problem(&r, 422);
    let r = app.post("/api/v1/test/clock", json!({})).await;
    assert_problem(&r, 422);
    // none of the refused moves moved it.
    let r = app.get("/api/v1/test/clock").await;
    assert_eq!(r.expect(200)["now"], "2026-02-01T12:00:00Z");
    // the clock is what the API stamps records with.
    let r = app
        .put("/api/v1/profiles/p1", json!({"attributes": {}}))
        .await;
    assert_eq!(r.expect(201)["created_at"], "2026-02-01T12:00:00Z");
}

#[tokio::test]
async fn without_a_test_clock_the_clock_paths_are_404() {
    let app = spawn_with(Options {
        test_clock: false,
        ..Options::default()
    })
    .await;
    assert_problem(&app.get("/api/v1/test/clock").await, 404);
    let r = app
        .post("/api/v1/test/clock", json!({"advance": "PT1H"}))
        .await;
    assert_problem(&r, 404);
}

#[tokio::test]
async fn unknown_paths_and_ids_are_404_problems() {
    let app = spawn_app().await;
    assert_problem(&app.get("/api/v1/nothing-here").await, 404);
    assert_problem(&app.anonymous().get("/api/nothing-here").await, 404);
    // Outside /api/ the path is the web UI's: its own not-found answer.
    assert_eq!(app.anonymous().get("/nothing-here").await.status, 404);
    for path in [
        "/api/v1/profiles/nobody",
        "/api/v1/audiences/aud_missing",
        "/api/v1/audiences/aud_missing/count",
        "/api/v1/channels/chn_missing",
        "/api/v1/templates/tpl_missing",
        "/api/v1/campaigns/cmp_missing",
        "/api/v1/campaigns/cmp_missing/versions",
        "/api/v1/campaigns/cmp_missing/versions/1",
        "/api/v1/campaigns/cmp_missing/occurrences",
        "/api/v1/campaigns/cmp_missing/results",
        "/api/v1/campaigns/cmp_missing/results/actions",
        "/api/v1/journeys/jrn_missing",
        "/api/v1/journeys/jrn_missing/versions/1",
        "/api/v1/journeys/jrn_missing/versions/1/profiles",
        "/api/v1/journeys/jrn_missing/versions/1/results",
        "/api/v1/journeys/jrn_missing/versions/1/results/actions",
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status, 404, "GET {path}: {}", r.text);
        assert_problem(&r, 404);
    }
    let r = app
        .post_empty("/api/v1/notifications/ntf_missing/read")
        .await;
    assert_problem(&r, 404);
}

#[tokio::test]
async fn a_non_numeric_version_is_a_problem_not_plain_text() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let id = app
        .journey(event_journey(&setup, "signed_up", json!({"mode": "never"})))
        .await;
    let r = app
        .get(&format!("/api/v1/journeys/{id}/versions/latest"))
        .await;
    assert!(matches!(r.status, 400 | 404), "{} {}", r.status, r.text);
    assert_problem(&r, r.status);
}

#[tokio::test]
async fn malformed_json_is_400_and_a_wrong_content_type_415() {
    let app = spawn_app().await;
    let r = app
        .raw(
            Method::PUT,
            "/api/v1/profiles/p1",
            "application/json",
            b"{\"attributes\": {".to_vec(),
        )
        .await;
    assert_problem(&r, 400);
    let r = app
        .raw(
            Method::POST,
            "/api/v1/events",
            "application/json",
            b"[{\"profile_id\": ".to_vec(),
        )
        .await;
    assert_problem(&r, 400);
    let r = app
        .raw(
            Method::POST,
            "/api/v1/audiences",
            "application/json",
            b"not json".to_vec(),
        )
        .await;
    assert_problem(&r, 400);
    let r = app
        .raw(
            Method::PUT,
            "/api/v1/profiles/p1",
            "text/plain",
            b"{\"attributes\": {}}".to_vec(),
        )
        .await;
    assert_problem(&r, 415);
    let r = app
        .raw(
            Method::POST,
            "/api/v1/events",
            "application/xml",
            b"<event/>".to_vec(),
        )
        .await;
    assert_problem(&r, 415);
    let r = app
        .raw(
            Method::POST,
            "/api/v1/profiles/import",
            "application/json",
            b"{}".to_vec(),
        )
        .await;
    assert_problem(&r, 415);
    // nothing of it was written.
    assert_eq!(app.profile_count().await, 0);
}

#[tokio::test]
async fn a_json_body_over_1_mib_is_413() {
    let app = spawn_app().await;
    let big = "x".repeat(1024 * 1024);
    let r = app
        .put("/api/v1/profiles/p1", json!({"attributes": {"blob": big}}))
        .await;
    assert_problem(&r, 413);
    let r = app
        .post(
            "/api/v1/events",
            json!({"profile_id": "p1", "name": "e", "properties": {"blob": big}}),
        )
        .await;
    assert_problem(&r, 413);
    assert_eq!(app.profile_count().await, 0);
    // just under the limit is fine.
    let fits = "x".repeat(1024 * 1024 - 100);
    let r = app
        .put("/api/v1/profiles/p1", json!({"attributes": {"blob": fits}}))
        .await;
    r.expect(201);
}

#[tokio::test]
async fn the_body_limits_are_settings() {
    let app = spawn_with(Options {
        max_body_bytes: Some(2048),
        max_import_bytes: Some(4096),
        ..Options::default()
    })
    .await;
    let r = app
        .put(
            "/api/v1/profiles/p1",
            json!({"attributes": {"blob": "y".repeat(3000)}}),
        )
        .await;
    assert_problem(&r, 413);
    let mut ndjson = Vec::new();
    for i in 0..200 {
        ndjson.extend_from_slice(
            format!("{{\"id\":\"p{i:03}\",\"attributes\":{{\"n\":{i}}}}}\n").as_bytes(),
        );
    }
    assert!(ndjson.len() > 4096);
    let r = app
        .raw(
            Method::POST,
            "/api/v1/profiles/import",
            "application/x-ndjson",
            ndjson,
        )
        .await;
    assert_problem(&r, 413);
    assert_eq!(
        app.profile_count().await,
        0,
        "a refused import writes nothing"
    );
    // the import limit, not the JSON one, applies to imports.
    let small = b"{\"id\":\"a\",\"attributes\":{\"blob\":\""
        .iter()
        .copied()
        .chain(std::iter::repeat_n(b'z', 2500))
        .chain(b"\"}}\n".iter().copied())
        .collect::<Vec<u8>>();
    let r = app
        .raw(
            Method::POST,
            "/api/v1/profiles/import",
            "application/x-ndjson",
            small,
        )
        .await;
    assert_eq!(r.expect(200)["imported"], 1, "{}", r.text);
}

#[tokio::test]
async fn unknown_query_parameters_and_bad_limits_are_422() {
    let app = spawn_app().await;
    for path in [
        "/api/v1/profiles",
        "/api/v1/campaigns",
        "/api/v1/audit",
        "/api/v1/journeys",
    ] {
        assert_invalid(&app.get(&format!("{path}?limit=0")).await, "limit");
        assert_invalid(&app.get(&format!("{path}?limit=1001")).await, "limit");
        assert_invalid(&app.get(&format!("{path}?limit=ten")).await, "limit");
        assert_invalid(&app.get(&format!("{path}?lmit=10")).await, "lmit");
        app.get(&format!("{path}?limit=1000")).await.expect(200);
    }
    assert_invalid(&app.get("/api/v1/campaigns?status=running").await, "status");
    assert_invalid(&app.get("/api/v1/audit?subject=planet:x").await, "subject");
}
