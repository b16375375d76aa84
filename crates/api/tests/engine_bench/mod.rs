//! The harness of the engine tests: a webhook receiver whose answers a test chooses, and a
//! bench (app with the engine running, manual clock) with fixtures and "caught up" waits.

#![allow(
    dead_code,
    reason = "each engine test file uses a different part of the harness"
)]

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::{Body, Options, TestApp, id_of, spawn_with};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use reqwest::Method;
use serde_json::{Value, json};

/// How the receiver answers.
#[derive(Clone, Copy, Debug)]
pub enum Mode {
    Ok,
    /// This status to the first request of each key, 200 after.
    FirstFails(u16),
    /// This status to every request.
    Always(u16),
    /// 429 with `Retry-After: <seconds>` to the first request of each key, 200 after.
    RateLimited(u64),
}

/// A webhook receiver: records every request (key, body) on arrival, then waits for its gate.
#[derive(Clone)]
pub struct Receiver {
    pub mode: Mode,
    pub seen: Arc<Mutex<Vec<(String, Value)>>>,
    pub gate: Arc<tokio::sync::watch::Sender<bool>>,
}

impl Receiver {
    pub async fn start(mode: Mode) -> (Self, String) {
        let gate = Arc::new(tokio::sync::watch::Sender::new(true));
        let receiver = Self {
            mode,
            seen: Arc::default(),
            gate,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, url)
    }

    pub fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    pub fn requests(&self) -> Vec<(String, Value)> {
        self.seen.lock().unwrap().clone()
    }

    /// Bodies per idempotency key, in arrival order.
    pub fn by_key(&self) -> HashMap<String, Vec<Value>> {
        let mut keys: HashMap<String, Vec<Value>> = HashMap::new();
        for (key, body) in self.requests() {
            keys.entry(key).or_default().push(body);
        }
        keys
    }
}

pub async fn receive(
    State(r): State<Receiver>,
    headers: HeaderMap,
    body: axum::Json<Value>,
) -> (StatusCode, HeaderMap) {
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok());
    let key = key.unwrap_or("").to_owned();
    let first = {
        let mut seen = r.seen.lock().unwrap();
        let first = !seen.iter().any(|(k, _)| *k == key);
        seen.push((key, body.0));
        first
    };
    let _ = r.gate.subscribe().wait_for(|open| *open).await;
    let mut out = HeaderMap::new();
    let status = match r.mode {
        Mode::FirstFails(s) if first => s,
        Mode::Always(s) => s,
        Mode::RateLimited(secs) if first => {
            out.insert("retry-after", secs.into());
            429
        }
        _ => 200,
    };
    (StatusCode::from_u16(status).unwrap(), out)
}

pub async fn wait_for(what: &str, mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..400 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

/// An app with the engine running, a receiver, and what campaigns to it need.
pub struct Bench {
    pub app: TestApp,
    pub hook: Receiver,
    pub channel: String,
    pub template: String,
    pub gold: String,
    pub sentinel: String,
    pub beats: AtomicU64,
}

impl Deref for Bench {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.app
    }
}

pub fn every_ten_minutes() -> Value {
    json!({"type": "recurring", "cron": "*/10 * * * *", "timezone": "UTC"})
}

/// Named counters of a results (or occurrence) object.
pub fn counts<const N: usize>(r: &Value, names: [&str; N]) -> [u64; N] {
    names.map(|n| r[n].as_u64().unwrap_or_else(|| panic!("no {n} in {r}")))
}

/// Retries within a second or two of real time: the first retry comes after 0.5–1 s, the
/// fourth after at most 2 s.
pub fn quick_retries() -> sluice_engine::EngineConfig {
    sluice_engine::EngineConfig {
        retry_base: Duration::from_millis(250),
        retry_max: Duration::from_secs(2),
        ..sluice_engine::EngineConfig::default()
    }
}

impl Bench {
    pub async fn start(mode: Mode) -> Self {
        Self::start_with(mode, sluice_engine::EngineConfig::default()).await
    }

    pub async fn start_with(mode: Mode, engine: sluice_engine::EngineConfig) -> Self {
        let app = spawn_with(Options {
            engine: true,
            engine_config: Some(engine),
            ..Options::default()
        })
        .await;
        let (hook, url) = Receiver::start(mode).await;
        let (_, sentinel_url) = Receiver::start(Mode::Ok).await;
        let webhook = |url: &str| json!({"name": "h", "type": "webhook", "config": {"url": url}});
        let channel = app.channel(webhook(&url)).await;
        let sentinel_channel = app.channel(webhook(&sentinel_url)).await;
        let template = app.template("webhook", "Hello {{ profile.first_name }}");
        let template = template.await;
        let gold = app.audience(json!({"attr": "tier", "op": "eq", "value": "gold"}));
        let gold = gold.await;
        let mut b = Self {
            app,
            hook,
            channel: sentinel_channel,
            template,
            gold,
            sentinel: String::new(),
            beats: AtomicU64::new(0),
        };
        // The sentinel: an API campaign through its own channel (`channel` until it is set).
        b.sentinel = b.create(json!({"schedule": {"type": "api"}})).await;
        b.activate(&b.sentinel).await;
        b.channel = channel;
        b
    }

    /// `n` profiles `gold0..` (first name `Ann<i>`) in the `gold` audience.
    pub async fn people(&self, n: usize) {
        let mut csv = String::from("id,first_name,tier\n");
        for i in 0..n {
            csv.push_str(&format!("gold{i},Ann{i},gold\n"));
        }
        let (path, csv) = ("/api/v1/profiles/import", csv.into_bytes());
        let r = self.raw(Method::POST, path, "text/csv", csv).await;
        assert_eq!(r.expect(200)["imported"], n);
    }

    /// A campaign through the receiver with the bench's template; `fields` add or override.
    pub async fn create(&self, fields: Value) -> String {
        let mut body = json!({"name": "sale", "channel_id": self.channel,
                              "template_id": self.template});
        for (k, v) in fields.as_object().unwrap() {
            body[k] = v.clone();
        }
        id_of(self.post("/api/v1/campaigns", body).await.expect(201))
    }

    /// A campaign to the gold audience; returns its id.
    pub async fn campaign(&self, schedule: Value) -> String {
        let fields = json!({"audience_id": self.gold, "schedule": schedule});
        self.create(fields).await
    }

    pub async fn command(&self, id: &str, action: &str) -> String {
        let path = format!("/api/v1/campaigns/{id}/{action}");
        self.post_empty(&path).await.expect(200)["status"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn activate(&self, id: &str) -> String {
        self.command(id, "activate").await
    }

    pub async fn trigger(&self, id: &str, key: &str, body: Value) -> Value {
        let path = format!("/api/v1/campaigns/{id}/trigger");
        let headers = [("Idempotency-Key", key)];
        let r = self.call_with(Method::POST, &path, &headers, Body::Json(body));
        r.await.expect(202).clone()
    }

    /// Waits until everything due at the clock's current time is sent and settled.
    pub async fn settle(&self) {
        for _ in 0..2 {
            let k = self.beats.fetch_add(1, Ordering::SeqCst) + 1;
            let key = format!("beat{k}");
            let sentinel = json!({"profile_id": "sentinel"});
            self.trigger(&self.sentinel, &key, sentinel).await;
            wait_for("the engine to catch up", async || {
                self.results(&self.sentinel).await["delivered"] == k
            })
            .await;
        }
    }

    pub async fn advance(&self, by: &str) {
        self.app.advance(by).await;
        self.settle().await;
    }

    pub async fn results(&self, id: &str) -> Value {
        let r = self.get(&format!("/api/v1/campaigns/{id}/results")).await;
        r.expect(200).clone()
    }

    pub async fn status(&self, id: &str) -> String {
        let r = self.get(&format!("/api/v1/campaigns/{id}")).await;
        r.expect(200)["status"].as_str().unwrap().to_owned()
    }

    pub async fn actions(&self, id: &str, query: &str) -> Vec<Value> {
        let path = format!("/api/v1/campaigns/{id}/results/actions?limit=1000{query}");
        let r = self.get(&path).await;
        r.expect(200)["items"].as_array().unwrap().clone()
    }

    /// Occurrences by number.
    pub async fn occurrences(&self, id: &str) -> HashMap<u64, Value> {
        let r = self
            .get(&format!("/api/v1/campaigns/{id}/occurrences"))
            .await;
        let items = r.expect(200)["items"].as_array().unwrap().clone();
        items
            .into_iter()
            .map(|o| (o["n"].as_u64().unwrap(), o))
            .collect()
    }
}

/// The payload without `sent_at`, which tells the attempts apart.
pub fn content(body: &Value) -> Value {
    let mut body = body.clone();
    body.as_object_mut().unwrap().remove("sent_at");
    body
}
