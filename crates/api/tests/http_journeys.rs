//! Over HTTP: journeys and their versions: creation and graph validation, reads, draft edits,
//! publish (J1, J2), J5 refusals, new versions (J6), duplicates (J7) and deletes. Who is inside,
//! brakes and results are in `http_journey_flow.rs`.

mod common;

use common::*;
use serde_json::{Value, json};

fn statuses(journey: &Value) -> Vec<(u64, String)> {
    journey["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .map(|v| {
            (
                v["version"].as_u64().expect("n"),
                v["status"].as_str().expect("status").to_owned(),
            )
        })
        .collect()
}

async fn journey(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/api/v1/journeys/{id}"))
        .await
        .expect(200)
        .clone()
}

async fn act(app: &TestApp, id: &str, n: u32, action: &str) -> Resp {
    app.post_empty(&format!("/api/v1/journeys/{id}/versions/{n}/{action}"))
        .await
}

#[tokio::test]
async fn j1_a_new_journey_is_draft_version_1() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let body = event_journey(&setup, "signed_up", json!({"mode": "never"}));
    let r = app.post("/api/v1/journeys", body.clone()).await;
    let j = r.expect(201).clone();
    let id = id_of(&j);
    assert_eq!(j["name"], "Welcome");
    assert_eq!(statuses(&j), [(1, "draft".into())]);
    assert_eq!(journey(&app, &id).await["versions"][0]["status"], "draft");
    let r = app.get("/api/v1/journeys").await;
    let items = r.expect(200)["items"].as_array().expect("items").clone();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], id.as_str());

    // the version reads back shaped as it was created (plus its status and defaults).
    let r = app.get(&format!("/api/v1/journeys/{id}/versions/1")).await;
    let v = r.expect(200);
    assert_eq!(v["version"], 1);
    assert_eq!(v["status"], "draft");
    for key in ["entry", "reentry", "start", "nodes"] {
        assert_eq!(v[key], body[key], "{key}: {}", r.text);
    }
    assert_eq!(v["timeout"], "P91D", "the default timeout: {}", r.text);
    assert_problem(
        &app.get(&format!("/api/v1/journeys/{id}/versions/2")).await,
        404,
    );
}

#[tokio::test]
async fn j1_drafts_can_be_edited_and_deleted() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let id = app
        .journey(event_journey(&setup, "signed_up", json!({"mode": "never"})))
        .await;
    let mut def = event_journey(&setup, "registered", json!({"mode": "always"}));
    def.as_object_mut().expect("object").remove("name");
    def["timeout"] = json!("P30D");
    let r = app
        .put(&format!("/api/v1/journeys/{id}/versions/1"), def)
        .await;
    let v = r.expect(200);
    assert_eq!(v["entry"]["event"], "registered");
    assert_eq!(v["timeout"], "P30D");
    assert_eq!(
        journey(&app, &id).await["name"],
        "Welcome",
        "name is optional on PUT"
    );
    let mut renamed = event_journey(&setup, "registered", json!({"mode": "always"}));
    renamed["name"] = json!("Onboarding");
    app.put(&format!("/api/v1/journeys/{id}/versions/1"), renamed)
        .await
        .expect(200);
    assert_eq!(journey(&app, &id).await["name"], "Onboarding");

    // the only version goes with the journey, not alone.
    let r = app
        .delete(&format!("/api/v1/journeys/{id}/versions/1"))
        .await;
    assert_problem(&r, 409);
    let r = app.delete(&format!("/api/v1/journeys/{id}")).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_problem(&app.get(&format!("/api/v1/journeys/{id}")).await, 404);
    assert_problem(&app.delete(&format!("/api/v1/journeys/{id}")).await, 404);
}

#[tokio::test]
async fn journey_graphs_are_validated_naming_the_node() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let base = event_journey(&setup, "signed_up", json!({"mode": "never"}));
    let create = |body: Value| {
        let api = app.api.clone();
        async move { api.post("/api/v1/journeys", body).await }
    };

    let mut dangling = base.clone();
    dangling["nodes"][1]["next"] = json!("nowhere");
    let message = assert_invalid(&create(dangling).await, "nodes[1].next");
    assert!(message.contains("nowhere"), "{message}");

    let mut unreachable = base.clone();
    unreachable["nodes"]
        .as_array_mut()
        .expect("nodes")
        .push(json!({"id": "orphan", "type": "end"}));
    let message = assert_invalid(&create(unreachable).await, "nodes[3]");
    assert!(message.contains("orphan"), "{message}");

    let mut no_start = base.clone();
    no_start["start"] = json!("begin");
    assert_invalid(&create(no_start).await, "start");

    let mut cycle = base.clone();
    cycle["nodes"] = json!([
        {"id": "a", "type": "update_profile", "set": {"x": 1}, "next": "b"},
        {"id": "b", "type": "condition", "rule": {"attr": "x", "op": "eq", "value": 1}, "then": "a", "else": "c"},
        {"id": "c", "type": "end"}
    ]);
    cycle["start"] = json!("a");
    let message = assert_invalid(&create(cycle).await, "nodes[0]");
    assert!(message.contains("wait"), "{message}");

    let mut bad_rule = base.clone();
    bad_rule["nodes"][2] = json!({"id": "done", "type": "condition", "rule": {"attr": "x", "op": "bigger", "value": 1}});
    assert_invalid(&create(bad_rule).await, "nodes[2].rule.op");

    let mut missing_channel = base.clone();
    missing_channel["nodes"][0]["channel_id"] = json!("chn_missing");
    assert_invalid(&create(missing_channel).await, "nodes[0].channel_id");

    let mut bad_wait = base.clone();
    bad_wait["nodes"][1]["duration"] = json!("one day");
    let r = create(bad_wait).await;
    let p = assert_problem(&r, 422);
    assert!(
        p["errors"][0]["field"]
            .as_str()
            .unwrap_or("")
            .starts_with("nodes[1]"),
        "{}",
        r.text
    );

    let mut bad_timeout = base.clone();
    bad_timeout["timeout"] = json!("forever");
    assert_invalid(&create(bad_timeout).await, "timeout");

    let mut bad_reentry = base.clone();
    bad_reentry["reentry"] = json!({"mode": "after", "wait": "soon"});
    let r = create(bad_reentry).await;
    let p = assert_problem(&r, 422);
    assert!(
        p["errors"][0]["field"]
            .as_str()
            .unwrap_or("")
            .starts_with("reentry"),
        "{}",
        r.text
    );

    let mut unknown = base.clone();
    unknown["strat"] = json!("welcome");
    unknown.as_object_mut().expect("object").remove("start");
    assert_invalid(&create(unknown).await, "strat");
    let mut typo = base.clone();
    typo["nmae"] = json!("x");
    assert_invalid(&create(typo).await, "nmae");
    let mut typo = base.clone();
    typo["nodes"][0]["nxt"] = json!("pause");
    assert_problem(&create(typo).await, 422);
    let mut kind = base.clone();
    kind["nodes"][0]["type"] = json!("teleport");
    assert_invalid(&create(kind).await, "nodes[0].type");
    let mut start = base.clone();
    start["start"] = json!(5);
    assert_invalid(&create(start).await, "start");

    let mut nameless = base.clone();
    nameless.as_object_mut().expect("object").remove("name");
    assert_invalid(&create(nameless).await, "name");

    let r = app.get("/api/v1/journeys").await;
    assert_eq!(
        r.expect(200)["items"],
        json!([]),
        "failed calls create nothing"
    );
}

#[tokio::test]
async fn audience_entries_validate_their_schedule() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let entry = |schedule: Value| {
        let mut body = event_journey(&setup, "x", json!({"mode": "never"}));
        body["entry"] =
            json!({"type": "audience", "audience_id": setup.audience, "schedule": schedule});
        body
    };
    let r = app
        .post("/api/v1/journeys", entry(json!({"type": "api"})))
        .await;
    assert_invalid(&r, "entry.schedule.type");
    let r = app
        .post(
            "/api/v1/journeys",
            entry(json!({"type": "once", "at": "2025-01-01T00:00:00Z"})),
        )
        .await;
    assert_invalid(&r, "entry.schedule.at");
    let r = app
        .post(
            "/api/v1/journeys",
            entry(json!({"type": "recurring", "cron": "0 25 * * *", "timezone": "Europe/Berlin"})),
        )
        .await;
    assert_invalid(&r, "entry.schedule.cron");
    let r = app
        .post(
            "/api/v1/journeys",
            entry(json!({"type": "recurring", "cron": "0 9 * * *", "timezone": "Europe/Atlantis"})),
        )
        .await;
    assert_invalid(&r, "entry.schedule.timezone");
    let mut missing = entry(recurring());
    missing["entry"]["audience_id"] = json!("aud_missing");
    assert_invalid(
        &app.post("/api/v1/journeys", missing).await,
        "entry.audience_id",
    );
    let id = app.journey(entry(recurring())).await;
    let r = act(&app, &id, 1, "publish").await;
    assert_eq!(statuses(r.expect(200)), [(1, "live".into())]);
}

#[tokio::test]
async fn j2_publish_makes_the_version_live_and_j5_refuses_what_is_over() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let id = app
        .journey(event_journey(&setup, "signed_up", json!({"mode": "never"})))
        .await;
    let r = act(&app, &id, 1, "publish").await;
    let j = r.expect(200);
    assert_eq!(statuses(j), [(1, "live".into())]);
    assert_eq!(j["versions"][0]["published_at"], NOW);
    let live = ["close", "stop", "duplicate", "remove_profile"];
    assert_refused(&act(&app, &id, 1, "publish").await, "live", &live);
    let mut def = event_journey(&setup, "other", json!({"mode": "never"}));
    def.as_object_mut().expect("object").remove("name");
    assert_refused(
        &app.put(&format!("/api/v1/journeys/{id}/versions/1"), def)
            .await,
        "live",
        &live,
    );
    assert_refused(
        &app.delete(&format!("/api/v1/journeys/{id}/versions/1"))
            .await,
        "live",
        &live,
    );
    let r = app.delete(&format!("/api/v1/journeys/{id}")).await;
    assert_problem(&r, 409);
    assert_eq!(r.body["current_status"], "live", "{}", r.text);
    assert_problem(&act(&app, &id, 9, "publish").await, 404);
    assert_problem(&act(&app, "jrn_missing", 1, "publish").await, 404);

    // closed (nobody inside, so finished at once) and stopped versions stay over.
    act(&app, &id, 1, "close").await.expect(200);
    for action in ["publish", "close"] {
        assert_refused(&act(&app, &id, 1, action).await, "finished", &["duplicate"]);
    }
    assert_refused(
        &app.delete(&format!("/api/v1/journeys/{id}/versions/1"))
            .await,
        "finished",
        &["duplicate"],
    );

    let other = app
        .live_event_journey(&setup, "x", json!({"mode": "never"}))
        .await;
    act(&app, &other, 1, "stop").await.expect(200);
    for action in ["publish", "close", "stop"] {
        let r = act(&app, &other, 1, action).await;
        assert_refused(&r, "stopped", &["duplicate"]);
        assert!(
            r.body["detail"]
                .as_str()
                .unwrap_or("")
                .contains("new version"),
            "{}",
            r.text
        );
    }
}

#[tokio::test]
async fn j2_publish_revalidates_references() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let id = app
        .journey(event_journey(&setup, "signed_up", json!({"mode": "never"})))
        .await;
    let r = app
        .delete(&format!("/api/v1/templates/{}", setup.template))
        .await;
    assert_eq!(r.status, 204, "only a draft uses it: {}", r.text);
    assert_invalid(&act(&app, &id, 1, "publish").await, "nodes[0].template_id");
    assert_eq!(app.version_status(&id, 1).await, "draft");
}

#[tokio::test]
async fn j6_a_new_version_replaces_the_live_one_on_publish() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let id = app
        .live_event_journey(&setup, "signed_up", json!({"mode": "always"}))
        .await;
    app.event("early", "signed_up").await;
    let r = app
        .post_empty(&format!("/api/v1/journeys/{id}/versions"))
        .await;
    let j = r.expect(201);
    assert_eq!(statuses(j), [(1, "live".into()), (2, "draft".into())]);
    assert_eq!(j["draft_version"], 2);
    let r = app
        .post_empty(&format!("/api/v1/journeys/{id}/versions"))
        .await;
    let p = assert_problem(&r, 409);
    assert!(p["current_status"].is_string(), "{}", r.text);
    let allowed = p["allowed_actions"].as_array().expect("allowed_actions");
    assert!(!allowed.contains(&json!("new_version")), "{}", r.text);
    assert!(
        r.body["detail"].as_str().unwrap_or("").contains("draft"),
        "{}",
        r.text
    );
    let v2 = app.get(&format!("/api/v1/journeys/{id}/versions/2")).await;
    let v1 = app.get(&format!("/api/v1/journeys/{id}/versions/1")).await;
    assert_eq!(
        v2.expect(200)["nodes"],
        v1.expect(200)["nodes"],
        "a copy of the latest version"
    );

    let r = act(&app, &id, 2, "publish").await;
    assert_eq!(
        statuses(r.expect(200)),
        [(1, "closed".into()), (2, "live".into())],
        "{}",
        r.text
    );
    // people inside v1 finish there; new entrants go to v2.
    assert_eq!(app.active_in(&id, 1).await, ["early"]);
    app.event("late", "signed_up").await;
    assert_eq!(app.active_in(&id, 2).await, ["late"]);
    assert_eq!(app.active_in(&id, 1).await, ["early"]);
    let closed = app.notifications("").await;
    assert_eq!(closed[0]["kind"], "closed", "{closed:?}");
    assert_eq!(
        closed[0]["subject"],
        json!({"type": "journey", "id": id, "version": 1})
    );

    // a third version, deleted while still a draft.
    app.post_empty(&format!("/api/v1/journeys/{id}/versions"))
        .await
        .expect(201);
    let r = app
        .delete(&format!("/api/v1/journeys/{id}/versions/3"))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(
        statuses(&journey(&app, &id).await),
        [(1, "closed".into()), (2, "live".into())]
    );
    assert_problem(
        &app.post_empty("/api/v1/journeys/jrn_missing/versions")
            .await,
        404,
    );
}

#[tokio::test]
async fn j7_duplicate_copies_a_version_into_a_new_journey() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let id = app
        .live_event_journey(&setup, "signed_up", json!({"mode": "always"}))
        .await;
    act(&app, &id, 1, "stop").await.expect(200);
    let r = act(&app, &id, 1, "duplicate").await;
    let copy = r.expect(201).clone();
    let copy_id = id_of(&copy);
    assert_ne!(copy_id, id);
    assert_eq!(statuses(&copy), [(1, "draft".into())]);
    let a = app.get(&format!("/api/v1/journeys/{id}/versions/1")).await;
    let b = app
        .get(&format!("/api/v1/journeys/{copy_id}/versions/1"))
        .await;
    for key in ["entry", "reentry", "timeout", "start", "nodes"] {
        assert_eq!(a.body[key], b.body[key], "{key}");
    }
    // the copy is a fresh start: it can be published.
    assert_eq!(
        statuses(act(&app, &copy_id, 1, "publish").await.expect(200)),
        [(1, "live".into())]
    );
    assert_problem(&act(&app, &id, 7, "duplicate").await, 404);
}

#[tokio::test]
async fn journey_lists_page() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(
            app.journey(event_journey(&setup, "e", json!({"mode": "never"})))
                .await,
        );
    }
    let r = app.get("/api/v1/journeys?limit=2").await;
    let page = r.expect(200);
    assert_eq!(page["items"].as_array().expect("items").len(), 2);
    let cursor = page["next_cursor"].as_str().expect("more").to_owned();
    let r = app
        .get(&format!("/api/v1/journeys?limit=2&cursor={cursor}"))
        .await;
    let rest = r.expect(200);
    assert_eq!(rest["items"][0]["id"], ids[2].as_str());
    assert_eq!(rest["next_cursor"], Value::Null);
}

/// Top-level mistakes are named exactly (`nmae`, `strat`); the same is expected inside nodes,
/// the entry and the re-entrance rule, which are tagged by `type`/`mode`.
#[tokio::test]
async fn nested_definition_errors_name_the_exact_field() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let base = event_journey(&setup, "signed_up", json!({"mode": "never"}));
    let mut cases = Vec::new();
    let mut b = base.clone();
    b["nodes"][1]["duration"] = json!("one day");
    cases.push((b, "nodes[1].duration"));
    let mut b = base.clone();
    b["reentry"] = json!({"mode": "after", "wait": "soon"});
    cases.push((b, "reentry.wait"));
    let mut b = base.clone();
    b["nodes"][0]["nxt"] = json!("pause");
    cases.push((b, "nodes[0].nxt"));
    let mut b = base.clone();
    b["entry"]["evnt"] = json!("x");
    cases.push((b, "entry.evnt"));
    let mut wrong = Vec::new();
    for (body, field) in cases {
        let r = app.post("/api/v1/journeys", body).await;
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
