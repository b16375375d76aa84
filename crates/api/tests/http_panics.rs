//! Every request gets an answer: a handler that panics, or a storage call on the blocking pool
//! that panics, is a 500 problem+json that leaks nothing, logged with its request, and the
//! server goes on serving. The panicking routes are the test's own, mounted beside the API
//! under the same layers (`sluice_api::app_with`).

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use axum::Router;
use axum::extract::State;
use common::{Options, TestApp, assert_problem, spawn_with};
use sluice_api::{ApiError, AppState};

const HANDLER_SECRET: &str = "handler secret 7f3a";
const STORE_SECRET: &str = "store secret 9c1e";

fn panicking_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/test/panic",
            axum::routing::get(|| async {
                if HANDLER_SECRET.is_empty() {
                    return "unreachable";
                }
                panic!("{HANDLER_SECRET}")
            }),
        )
        .route(
            "/test/panic-in-store",
            axum::routing::post(|State(state): State<AppState>| async move {
                state
                    .db(|s| -> Result<u64, ApiError> {
                        let tokens = s.token_count()?;
                        if tokens < u64::MAX {
                            panic!("{STORE_SECRET}");
                        }
                        Ok(tokens)
                    })
                    .await
                    .map(|n| n.to_string())
            }),
        )
}

/// What the server logs, kept for the assertions (one subscriber for the whole test binary).
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn log() -> &'static Log {
    static LOG: OnceLock<Log> = OnceLock::new();
    LOG.get_or_init(|| {
        let log = Log::default();
        let writer = log.clone();
        tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .init();
        log
    })
}

impl Log {
    /// The logged lines that mention `needle`.
    fn lines_with(&self, needle: &str) -> Vec<String> {
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .lines()
            .filter(|l| l.contains(needle))
            .map(str::to_owned)
            .collect()
    }
}

async fn app() -> TestApp {
    log();
    spawn_with(Options {
        extra_routes: Some(panicking_routes),
        ..Options::default()
    })
    .await
}

/// A 500 problem+json with nothing of the panic in it.
#[track_caller]
fn assert_hidden_500(r: &common::Resp, secret: &str) {
    let p = assert_problem(r, 500);
    assert!(
        p["type"].is_string() && p["title"].is_string(),
        "{}",
        r.text
    );
    assert!(!r.text.contains(secret), "the panic leaked: {}", r.text);
    assert!(!r.text.contains("panic"), "the panic leaked: {}", r.text);
}

#[tokio::test]
async fn a_panicking_handler_is_a_logged_500_and_the_server_goes_on() {
    let app = app().await;
    let r = app.get("/test/panic").await;
    assert_hidden_500(&r, HANDLER_SECRET);
    let logged = log().lines_with(HANDLER_SECRET);
    assert!(
        logged
            .iter()
            .any(|l| l.contains("method=GET") && l.contains("path=/test/panic")),
        "the panic is logged with its request: {logged:?}"
    );
    // Same server, same connection pool: it still answers.
    app.get("/healthz").await.expect(200);
    let again = app.get("/test/panic").await;
    assert_hidden_500(&again, HANDLER_SECRET);
    app.get("/api/v1/profiles").await.expect(200);
}

#[tokio::test]
async fn a_panic_in_a_blocking_store_call_is_a_logged_500_and_the_store_still_works() {
    let app = app().await;
    let r = app
        .call(
            reqwest::Method::POST,
            "/test/panic-in-store",
            common::Body::None,
        )
        .await;
    assert_hidden_500(&r, STORE_SECRET);
    let logged = log().lines_with(STORE_SECRET);
    assert!(
        logged
            .iter()
            .any(|l| l.contains("method=POST") && l.contains("path=/test/panic-in-store")),
        "the panic is logged with its request: {logged:?}"
    );
    app.get("/healthz").await.expect(200);
    // The store's pools are whole: a write and a read after the panic.
    app.put_profile("p1", serde_json::json!({"plan": "pro"}))
        .await;
    assert_eq!(app.profile_count().await, 1);
}
