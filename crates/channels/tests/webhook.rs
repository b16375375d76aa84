//! The webhook channel against a real HTTP receiver (axum on a loopback port): the exact request
//! it sends, and how each kind of reply is classified.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use serde_json::{Value, json};
use sluice_channels::{Channel, DeliveryOutcome, OutgoingMessage, SubjectKind, build};
use sluice_core::channel::ChannelType;

/// What the receiver saw: one entry per request, in arrival order.
#[derive(Clone, Default)]
struct Receiver {
    seen: Arc<Mutex<Vec<(String, HeaderMap, Value)>>>,
}

impl Receiver {
    fn record(&self, route: &str, headers: HeaderMap, body: &str) -> usize {
        let body = serde_json::from_str(body).unwrap_or(Value::String(body.to_owned()));
        let mut seen = self.seen.lock().unwrap();
        seen.push((route.to_owned(), headers, body));
        seen.iter().filter(|(r, ..)| r == route).count()
    }

    fn requests(&self, route: &str) -> Vec<(HeaderMap, Value)> {
        let seen = self.seen.lock().unwrap();
        seen.iter()
            .filter(|(r, ..)| r == route)
            .map(|(_, h, b)| (h.clone(), b.clone()))
            .collect()
    }
}

/// Starts the receiver on port 0 and returns its base URL; it lives as long as the test runtime.
async fn start_receiver(receiver: Receiver) -> String {
    let app = Router::new()
        .route(
            "/ok",
            post(
                |State(r): State<Receiver>, h: HeaderMap, b: String| async move {
                    r.record("ok", h, &b);
                    StatusCode::OK
                },
            ),
        )
        .route(
            "/flaky",
            post(
                |State(r): State<Receiver>, h: HeaderMap, b: String| async move {
                    // Fails the first time only: a receiver having a bad moment.
                    if r.record("flaky", h, &b) == 1 {
                        (StatusCode::INTERNAL_SERVER_ERROR, "database down").into_response()
                    } else {
                        StatusCode::NO_CONTENT.into_response()
                    }
                },
            ),
        )
        .route(
            "/busy",
            post(
                |State(r): State<Receiver>, h: HeaderMap, b: String| async move {
                    r.record("busy", h, &b);
                    (
                        StatusCode::TOO_MANY_REQUESTS,
                        [("retry-after", "1")],
                        "slow down",
                    )
                },
            ),
        )
        .route(
            "/busy-until",
            post(|| async {
                let headers = [
                    ("date", "Wed, 21 Oct 2015 07:28:00 GMT"),
                    ("retry-after", "Wed, 21 Oct 2015 07:29:30 GMT"),
                ];
                (StatusCode::TOO_MANY_REQUESTS, headers).into_response()
            }),
        )
        .route(
            "/bad",
            post(
                |State(r): State<Receiver>, h: HeaderMap, b: String| async move {
                    r.record("bad", h, &b);
                    let long = format!("unknown field `profile_id`; {}", "x".repeat(5000));
                    (StatusCode::BAD_REQUEST, long)
                },
            ),
        )
        .route(
            "/moved",
            post(|| async { (StatusCode::FOUND, [("location", "/ok")]).into_response() }),
        )
        .route(
            "/slow",
            post(|| async {
                // Well past the channel's one-second timeout; the client gives up first.
                tokio::time::sleep(Duration::from_secs(5)).await;
                StatusCode::OK
            }),
        )
        .with_state(receiver);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn channel(url: &str, extra: &Value) -> Arc<dyn Channel> {
    let mut config = json!({"url": url, "timeout": "PT1S"});
    config
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().cloned().unwrap_or_default());
    build(ChannelType::Webhook, &config).unwrap()
}

fn campaign_message() -> OutgoingMessage {
    OutgoingMessage {
        idempotency_key: "cmp_1:v2:occ_1:prof_9".into(),
        profile_id: "prof_9".into(),
        to_email: Some("ignored@example.com".into()),
        subject_kind: SubjectKind::Campaign { id: "cmp_1".into() },
        version: 2,
        node_id: None,
        subject: Some("Spring sale".into()),
        body: "Hello Ada, 20% off.".into(),
        sent_at: "2026-05-01T09:00:00Z".parse().unwrap(),
    }
}

#[tokio::test]
async fn delivered_with_key_header_extra_headers_and_exact_payload() {
    let receiver = Receiver::default();
    let base = start_receiver(receiver.clone()).await;
    let extra = json!({"headers": {"Authorization": "Bearer s3cret", "X-Tenant": "acme"}});
    let channel = channel(&format!("{base}/ok"), &extra);

    let outcome = channel.deliver(&campaign_message()).await;
    assert!(outcome.is_delivered(), "{outcome:?}");

    let requests = receiver.requests("ok");
    assert_eq!(requests.len(), 1);
    let (headers, body) = &requests[0];
    assert_eq!(headers["idempotency-key"], "cmp_1:v2:occ_1:prof_9");
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["authorization"], "Bearer s3cret");
    assert_eq!(headers["x-tenant"], "acme");
    assert_eq!(
        *body,
        json!({
            "idempotency_key": "cmp_1:v2:occ_1:prof_9",
            "profile_id": "prof_9",
            "campaign_id": "cmp_1",
            "version": 2,
            "subject": "Spring sale",
            "body": "Hello Ada, 20% off.",
            "sent_at": "2026-05-01T09:00:00Z",
        })
    );
}

#[tokio::test]
async fn journey_payload_names_the_journey_and_node_and_omits_no_subject() {
    let receiver = Receiver::default();
    let base = start_receiver(receiver.clone()).await;
    let channel = channel(&format!("{base}/ok"), &json!({}));
    let message = OutgoingMessage {
        subject_kind: SubjectKind::Journey { id: "jrn_4".into() },
        node_id: Some("welcome".into()),
        subject: None,
        idempotency_key: "jrn_4:v1:enr_7:welcome:0".into(),
        ..campaign_message()
    };
    assert!(channel.deliver(&message).await.is_delivered());
    let (_, body) = &receiver.requests("ok")[0];
    assert_eq!(
        *body,
        json!({
            "idempotency_key": "jrn_4:v1:enr_7:welcome:0",
            "profile_id": "prof_9",
            "journey_id": "jrn_4",
            "version": 2,
            "node_id": "welcome",
            "body": "Hello Ada, 20% off.",
            "sent_at": "2026-05-01T09:00:00Z",
        })
    );
}

#[tokio::test]
async fn server_error_is_retryable_and_the_retry_carries_the_same_key() {
    let receiver = Receiver::default();
    let base = start_receiver(receiver.clone()).await;
    let channel = channel(&format!("{base}/flaky"), &json!({}));
    let message = campaign_message();

    match channel.deliver(&message).await {
        DeliveryOutcome::Retryable {
            reason,
            retry_after,
        } => {
            assert!(
                reason.contains("500") && reason.contains("database down"),
                "{reason}"
            );
            assert_eq!(retry_after, None);
        }
        other => panic!("{other:?}"),
    }
    assert!(channel.deliver(&message).await.is_delivered());

    let requests = receiver.requests("flaky");
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[0].0["idempotency-key"],
        requests[1].0["idempotency-key"]
    );
    assert_eq!(
        requests[0].1, requests[1].1,
        "a retry sends the same payload"
    );
}

#[tokio::test]
async fn too_many_requests_is_retryable_after_the_receivers_delay() {
    let base = start_receiver(Receiver::default()).await;
    let outcome = channel(&format!("{base}/busy"), &json!({}))
        .deliver(&campaign_message())
        .await;
    match outcome {
        DeliveryOutcome::Retryable {
            reason,
            retry_after,
        } => {
            assert!(reason.contains("429"), "{reason}");
            assert_eq!(retry_after, Some(Duration::from_secs(1)));
        }
        other => panic!("{other:?}"),
    }
    // An HTTP-date counts from the receiver's own Date header.
    let outcome = channel(&format!("{base}/busy-until"), &json!({}))
        .deliver(&campaign_message())
        .await;
    assert!(
        matches!(outcome, DeliveryOutcome::Retryable { retry_after: Some(d), .. } if d == Duration::from_secs(90)),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn client_error_is_fatal_with_status_and_a_short_excerpt() {
    let base = start_receiver(Receiver::default()).await;
    let outcome = channel(&format!("{base}/bad"), &json!({}))
        .deliver(&campaign_message())
        .await;
    let DeliveryOutcome::Fatal { reason } = outcome else {
        panic!("{outcome:?}");
    };
    assert!(reason.starts_with("HTTP 400"), "{reason}");
    assert!(reason.contains("unknown field `profile_id`"), "{reason}");
    assert!(reason.chars().count() < 300, "excerpt is bounded: {reason}");

    // A redirect is not followed (a POST would turn into a GET) and fails for good.
    let outcome = channel(&format!("{base}/moved"), &json!({}))
        .deliver(&campaign_message())
        .await;
    assert!(outcome.is_fatal(), "{outcome:?}");
}

#[tokio::test]
async fn timeout_and_refused_connection_are_retryable() {
    let base = start_receiver(Receiver::default()).await;
    let outcome = channel(&format!("{base}/slow"), &json!({}))
        .deliver(&campaign_message())
        .await;
    match outcome {
        DeliveryOutcome::Retryable { reason, .. } => {
            assert!(reason.contains("timed out"), "{reason}");
        }
        other => panic!("{other:?}"),
    }

    // A port that was just free: nothing listens, so the connection is refused.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let outcome = channel(&format!("http://{closed}/hook"), &json!({}))
        .deliver(&campaign_message())
        .await;
    match outcome {
        DeliveryOutcome::Retryable { reason, .. } => {
            assert!(reason.contains("connection failed"), "{reason}");
        }
        other => panic!("{other:?}"),
    }

    // https is built in (rustls): the same closed port fails at connecting, not as an
    // unsupported scheme.
    let outcome = channel(&format!("https://{closed}/hook"), &json!({}))
        .deliver(&campaign_message())
        .await;
    match outcome {
        DeliveryOutcome::Retryable { reason, .. } => {
            assert!(reason.contains("refused"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}
