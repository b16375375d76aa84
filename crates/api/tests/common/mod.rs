//! The harness of the HTTP tests: the real app over real HTTP on a free port, against a real
//! SQLite file in a temp dir, plus fixtures (channels, templates, audiences, campaigns,
//! journeys) and problem+json assertions. Every test starts its own app in its own dir.

#![allow(
    dead_code,
    reason = "each test file uses a different part of the harness"
)]

pub mod failing_store;
pub mod recount;

use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use sluice_api::ServeConfig;
use sluice_store::Store;
use tempfile::TempDir;

pub const ADMIN: &str = "test-admin";
/// The instant the test clock starts at.
pub const NOW: &str = "2026-01-01T00:00:00Z";
pub const PROBLEM_JSON: &str = "application/problem+json";

/// How to start an app; `Default` is the usual test server (admin token, test clock).
#[derive(Debug, Clone)]
pub struct Options {
    pub admin_token: Option<String>,
    pub test_clock: bool,
    pub max_body_bytes: Option<usize>,
    pub max_import_bytes: Option<usize>,
    /// Mount /metrics on the app (the default); `serve` moves it elsewhere with a setting.
    pub with_metrics: bool,
    /// Run the engine (deliveries) beside the HTTP server, as `serve` does.
    pub engine: bool,
    /// The engine's settings, when not the defaults.
    pub engine_config: Option<sluice_engine::EngineConfig>,
    /// Routes of the test's own beside those of the API, under the same layers.
    pub extra_routes: Option<fn() -> axum::Router<sluice_api::AppState>>,
    /// Puts the store the app and its engine use behind a wrapper (a store that fails on cue).
    pub wrap_store: Option<WrapStore>,
}

pub type WrapStore = fn(Arc<dyn Store>) -> Arc<dyn Store>;

impl Default for Options {
    fn default() -> Self {
        Self {
            admin_token: Some(ADMIN.into()),
            test_clock: true,
            max_body_bytes: None,
            max_import_bytes: None,
            with_metrics: true,
            engine: false,
            engine_config: None,
            extra_routes: None,
            wrap_store: None,
        }
    }
}

/// One answer, read completely.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    /// The body as JSON (`Null` when it is not JSON).
    pub body: Value,
}

impl Resp {
    pub fn content_type(&self) -> &str {
        self.headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Asserts the status and returns the JSON body.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Value {
        assert_eq!(
            self.status, status,
            "expected HTTP {status}, got {}: {}",
            self.status, self.text
        );
        &self.body
    }
}

/// A client of one server with one bearer token (or none).
#[derive(Clone)]
pub struct Api {
    pub base: String,
    http: reqwest::Client,
    token: Option<String>,
}

pub enum Body {
    None,
    Json(Value),
    Raw(&'static str, Vec<u8>),
}

impl Api {
    /// The same server, as another caller.
    pub fn as_token(&self, token: &str) -> Api {
        Api {
            token: Some(token.to_owned()),
            ..self.clone()
        }
    }

    pub fn anonymous(&self) -> Api {
        Api {
            token: None,
            ..self.clone()
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Body,
    ) -> Resp {
        let mut req = self.http.request(method.clone(), self.url(path));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        req = match body {
            Body::None => req,
            Body::Json(v) => req.json(&v),
            Body::Raw(ct, bytes) => req.header("content-type", ct).body(bytes),
        };
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("reading the body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            text,
            body,
        }
    }

    pub async fn call(&self, method: Method, path: &str, body: Body) -> Resp {
        self.call_with(method, path, &[], body).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.call(Method::GET, path, Body::None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.call(Method::POST, path, Body::Json(body)).await
    }

    /// A POST without a body (lifecycle commands take an optional `{reason}`).
    pub async fn post_empty(&self, path: &str) -> Resp {
        self.call(Method::POST, path, Body::None).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.call(Method::PUT, path, Body::Json(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Resp {
        self.call(Method::PATCH, path, Body::Json(body)).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.call(Method::DELETE, path, Body::None).await
    }

    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        content_type: &'static str,
        bytes: Vec<u8>,
    ) -> Resp {
        self.call(method, path, Body::Raw(content_type, bytes))
            .await
    }

    // ----- fixtures -----

    /// A new token of `role`, created by this (admin) client.
    pub async fn token(&self, role: &str) -> String {
        let r = self
            .post(
                "/api/v1/tokens",
                json!({"name": format!("{role} token"), "role": role}),
            )
            .await;
        let body = r.expect(201);
        assert!(body["id"].is_string(), "{}", r.text);
        body["token"].as_str().expect("token secret").to_owned()
    }

    pub async fn webhook_channel(&self) -> String {
        self.channel(json!({
            "name": "hooks", "type": "webhook",
            "config": {"url": "http://127.0.0.1:9/hook"}
        }))
        .await
    }

    pub async fn inbox_channel(&self) -> String {
        self.channel(json!({"name": "in-app", "type": "inbox", "config": {}}))
            .await
    }

    pub async fn channel(&self, body: Value) -> String {
        let r = self.post("/api/v1/channels", body).await;
        id_of(r.expect(201))
    }

    pub async fn template(&self, channel_type: &str, body: &str) -> String {
        let r = self
            .post(
                "/api/v1/templates",
                json!({"name": "t", "channel_type": channel_type, "body": body}),
            )
            .await;
        id_of(r.expect(201))
    }

    pub async fn audience(&self, rule: Value) -> String {
        let r = self
            .post("/api/v1/audiences", json!({"name": "a", "rule": rule}))
            .await;
        id_of(r.expect(201))
    }

    /// A webhook channel, a template for it and an audience of everybody.
    pub async fn setup(&self) -> Setup {
        let channel = self.webhook_channel().await;
        let template = self
            .template("webhook", "Hi {{ profile.first_name }}")
            .await;
        let audience = self.audience(json!({"all": []})).await;
        Setup {
            channel,
            template,
            audience,
        }
    }

    /// An inbox channel, a template for it and an audience of everybody.
    pub async fn inbox_setup(&self) -> Setup {
        let channel = self.inbox_channel().await;
        let template = self
            .template(
                "inbox",
                "Hello {{ profile.first_name | default: \"there\" }}",
            )
            .await;
        let audience = self.audience(json!({"all": []})).await;
        Setup {
            channel,
            template,
            audience,
        }
    }

    /// Creates a campaign (expects 201) and returns it.
    pub async fn campaign(&self, setup: &Setup, name: &str, schedule: Value) -> Value {
        let r = self
            .post("/api/v1/campaigns", setup.campaign_body(name, schedule))
            .await;
        r.expect(201).clone()
    }

    /// A campaign activated with `schedule` (expects 200 on activation); returns its id.
    pub async fn active_campaign(&self, setup: &Setup, schedule: Value) -> String {
        let id = id_of(&self.campaign(setup, "Spring sale", schedule).await);
        self.post_empty(&format!("/api/v1/campaigns/{id}/activate"))
            .await
            .expect(200);
        id
    }

    /// Creates a journey (expects 201) from `{name, ...definition}`; returns its id.
    pub async fn journey(&self, body: Value) -> String {
        let r = self.post("/api/v1/journeys", body).await;
        id_of(r.expect(201))
    }

    /// A published journey entered by `event`, with the given re-entrance mode.
    pub async fn live_event_journey(&self, setup: &Setup, event: &str, reentry: Value) -> String {
        let id = self.journey(event_journey(setup, event, reentry)).await;
        self.post_empty(&format!("/api/v1/journeys/{id}/versions/1/publish"))
            .await
            .expect(200);
        id
    }

    pub async fn event(&self, profile_id: &str, name: &str) -> Value {
        let r = self
            .post(
                "/api/v1/events",
                json!({"profile_id": profile_id, "name": name}),
            )
            .await;
        r.expect(202).clone()
    }

    pub async fn put_profile(&self, id: &str, attributes: Value) {
        let r = self
            .put(
                &format!("/api/v1/profiles/{id}"),
                json!({"attributes": attributes}),
            )
            .await;
        assert!(matches!(r.status, 200 | 201), "{}", r.text);
    }

    pub async fn profile_count(&self) -> usize {
        let r = self.get("/api/v1/profiles?limit=1000").await;
        r.expect(200)["items"].as_array().expect("items").len()
    }

    /// Profile ids inside a journey version (`state=active`).
    pub async fn active_in(&self, journey: &str, version: u32) -> Vec<String> {
        let r = self
            .get(&format!(
                "/api/v1/journeys/{journey}/versions/{version}/profiles?state=active"
            ))
            .await;
        r.expect(200)["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|e| e["profile_id"].as_str().expect("profile_id").to_owned())
            .collect()
    }

    pub async fn version_status(&self, journey: &str, version: u32) -> String {
        let r = self
            .get(&format!("/api/v1/journeys/{journey}/versions/{version}"))
            .await;
        r.expect(200)["status"].as_str().expect("status").to_owned()
    }

    pub async fn notifications(&self, query: &str) -> Vec<Value> {
        let r = self.get(&format!("/api/v1/notifications{query}")).await;
        r.expect(200)["items"].as_array().expect("items").clone()
    }

    pub async fn audit(&self, subject: &str) -> Vec<Value> {
        let r = self.get(&format!("/api/v1/audit?subject={subject}")).await;
        r.expect(200)["items"].as_array().expect("items").clone()
    }

    /// Moves the test clock forward by an ISO 8601 duration.
    pub async fn advance(&self, duration: &str) -> String {
        let r = self
            .post("/api/v1/test/clock", json!({"advance": duration}))
            .await;
        r.expect(200)["now"].as_str().expect("now").to_owned()
    }
}

/// What campaigns and journeys reference.
#[derive(Debug, Clone)]
pub struct Setup {
    pub channel: String,
    pub template: String,
    pub audience: String,
}

impl Setup {
    pub fn campaign_body(&self, name: &str, schedule: Value) -> Value {
        let mut body = json!({
            "name": name,
            "channel_id": self.channel,
            "template_id": self.template,
            "audience_id": self.audience,
        });
        body["schedule"] = schedule;
        body
    }
}

pub fn immediate() -> Value {
    json!({"type": "immediate"})
}

pub fn recurring() -> Value {
    json!({"type": "recurring", "cron": "0 9 * * *", "timezone": "Europe/Berlin"})
}

pub fn once_later() -> Value {
    json!({"type": "once", "at": "2026-03-01T09:00:00Z"})
}

/// `{name, ...definition}`: message → wait one day → end, entered by `event`.
pub fn event_journey(setup: &Setup, event: &str, reentry: Value) -> Value {
    let mut body = json!({
        "name": "Welcome",
        "entry": {"type": "event", "event": event},
        "start": "welcome",
        "nodes": [
            {"id": "welcome", "type": "message", "channel_id": setup.channel,
             "template_id": setup.template, "next": "pause"},
            {"id": "pause", "type": "wait", "duration": "P1D", "next": "done"},
            {"id": "done", "type": "end"}
        ]
    });
    body["reentry"] = reentry;
    body
}

#[track_caller]
pub fn id_of(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_owned()
}

// ----- problem+json assertions -----

/// Asserts an RFC 9457 answer with `status`: the content type and `type`, `title`, `status`,
/// `detail`. Returns the body.
#[track_caller]
pub fn assert_problem(r: &Resp, status: u16) -> &Value {
    assert_eq!(r.status, status, "expected HTTP {status}: {}", r.text);
    assert!(
        r.content_type().starts_with(PROBLEM_JSON),
        "content type of a {status} is `{}`, not {PROBLEM_JSON}: {}",
        r.content_type(),
        r.text
    );
    let p = &r.body;
    for key in ["type", "title", "detail"] {
        assert!(
            p[key].as_str().is_some_and(|s| !s.is_empty()),
            "problem without `{key}`: {}",
            r.text
        );
    }
    assert_eq!(p["status"], status, "problem status: {}", r.text);
    p
}

/// Asserts a 422 whose `errors` name `field`; returns that error's message.
#[track_caller]
pub fn assert_invalid(r: &Resp, field: &str) -> String {
    let p = assert_problem(r, 422);
    let errors = p["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("a 422 without `errors`: {}", r.text));
    errors
        .iter()
        .find(|e| e["field"] == field)
        .unwrap_or_else(|| panic!("no error for field `{field}`: {}", r.text))["message"]
        .as_str()
        .expect("message")
        .to_owned()
}

/// Asserts a 409 refusal: `current_status` and exactly the `allowed` actions (in any order).
#[track_caller]
pub fn assert_refused(r: &Resp, current_status: &str, allowed: &[&str]) {
    let p = assert_problem(r, 409);
    assert_eq!(p["current_status"], current_status, "{}", r.text);
    let mut got: Vec<&str> = p["allowed_actions"]
        .as_array()
        .unwrap_or_else(|| panic!("a 409 without `allowed_actions`: {}", r.text))
        .iter()
        .map(|a| a.as_str().expect("action name"))
        .collect();
    got.sort_unstable();
    let mut want = allowed.to_vec();
    want.sort_unstable();
    assert_eq!(got, want, "allowed_actions: {}", r.text);
}

// ----- the server -----

/// A running app; dereferences to its admin client.
pub struct TestApp {
    pub api: Api,
    dir: Option<TempDir>,
    shutdown: Option<tokio_util::sync::CancellationToken>,
    server: Option<tokio::task::JoinHandle<()>>,
    engine: Option<tokio::task::JoinHandle<()>>,
    pub state: sluice_api::AppState,
}

impl Deref for TestApp {
    type Target = Api;
    fn deref(&self) -> &Api {
        &self.api
    }
}

/// The usual test app in a fresh temp dir.
pub async fn spawn_app() -> TestApp {
    spawn_with(Options::default()).await
}

pub async fn spawn_with(options: Options) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut app = start_in(dir.path(), &options).await;
    app.dir = Some(dir);
    app
}

/// Starts an app on `data_dir` (which the caller keeps), as `prepare` + `app` do in `serve`.
pub async fn start_in(data_dir: &Path, options: &Options) -> TestApp {
    let mut config = ServeConfig {
        data_dir: data_dir.to_owned(),
        admin_token: options.admin_token.clone(),
        test_clock: options
            .test_clock
            .then(|| NOW.parse().expect("test clock instant")),
        ..ServeConfig::default()
    };
    if let Some(n) = options.max_body_bytes {
        config.max_body_bytes = n;
    }
    if let Some(n) = options.max_import_bytes {
        config.max_import_bytes = n;
    }
    if let Some(engine) = &options.engine_config {
        config.engine = engine.clone();
    }
    let store = sluice_store_sqlite::SqliteStore::open_dir(data_dir).expect("open the store");
    let mut state = sluice_api::prepare(&config, Arc::new(store)).expect("prepare");
    if let Some(wrap) = options.wrap_store {
        state.store = wrap(Arc::clone(&state.store));
        state.engine = sluice_engine::Engine::new(
            Arc::clone(&state.store),
            Arc::clone(&state.clock),
            sluice_engine::Brakes::new(),
            config.engine.clone(),
        );
        state.commands = sluice_commands::Commands::new(
            Arc::clone(&state.engine),
            config.admin_token.as_deref(),
        );
    }
    let stop = tokio_util::sync::CancellationToken::new();
    let engine = options.engine.then(|| {
        let stop = stop.clone();
        tokio::spawn(
            std::sync::Arc::clone(&state.engine).run(async move { stop.cancelled().await }),
        )
    });
    let extra = options
        .extra_routes
        .map_or_else(axum::Router::new, |routes| routes());
    let app = sluice_api::app_with(state.clone(), options.with_metrics, extra);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("local addr"));
    let rx = stop.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { rx.cancelled().await })
            .await
            .expect("serve");
    });
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    TestApp {
        api: Api {
            base,
            http,
            token: options.admin_token.clone(),
        },
        dir: None,
        shutdown: Some(stop),
        server: Some(server),
        engine,
        state,
    }
}

impl TestApp {
    pub fn data_dir(&self) -> &Path {
        self.dir.as_ref().expect("an app with its own dir").path()
    }

    /// Stops the server and waits until it let go of the store.
    pub async fn stop(mut self) {
        // Pooled keep-alive connections would hold the server's state: drop the client first.
        self.api.http = reqwest::Client::new();
        if let Some(stop) = self.shutdown.take() {
            stop.cancel();
        }
        if let Some(engine) = self.engine.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), engine).await;
        }
        if let Some(server) = self.server.take() {
            tokio::time::timeout(Duration::from_secs(10), server)
                .await
                .expect("the server stops within 10 s")
                .expect("the server task ends cleanly");
        }
    }
}
