//! How the engine delivers, with a real webhook receiver and the manual test clock: retries
//! with back-off (a retry runs only once the clock has passed it), giving up, `Retry-After`,
//! consent, API triggers, recurring and one-time schedules (C2, C4, C5, C10), inbound campaigns.
//!
//! "The engine has caught up" is observed, never slept for: `Bench::settle` triggers a sentinel
//! API campaign and waits for its delivery. The engine claims due work in due order and settles a
//! batch before it claims the next, so once the sentinel is delivered, everything that was due
//! when it was triggered has been sent and settled (done twice, to cover sends fanned out by an
//! occurrence that became due at the same instant).

mod common;

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use common::{Body, Options, TestApp, id_of, spawn_with};
use reqwest::Method;
use serde_json::{Value, json};

/// How the receiver answers.
#[derive(Clone, Copy, Debug)]
enum Mode {
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
struct Receiver {
    mode: Mode,
    seen: Arc<Mutex<Vec<(String, Value)>>>,
    gate: Arc<tokio::sync::watch::Sender<bool>>,
}

impl Receiver {
    async fn start(mode: Mode) -> (Self, String) {
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

    fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    fn requests(&self) -> Vec<(String, Value)> {
        self.seen.lock().unwrap().clone()
    }

    /// Bodies per idempotency key, in arrival order.
    fn by_key(&self) -> HashMap<String, Vec<Value>> {
        let mut keys: HashMap<String, Vec<Value>> = HashMap::new();
        for (key, body) in self.requests() {
            keys.entry(key).or_default().push(body);
        }
        keys
    }
}

async fn receive(
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

async fn wait_for(what: &str, mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..400 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

/// An app with the engine running, a receiver, and what campaigns to it need.
struct Bench {
    app: TestApp,
    hook: Receiver,
    channel: String,
    template: String,
    gold: String,
    sentinel: String,
    beats: AtomicU64,
}

impl Deref for Bench {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.app
    }
}

fn every_ten_minutes() -> Value {
    json!({"type": "recurring", "cron": "*/10 * * * *", "timezone": "UTC"})
}

/// Named counters of a results (or occurrence) object.
fn counts<const N: usize>(r: &Value, names: [&str; N]) -> [u64; N] {
    names.map(|n| r[n].as_u64().unwrap_or_else(|| panic!("no {n} in {r}")))
}

impl Bench {
    async fn start(mode: Mode) -> Self {
        let app = spawn_with(Options {
            engine: true,
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
    async fn people(&self, n: usize) {
        let mut csv = String::from("id,first_name,tier\n");
        for i in 0..n {
            csv.push_str(&format!("gold{i},Ann{i},gold\n"));
        }
        let (path, csv) = ("/api/v1/profiles/import", csv.into_bytes());
        let r = self.raw(Method::POST, path, "text/csv", csv).await;
        assert_eq!(r.expect(200)["imported"], n);
    }

    /// A campaign through the receiver with the bench's template; `fields` add or override.
    async fn create(&self, fields: Value) -> String {
        let mut body = json!({"name": "sale", "channel_id": self.channel,
                              "template_id": self.template});
        for (k, v) in fields.as_object().unwrap() {
            body[k] = v.clone();
        }
        id_of(self.post("/api/v1/campaigns", body).await.expect(201))
    }

    /// A campaign to the gold audience; returns its id.
    async fn campaign(&self, schedule: Value) -> String {
        let fields = json!({"audience_id": self.gold, "schedule": schedule});
        self.create(fields).await
    }

    async fn command(&self, id: &str, action: &str) -> String {
        let path = format!("/api/v1/campaigns/{id}/{action}");
        self.post_empty(&path).await.expect(200)["status"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn activate(&self, id: &str) -> String {
        self.command(id, "activate").await
    }

    async fn trigger(&self, id: &str, key: &str, body: Value) -> Value {
        let path = format!("/api/v1/campaigns/{id}/trigger");
        let headers = [("Idempotency-Key", key)];
        let r = self.call_with(Method::POST, &path, &headers, Body::Json(body));
        r.await.expect(202).clone()
    }

    /// Waits until everything due at the clock's current time is sent and settled.
    async fn settle(&self) {
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

    async fn advance(&self, by: &str) {
        self.app.advance(by).await;
        self.settle().await;
    }

    async fn results(&self, id: &str) -> Value {
        let r = self.get(&format!("/api/v1/campaigns/{id}/results")).await;
        r.expect(200).clone()
    }

    async fn status(&self, id: &str) -> String {
        let r = self.get(&format!("/api/v1/campaigns/{id}")).await;
        r.expect(200)["status"].as_str().unwrap().to_owned()
    }

    async fn actions(&self, id: &str, query: &str) -> Vec<Value> {
        let path = format!("/api/v1/campaigns/{id}/results/actions?limit=1000{query}");
        let r = self.get(&path).await;
        r.expect(200)["items"].as_array().unwrap().clone()
    }

    /// Occurrences by number.
    async fn occurrences(&self, id: &str) -> HashMap<u64, Value> {
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
fn content(body: &Value) -> Value {
    let mut body = body.clone();
    body.as_object_mut().unwrap().remove("sent_at");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_attempt_is_retried_after_its_back_off_and_delivered_once() {
    let b = Bench::start(Mode::FirstFails(500)).await;
    b.people(10).await;
    let id = b.campaign(json!({"type": "immediate"})).await;
    b.activate(&id).await;
    b.settle().await;
    assert_eq!(b.hook.count(), 10, "every member was tried once");
    assert_eq!(b.results(&id).await["delivered"], 0);
    assert_eq!(b.status(&id).await, "live", "retries are still to come");

    b.advance("PT10M").await;
    let r = b.results(&id).await;
    assert_eq!(counts(&r, ["delivered", "failed", "active"]), [10, 0, 0]);
    let keys = b.hook.by_key();
    assert_eq!(keys.len(), 10);
    for (key, bodies) in &keys {
        assert_eq!(bodies.len(), 2, "key {key} was sent exactly twice");
        assert_eq!(content(&bodies[0]), content(&bodies[1]), "same payload");
        assert_eq!(bodies[0]["idempotency_key"], key.as_str());
        assert_eq!(
            bodies[1]["sent_at"], "2026-01-01T00:10:00Z",
            "retried at the new time"
        );
    }
    let log = b.actions(&id, "").await;
    assert_eq!(
        log.len(),
        10,
        "one record per member, none per failed attempt: {log:?}"
    );
    assert!(log.iter().all(|a| a["outcome"] == "delivered"));
    assert_eq!(b.status(&id).await, "completed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_keeps_failing_is_given_up_after_five_attempts() {
    let b = Bench::start(Mode::Always(500)).await;
    b.people(4).await;
    let id = b.campaign(json!({"type": "immediate"})).await;
    b.activate(&id).await;
    b.settle().await;
    for attempt in 2..=5 {
        let failed = b.results(&id).await["failed"].clone();
        assert_eq!(failed, 0, "given up before attempt {attempt}");
        b.advance("PT10M").await;
        assert_eq!(
            b.hook.count(),
            4 * attempt,
            "attempt {attempt} ran for everybody"
        );
    }
    let r = b.results(&id).await;
    assert_eq!(counts(&r, ["failed", "delivered", "active"]), [4, 0, 0]);
    let log = b.actions(&id, "&outcome=failed").await;
    assert_eq!(log.len(), 4);
    for a in &log {
        let detail = a["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains("5 attempts") && detail.contains("500"),
            "{a}"
        );
    }
    b.advance("PT1H").await;
    assert_eq!(b.hook.count(), 20, "nothing after giving up");
    assert!(b.hook.by_key().values().all(|v| v.len() == 5));
    assert_eq!(b.status(&id).await, "completed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_error_fails_at_once_without_retry() {
    let b = Bench::start(Mode::Always(400)).await;
    b.people(4).await;
    let id = b.campaign(json!({"type": "immediate"})).await;
    b.activate(&id).await;
    b.settle().await;
    assert_eq!(b.results(&id).await["failed"], 4);
    b.advance("PT1H").await;
    assert_eq!(b.hook.count(), 4, "a 400 is never retried");
    assert!(b.hook.by_key().values().all(|v| v.len() == 1));
    for a in b.actions(&id, "").await {
        assert_eq!(a["outcome"], "failed");
        assert!(
            a["detail"].as_str().unwrap_or_default().contains("400"),
            "{a}"
        );
    }
    assert_eq!(b.status(&id).await, "completed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_honoured() {
    let b = Bench::start(Mode::RateLimited(1800)).await;
    b.people(3).await;
    let id = b.campaign(json!({"type": "immediate"})).await;
    b.activate(&id).await;
    b.settle().await;
    assert_eq!(b.hook.count(), 3);
    b.advance("PT29M").await; // 00:29
    assert_eq!(
        b.hook.count(),
        3,
        "retried before Retry-After (30 min) passed"
    );
    b.advance("PT2M").await; // 00:31
    assert_eq!(b.hook.count(), 6, "retried once Retry-After passed");
    assert_eq!(b.results(&id).await["delivered"], 3);
    for bodies in b.hook.by_key().values() {
        assert_eq!(bodies[1]["sent_at"], "2026-01-01T00:31:00Z");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_without_consent_are_skipped() {
    let b = Bench::start(Mode::Ok).await;
    b.people(3).await;
    // Webhook: one gold member said no to webhooks.
    let attributes = json!({"first_name": "No", "tier": "gold"});
    let profile = json!({"attributes": attributes, "consent": {"webhook": false}});
    b.put("/api/v1/profiles/nohook", profile).await.expect(201);
    let id = b.campaign(json!({"type": "immediate"})).await;
    b.activate(&id).await;
    b.settle().await;
    assert_eq!(
        counts(&b.results(&id).await, ["delivered", "skipped"]),
        [3, 1]
    );
    let to_nohook = b
        .hook
        .requests()
        .into_iter()
        .filter(|(_, r)| r["profile_id"] == "nohook");
    assert_eq!(to_nohook.count(), 0);
    let skipped = b.actions(&id, "&outcome=skipped").await;
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0]["profile_id"], "nohook");
    assert_eq!(skipped[0]["detail"], "no_consent");
    assert_eq!(b.status(&id).await, "completed");

    // Email: an SMTP server that counts connections; nothing may reach it.
    let smtp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = smtp.local_addr().unwrap().port();
    let connections = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&connections);
    tokio::spawn(async move {
        while smtp.accept().await.is_ok() {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    let config = json!({"host": "127.0.0.1", "port": port, "tls": "none", "from": "s@example.com"});
    let mail = b
        .channel(json!({"name": "mail", "type": "email", "config": config}))
        .await;
    let template = json!({"name": "m", "channel_type": "email", "subject": "Hi", "body": "Hello"});
    let template = id_of(b.post("/api/v1/templates", template).await.expect(201));
    let audience = b
        .audience(json!({"attr": "tier", "op": "eq", "value": "mail"}))
        .await;
    let attributes = json!({"email": "no@example.com", "tier": "mail"});
    let profile = json!({"attributes": attributes, "consent": {"email": false}});
    b.put("/api/v1/profiles/nomail", profile).await.expect(201);
    let id = b
        .create(
            json!({"channel_id": mail, "template_id": template, "audience_id": audience,
                       "schedule": {"type": "immediate"}}),
        )
        .await;
    b.activate(&id).await;
    b.settle().await;
    let log = b.actions(&id, "").await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(
        (&log[0]["outcome"], &log[0]["detail"]),
        (&json!("skipped"), &json!("no_consent"))
    );
    assert_eq!(b.results(&id).await["skipped"], 1);
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "the SMTP server was contacted"
    );
    assert_eq!(b.status(&id).await, "completed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trigger_sends_one_message_per_idempotency_key_with_its_context() {
    let b = Bench::start(Mode::Ok).await;
    b.put_profile("p1", json!({"first_name": "Ann"})).await;
    let template = b.template(
        "webhook",
        "Order {{ event.order }} for {{ profile.first_name }}",
    );
    let template = template.await;
    let id = b
        .create(json!({"template_id": template, "schedule": {"type": "api"}}))
        .await;
    assert_eq!(b.activate(&id).await, "live");
    let mut fresh = Vec::new();
    for _ in 0..2 {
        let body = json!({"profile_id": "p1", "context": {"order": "A-17"}});
        fresh.push(b.trigger(&id, "k1", body).await["new"].clone());
    }
    assert_eq!(
        fresh,
        [true, false],
        "the second call with key k1 is a repeat"
    );
    b.settle().await;
    let got = b.hook.requests();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].1["body"], "Order A-17 for Ann");
    assert_eq!(got[0].1["profile_id"], "p1");
    assert_eq!(b.results(&id).await["delivered"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recurring_campaign_runs_on_the_clock_and_stop_cancels_the_next_occurrence() {
    let b = Bench::start(Mode::Ok).await;
    b.people(5).await;
    b.app.advance("PT1M").await; // 00:01: the first fire is 00:10
    let id = b.campaign(every_ten_minutes()).await;
    assert_eq!(b.activate(&id).await, "scheduled");
    b.advance("PT8M").await; // 00:09
    assert_eq!(b.hook.count(), 0, "nothing before the first fire time");
    assert_eq!(b.occurrences(&id).await[&1]["state"], "pending");
    b.app.advance("PT1M").await; // 00:10
    let first = async || b.occurrences(&id).await[&1]["state"] == "done";
    wait_for("the first occurrence", first).await;
    b.settle().await;
    let occ = b.occurrences(&id).await;
    assert_eq!(occ[&1]["delivered"], 5);
    assert_eq!(occ[&1]["scheduled_for"], "2026-01-01T00:10:00Z");
    assert_eq!(occ[&2]["state"], "pending");
    assert_eq!(occ[&2]["scheduled_for"], "2026-01-01T00:20:00Z");
    assert_eq!(b.hook.count(), 5);
    assert_eq!(b.status(&id).await, "live");

    assert_eq!(b.command(&id, "stop").await, "stopped");
    assert_eq!(b.occurrences(&id).await[&2]["state"], "cancelled");
    b.advance("PT1H").await;
    b.advance("P1D").await;
    assert_eq!(b.hook.count(), 5, "sent after stop");
    assert_eq!(b.occurrences(&id).await.len(), 2);
    assert_eq!(b.status(&id).await, "stopped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_once_campaign_waits_for_its_time() {
    // The first attempt fails, so the campaign is observably `live` until the retry.
    let b = Bench::start(Mode::FirstFails(503)).await;
    b.people(4).await;
    let id = b
        .campaign(json!({"type": "once", "at": "2026-01-01T01:00:00Z"}))
        .await;
    assert_eq!(b.activate(&id).await, "scheduled");
    b.advance("PT59M").await;
    assert_eq!(b.hook.count(), 0, "sent before its time");
    assert_eq!(b.status(&id).await, "scheduled");
    b.advance("PT1M").await;
    assert_eq!(b.hook.count(), 4);
    assert_eq!(b.status(&id).await, "live");
    b.advance("PT10M").await;
    assert_eq!(b.results(&id).await["delivered"], 4);
    assert_eq!(b.hook.count(), 8);
    assert_eq!(b.status(&id).await, "completed");
}

/// C4: activating the draft replaces the live version; the next occurrence uses it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_occurrence_after_activating_a_modified_draft_uses_the_new_version() {
    let b = Bench::start(Mode::Ok).await;
    b.people(3).await;
    let id = b.campaign(every_ten_minutes()).await;
    b.activate(&id).await; // 00:00 is a fire time: occurrence 1 runs on version 1
    b.advance("PT5M").await;
    assert_eq!(b.results(&id).await["delivered"], 3);
    let name = |r: &Value| r["profile_id"].as_str().unwrap().replace("gold", "Ann");
    for (_, r) in b.hook.requests() {
        assert_eq!(
            (&r["version"], &r["body"]),
            (&json!(1), &json!(format!("Hello {}", name(&r))))
        );
    }

    let r = b
        .post_empty(&format!("/api/v1/campaigns/{id}/modify"))
        .await;
    assert_eq!(r.expect(200)["draft_version"], 2, "{}", r.text);
    let template = b.template("webhook", "New {{ profile.first_name }}").await;
    let draft = json!({"channel_id": b.channel, "template_id": template, "audience_id": b.gold,
                       "schedule": every_ten_minutes()});
    b.put(&format!("/api/v1/campaigns/{id}/draft"), draft)
        .await
        .expect(200);
    assert_eq!(b.activate(&id).await, "live");
    b.settle().await;
    let occ = b.occurrences(&id).await;
    assert_eq!(
        occ[&2]["state"], "cancelled",
        "the pending occurrence of version 1: {occ:?}"
    );
    let next: Vec<&Value> = occ.values().filter(|o| o["state"] == "pending").collect();
    assert_eq!(next.len(), 1, "{occ:?}");
    assert_eq!(next[0]["version"], 2);
    assert_eq!(next[0]["scheduled_for"], "2026-01-01T00:10:00Z");
    assert_eq!(b.hook.count(), 3, "nothing sent on activation at 00:05");

    b.advance("PT5M").await; // 00:10
    assert_eq!(b.results(&id).await["delivered"], 6);
    let new = &b.hook.requests()[3..];
    assert_eq!(new.len(), 3);
    for (_, r) in new {
        assert_eq!(
            (&r["version"], &r["body"]),
            (&json!(2), &json!(format!("New {}", name(r))))
        );
    }
    let versions = b.get(&format!("/api/v1/campaigns/{id}/versions")).await;
    let versions = versions.expect(200).as_array().unwrap().clone();
    let states: Vec<&Value> = versions.iter().map(|v| &v["state"]).collect();
    assert_eq!(states, ["superseded", "live"]);
}

/// C4 at a fire time that has just run: the new version takes the *next* occurrence; the slot
/// that ran on the old version is not run again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activating_a_new_version_at_a_fire_time_that_already_ran_does_not_run_it_again() {
    let b = Bench::start(Mode::Ok).await;
    b.people(3).await;
    let id = b.campaign(every_ten_minutes()).await;
    b.activate(&id).await; // occurrence 1 for 00:00 runs now
    b.settle().await;
    assert_eq!(b.hook.count(), 3);
    b.post_empty(&format!("/api/v1/campaigns/{id}/modify"))
        .await
        .expect(200);
    b.activate(&id).await; // still 00:00
    b.settle().await;
    let occ = b.occurrences(&id).await;
    let at_zero: Vec<&Value> = occ
        .values()
        .filter(|o| o["scheduled_for"] == "2026-01-01T00:00:00Z")
        .collect();
    assert_eq!(
        at_zero.len(),
        1,
        "the 00:00 slot was planned twice: {at_zero:?}"
    );
    assert_eq!(b.hook.count(), 3, "everybody got the 00:00 message twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inbound_campaign_at_a_later_time_is_served_from_that_time() {
    let b = Bench::start(Mode::Ok).await;
    let setup = b.inbox_setup().await;
    b.put_profile("p1", json!({"first_name": "Ann"})).await;
    let once = json!({"type": "once", "at": "2026-01-01T01:00:00Z"});
    let id = id_of(&b.app.campaign(&setup, "Banner", once).await);
    assert_eq!(b.activate(&id).await, "scheduled");
    let inbox = async || {
        let r = b.get("/api/v1/inbox/p1").await;
        r.expect(200)["items"].as_array().unwrap().clone()
    };
    assert!(inbox().await.is_empty(), "served before its time");
    b.advance("PT1H").await;
    assert_eq!(
        b.status(&id).await,
        "live",
        "an inbound campaign stays live once its time came"
    );
    let items = inbox().await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(
        (&items[0]["campaign_id"], &items[0]["body"]),
        (&json!(id), &json!("Hello Ann"))
    );
}

/// C5: stop cancels the next occurrence, but the one in progress runs to its end. 600 members
/// are more than one claimed batch; the receiver holds the first batch until stop has returned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_lets_the_occurrence_in_progress_run_to_its_end() {
    let b = Bench::start(Mode::Ok).await;
    b.people(600).await;
    let id = b.campaign(every_ten_minutes()).await;
    b.hook.gate.send_replace(false);
    b.activate(&id).await; // 00:00 is a fire time: occurrence 1 starts now
    wait_for("the first deliveries", async || b.hook.count() > 0).await;
    assert_eq!(b.command(&id, "stop").await, "stopped");
    b.hook.gate.send_replace(true);
    let ended = async || b.occurrences(&id).await[&1]["state"] != "running";
    wait_for("occurrence 1 to end", ended).await;
    b.settle().await;
    let occ = b.occurrences(&id).await;
    assert_eq!(occ[&1]["state"], "done", "{occ:?}");
    let r = b.results(&id).await;
    assert_eq!(
        counts(&r, ["delivered", "cancelled"]),
        [600, 0],
        "cut short: {r}"
    );
    assert_eq!(b.hook.by_key().len(), 600);
}
