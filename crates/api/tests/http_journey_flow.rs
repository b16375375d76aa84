//! Over HTTP: people in journeys: entering by event, who is inside, remove from flow (J9),
//! re-entrance (J8), close (J3) and stop (J4) with their notifications and audit entries, and
//! a version's results and action log (JSON and CSV).

mod common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

async fn act(app: &TestApp, id: &str, n: u32, action: &str) -> Resp {
    app.post_empty(&format!("/api/v1/journeys/{id}/versions/{n}/{action}"))
        .await
}

async fn remove(app: &TestApp, id: &str, n: u32, profile: &str) -> Resp {
    app.delete(&format!(
        "/api/v1/journeys/{id}/versions/{n}/profiles/{profile}"
    ))
    .await
}

async fn results(app: &TestApp, id: &str, n: u32) -> Value {
    let r = app
        .get(&format!("/api/v1/journeys/{id}/versions/{n}/results"))
        .await;
    r.expect(200).clone()
}

#[tokio::test]
async fn an_event_enters_its_profile_into_the_live_version_only() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let draft = app
        .journey(event_journey(&setup, "signed_up", json!({"mode": "never"})))
        .await;
    let live = app
        .live_event_journey(&setup, "signed_up", json!({"mode": "never"}))
        .await;
    let r = app.event("ann", "signed_up").await;
    assert_eq!(r["accepted"], 1);
    app.event("bob", "other_event").await;
    assert_eq!(app.active_in(&live, 1).await, ["ann"]);
    assert_eq!(
        app.active_in(&draft, 1).await,
        Vec::<String>::new(),
        "drafts admit nobody"
    );

    let r = app
        .get(&format!(
            "/api/v1/journeys/{live}/versions/1/profiles?state=active"
        ))
        .await;
    let e = &r.expect(200)["items"][0];
    assert_eq!(e["profile_id"], "ann");
    assert_eq!(e["version"], 1);
    assert_eq!(e["state"], "active");
    assert_eq!(e["node_id"], "welcome");
    assert_eq!(e["entered_at"], NOW);
    let res = results(&app, &live, 1).await;
    assert_eq!(
        (res["entered"].clone(), res["active"].clone()),
        (json!(1), json!(1)),
        "{res}"
    );
    assert_invalid(
        &app.get(&format!(
            "/api/v1/journeys/{live}/versions/1/profiles?state=sleeping"
        ))
        .await,
        "state",
    );
    assert_problem(
        &app.get(&format!("/api/v1/journeys/{live}/versions/2/profiles"))
            .await,
        404,
    );
}

#[tokio::test]
async fn j9_remove_from_flow_records_the_removal_and_audits_it() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let id = app
        .live_event_journey(&setup, "signed_up", json!({"mode": "never"}))
        .await;
    app.event("ann", "signed_up").await;
    app.event("bob", "signed_up").await;
    assert_eq!(app.active_in(&id, 1).await, ["ann", "bob"]);

    let r = app
        .call(
            Method::DELETE,
            &format!("/api/v1/journeys/{id}/versions/1/profiles/ann"),
            Body::Json(json!({"reason": "asked to stop"})),
        )
        .await;
    let answer = r.expect(200);
    assert_eq!(answer["removed"], true);
    assert_eq!(answer["cancelled"], 1, "the pending first step: {}", r.text);
    assert_eq!(app.active_in(&id, 1).await, ["bob"]);
    let r = app
        .get(&format!(
            "/api/v1/journeys/{id}/versions/1/profiles?state=removed"
        ))
        .await;
    assert_eq!(r.expect(200)["items"][0]["profile_id"], "ann");
    let res = results(&app, &id, 1).await;
    assert_eq!(res["removed"], 1, "{res}");
    assert_eq!(res["active"], 1, "{res}");
    let rows = common::recount::journey_version(app.data_dir(), &id, 1);
    common::recount::assert_agrees(&res, &rows, "after a removal");
    assert_eq!(res["per_node"]["welcome"]["cancelled"], 1, "{res}");

    let r = app
        .get(&format!(
            "/api/v1/journeys/{id}/versions/1/results/actions?outcome=removed"
        ))
        .await;
    let items = r.expect(200)["items"].as_array().expect("items").clone();
    assert_eq!(items.len(), 1, "{}", r.text);
    assert_eq!(items[0]["profile_id"], "ann");
    assert_eq!(items[0]["outcome"], "removed");
    assert_eq!(items[0]["version"], 1);
    assert_eq!(items[0]["at"], NOW);
    let r = app
        .get(&format!(
            "/api/v1/journeys/{id}/versions/1/results/actions?outcome=cancelled&profile_id=ann"
        ))
        .await;
    let cancelled = r.expect(200)["items"].as_array().expect("items").clone();
    assert_eq!(cancelled.len(), 1, "{}", r.text);
    assert_eq!(cancelled[0]["node_id"], "welcome");

    let audit = app.audit(&format!("journey:{id}")).await;
    let removal = &audit[0];
    assert_eq!(removal["action"], "remove_profile", "{audit:?}");
    assert_eq!(removal["reason"], "asked to stop");
    assert_eq!(removal["subject"]["version"], 1);
    assert!(
        removal["actor"].as_str().unwrap_or("").contains("admin"),
        "{removal}"
    );

    // removing again, or someone who never entered, is 404.
    assert_problem(&remove(&app, &id, 1, "ann").await, 404);
    assert_problem(&remove(&app, &id, 1, "nobody").await, 404);
    assert_problem(&remove(&app, &id, 2, "bob").await, 404);
    assert_problem(&remove(&app, "jrn_missing", 1, "bob").await, 404);
    let viewer = app.as_token(&app.token("viewer").await);
    assert_problem(
        &viewer
            .delete(&format!("/api/v1/journeys/{id}/versions/1/profiles/bob"))
            .await,
        403,
    );
    assert_eq!(app.active_in(&id, 1).await, ["bob"]);
}

#[tokio::test]
async fn j8_never_does_not_readmit_a_profile_that_left() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let id = app
        .live_event_journey(&setup, "signed_up", json!({"mode": "never"}))
        .await;
    app.event("ann", "signed_up").await;
    remove(&app, &id, 1, "ann").await.expect(200);
    let r = app.event("ann", "signed_up").await;
    assert_eq!(r["accepted"], 1);
    assert_eq!(app.active_in(&id, 1).await, Vec::<String>::new());
    assert_eq!(results(&app, &id, 1).await["entered"], 1);
}

#[tokio::test]
async fn j8_always_readmits_but_never_twice_at_once() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let id = app
        .live_event_journey(&setup, "signed_up", json!({"mode": "always"}))
        .await;
    app.event("ann", "signed_up").await;
    app.event("ann", "signed_up").await;
    assert_eq!(
        app.active_in(&id, 1).await,
        ["ann"],
        "inside once, whatever the mode"
    );
    remove(&app, &id, 1, "ann").await.expect(200);
    app.event("ann", "signed_up").await;
    assert_eq!(
        app.active_in(&id, 1).await,
        ["ann"],
        "re-entered after removal"
    );
    let res = results(&app, &id, 1).await;
    assert_eq!(
        (res["entered"].clone(), res["removed"].clone()),
        (json!(2), json!(1)),
        "{res}"
    );
}

#[tokio::test]
async fn j8_after_readmits_once_the_wait_has_passed() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let id = app
        .live_event_journey(&setup, "signed_up", json!({"mode": "after", "wait": "P7D"}))
        .await;
    app.event("ann", "signed_up").await;
    remove(&app, &id, 1, "ann").await.expect(200);
    app.advance("P1D").await;
    app.event("ann", "signed_up").await;
    assert_eq!(
        app.active_in(&id, 1).await,
        Vec::<String>::new(),
        "too soon"
    );
    app.advance("P7D").await;
    app.event("ann", "signed_up").await;
    assert_eq!(app.active_in(&id, 1).await, ["ann"], "the wait has passed");
}

#[tokio::test]
async fn j3_closing_an_empty_version_finishes_it() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let id = app
        .live_event_journey(&setup, "signed_up", json!({"mode": "never"}))
        .await;
    let r = app
        .post(
            &format!("/api/v1/journeys/{id}/versions/1/close"),
            json!({"reason": "campaign over"}),
        )
        .await;
    let j = r.expect(200);
    assert_eq!(j["versions"][0]["status"], "finished", "{}", r.text);
    assert_eq!(j["versions"][0]["closed_at"], NOW);
    assert_eq!(app.version_status(&id, 1).await, "finished");
    let kinds: Vec<Value> = app
        .notifications("")
        .await
        .iter()
        .map(|n| n["kind"].clone())
        .collect();
    assert_eq!(kinds, [json!("finished"), json!("closed")], "newest first");
    let n = &app.notifications("").await[0];
    assert_eq!(
        n["subject"],
        json!({"type": "journey", "id": id, "version": 1})
    );
    assert!(n["summary"].is_object(), "{n}");
    let audit = app.audit(&format!("journey:{id}")).await;
    let actions: Vec<&str> = audit
        .iter()
        .map(|e| e["action"].as_str().expect("action"))
        .collect();
    assert_eq!(
        actions,
        ["finish", "close", "publish", "create"],
        "{audit:?}"
    );
    assert_eq!(audit[1]["reason"], "campaign over");
    assert_eq!(audit[1]["from_status"], "live");
    assert_eq!(audit[1]["to_status"], "closed");
}

#[tokio::test]
async fn j3_a_closed_version_admits_nobody_and_finishes_when_the_last_one_leaves() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let id = app
        .live_event_journey(&setup, "signed_up", json!({"mode": "always"}))
        .await;
    app.event("ann", "signed_up").await;
    let r = act(&app, &id, 1, "close").await;
    assert_eq!(r.expect(200)["versions"][0]["status"], "closed");
    app.event("bob", "signed_up").await;
    assert_eq!(
        app.active_in(&id, 1).await,
        ["ann"],
        "nobody new enters; ann goes on"
    );
    assert_refused(
        &act(&app, &id, 1, "close").await,
        "closed",
        &["stop", "duplicate", "remove_profile"],
    );
    assert_refused(
        &act(&app, &id, 1, "publish").await,
        "closed",
        &["stop", "duplicate", "remove_profile"],
    );
    assert_eq!(app.notifications("").await[0]["kind"], "closed");

    remove(&app, &id, 1, "ann").await.expect(200);
    assert_eq!(app.version_status(&id, 1).await, "finished");
    let n = &app.notifications("").await[0];
    assert_eq!(n["kind"], "finished", "{n}");
    assert_eq!(n["subject"]["version"], 1);
}

#[tokio::test]
async fn j4_stop_halts_everybody_and_answers_the_summary() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let id = app
        .live_event_journey(&setup, "signed_up", json!({"mode": "always"}))
        .await;
    for p in ["ann", "bob", "cy"] {
        app.event(p, "signed_up").await;
    }
    remove(&app, &id, 1, "cy").await.expect(200);
    let editor = app.as_token(&app.token("editor").await);
    let r = editor
        .post(
            &format!("/api/v1/journeys/{id}/versions/1/stop"),
            json!({"reason": "bad link"}),
        )
        .await;
    let answer = r.expect(200);
    assert_eq!(answer["status"], "stopped");
    let summary = &answer["summary"];
    for key in ["delivered", "failed", "skipped", "cancelled", "halted"] {
        assert!(summary[key].is_u64(), "summary.{key} in {}", r.text);
    }
    assert_eq!(summary["halted"], 2, "the people inside: {}", r.text);
    assert_eq!(summary["delivered"], 0);
    assert_eq!(summary["cancelled"], 2, "their pending steps: {}", r.text);

    assert_eq!(app.version_status(&id, 1).await, "stopped");
    assert_eq!(app.active_in(&id, 1).await, Vec::<String>::new());
    let r = app
        .get(&format!(
            "/api/v1/journeys/{id}/versions/1/profiles?state=stopped"
        ))
        .await;
    assert_eq!(r.expect(200)["items"].as_array().expect("items").len(), 2);
    let res = results(&app, &id, 1).await;
    assert_eq!(
        (res["stopped"].clone(), res["removed"].clone()),
        (json!(2), json!(1)),
        "{res}"
    );
    app.event("dan", "signed_up").await;
    assert_eq!(
        app.active_in(&id, 1).await,
        Vec::<String>::new(),
        "a stopped version admits nobody"
    );
    assert_problem(&remove(&app, &id, 1, "ann").await, 409);

    let n = &app.notifications("?unread=true").await[0];
    assert_eq!(n["kind"], "stopped");
    assert_eq!(n["summary"], *summary);
    assert_eq!(n["reason"], "bad link");
    assert!(
        n["actor"].as_str().unwrap_or("").contains("editor token"),
        "{n}"
    );
    let audit = app.audit(&format!("journey:{id}")).await;
    assert_eq!(audit[0]["action"], "stop");
    assert_eq!(audit[0]["from_status"], "live");
    assert_eq!(audit[0]["to_status"], "stopped");
    assert_refused(&act(&app, &id, 1, "stop").await, "stopped", &["duplicate"]);
}

#[tokio::test]
async fn the_action_log_pages_filters_and_exports_csv() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let id = app
        .live_event_journey(&setup, "signed_up", json!({"mode": "never"}))
        .await;
    for p in ["ann", "bob", "cy"] {
        app.event(p, "signed_up").await;
        remove(&app, &id, 1, p).await.expect(200);
    }
    let base = format!("/api/v1/journeys/{id}/versions/1/results/actions");
    let mut seen = 0;
    let mut path = format!("{base}?limit=4");
    for _ in 0..5 {
        let r = app.get(&path).await;
        let page = r.expect(200);
        let items = page["items"].as_array().expect("items");
        assert!(items.len() <= 4);
        seen += items.len();
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("{base}?limit=4&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, 6, "a cancelled step and a removal per person");
    let r = app.get(&format!("{base}?profile_id=bob")).await;
    assert_eq!(r.expect(200)["items"].as_array().expect("items").len(), 2);

    let r = app
        .call_with(
            Method::GET,
            &format!("{base}?outcome=removed"),
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
    let lines: Vec<&str> = r.text.lines().collect();
    assert_eq!(
        lines.len(),
        4,
        "a header and one row per removal: {}",
        r.text
    );
    let header: Vec<&str> = lines[0].split(',').collect();
    let at = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("{name} in {header:?}"))
    };
    let rows: Vec<Vec<&str>> = lines[1..].iter().map(|l| l.split(',').collect()).collect();
    let people: Vec<&str> = rows.iter().map(|row| row[at("profile_id")]).collect();
    assert_eq!(people, ["ann", "bob", "cy"]);
    assert!(
        rows.iter()
            .all(|row| row[at("outcome")] == "removed" && row[at("version")] == "1"),
        "{}",
        r.text
    );
    let r = app
        .call_with(Method::GET, &base, &[("accept", "text/csv")], Body::None)
        .await;
    assert_eq!(
        r.text.lines().count(),
        7,
        "every row, no paging: {}",
        r.text
    );
    assert_invalid(
        &app.get(&format!("{base}?outcome=vanished")).await,
        "outcome",
    );
}

#[tokio::test]
async fn a_journey_with_only_drafts_can_be_deleted_and_others_cannot() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let id = app
        .live_event_journey(&setup, "signed_up", json!({"mode": "never"}))
        .await;
    act(&app, &id, 1, "stop").await.expect(200);
    let r = app.delete(&format!("/api/v1/journeys/{id}")).await;
    assert_problem(&r, 409);
    assert!(r.body["allowed_actions"].is_array(), "{}", r.text);
    app.get(&format!("/api/v1/journeys/{id}")).await.expect(200);
    let audit = app.audit(&format!("journey:{id}")).await;
    assert_eq!(
        audit[0]["action"], "stop",
        "a refused delete is not audited"
    );
}
