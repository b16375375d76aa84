//! Over HTTP: the campaign brakes' answers (`{status, summary}`), their notifications and audit
//! entries, notifications read/unread, the audit log's pages, API triggers and the inbox.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

async fn api_campaign(app: &TestApp, setup: &Setup) -> String {
    let r = app
        .post(
            "/api/v1/campaigns",
            json!({"name": "Receipt", "channel_id": setup.channel, "template_id": setup.template,
                   "schedule": {"type": "api"}}),
        )
        .await;
    let id = id_of(r.expect(201));
    app.post_empty(&format!("/api/v1/campaigns/{id}/activate"))
        .await
        .expect(200);
    id
}

fn summary_keys(summary: &Value) -> Vec<String> {
    let mut keys: Vec<String> = summary
        .as_object()
        .expect("summary object")
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn abort_answers_the_summary_and_leaves_a_notification_and_an_audit_entry() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let id = api_campaign(&app, &setup).await;
    for p in ["p1", "p2"] {
        app.post(
            &format!("/api/v1/campaigns/{id}/trigger"),
            json!({"profile_id": p}),
        )
        .await
        .expect(202);
    }
    let editor = app.as_token(&app.token("editor").await);
    let r = editor
        .post(
            &format!("/api/v1/campaigns/{id}/abort"),
            json!({"reason": "wrong price"}),
        )
        .await;
    let answer = r.expect(200);
    assert_eq!(answer["status"], "aborted");
    let summary = &answer["summary"];
    assert_eq!(
        summary_keys(summary),
        ["cancelled", "delivered", "failed", "skipped"],
        "{}",
        r.text
    );
    assert_eq!(summary["delivered"], 0);
    assert_eq!(
        summary["cancelled"], 2,
        "both queued sends were cancelled: {}",
        r.text
    );

    let r = app
        .post(
            &format!("/api/v1/campaigns/{id}/trigger"),
            json!({"profile_id": "p3"}),
        )
        .await;
    assert_refused(&r, "aborted", &["duplicate"]);
    let r = app.get(&format!("/api/v1/campaigns/{id}/results")).await;
    assert_eq!(
        r.expect(200)["active"],
        0,
        "nothing is left to send: {}",
        r.text
    );

    let notes = app.notifications("").await;
    assert_eq!(notes.len(), 1, "{notes:?}");
    let n = &notes[0];
    assert_eq!(n["kind"], "aborted");
    assert_eq!(n["subject"]["type"], "campaign");
    assert_eq!(n["subject"]["id"], id.as_str());
    assert_eq!(n["reason"], "wrong price");
    assert_eq!(n["summary"], *summary);
    assert_eq!(n["read"], false);
    assert_eq!(n["at"], NOW);
    assert!(
        n["actor"].as_str().unwrap_or("").contains("editor token"),
        "{n}"
    );

    let audit = app.audit(&format!("campaign:{id}")).await;
    let actions: Vec<&str> = audit
        .iter()
        .map(|e| e["action"].as_str().expect("action"))
        .collect();
    assert_eq!(
        actions,
        ["abort", "activate", "create"],
        "newest first: {audit:?}"
    );
    let abort = &audit[0];
    assert_eq!(abort["from_status"], "live");
    assert_eq!(abort["to_status"], "aborted");
    assert_eq!(abort["reason"], "wrong price");
    assert_eq!(abort["subject"]["id"], id.as_str());
    assert!(
        abort["actor"]
            .as_str()
            .unwrap_or("")
            .contains("editor token"),
        "{abort}"
    );
    assert!(
        audit[1]["actor"].as_str().unwrap_or("").contains("admin"),
        "{}",
        audit[1]
    );
}

#[tokio::test]
async fn abort_cancellations_show_in_the_results() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let id = api_campaign(&app, &setup).await;
    app.post(
        &format!("/api/v1/campaigns/{id}/trigger"),
        json!({"profile_id": "p1"}),
    )
    .await
    .expect(202);
    let r = app
        .post_empty(&format!("/api/v1/campaigns/{id}/abort"))
        .await;
    let cancelled = r.expect(200)["summary"]["cancelled"].clone();
    assert_eq!(cancelled, 1);
    let r = app.get(&format!("/api/v1/campaigns/{id}/results")).await;
    assert_eq!(
        r.expect(200)["cancelled"],
        cancelled,
        "results.cancelled should count what the abort cancelled: {}",
        r.text
    );
}

#[tokio::test]
async fn stop_answers_the_summary_and_notifies() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let id = app.active_campaign(&setup, recurring()).await;
    let r = app
        .post(
            &format!("/api/v1/campaigns/{id}/stop"),
            json!({"reason": "season over"}),
        )
        .await;
    let answer = r.expect(200);
    assert_eq!(answer["status"], "stopped");
    assert_eq!(
        answer["summary"],
        json!({"delivered": 0, "failed": 0, "skipped": 0, "cancelled": 0}),
        "{}",
        r.text
    );
    let notes = app.notifications("?unread=true").await;
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0]["kind"], "stopped");
    assert_eq!(notes[0]["reason"], "season over");
    assert_eq!(notes[0]["summary"], answer["summary"]);
    let audit = app.audit(&format!("campaign:{id}")).await;
    assert_eq!(audit[0]["action"], "stop");
    assert_eq!(audit[0]["from_status"], "scheduled");
    assert_eq!(audit[0]["to_status"], "stopped");
    assert_eq!(audit[0]["reason"], "season over");
}

#[tokio::test]
async fn notifications_can_be_read() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let a = app.active_campaign(&setup, immediate()).await;
    let b = app.active_campaign(&setup, once_later()).await;
    app.post_empty(&format!("/api/v1/campaigns/{a}/abort"))
        .await
        .expect(200);
    app.post_empty(&format!("/api/v1/campaigns/{b}/abort"))
        .await
        .expect(200);
    let unread = app.notifications("?unread=true").await;
    let subjects: Vec<&str> = unread
        .iter()
        .map(|n| n["subject"]["id"].as_str().expect("id"))
        .collect();
    assert_eq!(subjects, [b.as_str(), a.as_str()], "newest first");
    let first = id_of(&unread[1]);
    let r = app
        .post_empty(&format!("/api/v1/notifications/{first}/read"))
        .await;
    let n = r.expect(200);
    assert_eq!(n["read"], true);
    assert_eq!(n["id"], first.as_str());
    let unread = app.notifications("?unread=true").await;
    assert_eq!(unread.len(), 1);
    assert_eq!(unread[0]["subject"]["id"], b.as_str());
    let all = app.notifications("").await;
    assert_eq!(all.len(), 2);
    assert_eq!(all[1]["read"], true);
    let r = app.get("/api/v1/notifications?limit=1").await;
    let page = r.expect(200);
    assert_eq!(page["items"].as_array().expect("items").len(), 1);
    let cursor = page["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let r = app
        .get(&format!("/api/v1/notifications?limit=1&cursor={cursor}"))
        .await;
    assert_eq!(r.expect(200)["items"][0]["id"], first.as_str());
    assert_invalid(
        &app.get("/api/v1/notifications?unread=maybe").await,
        "unread",
    );
    let viewer = app.as_token(&app.token("viewer").await);
    assert_problem(
        &viewer
            .post_empty(&format!("/api/v1/notifications/{first}/read"))
            .await,
        403,
    );
}

#[tokio::test]
async fn the_audit_log_pages_newest_first() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let id = app.active_campaign(&setup, recurring()).await;
    for action in ["modify", "activate", "modify", "activate", "stop"] {
        app.post(
            &format!("/api/v1/campaigns/{id}/{action}"),
            json!({"reason": action}),
        )
        .await
        .expect(200);
    }
    let mut actions = Vec::new();
    let mut path = format!("/api/v1/audit?subject=campaign:{id}&limit=3");
    let mut pages = 0;
    loop {
        let r = app.get(&path).await;
        let page = r.expect(200);
        assert!(page["items"].as_array().expect("items").len() <= 3);
        for e in page["items"].as_array().expect("items") {
            for key in ["at", "actor", "action", "subject"] {
                assert!(!e[key].is_null(), "audit entry without {key}: {e}");
            }
            actions.push(e["action"].as_str().expect("action").to_owned());
        }
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/audit?subject=campaign:{id}&limit=3&cursor={c}"),
            None => break,
        }
        assert!(pages < 10);
    }
    assert_eq!(pages, 3);
    assert_eq!(
        actions,
        [
            "stop", "activate", "modify", "activate", "modify", "activate", "create"
        ]
    );
    // another campaign's entries are not in this subject, but are in the whole log.
    app.campaign(&setup, "other", immediate()).await;
    assert_eq!(app.audit(&format!("campaign:{id}")).await.len(), 7);
    let r = app.get("/api/v1/audit?limit=1000").await;
    assert_eq!(r.expect(200)["items"].as_array().expect("items").len(), 8);
}

#[tokio::test]
async fn trigger_queues_one_send_for_api_campaigns_only() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let id = api_campaign(&app, &setup).await;
    let path = format!("/api/v1/campaigns/{id}/trigger");
    let body = json!({"profile_id": "buyer", "context": {"order": "A-17"}});
    let r = app
        .call_with(
            Method::POST,
            &path,
            &[("idempotency-key", "order-A-17")],
            Body::Json(body.clone()),
        )
        .await;
    let first = r.expect(202).clone();
    assert_eq!(first["accepted"], true);
    let r = app
        .call_with(
            Method::POST,
            &path,
            &[("idempotency-key", "order-A-17")],
            Body::Json(body),
        )
        .await;
    assert_eq!(
        r.expect(202)["new"],
        false,
        "a repeat with the same key is not a second send"
    );
    let r = app.get(&format!("/api/v1/campaigns/{id}/results")).await;
    assert_eq!(r.expect(200)["entered"], 1, "{}", r.text);

    assert_invalid(&app.post(&path, json!({"context": {}})).await, "profile_id");
    assert_invalid(
        &app.post(&path, json!({"profile_id": "b", "ctx": {}})).await,
        "ctx",
    );
    assert_invalid(
        &app.post(&path, json!({"profile_id": "b", "context": "A-17"}))
            .await,
        "context",
    );
    let r = app
        .post(
            "/api/v1/campaigns/cmp_missing/trigger",
            json!({"profile_id": "b"}),
        )
        .await;
    assert_problem(&r, 404);

    let one_time = app.active_campaign(&setup, immediate()).await;
    let r = app
        .post(
            &format!("/api/v1/campaigns/{one_time}/trigger"),
            json!({"profile_id": "b"}),
        )
        .await;
    assert_refused(&r, "live", &["abort", "duplicate"]);
    let draft = app
        .post(
            "/api/v1/campaigns",
            json!({"name": "d", "channel_id": setup.channel, "template_id": setup.template,
                   "schedule": {"type": "api"}}),
        )
        .await;
    let draft = id_of(draft.expect(201));
    let r = app
        .post(
            &format!("/api/v1/campaigns/{draft}/trigger"),
            json!({"profile_id": "b"}),
        )
        .await;
    assert_refused(
        &r,
        "draft",
        &["edit_draft", "delete", "activate", "duplicate"],
    );
}

#[tokio::test]
async fn the_inbox_serves_live_inbound_messages_rendered_for_the_profile() {
    let app = spawn_app().await;
    app.put_profile("ann", json!({"first_name": "Ann", "tier": "gold"}))
        .await;
    app.put_profile("bob", json!({"tier": "silver"})).await;
    let channel = app.inbox_channel().await;
    let template = app
        .template(
            "inbox",
            "Hello {{ profile.first_name | default: \"there\" }}, gold member",
        )
        .await;
    let gold = app
        .audience(json!({"attr": "tier", "op": "eq", "value": "gold"}))
        .await;
    let setup = Setup {
        channel,
        template,
        audience: gold,
    };
    let id = app.active_campaign(&setup, immediate()).await;

    let r = app.get("/api/v1/inbox/ann").await;
    assert_eq!(
        r.status, 200,
        "GET /api/v1/inbox/{{profile_id}}: {}",
        r.text
    );
    assert!(
        r.text.contains("Hello Ann, gold member"),
        "rendered for Ann: {}",
        r.text
    );
    assert!(
        r.text.contains(id.as_str()),
        "names the campaign: {}",
        r.text
    );
    let r = app.get("/api/v1/inbox/bob").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        !r.text.contains("gold member"),
        "bob is not in the audience: {}",
        r.text
    );

    app.post_empty(&format!("/api/v1/campaigns/{id}/pause"))
        .await
        .expect(200);
    let r = app.get("/api/v1/inbox/ann").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        !r.text.contains("gold member"),
        "not served while paused: {}",
        r.text
    );
    app.post_empty(&format!("/api/v1/campaigns/{id}/resume"))
        .await
        .expect(200);
    let r = app.get("/api/v1/inbox/ann").await;
    assert!(
        r.text.contains("Hello Ann, gold member"),
        "served again: {}",
        r.text
    );
    app.post_empty(&format!("/api/v1/campaigns/{id}/abort"))
        .await
        .expect(200);
    let r = app.get("/api/v1/inbox/ann").await;
    assert!(
        !r.text.contains("gold member"),
        "not served once aborted: {}",
        r.text
    );
    assert_problem(&app.get("/api/v1/inbox/nobody").await, 404);
}
