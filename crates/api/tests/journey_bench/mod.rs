//! The harness of the journey engine tests: a webhook receiver that records what it
//! answered (after a delay a test chooses), "caught up" waits, and journey fixtures.

#![allow(
    dead_code,
    reason = "each journey test file uses a different part of the harness"
)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use serde_json::{Value, json};

use crate::common::{TestApp, id_of};

#[derive(Clone, Default)]
pub struct Receiver(Arc<Mutex<Vec<Value>>>);

impl Receiver {
    pub async fn start() -> (Self, String) {
        Self::answering_after(Duration::ZERO).await
    }

    /// A receiver that answers each request after `delay`.
    pub async fn answering_after(delay: Duration) -> (Self, String) {
        let receiver = Self::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .route(
                "/hook",
                axum::routing::post(
                    move |State(r): State<Receiver>, body: axum::Json<Value>| async move {
                        tokio::time::sleep(delay).await;
                        r.0.lock().unwrap().push(body.0);
                        "ok"
                    },
                ),
            )
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, url)
    }

    pub fn bodies(&self) -> Vec<Value> {
        self.0.lock().unwrap().clone()
    }
}

pub async fn wait_for(what: &str, mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..200 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

/// A webhook channel to `url` and a template with `body`: their ids.
pub async fn hook(app: &TestApp, url: &str, body: &str) -> (String, String) {
    let channel = app
        .post(
            "/api/v1/channels",
            json!({"name": "hook", "type": "webhook", "config": {"url": url}}),
        )
        .await;
    let template = app
        .post(
            "/api/v1/templates",
            json!({"name": "w", "channel_type": "webhook", "body": body}),
        )
        .await;
    (id_of(channel.expect(201)), id_of(template.expect(201)))
}

/// A live journey `hello` (one message, then the end) and `people` profiles p00, p01…
/// entering it: its id.
pub async fn hello_journey(
    app: &TestApp,
    (channel, template): (&str, &str),
    people: usize,
) -> String {
    let journey = app
        .post(
            "/api/v1/journeys",
            json!({
                "name": "hello", "entry": {"type": "event", "event": "signed_up"},
                "start": "hello",
                "nodes": [
                    {"id": "hello", "type": "message", "channel_id": channel,
                     "template_id": template, "next": "done"},
                    {"id": "done", "type": "end"}
                ]
            }),
        )
        .await;
    let id = id_of(journey.expect(201));
    app.post_empty(&format!("/api/v1/journeys/{id}/versions/1/publish"))
        .await
        .expect(200);
    let events: Vec<Value> = (0..people)
        .map(|i| json!({"profile_id": format!("p{i:02}"), "name": "signed_up"}))
        .collect();
    app.post("/api/v1/events", Value::Array(events))
        .await
        .expect(202);
    id
}
