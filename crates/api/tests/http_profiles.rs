//! Over HTTP: profiles (PUT/PATCH/GET/DELETE, lists), imports (NDJSON, CSV) and events.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn put_creates_201_then_replaces_200() {
    let app = spawn_app().await;
    let r = app
        .put(
            "/api/v1/profiles/p-1@x.com",
            json!({"attributes": {"first_name": "Ann", "age": 31}, "consent": {"email": false}}),
        )
        .await;
    let p = r.expect(201);
    assert_eq!(p["id"], "p-1@x.com");
    assert_eq!(p["attributes"], json!({"first_name": "Ann", "age": 31}));
    assert_eq!(p["consent"], json!({"email": false}));
    assert_eq!(p["created_at"], NOW);

    let r = app
        .put(
            "/api/v1/profiles/p-1@x.com",
            json!({"attributes": {"tier": "gold"}}),
        )
        .await;
    let p = r.expect(200);
    assert_eq!(
        p["attributes"],
        json!({"tier": "gold"}),
        "PUT replaces: {}",
        r.text
    );
    let r = app.get("/api/v1/profiles/p-1@x.com").await;
    assert_eq!(r.expect(200)["attributes"], json!({"tier": "gold"}));
}

#[tokio::test]
async fn patch_merges_attributes_and_consent() {
    let app = spawn_app().await;
    app.put(
        "/api/v1/profiles/p1",
        json!({"attributes": {"a": 1, "b": 2}, "consent": {"email": true}}),
    )
    .await
    .expect(201);
    let r = app
        .patch(
            "/api/v1/profiles/p1",
            json!({"attributes": {"b": 3, "c": {"d": 4}}, "consent": {"sms": false}}),
        )
        .await;
    let p = r.expect(200);
    assert_eq!(p["attributes"], json!({"a": 1, "b": 3, "c": {"d": 4}}));
    assert_eq!(p["consent"], json!({"email": true, "sms": false}));
    let r = app.get("/api/v1/profiles/p1").await;
    assert_eq!(
        r.expect(200)["attributes"],
        json!({"a": 1, "b": 3, "c": {"d": 4}})
    );

    let r = app
        .patch("/api/v1/profiles/nobody", json!({"attributes": {"a": 1}}))
        .await;
    assert_problem(&r, 404);
    assert_problem(&app.get("/api/v1/profiles/nobody").await, 404);
}

#[tokio::test]
async fn profile_bodies_are_decoded_strictly() {
    let app = spawn_app().await;
    let r = app
        .put("/api/v1/profiles/p1", json!({"atributes": {}}))
        .await;
    assert_invalid(&r, "atributes");
    let r = app
        .put("/api/v1/profiles/p1", json!({"attributes": "Ann"}))
        .await;
    assert_invalid(&r, "attributes");
    let r = app.put("/api/v1/profiles/p1", json!({"consent": {}})).await;
    assert_invalid(&r, "attributes");
    let r = app
        .put(
            "/api/v1/profiles/p1",
            json!({"attributes": {}, "consent": {"email": "no"}}),
        )
        .await;
    let field = assert_problem(&r, 422)["errors"][0]["field"].clone();
    assert!(
        field.as_str().is_some_and(|f| f.starts_with("consent")),
        "{}",
        r.text
    );
    let long = "x".repeat(300);
    let r = app
        .put(
            &format!("/api/v1/profiles/{long}"),
            json!({"attributes": {}}),
        )
        .await;
    assert_invalid(&r, "profile_id");
    let r = app
        .patch("/api/v1/profiles/p1", json!({"attributes": [1]}))
        .await;
    assert_invalid(&r, "attributes");
    assert_eq!(app.profile_count().await, 0, "failed calls change nothing");
}

#[tokio::test]
async fn delete_erases_the_profile_and_its_events() {
    let app = spawn_app().await;
    app.put_profile("p1", json!({"first_name": "Ann"})).await;
    app.event("p1", "purchase").await;
    let buyers = app
        .audience(json!({"event": "purchase", "op": "count_gte", "value": 1}))
        .await;
    let count = |app: &TestApp| {
        let path = format!("/api/v1/audiences/{buyers}/count");
        let api = app.api.clone();
        async move { api.get(&path).await.expect(200)["count"].clone() }
    };
    assert_eq!(count(&app).await, 1);

    let r = app.delete("/api/v1/profiles/p1").await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_problem(&app.get("/api/v1/profiles/p1").await, 404);
    assert_problem(&app.delete("/api/v1/profiles/p1").await, 404);
    // the same id again is a new person: no events left from before.
    app.put_profile("p1", json!({})).await;
    assert_eq!(count(&app).await, 0, "events of an erased profile are gone");
}

#[tokio::test]
async fn profiles_are_listed_in_pages() {
    let app = spawn_app().await;
    for i in 0..7 {
        app.put_profile(&format!("p{i}"), json!({"i": i})).await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/profiles?limit=3&cursor={c}"),
            None => "/api/v1/profiles?limit=3".to_owned(),
        };
        let r = app.get(&path).await;
        let page = r.expect(200);
        let items = page["items"].as_array().expect("items");
        assert!(items.len() <= 3, "{}", r.text);
        seen.extend(
            items
                .iter()
                .map(|p| p["id"].as_str().expect("id").to_owned()),
        );
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
        assert!(pages < 10, "paging does not end");
    }
    assert_eq!(pages, 3);
    let want: Vec<String> = (0..7).map(|i| format!("p{i}")).collect();
    assert_eq!(seen, want);
    let r = app.get("/api/v1/profiles").await;
    let page = r.expect(200);
    assert_eq!(page["items"].as_array().expect("items").len(), 7);
    assert_eq!(page["next_cursor"], Value::Null);
}

#[tokio::test]
async fn ndjson_import_reports_bad_lines_and_keeps_the_good_ones() {
    let app = spawn_app().await;
    let body = concat!(
        "{\"id\":\"a\",\"attributes\":{\"age\":30}}\n",
        "{\"id\":\"b\",\"attributes\":\n",
        "\n",
        "{\"id\":\"c\",\"attributes\":{\"tier\":\"gold\"},\"consent\":{\"email\":false}}\n",
        "{\"attributes\":{}}\n",
        "{\"id\":\"d\",\"atributes\":{}}\n",
    );
    let r = app
        .raw(
            Method::POST,
            "/api/v1/profiles/import",
            "application/x-ndjson",
            body.into(),
        )
        .await;
    let result = r.expect(200);
    assert_eq!(result["imported"], 2, "{}", r.text);
    assert_eq!(result["failed"], 3, "{}", r.text);
    let lines: Vec<u64> = result["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{e}");
            e["line"].as_u64().expect("line")
        })
        .collect();
    assert_eq!(lines, [2, 5, 6], "{}", r.text);
    let r = app.get("/api/v1/profiles/c").await;
    let c = r.expect(200);
    assert_eq!(c["attributes"], json!({"tier": "gold"}));
    assert_eq!(c["consent"], json!({"email": false}));
    assert_eq!(
        app.get("/api/v1/profiles/a").await.expect(200)["attributes"]["age"],
        30
    );
    assert_eq!(app.profile_count().await, 2);
}

#[tokio::test]
async fn csv_import_types_its_cells() {
    let app = spawn_app().await;
    let body = "id,first_name,age,score,vip,address.city,consent.email\n\
                p1,Ann,42,4.5,true,Berlin,false\n\
                p2,Bob,,x,false,,true\n";
    let r = app
        .raw(
            Method::POST,
            "/api/v1/profiles/import",
            "text/csv",
            body.into(),
        )
        .await;
    let result = r.expect(200);
    assert_eq!(result["imported"], 2, "{}", r.text);
    assert_eq!(result["failed"], 0);
    assert_eq!(result["errors"], json!([]));
    let r = app.get("/api/v1/profiles/p1").await;
    let p1 = r.expect(200);
    assert_eq!(
        p1["attributes"]["age"],
        json!(42),
        "age is a number: {}",
        r.text
    );
    assert_eq!(p1["attributes"]["score"], json!(4.5));
    assert_eq!(p1["attributes"]["vip"], json!(true));
    assert_eq!(p1["attributes"]["first_name"], json!("Ann"));
    assert_eq!(p1["attributes"]["address"], json!({"city": "Berlin"}));
    assert_eq!(p1["consent"], json!({"email": false}));
    let r = app.get("/api/v1/profiles/p2").await;
    let p2 = r.expect(200);
    assert_eq!(
        p2["attributes"].get("age"),
        None,
        "an empty cell sets nothing: {}",
        r.text
    );
    assert_eq!(p2["attributes"]["score"], json!("x"));
    assert_eq!(p2["consent"], json!({"email": true}));
    // typed cells make numeric rules work.
    let older = app
        .audience(json!({"attr": "age", "op": "gt", "value": 40}))
        .await;
    let r = app.get(&format!("/api/v1/audiences/{older}/count")).await;
    assert_eq!(r.expect(200)["count"], 1);
}

#[tokio::test]
async fn csv_rows_with_the_wrong_width_are_reported() {
    let app = spawn_app().await;
    let body = "id,name\np1,Ann\np2,Bob,extra\np3,Cy\n";
    let r = app
        .raw(
            Method::POST,
            "/api/v1/profiles/import",
            "text/csv",
            body.into(),
        )
        .await;
    let result = r.expect(200);
    assert_eq!(result["imported"], 2, "{}", r.text);
    assert_eq!(result["failed"], 1);
    assert_eq!(result["errors"][0]["line"], 3, "{}", r.text);
}

async fn import_refused(app: &TestApp, body: Vec<u8>) -> Resp {
    app.put_profile("existing", json!({"keep": true})).await;
    let before = app.profile_count().await;
    let r = app
        .raw(Method::POST, "/api/v1/profiles/import", "text/csv", body)
        .await;
    assert_problem(&r, 422);
    assert_eq!(
        app.profile_count().await,
        before,
        "a refused import writes nothing: {}",
        r.text
    );
    assert_eq!(
        app.get("/api/v1/profiles/existing").await.expect(200)["attributes"],
        json!({"keep": true})
    );
    r
}

#[tokio::test]
async fn csv_that_is_not_utf8_is_refused_whole() {
    let app = spawn_app().await;
    let mut body = b"id,name\np1,Ann\np2,".to_vec();
    body.extend_from_slice(&[0xff, 0xfe, b'\n']);
    body.extend_from_slice(b"p3,Cy\n");
    let r = import_refused(&app, body).await;
    assert!(r.text.contains("UTF-8"), "{}", r.text);
    assert_problem(&app.get("/api/v1/profiles/p1").await, 404);
}

#[tokio::test]
async fn csv_with_duplicate_ids_is_refused_whole() {
    let app = spawn_app().await;
    let body = b"id,name\np1,Ann\np2,Bob\np1,Again\n".to_vec();
    let r = import_refused(&app, body).await;
    assert!(r.text.contains("p1"), "the duplicate is named: {}", r.text);
    assert_problem(&app.get("/api/v1/profiles/p2").await, 404);
}

#[tokio::test]
async fn csv_without_an_id_column_is_refused() {
    let app = spawn_app().await;
    let r = import_refused(&app, b"name,age\nAnn,3\n".to_vec()).await;
    assert!(r.text.contains("id"), "{}", r.text);
}

#[tokio::test]
async fn events_single_and_batched_are_accepted_and_create_profiles() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/api/v1/events",
            json!({"profile_id": "new-person", "name": "signed_up",
                   "properties": {"plan": "pro"}, "timestamp": "2025-12-31T10:00:00Z"}),
        )
        .await;
    assert_eq!(r.expect(202)["accepted"], 1, "{}", r.text);
    let r = app.get("/api/v1/profiles/new-person").await;
    assert_eq!(
        r.expect(200)["attributes"],
        json!({}),
        "an unknown profile_id creates it"
    );

    let r = app
        .post(
            "/api/v1/events",
            json!([
                {"profile_id": "a", "name": "purchase"},
                {"profile_id": "a", "name": "purchase"},
                {"profile_id": "b", "name": "purchase"}
            ]),
        )
        .await;
    assert_eq!(r.expect(202)["accepted"], 3, "{}", r.text);
    let twice = app
        .audience(json!({"event": "purchase", "op": "count_gte", "value": 2}))
        .await;
    let r = app.get(&format!("/api/v1/audiences/{twice}/count")).await;
    assert_eq!(r.expect(200)["count"], 1);
}

#[tokio::test]
async fn event_errors_name_the_field_and_the_batch_index() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/api/v1/events",
            json!([{"profile_id": "a", "name": "ok"}, {"profile_id": "b", "name": ""}]),
        )
        .await;
    assert_invalid(&r, "[1].name");
    let r = app
        .post(
            "/api/v1/events",
            json!([{"profile_id": "a", "name": "ok"}, {"profile_id": "b", "name": 7}]),
        )
        .await;
    assert_invalid(&r, "[1].name");
    let r = app
        .post("/api/v1/events", json!({"profile_id": "a", "nmae": "x"}))
        .await;
    assert_invalid(&r, "nmae");
    let r = app
        .post(
            "/api/v1/events",
            json!({"profile_id": "a", "name": "x", "timestamp": "noon"}),
        )
        .await;
    assert_invalid(&r, "timestamp");
    let r = app
        .post("/api/v1/events", json!({"profile_id": "", "name": "x"}))
        .await;
    assert_invalid(&r, "profile_id");
    // a refused batch writes none of it.
    assert_eq!(app.profile_count().await, 0);
}
