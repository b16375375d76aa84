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
        let receiver = Self {
            mode,
            seen: Arc::default(),
            gate: Arc::new(tokio::sync::watch::Sender::new(true)),
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
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let first = {
        let mut seen = r.seen.lock().unwrap();
        let first = !seen.iter().any(|(k, _)| *k == key);
        seen.push((key, body.0));
        first
    };
    let _ = r.gate.subscribe().wait_for(|open| *open).await;
    let mut out = HeaderMap::new();
    let status = match r.mode {
        Mode::Ok => 200,
        Mode::FirstFails(s) if first => s,
        Mode::Always(s) => s,
        Mode::RateLimited(secs) if first => {
            out.insert("retry-after", secs.to_string().parse().unwrap());
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

impl Bench {
    async fn start(mode: Mode) -> Self {
        let app = spawn_with(Options {
            engine: true,
            ..Options::default()
        })
        .await;
        let (hook, url) = Receiver::start(mode).await;
        let (_, sentinel_url) = Receiver::start(Mode::Ok).await;
        let webhook = |name: &str, url: &str| json!({"name": name, "type": "webhook", "config": {"url": url}});
        let channel = app.channel(webhook("hook", &url)).await;
        let sentinel_channel = app.channel(webhook("sentinel", &sentinel_url)).await;
        let template = app
            .template("webhook", "Hello {{ profile.first_name }}")
            .await;
        let gold = app
            .audience(json!({"attr": "tier", "op": "eq", "value": "gold"}))
            .await;
        let body = json!({"name": "sentinel", "channel_id": sentinel_channel,
                          "template_id": template, "schedule": {"type": "api"}});
        let sentinel = id_of(app.post("/api/v1/campaigns", body).await.expect(201));
        app.post_empty(&format!("/api/v1/campaigns/{sentinel}/activate"))
            .await
            .expect(200);
        Self {
            app,
            hook,
            channel,
            template,
            gold,
            sentinel,
            beats: AtomicU64::new(0),
        }
    }

    /// `n` profiles `gold0..` (first name `Ann<i>`) in the `gold` audience.
    async fn people(&self, n: usize) {
        let mut csv = String::from("id,first_name,tier\n");
        for i in 0..n {
            csv.push_str(&format!("gold{i},Ann{i},gold\n"));
        }
        let r = self
            .app
            .raw(
                Method::POST,
                "/api/v1/profiles/import",
                "text/csv",
                csv.into_bytes(),
            )
            .await;
        assert_eq!(r.expect(200)["imported"], n);
    }

    /// A campaign to the gold audience through the receiver; returns its id.
    async fn campaign(&self, schedule: Value) -> String {
        let body = json!({"name": "sale", "channel_id": self.channel, "template_id": self.template,
                          "audience_id": self.gold, "schedule": schedule});
        id_of(self.app.post("/api/v1/campaigns", body).await.expect(201))
    }

    async fn activate(&self, id: &str) -> String {
        let r = self
            .app
            .post_empty(&format!("/api/v1/campaigns/{id}/activate"))
            .await;
        r.expect(200)["status"].as_str().unwrap().to_owned()
    }

    /// Waits until everything due at the clock's current time is sent and settled.
    async fn settle(&self) {
        for _ in 0..2 {
            let k = self.beats.fetch_add(1, Ordering::SeqCst) + 1;
            let key = format!("beat{k}");
            let path = format!("/api/v1/campaigns/{}/trigger", self.sentinel);
            let body = Body::Json(json!({"profile_id": "sentinel"}));
            let r = self
                .app
                .call_with(Method::POST, &path, &[("Idempotency-Key", &key)], body)
                .await;
            r.expect(202);
            let sentinel = self.sentinel.clone();
            wait_for("the engine to catch up", async || {
                results(&self.app, &sentinel).await["delivered"] == k
            })
            .await;
        }
    }

    async fn advance(&self, by: &str) {
        self.app.advance(by).await;
        self.settle().await;
    }
}

async fn results(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/api/v1/campaigns/{id}/results"))
        .await
        .expect(200)
        .clone()
}

async fn status(app: &TestApp, id: &str) -> String {
    let r = app.get(&format!("/api/v1/campaigns/{id}")).await;
    r.expect(200)["status"].as_str().unwrap().to_owned()
}

async fn actions(app: &TestApp, id: &str, query: &str) -> Vec<Value> {
    let r = app
        .get(&format!(
            "/api/v1/campaigns/{id}/results/actions?limit=1000{query}"
        ))
        .await;
    r.expect(200)["items"].as_array().unwrap().clone()
}

/// Occurrences by number.
async fn occurrences(app: &TestApp, id: &str) -> HashMap<u64, Value> {
    let r = app
        .get(&format!("/api/v1/campaigns/{id}/occurrences"))
        .await;
    let items = r.expect(200)["items"].as_array().unwrap().clone();
    items
        .into_iter()
        .map(|o| (o["n"].as_u64().unwrap(), o))
        .collect()
}

/// `Ann<i>` for the profile `gold<i>` a payload went to.
fn first_name(body: &Value) -> String {
    body["profile_id"].as_str().unwrap().replace("gold", "Ann")
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
    assert_eq!(results(&b.app, &id).await["delivered"], 0);
    assert_eq!(
        status(&b.app, &id).await,
        "live",
        "retries are still to come"
    );

    b.advance("PT10M").await;
    let r = results(&b.app, &id).await;
    assert_eq!(
        (
            r["delivered"].clone(),
            r["failed"].clone(),
            r["active"].clone()
        ),
        (json!(10), json!(0), json!(0))
    );
    let keys = b.hook.by_key();
    assert_eq!(keys.len(), 10);
    for (key, bodies) in &keys {
        assert_eq!(bodies.len(), 2, "key {key} was sent exactly twice");
        assert_eq!(
            content(&bodies[0]),
            content(&bodies[1]),
            "same payload on the retry"
        );
        assert_eq!(bodies[0]["idempotency_key"], key.as_str());
        assert_eq!(
            bodies[1]["sent_at"], "2026-01-01T00:10:00Z",
            "the retry ran at the moved clock"
        );
    }
    let log = actions(&b.app, &id, "").await;
    assert_eq!(
        log.len(),
        10,
        "one record per member, no record of the failed attempt: {log:?}"
    );
    assert!(log.iter().all(|a| a["outcome"] == "delivered"));
    assert_eq!(status(&b.app, &id).await, "completed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_keeps_failing_is_given_up_after_five_attempts() {
    let b = Bench::start(Mode::Always(500)).await;
    b.people(4).await;
    let id = b.campaign(json!({"type": "immediate"})).await;
    b.activate(&id).await;
    b.settle().await;
    for attempt in 2..=5 {
        assert_eq!(
            results(&b.app, &id).await["failed"],
            0,
            "not given up before attempt {attempt}"
        );
        b.advance("PT10M").await;
        assert_eq!(
            b.hook.count(),
            4 * attempt,
            "attempt {attempt} ran for everybody"
        );
    }
    let r = results(&b.app, &id).await;
    assert_eq!(
        (r["failed"].clone(), r["delivered"].clone()),
        (json!(4), json!(0))
    );
    let log = actions(&b.app, &id, "&outcome=failed").await;
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
    assert_eq!(status(&b.app, &id).await, "completed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_error_fails_at_once_without_retry() {
    let b = Bench::start(Mode::Always(400)).await;
    b.people(4).await;
    let id = b.campaign(json!({"type": "immediate"})).await;
    b.activate(&id).await;
    b.settle().await;
    assert_eq!(results(&b.app, &id).await["failed"], 4);
    b.advance("PT1H").await;
    assert_eq!(b.hook.count(), 4, "a 400 is never retried");
    assert!(b.hook.by_key().values().all(|v| v.len() == 1));
    for a in actions(&b.app, &id, "").await {
        assert_eq!(a["outcome"], "failed");
        assert!(
            a["detail"].as_str().unwrap_or_default().contains("400"),
            "{a}"
        );
    }
    assert_eq!(status(&b.app, &id).await, "completed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_honoured() {
    let b = Bench::start(Mode::RateLimited(1800)).await;
    b.people(3).await;
    let id = b.campaign(json!({"type": "immediate"})).await;
    b.activate(&id).await;
    b.settle().await;
    assert_eq!(b.hook.count(), 3);
    b.advance("PT29M").await; // 00:29, before Retry-After has passed
    assert_eq!(
        b.hook.count(),
        3,
        "retried before Retry-After (30 min) passed"
    );
    b.advance("PT2M").await; // 00:31
    assert_eq!(b.hook.count(), 6, "retried once Retry-After passed");
    assert_eq!(results(&b.app, &id).await["delivered"], 3);
    for bodies in b.hook.by_key().values() {
        assert_eq!(bodies[1]["sent_at"], "2026-01-01T00:31:00Z");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_without_consent_are_skipped() {
    let b = Bench::start(Mode::Ok).await;
    b.people(3).await;
    // Webhook: one gold member said no to webhooks.
    let r = b
        .app
        .put(
            "/api/v1/profiles/nohook",
            json!({"attributes": {"first_name": "No", "tier": "gold"},
                                                         "consent": {"webhook": false}}),
        )
        .await;
    r.expect(201);
    let id = b.campaign(json!({"type": "immediate"})).await;
    b.activate(&id).await;
    b.settle().await;
    let r = results(&b.app, &id).await;
    assert_eq!(
        (r["delivered"].clone(), r["skipped"].clone()),
        (json!(3), json!(1))
    );
    assert!(
        b.hook
            .requests()
            .iter()
            .all(|(_, body)| body["profile_id"] != "nohook")
    );
    let skipped = actions(&b.app, &id, "&outcome=skipped").await;
    assert_eq!(skipped.len(), 1);
    assert_eq!(
        (
            skipped[0]["profile_id"].as_str(),
            skipped[0]["detail"].as_str()
        ),
        (Some("nohook"), Some("no_consent"))
    );
    assert_eq!(status(&b.app, &id).await, "completed");

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
    let mail = b
        .app
        .channel(
            json!({"name": "mail", "type": "email", "config": {"host": "127.0.0.1",
        "port": port, "tls": "none", "from": "shop@example.com"}}),
        )
        .await;
    let r = b
        .app
        .post(
            "/api/v1/templates",
            json!({"name": "m", "channel_type": "email",
        "subject": "Hi", "body": "Hello {{ profile.first_name }}"}),
        )
        .await;
    let template = id_of(r.expect(201));
    let audience = b
        .app
        .audience(json!({"attr": "tier", "op": "eq", "value": "mail"}))
        .await;
    let r = b
        .app
        .put(
            "/api/v1/profiles/nomail",
            json!({"attributes": {"email": "no@example.com", "tier": "mail"},
                                                         "consent": {"email": false}}),
        )
        .await;
    r.expect(201);
    let body = json!({"name": "mail", "channel_id": mail, "template_id": template, "audience_id": audience,
                      "schedule": {"type": "immediate"}});
    let id = id_of(b.app.post("/api/v1/campaigns", body).await.expect(201));
    b.activate(&id).await;
    b.settle().await;
    let log = actions(&b.app, &id, "").await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(
        (log[0]["outcome"].as_str(), log[0]["detail"].as_str()),
        (Some("skipped"), Some("no_consent"))
    );
    assert_eq!(results(&b.app, &id).await["skipped"], 1);
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "the SMTP server was contacted"
    );
    assert_eq!(status(&b.app, &id).await, "completed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trigger_sends_one_message_per_idempotency_key_with_its_context() {
    let b = Bench::start(Mode::Ok).await;
    b.app.put_profile("p1", json!({"first_name": "Ann"})).await;
    let template = b
        .app
        .template(
            "webhook",
            "Order {{ event.order }} for {{ profile.first_name }}",
        )
        .await;
    let body = json!({"name": "orders", "channel_id": b.channel, "template_id": template, "schedule": {"type": "api"}});
    let id = id_of(b.app.post("/api/v1/campaigns", body).await.expect(201));
    assert_eq!(b.activate(&id).await, "live");
    let path = format!("/api/v1/campaigns/{id}/trigger");
    let mut fresh = Vec::new();
    for _ in 0..2 {
        let body = Body::Json(json!({"profile_id": "p1", "context": {"order": "A-17"}}));
        let r = b
            .app
            .call_with(Method::POST, &path, &[("Idempotency-Key", "k1")], body)
            .await;
        fresh.push(r.expect(202)["new"].clone());
    }
    assert_eq!(fresh, [json!(true), json!(false)]);
    b.settle().await;
    let got = b.hook.requests();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].1["body"], "Order A-17 for Ann");
    assert_eq!(got[0].1["profile_id"], "p1");
    assert_eq!(results(&b.app, &id).await["delivered"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recurring_campaign_runs_on_the_clock_and_stop_cancels_the_next_occurrence() {
    let b = Bench::start(Mode::Ok).await;
    b.people(5).await;
    b.app.advance("PT1M").await; // 00:01: the first fire is 00:10
    let id = b
        .campaign(json!({"type": "recurring", "cron": "*/10 * * * *", "timezone": "UTC"}))
        .await;
    assert_eq!(b.activate(&id).await, "scheduled");
    b.advance("PT8M").await; // 00:09
    assert_eq!(b.hook.count(), 0, "nothing before the first fire time");
    assert_eq!(occurrences(&b.app, &id).await[&1]["state"], "pending");
    b.app.advance("PT1M").await; // 00:10
    wait_for("the first occurrence", async || {
        occurrences(&b.app, &id).await[&1]["state"] == "done"
    })
    .await;
    b.settle().await;
    let occ = occurrences(&b.app, &id).await;
    assert_eq!(occ[&1]["delivered"], 5);
    assert_eq!(occ[&1]["scheduled_for"], "2026-01-01T00:10:00Z");
    assert_eq!(
        (occ[&2]["state"].as_str(), occ[&2]["scheduled_for"].as_str()),
        (Some("pending"), Some("2026-01-01T00:20:00Z"))
    );
    assert_eq!(b.hook.count(), 5);
    assert_eq!(status(&b.app, &id).await, "live");

    let r = b
        .app
        .post_empty(&format!("/api/v1/campaigns/{id}/stop"))
        .await;
    assert_eq!(r.expect(200)["status"], "stopped");
    assert_eq!(occurrences(&b.app, &id).await[&2]["state"], "cancelled");
    b.advance("PT1H").await;
    b.advance("P1D").await;
    assert_eq!(b.hook.count(), 5, "sent after stop");
    assert_eq!(occurrences(&b.app, &id).await.len(), 2);
    assert_eq!(status(&b.app, &id).await, "stopped");
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
    assert_eq!(status(&b.app, &id).await, "scheduled");
    b.advance("PT1M").await;
    assert_eq!(b.hook.count(), 4);
    assert_eq!(status(&b.app, &id).await, "live");
    b.advance("PT10M").await;
    assert_eq!(results(&b.app, &id).await["delivered"], 4);
    assert_eq!(b.hook.count(), 8);
    assert_eq!(status(&b.app, &id).await, "completed");
}

/// C4: activating the draft replaces the live version; the next occurrence uses it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_occurrence_after_activating_a_modified_draft_uses_the_new_version() {
    let b = Bench::start(Mode::Ok).await;
    b.people(3).await;
    let schedule = json!({"type": "recurring", "cron": "*/10 * * * *", "timezone": "UTC"});
    let id = b.campaign(schedule.clone()).await;
    b.activate(&id).await; // 00:00 is a fire time: occurrence 1 runs on version 1
    b.advance("PT5M").await;
    assert_eq!(results(&b.app, &id).await["delivered"], 3);
    let old = b.hook.requests();
    assert!(
        old.iter()
            .all(|(_, r)| r["version"] == 1
                && r["body"] == json!(format!("Hello {}", first_name(r))))
    );

    let r = b
        .app
        .post_empty(&format!("/api/v1/campaigns/{id}/modify"))
        .await;
    assert_eq!(r.expect(200)["draft_version"], 2, "{}", r.text);
    let template = b
        .app
        .template("webhook", "New {{ profile.first_name }}")
        .await;
    let draft = json!({"channel_id": b.channel, "template_id": template, "audience_id": b.gold,
                       "schedule": schedule});
    b.app
        .put(&format!("/api/v1/campaigns/{id}/draft"), draft)
        .await
        .expect(200);
    assert_eq!(b.activate(&id).await, "live");
    b.settle().await;
    let occ = occurrences(&b.app, &id).await;
    assert_eq!(
        occ[&2]["state"], "cancelled",
        "the pending occurrence of version 1: {occ:?}"
    );
    let next: Vec<&Value> = occ.values().filter(|o| o["state"] == "pending").collect();
    assert_eq!(next.len(), 1, "{occ:?}");
    assert_eq!(
        (
            next[0]["version"].as_u64(),
            next[0]["scheduled_for"].as_str()
        ),
        (Some(2), Some("2026-01-01T00:10:00Z"))
    );
    assert_eq!(b.hook.count(), 3, "nothing sent on activation at 00:05");

    b.advance("PT5M").await; // 00:10
    assert_eq!(results(&b.app, &id).await["delivered"], 6);
    let new = &b.hook.requests()[3..];
    assert_eq!(new.len(), 3);
    for (_, r) in new {
        assert_eq!(r["version"], 2, "{r}");
        assert_eq!(r["body"], json!(format!("New {}", first_name(r))), "{r}");
    }
    let versions = b.app.get(&format!("/api/v1/campaigns/{id}/versions")).await;
    let states: Vec<&Value> = versions
        .expect(200)
        .as_array()
        .unwrap()
        .iter()
        .map(|v| &v["state"])
        .collect();
    assert_eq!(states, [&json!("superseded"), &json!("live")]);
}

/// C4 at a fire time that has just run: the new version takes the *next* occurrence; the slot
/// that ran on the old version is not run again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activating_a_new_version_at_a_fire_time_that_already_ran_does_not_run_it_again() {
    let b = Bench::start(Mode::Ok).await;
    b.people(3).await;
    let id = b
        .campaign(json!({"type": "recurring", "cron": "*/10 * * * *", "timezone": "UTC"}))
        .await;
    b.activate(&id).await; // occurrence 1 for 00:00 runs now
    b.settle().await;
    assert_eq!(b.hook.count(), 3);
    b.app
        .post_empty(&format!("/api/v1/campaigns/{id}/modify"))
        .await
        .expect(200);
    b.activate(&id).await; // still 00:00
    b.settle().await;
    let occ = occurrences(&b.app, &id).await;
    let slots: Vec<(u64, &str, &str)> = occ
        .values()
        .map(|o| {
            (
                o["n"].as_u64().unwrap(),
                o["scheduled_for"].as_str().unwrap(),
                o["state"].as_str().unwrap(),
            )
        })
        .filter(|o| o.1 == "2026-01-01T00:00:00Z")
        .collect();
    assert_eq!(
        slots.len(),
        1,
        "the 00:00 slot was planned twice: {slots:?}"
    );
    assert_eq!(b.hook.count(), 3, "everybody got the 00:00 message twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inbound_campaign_at_a_later_time_is_served_from_that_time() {
    let b = Bench::start(Mode::Ok).await;
    let setup = b.app.inbox_setup().await;
    b.app.put_profile("p1", json!({"first_name": "Ann"})).await;
    let id = id_of(
        &b.app
            .campaign(
                &setup,
                "Banner",
                json!({"type": "once", "at": "2026-01-01T01:00:00Z"}),
            )
            .await,
    );
    assert_eq!(b.activate(&id).await, "scheduled");
    let inbox = async || {
        b.app.get("/api/v1/inbox/p1").await.expect(200)["items"]
            .as_array()
            .unwrap()
            .clone()
    };
    assert!(inbox().await.is_empty(), "served before its time");
    b.advance("PT1H").await;
    assert_eq!(
        status(&b.app, &id).await,
        "live",
        "an inbound campaign stays live once its time came"
    );
    let items = inbox().await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(
        (items[0]["campaign_id"].as_str(), items[0]["body"].as_str()),
        (Some(id.as_str()), Some("Hello Ann"))
    );
}

/// C5: stop cancels the next occurrence, but the one in progress runs to its end. 600 members
/// are more than one batch; the receiver holds the first batch until stop has returned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_lets_the_occurrence_in_progress_run_to_its_end() {
    let b = Bench::start(Mode::Ok).await;
    b.people(600).await;
    let id = b
        .campaign(json!({"type": "recurring", "cron": "*/10 * * * *", "timezone": "UTC"}))
        .await;
    b.hook.gate.send_replace(false);
    b.activate(&id).await; // 00:00 is a fire time: occurrence 1 starts now
    wait_for("the first deliveries", async || b.hook.count() > 0).await;
    let r = b
        .app
        .post_empty(&format!("/api/v1/campaigns/{id}/stop"))
        .await;
    assert_eq!(r.expect(200)["status"], "stopped");
    b.hook.gate.send_replace(true);
    wait_for("occurrence 1 to end", async || {
        occurrences(&b.app, &id).await[&1]["state"] != "running"
    })
    .await;
    b.settle().await;
    let occ = occurrences(&b.app, &id).await;
    assert_eq!(occ[&1]["state"], "done", "{occ:?}");
    assert_eq!(
        results(&b.app, &id).await["delivered"],
        600,
        "the running occurrence was cut short"
    );
    assert_eq!(b.hook.by_key().len(), 600);
}
