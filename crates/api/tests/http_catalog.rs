//! Over HTTP: audiences (rules, counts), channels (admin, secrets never returned) and templates
//! (Liquid checks and previews).

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn audiences_are_created_read_listed_replaced_and_deleted() {
    let app = spawn_app().await;
    let rule = json!({"all": [{"attr": "tier", "op": "eq", "value": "gold"}]});
    let r = app
        .post("/api/v1/audiences", json!({"name": "Gold", "rule": rule}))
        .await;
    let created = r.expect(201).clone();
    let id = id_of(&created);
    assert_eq!(created["name"], "Gold");
    let r = app.get(&format!("/api/v1/audiences/{id}")).await;
    assert_eq!(r.expect(200)["name"], "Gold");
    let r = app.get("/api/v1/audiences").await;
    let items = r.expect(200)["items"].as_array().expect("items").clone();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], id.as_str());

    let r = app
        .put(
            &format!("/api/v1/audiences/{id}"),
            json!({"name": "Silver", "rule": {"attr": "tier", "op": "eq", "value": "silver"}}),
        )
        .await;
    assert_eq!(r.expect(200)["name"], "Silver");
    let r = app
        .put(
            "/api/v1/audiences/aud_missing",
            json!({"name": "x", "rule": {"all": []}}),
        )
        .await;
    assert_problem(&r, 404);

    let r = app.delete(&format!("/api/v1/audiences/{id}")).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_problem(&app.get(&format!("/api/v1/audiences/{id}")).await, 404);
    assert_problem(&app.delete(&format!("/api/v1/audiences/{id}")).await, 404);
}

#[tokio::test]
async fn audience_rules_are_validated_and_name_the_field() {
    let app = spawn_app().await;
    let post = |rule: serde_json::Value| {
        let api = app.api.clone();
        async move {
            api.post("/api/v1/audiences", json!({"name": "x", "rule": rule}))
                .await
        }
    };
    let r = post(json!({"all": [{"attr": "age", "op": "bigger", "value": 3}]})).await;
    let message = assert_invalid(&r, "rule.all[0].op");
    assert!(message.contains("bigger"), "{message}");
    let r = post(json!({"any": [{"attr": "a", "op": "eq", "value": 1}, {"event": "e", "op": "count_gte", "value": -1}]})).await;
    assert_invalid(&r, "rule.any[1].value");
    let r = post(json!({"event": "e", "op": "count_gte", "value": 1, "within": "a month"})).await;
    assert_invalid(&r, "rule.within");
    let r = post(json!({"attr": "age", "op": "exists", "value": 1})).await;
    assert_invalid(&r, "rule.value");
    let r = post(json!({"not": {"atr": "x"}})).await;
    assert_problem(&r, 422);
    let r = post(json!("everyone")).await;
    assert_invalid(&r, "rule");
    let r = app
        .post(
            "/api/v1/audiences",
            json!({"nmae": "x", "rule": {"all": []}}),
        )
        .await;
    assert_invalid(&r, "nmae");
    let r = app
        .post(
            "/api/v1/audiences",
            json!({"name": "", "rule": {"all": []}}),
        )
        .await;
    assert_invalid(&r, "name");
    let r = app.get("/api/v1/audiences").await;
    assert_eq!(
        r.expect(200)["items"],
        json!([]),
        "failed calls create nothing"
    );
}

#[tokio::test]
async fn audience_count_evaluates_attribute_and_event_rules() {
    let app = spawn_app().await;
    app.put_profile(
        "ann",
        json!({"age": 42, "tier": "gold", "email": "ann@example.com"}),
    )
    .await;
    app.put_profile("bob", json!({"age": 19, "tier": "silver"}))
        .await;
    app.put_profile(
        "cy",
        json!({"age": 35, "tier": "gold", "address": {"city": "Berlin"}}),
    )
    .await;
    // ann bought twice recently, bob once recently, cy twice long ago.
    let r = app
        .post(
            "/api/v1/events",
            json!([
                {"profile_id": "ann", "name": "purchase"},
                {"profile_id": "ann", "name": "purchase"},
                {"profile_id": "bob", "name": "purchase"},
                {"profile_id": "cy", "name": "purchase", "timestamp": "2025-06-01T00:00:00Z"},
                {"profile_id": "cy", "name": "purchase", "timestamp": "2025-06-02T00:00:00Z"}
            ]),
        )
        .await;
    r.expect(202);
    let cases = [
        (json!({"all": []}), 3),
        (json!({"attr": "tier", "op": "eq", "value": "gold"}), 2),
        (json!({"attr": "age", "op": "gte", "value": 35}), 2),
        (
            json!({"attr": "tier", "op": "in", "value": ["silver", "bronze"]}),
            1,
        ),
        (
            json!({"attr": "address.city", "op": "eq", "value": "Berlin"}),
            1,
        ),
        (json!({"attr": "email", "op": "exists"}), 1),
        (
            json!({"attr": "email", "op": "ends_with_nothing_op", "value": 1}),
            -1,
        ),
        (
            json!({"not": {"attr": "tier", "op": "eq", "value": "gold"}}),
            1,
        ),
        (
            json!({"all": [{"attr": "tier", "op": "eq", "value": "gold"}, {"attr": "age", "op": "lt", "value": 40}]}),
            1,
        ),
        (
            json!({"event": "purchase", "op": "count_gte", "value": 2}),
            2,
        ),
        (
            json!({"event": "purchase", "op": "count_gte", "value": 2, "within": "P30D"}),
            1,
        ),
        (
            json!({"event": "purchase", "op": "count_lt", "value": 1}),
            0,
        ),
        (
            json!({"any": [{"event": "purchase", "op": "count_gte", "value": 1, "within": "P30D"}, {"attr": "age", "op": "gt", "value": 100}]}),
            2,
        ),
    ];
    for (rule, want) in cases {
        let r = app
            .post("/api/v1/audiences", json!({"name": "a", "rule": rule}))
            .await;
        if want < 0 {
            assert_problem(&r, 422);
            continue;
        }
        let id = id_of(r.expect(201));
        let r = app.get(&format!("/api/v1/audiences/{id}/count")).await;
        assert_eq!(r.expect(200), &json!({"count": want}), "rule {rule}");
    }
}

#[tokio::test]
async fn channels_never_return_secrets() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/api/v1/channels",
            json!({"name": "smtp", "type": "email", "rate_limit_per_second": 10,
                   "config": {"host": "smtp.example.com", "port": 587, "tls": "starttls",
                              "username": "mailer", "password": "hunter2", "from": "news@example.com"}}),
        )
        .await;
    let email = r.expect(201).clone();
    assert!(
        !r.text.contains("hunter2"),
        "the password leaked: {}",
        r.text
    );
    assert_eq!(email["type"], "email");
    assert_eq!(email["config"]["host"], "smtp.example.com");
    let email_id = id_of(&email);
    let r = app
        .post(
            "/api/v1/channels",
            json!({"name": "hook", "type": "webhook",
                   "config": {"url": "https://hooks.example.com/in",
                              "headers": {"X-Api-Key": "s3cr3t-value"}, "timeout": "PT5S"}}),
        )
        .await;
    let hook = r.expect(201).clone();
    assert!(
        !r.text.contains("s3cr3t-value"),
        "a header value leaked: {}",
        r.text
    );
    assert!(
        hook["config"]["headers"]["X-Api-Key"].is_string(),
        "{}",
        r.text
    );
    let hook_id = id_of(&hook);

    for path in [
        format!("/api/v1/channels/{email_id}"),
        format!("/api/v1/channels/{hook_id}"),
        "/api/v1/channels".to_owned(),
    ] {
        let r = app.get(&path).await;
        r.expect(200);
        assert!(
            !r.text.contains("hunter2") && !r.text.contains("s3cr3t-value"),
            "{path}: {}",
            r.text
        );
    }
    let r = app.get("/api/v1/channels").await;
    assert_eq!(r.expect(200)["items"].as_array().expect("items").len(), 2);

    // replacing the settings with what was read keeps the secret (and still shows none).
    let mut config = email["config"].clone();
    config["host"] = json!("smtp2.example.com");
    let r = app
        .put(
            &format!("/api/v1/channels/{email_id}"),
            json!({"name": "smtp", "type": "email", "config": config}),
        )
        .await;
    let updated = r.expect(200);
    assert_eq!(updated["config"]["host"], "smtp2.example.com");
    assert!(!r.text.contains("hunter2"), "{}", r.text);
    let r = app
        .put(
            &format!("/api/v1/channels/{email_id}"),
            json!({"name": "smtp", "type": "inbox", "config": {}}),
        )
        .await;
    assert_invalid(&r, "type");
}

#[tokio::test]
async fn channel_bodies_are_validated() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/api/v1/channels",
            json!({"name": "h", "type": "webhook", "config": {"url": "ftp://x"}}),
        )
        .await;
    assert_invalid(&r, "config.url");
    let r = app
        .post("/api/v1/channels", json!({"name": "h", "type": "webhook", "config": {"url": "https://example.com/h", "retries": 3}}))
        .await;
    assert_invalid(&r, "config.retries");
    let r = app
        .post(
            "/api/v1/channels",
            json!({"name": "h", "type": "pigeon", "config": {}}),
        )
        .await;
    assert_invalid(&r, "type");
    let r = app
        .post("/api/v1/channels", json!({"name": "h", "type": "webhook", "config": {"url": "https://example.com/h", "timeout": "forever"}}))
        .await;
    assert_invalid(&r, "config.timeout");
    let r = app
        .post("/api/v1/channels", json!({"name": "m", "type": "email", "config": {"host": "h", "port": 25, "tls": "maybe", "from": "a@b"}}))
        .await;
    assert_problem(&r, 422);
    let r = app
        .post(
            "/api/v1/channels",
            json!({"name": "i", "type": "inbox", "config": {}, "rate_limit_per_second": 0}),
        )
        .await;
    assert_invalid(&r, "rate_limit_per_second");
    let r = app.get("/api/v1/channels").await;
    assert_eq!(r.expect(200)["items"], json!([]));
}

#[tokio::test]
async fn channels_and_templates_in_use_cannot_be_deleted() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let spare = app.inbox_channel().await;
    let r = app.delete(&format!("/api/v1/channels/{spare}")).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_problem(&app.delete(&format!("/api/v1/channels/{spare}")).await, 404);

    app.active_campaign(&setup, once_later()).await;
    let r = app
        .delete(&format!("/api/v1/channels/{}", setup.channel))
        .await;
    assert_problem(&r, 409);
    let r = app
        .delete(&format!("/api/v1/templates/{}", setup.template))
        .await;
    assert_problem(&r, 409);
    let r = app
        .delete(&format!("/api/v1/audiences/{}", setup.audience))
        .await;
    let p = assert_problem(&r, 409);
    assert!(
        p["detail"].as_str().unwrap_or("").contains("campaign"),
        "{}",
        r.text
    );
    app.get(&format!("/api/v1/audiences/{}", setup.audience))
        .await
        .expect(200);
    app.get(&format!("/api/v1/channels/{}", setup.channel))
        .await
        .expect(200);
}

#[tokio::test]
async fn an_audience_used_only_by_a_draft_can_be_deleted() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let c = app.campaign(&setup, "Draft only", immediate()).await;
    let r = app
        .delete(&format!("/api/v1/audiences/{}", setup.audience))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    // the draft now points at nothing: activating it says so.
    let r = app
        .post_empty(&format!("/api/v1/campaigns/{}/activate", id_of(&c)))
        .await;
    assert_invalid(&r, "audience_id");
}

#[tokio::test]
async fn templates_are_created_read_listed_replaced_and_deleted() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/api/v1/templates",
            json!({"name": "Welcome", "channel_type": "email", "subject": "Hi {{ profile.first_name }}",
                   "body": "Welcome to {{ campaign.name }}"}),
        )
        .await;
    let t = r.expect(201).clone();
    let id = id_of(&t);
    assert_eq!(t["channel_type"], "email");
    assert_eq!(t["subject"], "Hi {{ profile.first_name }}");
    let r = app.get(&format!("/api/v1/templates/{id}")).await;
    assert_eq!(r.expect(200)["body"], "Welcome to {{ campaign.name }}");
    let r = app.get("/api/v1/templates").await;
    assert_eq!(r.expect(200)["items"].as_array().expect("items").len(), 1);
    let r = app
        .put(
            &format!("/api/v1/templates/{id}"),
            json!({"name": "Welcome", "channel_type": "email", "subject": "Hello", "body": "New"}),
        )
        .await;
    assert_eq!(r.expect(200)["body"], "New");
    let r = app
        .put(
            "/api/v1/templates/tpl_missing",
            json!({"name": "x", "channel_type": "inbox", "body": "x"}),
        )
        .await;
    assert_problem(&r, 404);
    let r = app.delete(&format!("/api/v1/templates/{id}")).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_problem(&app.get(&format!("/api/v1/templates/{id}")).await, 404);
    assert_problem(&app.delete(&format!("/api/v1/templates/{id}")).await, 404);
}

#[tokio::test]
async fn liquid_syntax_errors_are_422_naming_the_field_and_line() {
    let app = spawn_app().await;
    // A stand-in checker would accept everything; this probe tells whether the real one is in.
    let probe = app
        .post(
            "/api/v1/templates",
            json!({"name": "p", "channel_type": "inbox", "body": "{% if %}"}),
        )
        .await;
    assert_eq!(
        probe.status, 422,
        "`{{% if %}}` must be refused: {}",
        probe.text
    );

    let body = "Hello\nthere\n{{ profile.first_name | }}\n";
    let r = app
        .post(
            "/api/v1/templates",
            json!({"name": "t", "channel_type": "inbox", "body": body}),
        )
        .await;
    let message = assert_invalid(&r, "body");
    assert!(message.contains("line 3"), "the line is named: {message}");
    let r = app
        .post(
            "/api/v1/templates",
            json!({"name": "t", "channel_type": "email", "subject": "{% for %}", "body": "ok"}),
        )
        .await;
    let message = assert_invalid(&r, "subject");
    assert!(message.contains("line 1"), "{message}");
    let r = app
        .post(
            "/api/v1/templates",
            json!({"name": "t", "channel_type": "email", "body": "no subject"}),
        )
        .await;
    assert_invalid(&r, "subject");
    let r = app
        .post(
            "/api/v1/templates",
            json!({"name": "t", "channel_type": "fax", "body": "x"}),
        )
        .await;
    assert_invalid(&r, "channel_type");
    let r = app
        .post(
            "/api/v1/templates",
            json!({"name": "t", "channel_type": "inbox", "bdy": "x"}),
        )
        .await;
    assert_invalid(&r, "bdy");
    let r = app.get("/api/v1/templates").await;
    assert_eq!(r.expect(200)["items"], json!([]), "nothing was saved");
}

#[tokio::test]
async fn preview_renders_for_a_profile_with_defaults_and_empty_missing_variables() {
    let app = spawn_app().await;
    app.put_profile("ann", json!({"first_name": "Ann", "plan": {"name": "Pro"}}))
        .await;
    app.put_profile("anon", json!({})).await;
    let r = app
        .post(
            "/api/v1/templates",
            json!({"name": "t", "channel_type": "email",
                   "subject": "Hi {{ profile.first_name | default: \"there\" }}",
                   "body": "[{{ profile.nickname }}] {{ profile.id }} on {{ profile.plan.name }} ordered {{ event.order }}"}),
        )
        .await;
    let id = id_of(r.expect(201));
    let path = format!("/api/v1/templates/{id}/preview");
    let r = app
        .post(
            &path,
            json!({"profile_id": "ann", "context": {"order": "A-17"}}),
        )
        .await;
    assert_eq!(
        r.expect(200),
        &json!({"subject": "Hi Ann", "body": "[] ann on Pro ordered A-17"})
    );
    let r = app.post(&path, json!({"profile_id": "anon"})).await;
    assert_eq!(
        r.expect(200),
        &json!({"subject": "Hi there", "body": "[] anon on  ordered "})
    );
    let r = app.post(&path, json!({"profile_id": "nobody"})).await;
    assert_invalid(&r, "profile_id");
    let r = app.post(&path, json!({"profle_id": "ann"})).await;
    assert_invalid(&r, "profle_id");
    let r = app
        .post(
            "/api/v1/templates/tpl_missing/preview",
            json!({"profile_id": "ann"}),
        )
        .await;
    assert_problem(&r, 404);
}

/// Top-level mistakes are named exactly (`nmae`); the same is expected inside a channel's
/// `config` (`config.url` and `config.retries` already are).
#[tokio::test]
async fn channel_config_type_errors_name_the_exact_field() {
    let app = spawn_app().await;
    let email = |config: serde_json::Value| json!({"name": "m", "type": "email", "config": config});
    let cases = [
        (
            email(json!({"host": "h", "port": 25, "tls": "maybe", "from": "a@b"})),
            "config.tls",
        ),
        (
            email(json!({"host": "h", "port": "25", "tls": "none", "from": "a@b"})),
            "config.port",
        ),
    ];
    let mut wrong = Vec::new();
    for (body, field) in cases {
        let r = app.post("/api/v1/channels", body).await;
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

#[tokio::test]
async fn a_live_journey_keeps_what_it_references() {
    let app = spawn_app().await;
    let setup = app.setup().await;
    let id = app
        .live_event_journey(&setup, "signed_up", json!({"mode": "never"}))
        .await;
    let r = app
        .delete(&format!("/api/v1/channels/{}", setup.channel))
        .await;
    let p = assert_problem(&r, 409);
    assert!(
        p["detail"].as_str().unwrap_or("").contains(&id),
        "names the journey: {}",
        r.text
    );
    let r = app
        .delete(&format!("/api/v1/templates/{}", setup.template))
        .await;
    assert_problem(&r, 409);
    app.get(&format!("/api/v1/templates/{}", setup.template))
        .await
        .expect(200);
}
