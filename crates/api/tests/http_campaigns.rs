//! Over HTTP: campaign creation and validation, reads, lists, drafts, occurrences, results and
//! the action log. The lifecycle commands are in `http_campaign_lifecycle.rs`.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn a_new_campaign_is_draft_version_1() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let c = app.campaign(&setup, "Spring sale", once_later()).await;
    let id = id_of(&c);
    assert_eq!(c["name"], "Spring sale");
    assert_eq!(c["status"], "draft");
    assert_eq!(c["live_version"], Value::Null);
    assert_eq!(c["draft_version"], 1);
    assert_eq!(c["created_at"], NOW);
    assert!(c["updated_at"].is_string());

    let r = app.get(&format!("/api/v1/campaigns/{id}")).await;
    assert_eq!(r.expect(200)["status"], "draft");
    let r = app.get(&format!("/api/v1/campaigns/{id}/versions")).await;
    let versions = r
        .expect(200)
        .as_array()
        .expect("a list of versions")
        .clone();
    assert_eq!(versions.len(), 1);
    let r = app.get(&format!("/api/v1/campaigns/{id}/versions/1")).await;
    let v = r.expect(200);
    assert_eq!(v, &versions[0]);
    assert_eq!(v["version"], 1);
    assert_eq!(v["state"], "draft");
    assert_eq!(v["channel_id"], setup.channel.as_str());
    assert_eq!(v["template_id"], setup.template.as_str());
    assert_eq!(v["audience_id"], setup.audience.as_str());
    assert_eq!(v["schedule"], once_later());
    assert_eq!(v["created_at"], NOW);
    assert!(v.get("activated_at").is_none_or(Value::is_null), "{v}");
    assert_problem(
        &app.get(&format!("/api/v1/campaigns/{id}/versions/2")).await,
        404,
    );
}

#[tokio::test]
async fn every_schedule_kind_is_accepted_and_echoed() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let berlin = json!({"type": "recurring", "cron": "0 9 * * MON-FRI", "timezone": "Europe/Berlin",
                        "start": "2026-02-01T00:00:00Z", "end": "2026-12-31T00:00:00Z"});
    for schedule in [
        immediate(),
        once_later(),
        recurring(),
        berlin,
        json!({"type": "api"}),
    ] {
        let c = app.campaign(&setup, "s", schedule.clone()).await;
        let r = app
            .get(&format!("/api/v1/campaigns/{}/versions/1", id_of(&c)))
            .await;
        assert_eq!(r.expect(200)["schedule"], schedule);
    }
    // an api campaign needs no audience.
    let r = app
        .post(
            "/api/v1/campaigns",
            json!({"name": "Receipt", "channel_id": setup.channel, "template_id": setup.template,
                   "schedule": {"type": "api"}}),
        )
        .await;
    assert_eq!(r.expect(201)["status"], "draft");
}

#[tokio::test]
async fn campaign_bodies_are_validated_and_name_the_field() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let create = |body: Value| {
        let api = app.api.clone();
        async move { api.post("/api/v1/campaigns", body).await }
    };
    let mut body = setup.campaign_body("x", immediate());
    body["nmae"] = body["name"].take();
    body.as_object_mut().expect("object").remove("name");
    assert_invalid(&create(body).await, "nmae");
    let mut body = setup.campaign_body("x", immediate());
    body["channel_id"] = json!(42);
    assert_invalid(&create(body).await, "channel_id");
    let mut body = setup.campaign_body("x", immediate());
    body.as_object_mut().expect("object").remove("template_id");
    assert_invalid(&create(body).await, "template_id");

    let with = |schedule: Value| setup.campaign_body("x", schedule);
    let r = create(with(
        json!({"type": "recurring", "cron": "61 9 * * *", "timezone": "Europe/Berlin"}),
    ))
    .await;
    assert_invalid(&r, "schedule.cron");
    let r = create(with(
        json!({"type": "recurring", "cron": "0 9 * * *", "timezone": "Mars/Olympus"}),
    ))
    .await;
    assert_invalid(&r, "schedule.timezone");
    let r = create(with(json!({"type": "once", "at": "2025-12-31T23:59:00Z"}))).await;
    let message = assert_invalid(&r, "schedule.at");
    assert!(message.contains("past"), "{message}");
    let r = create(with(json!({"type": "once", "at": "tomorrow"}))).await;
    assert_problem(&r, 422);
    let r = create(with(json!({"type": "weekly"}))).await;
    assert_problem(&r, 422);
    let r = create(with(
        json!({"type": "immediate", "at": "2026-03-01T00:00:00Z"}),
    ))
    .await;
    assert_problem(&r, 422);
    let r = create(with(
        json!({"type": "recurring", "cron": "0 9 * * *", "timezone": "UTC",
                               "end": "2025-06-01T00:00:00Z"}),
    ))
    .await;
    assert_invalid(&r, "schedule.end");

    let mut body = setup.campaign_body("x", immediate());
    body["channel_id"] = json!("chn_missing");
    assert_invalid(&create(body).await, "channel_id");
    let mut body = setup.campaign_body("x", immediate());
    body["audience_id"] = json!("aud_missing");
    assert_invalid(&create(body).await, "audience_id");
    let mut body = setup.campaign_body("x", immediate());
    body.as_object_mut().expect("object").remove("audience_id");
    assert_invalid(&create(body).await, "audience_id");
    let inbox_template = app.template("inbox", "x").await;
    let mut body = setup.campaign_body("x", immediate());
    body["template_id"] = json!(inbox_template);
    assert_invalid(&create(body).await, "template_id");

    let r = app.get("/api/v1/campaigns").await;
    assert_eq!(
        r.expect(200)["items"],
        json!([]),
        "failed calls create nothing"
    );
}

#[tokio::test]
async fn campaigns_are_listed_by_status_in_pages() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let mut drafts = Vec::new();
    for i in 0..3 {
        drafts.push(id_of(
            &app.campaign(&setup, &format!("d{i}"), once_later()).await,
        ));
    }
    let live = app.active_campaign(&setup, immediate()).await;
    let scheduled = app.active_campaign(&setup, once_later()).await;

    let ids = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(id_of)
            .collect()
    };
    let r = app.get("/api/v1/campaigns?status=draft").await;
    assert_eq!(ids(r.expect(200)), drafts);
    let r = app.get("/api/v1/campaigns?status=live").await;
    assert_eq!(ids(r.expect(200)), [live.as_str()]);
    let r = app.get("/api/v1/campaigns?status=scheduled").await;
    assert_eq!(ids(r.expect(200)), [scheduled.as_str()]);
    let r = app.get("/api/v1/campaigns?status=aborted").await;
    assert_eq!(ids(r.expect(200)), Vec::<String>::new());

    let mut all = Vec::new();
    let mut path = "/api/v1/campaigns?limit=2".to_owned();
    for _ in 0..5 {
        let r = app.get(&path).await;
        let page = r.expect(200);
        assert!(page["items"].as_array().expect("items").len() <= 2);
        all.extend(ids(page));
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/campaigns?limit=2&cursor={c}"),
            None => break,
        }
    }
    let mut want = drafts;
    want.extend([live, scheduled]);
    assert_eq!(
        all, want,
        "pages cover every campaign once, in creation order"
    );
    let r = app.get("/api/v1/campaigns?status=draft&limit=1").await;
    let page = r.expect(200);
    assert_eq!(page["items"].as_array().expect("items").len(), 1);
    assert!(page["next_cursor"].is_string());
}

#[tokio::test]
async fn put_draft_replaces_the_draft_fields() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let id = id_of(&app.campaign(&setup, "Old name", immediate()).await);
    let other_audience = app
        .audience(json!({"attr": "tier", "op": "eq", "value": "gold"}))
        .await;
    let r = app
        .put(
            &format!("/api/v1/campaigns/{id}/draft"),
            json!({"name": "New name", "channel_id": setup.channel, "template_id": setup.template,
                   "audience_id": other_audience, "schedule": recurring()}),
        )
        .await;
    let c = r.expect(200);
    assert_eq!(c["name"], "New name");
    assert_eq!(c["draft_version"], 1);
    let r = app.get(&format!("/api/v1/campaigns/{id}/versions/1")).await;
    let v = r.expect(200);
    assert_eq!(v["audience_id"], other_audience.as_str());
    assert_eq!(v["schedule"], recurring());

    let r = app
        .put(
            &format!("/api/v1/campaigns/{id}/draft"),
            json!({"channel_id": setup.channel, "template_id": setup.template,
                   "audience_id": setup.audience, "schedule": {"type": "once", "at": "2020-01-01T00:00:00Z"}}),
        )
        .await;
    assert_invalid(&r, "schedule.at");
    let r = app
        .put(
            &format!("/api/v1/campaigns/{id}/draft"),
            json!({"name": "only a name"}),
        )
        .await;
    assert_problem(&r, 422);
    let r = app.get(&format!("/api/v1/campaigns/{id}/versions/1")).await;
    assert_eq!(
        r.expect(200)["schedule"],
        recurring(),
        "failed edits change nothing"
    );
    let r = app
        .put(
            "/api/v1/campaigns/cmp_missing/draft",
            json!({"channel_id": setup.channel, "template_id": setup.template,
                   "audience_id": setup.audience, "schedule": immediate()}),
        )
        .await;
    assert_problem(&r, 404);
}

#[tokio::test]
async fn occurrences_list_the_runs_of_a_campaign() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let id = app.active_campaign(&setup, once_later()).await;
    let r = app
        .get(&format!("/api/v1/campaigns/{id}/occurrences"))
        .await;
    let page = r.expect(200);
    let items = page["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{}", r.text);
    let o = &items[0];
    assert_eq!(o["n"], 1);
    assert_eq!(o["version"], 1);
    assert_eq!(o["scheduled_for"], "2026-03-01T09:00:00Z");
    assert_eq!(o["state"], "pending");
    assert_eq!(
        (
            o["delivered"].clone(),
            o["failed"].clone(),
            o["skipped"].clone()
        ),
        (json!(0), json!(0), json!(0))
    );
    assert!(o.get("started_at").is_none_or(Value::is_null));
    assert_eq!(page["next_cursor"], Value::Null);

    // recurring: the next fire time in Berlin (09:00 CET = 08:00 UTC).
    let rec = app.active_campaign(&setup, recurring()).await;
    let r = app
        .get(&format!("/api/v1/campaigns/{rec}/occurrences"))
        .await;
    assert_eq!(
        r.expect(200)["items"][0]["scheduled_for"],
        "2026-01-01T08:00:00Z",
        "{}",
        r.text
    );
    let r = app.get(&format!("/api/v1/campaigns/{rec}")).await;
    assert_eq!(r.expect(200)["status"], "scheduled");
    assert_invalid(
        &app.get(&format!("/api/v1/campaigns/{id}/occurrences?limit=0"))
            .await,
        "limit",
    );
}

fn counters(results: &Value) -> Vec<u64> {
    [
        "entered",
        "active",
        "completed",
        "stopped",
        "removed",
        "timed_out",
        "failed",
        "delivered",
        "skipped",
        "cancelled",
    ]
    .iter()
    .map(|k| {
        results[*k]
            .as_u64()
            .unwrap_or_else(|| panic!("counter {k} in {results}"))
    })
    .collect()
}

#[tokio::test]
async fn results_count_the_planned_sends_and_the_action_log_pages_or_streams_csv() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let c = app
        .post(
            "/api/v1/campaigns",
            json!({"name": "Receipt", "channel_id": setup.channel, "template_id": setup.template,
                   "schedule": {"type": "api"}}),
        )
        .await;
    let id = id_of(c.expect(201));
    let r = app.get(&format!("/api/v1/campaigns/{id}/results")).await;
    let results = r.expect(200);
    assert_eq!(counters(results), [0; 10]);
    assert!(
        results["per_node"].is_object() && results["per_channel"].is_object(),
        "{}",
        r.text
    );

    app.post_empty(&format!("/api/v1/campaigns/{id}/activate"))
        .await
        .expect(200);
    for p in ["p1", "p2"] {
        let r = app
            .post(
                &format!("/api/v1/campaigns/{id}/trigger"),
                json!({"profile_id": p}),
            )
            .await;
        r.expect(202);
    }
    let r = app.get(&format!("/api/v1/campaigns/{id}/results")).await;
    let results = r.expect(200);
    assert_eq!(results["entered"], 2, "{}", r.text);
    assert_eq!(results["active"], 2, "{}", r.text);

    let r = app
        .get(&format!("/api/v1/campaigns/{id}/results/actions?limit=10"))
        .await;
    let page = r.expect(200);
    assert!(page["items"].is_array(), "{}", r.text);
    assert!(
        page.as_object()
            .is_some_and(|o| o.contains_key("next_cursor")),
        "{}",
        r.text
    );
    assert_invalid(
        &app.get(&format!(
            "/api/v1/campaigns/{id}/results/actions?outcome=lost"
        ))
        .await,
        "outcome",
    );
    assert_invalid(
        &app.get(&format!(
            "/api/v1/campaigns/{id}/results/actions?limit=1001"
        ))
        .await,
        "limit",
    );
    let r = app
        .call_with(
            Method::GET,
            &format!("/api/v1/campaigns/{id}/results/actions"),
            &[("accept", "text/csv")],
            Body::None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.content_type().starts_with("text/csv"),
        "{}",
        r.content_type()
    );
    let header = r.text.lines().next().expect("a header row");
    for column in [
        "at",
        "profile_id",
        "version",
        "occurrence",
        "node_id",
        "action",
        "outcome",
        "detail",
    ] {
        assert!(
            header.split(',').any(|c| c == column),
            "CSV header {header:?} lacks {column}"
        );
    }
    let r = app
        .call_with(
            Method::GET,
            "/api/v1/campaigns/cmp_missing/results/actions",
            &[("accept", "text/csv")],
            Body::None,
        )
        .await;
    assert_problem(&r, 404);
}

/// Top-level mistakes are named exactly (`nmae`); the same is expected inside `schedule`, which
/// is tagged by `type`.
#[tokio::test]
async fn schedule_errors_name_the_exact_field() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let cases = [
        (json!({"type": "once", "at": "tomorrow"}), "schedule.at"),
        (
            json!({"type": "recurring", "cron": 5, "timezone": "UTC"}),
            "schedule.cron",
        ),
        (
            json!({"type": "immediate", "at": "2026-03-01T00:00:00Z"}),
            "schedule.at",
        ),
        (json!({"type": "weekly"}), "schedule.type"),
    ];
    let mut wrong = Vec::new();
    for (schedule, field) in cases {
        let r = app
            .post("/api/v1/campaigns", setup.campaign_body("x", schedule))
            .await;
        assert_problem(&r, 422);
        let named: Vec<&str> = r.body["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .filter_map(|e| e["field"].as_str())
            .collect();
        if !named.contains(&field) {
            wrong.push(format!("expected `{field}`, got {named:?}"));
        }
    }
    assert!(wrong.is_empty(), "imprecise fields: {wrong:#?}");
}
