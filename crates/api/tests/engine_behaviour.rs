//! How the engine delivers, with a real webhook receiver and the manual test clock: retries
//! with back-off in real time (the test clock stands still and they still come; moving it
//! brings none forward), giving up, `Retry-After`, consent and API triggers.
//!
//! "The engine has caught up" is observed, never slept for: see `engine_bench::Bench::settle`.

mod common;
mod engine_bench;

use engine_bench::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::id_of;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_attempt_is_retried_after_its_back_off_and_delivered_once() {
    let b = Bench::start_with(Mode::FirstFails(500), quick_retries()).await;
    b.people(10).await;
    let id = b.campaign(json!({"type": "immediate"})).await;
    b.activate(&id).await;
    let tried = std::time::Instant::now();
    b.settle().await;
    assert_eq!(b.hook.count(), 10, "every member was tried once");
    // The test clock never moves: the retries come on their back-off, in real time.
    wait_for("the retries", async || {
        b.results(&id).await["delivered"] == 10
    })
    .await;
    assert!(
        tried.elapsed() >= Duration::from_millis(250),
        "retried before its back-off (at least half of 2 × 250 ms)"
    );
    let r = b.results(&id).await;
    assert_eq!(counts(&r, ["delivered", "failed", "active"]), [10, 0, 0]);
    let keys = b.hook.by_key();
    assert_eq!(keys.len(), 10);
    for (key, bodies) in &keys {
        assert_eq!(bodies.len(), 2, "key {key} was sent exactly twice");
        assert_eq!(content(&bodies[0]), content(&bodies[1]), "same payload");
        assert_eq!(bodies[0]["idempotency_key"], key.as_str());
        assert_eq!(
            bodies[1]["sent_at"], "2026-01-01T00:00:00Z",
            "the business clock stood still"
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
    let b = Bench::start_with(Mode::Always(500), quick_retries()).await;
    b.people(4).await;
    let id = b.campaign(json!({"type": "immediate"})).await;
    b.activate(&id).await;
    wait_for("five attempts each", async || {
        b.results(&id).await["failed"] == 4
    })
    .await;
    assert_eq!(b.hook.count(), 20, "five attempts for everybody");
    let r = b.results(&id).await;
    assert_eq!(counts(&r, ["failed", "delivered", "active"]), [4, 0, 0]);
    let rows = common::recount::campaign(b.data_dir(), &id);
    common::recount::assert_agrees(&r, &rows, "given up");
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
    tokio::time::sleep(Duration::from_millis(500)).await;
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

/// `Retry-After` is real time: the retry waits for it however far the test clock moves, and
/// comes once it has passed with the clock standing still.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_honoured_in_real_time() {
    let b = Bench::start_with(Mode::RateLimited(1), quick_retries()).await;
    b.people(3).await;
    let id = b.campaign(json!({"type": "immediate"})).await;
    b.activate(&id).await;
    let asked = std::time::Instant::now();
    b.settle().await;
    assert_eq!(b.hook.count(), 3);
    wait_for("the retries", async || b.hook.count() == 6).await;
    assert!(
        asked.elapsed() >= Duration::from_secs(1),
        "retried before Retry-After (1 s) passed"
    );
    wait_for("delivered", async || b.results(&id).await["delivered"] == 3).await;
    for bodies in b.hook.by_key().values() {
        assert_eq!(bodies[1]["sent_at"], "2026-01-01T00:00:00Z");
    }

    let b = Bench::start_with(Mode::RateLimited(3600), quick_retries()).await;
    b.people(3).await;
    let id = b.campaign(json!({"type": "immediate"})).await;
    b.activate(&id).await;
    b.settle().await;
    assert_eq!(b.hook.count(), 3);
    b.advance("PT2H").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        b.hook.count(),
        3,
        "moving the test clock brought a Retry-After of an hour forward"
    );
    assert_eq!(b.results(&id).await["delivered"], 0);
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
    let r = b.results(&id).await;
    assert_eq!(counts(&r, ["delivered", "skipped"]), [3, 1]);
    let rows = common::recount::campaign(b.data_dir(), &id);
    common::recount::assert_agrees(&r, &rows, "skipped for consent");
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

/// B3: failures are notified — once an hour at most per campaign, with the counts so far and
/// the latest failure's reason — so an outage is one notification, not one per message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_notified_at_most_once_an_hour() {
    let b = Bench::start(Mode::Always(400)).await;
    b.put_profile("p1", json!({"first_name": "Ann"})).await;
    let id = b.create(json!({"schedule": {"type": "api"}})).await;
    assert_eq!(b.activate(&id).await, "live");
    let failed_notices = async || -> Vec<Value> {
        let page = b.get("/api/v1/notifications").await;
        page.expect(200)["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["kind"] == "failed" && n["subject"]["id"] == id.as_str())
            .cloned()
            .collect()
    };
    for key in ["k1", "k2"] {
        b.trigger(&id, key, json!({"profile_id": "p1"})).await;
        b.settle().await;
    }
    assert_eq!(b.results(&id).await["failed"], 2);
    let notices = failed_notices().await;
    assert_eq!(notices.len(), 1, "{notices:?}");
    let first = &notices[0];
    assert_eq!(
        (first["subject"]["type"].as_str(), first["actor"].as_str()),
        (Some("campaign"), Some("engine"))
    );
    assert_eq!(first["summary"]["failed"], 1);
    assert!(
        first["reason"].as_str().unwrap_or_default().contains("400"),
        "{first}"
    );

    b.advance("PT1H").await;
    b.trigger(&id, "k3", json!({"profile_id": "p1"})).await;
    b.settle().await;
    let notices = failed_notices().await;
    assert_eq!(notices.len(), 2, "an hour later failures are told again");
    assert!(
        notices.iter().any(|n| n["summary"]["failed"] == 3),
        "{notices:?}"
    );
}
