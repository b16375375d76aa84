//! The HTTP API of Sluice (API.md): axum routes over the store, bearer-token auth with roles,
//! problem+json errors, OpenAPI 3.1 generated from the handlers, /healthz and /metrics.

mod auth;
mod error;
mod extract;
mod routes;
mod state;

use std::any::Any;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use anyhow::Context as _;
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use sluice_core::clock::{Clock, ManualClock, SystemClock};
use sluice_store::{NewToken, Role, Store};
use tower_http::catch_panic::CatchPanicLayer;

pub use error::{ApiError, Problem};
pub use state::{AppState, Limits};

pub const ADMIN_TOKEN_FILE: &str = "admin-token";

#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub test_clock: Option<Timestamp>,
    pub admin_token: Option<String>,
    pub max_body_bytes: usize,
    pub max_import_bytes: usize,
    /// Serve /metrics on this address instead of on `listen`.
    pub metrics_listen: Option<SocketAddr>,
    /// How the engine claims, retries and times deliveries out.
    pub engine: sluice_engine::EngineConfig,
    /// How the web UI is served.
    pub web: sluice_web::WebConfig,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./sluice-data"),
            database_url: None,
            test_clock: None,
            admin_token: None,
            max_body_bytes: 1024 * 1024,
            max_import_bytes: 256 * 1024 * 1024,
            metrics_listen: None,
            engine: sluice_engine::EngineConfig::default(),
            web: sluice_web::WebConfig::default(),
        }
    }
}

/// The process-wide Prometheus recorder (metrics are per process, whatever serves them).
fn prometheus() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| PrometheusBuilder::new().install_recorder().ok())
        .clone()
}

/// Makes sure an admin can get in to `store` (the backend `serve`'s caller chose) and builds
/// the shared state: the clock, the engine and the commands over them.
pub fn prepare(config: &ServeConfig, store: Arc<dyn Store>) -> anyhow::Result<AppState> {
    let clock: Arc<dyn Clock> = match config.test_clock {
        Some(at) => Arc::new(ManualClock::new(at)),
        None => Arc::new(SystemClock),
    };
    if config.admin_token.is_none() && store.token_count()? == 0 {
        create_first_admin(store.as_ref(), &config.data_dir, clock.now())?;
    }
    let engine = sluice_engine::Engine::new(
        Arc::clone(&store),
        Arc::clone(&clock),
        sluice_engine::Brakes::new(),
        config.engine.clone(),
    );
    let commands =
        sluice_commands::Commands::new(Arc::clone(&engine), config.admin_token.as_deref());
    Ok(AppState {
        commands,
        engine,
        store,
        clock,
        limits: Limits {
            max_body_bytes: config.max_body_bytes,
            max_import_bytes: config.max_import_bytes,
        },
        env_admin_hash: config.admin_token.as_deref().map(auth::hash_token),
        metrics: prometheus(),
        web: config.web.clone(),
    })
}

/// First start on an empty database: an admin token, printed once and kept in the data dir.
fn create_first_admin(
    store: &dyn Store,
    data_dir: &std::path::Path,
    now: Timestamp,
) -> anyhow::Result<()> {
    let secret = auth::new_secret();
    store.create_token(
        &NewToken {
            id: sluice_commands::new_id("tok"),
            name: "admin".into(),
            role: Role::Admin,
            hash: auth::hash_token(&secret),
        },
        now,
    )?;
    let path = data_dir.join(ADMIN_TOKEN_FILE);
    write_secret_file(&path, &secret).with_context(|| format!("writing {}", path.display()))?;
    println!(
        "Created the first admin token (shown once; also in {}):\n{secret}",
        path.display()
    );
    Ok(())
}

fn write_secret_file(path: &std::path::Path, secret: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    writeln!(file, "{secret}")
}

/// The whole HTTP application; `with_metrics` mounts /metrics on it.
pub fn app(state: AppState, with_metrics: bool) -> Router {
    app_with(state, with_metrics, Router::new())
}

/// The application with `extra` routes beside those of API.md, under the same layers (auth,
/// panic answers, metrics). Only tests add routes, to prove what the layers do for every route
/// (a handler that panics); `serve` uses [`app`], so the product has no routes of test's own.
#[doc(hidden)]
pub fn app_with(state: AppState, with_metrics: bool, extra: Router<AppState>) -> Router {
    let (api, mut openapi) = routes::router(&state).split_for_parts();
    routes::describe_responses(&mut openapi);
    let openapi = Arc::new(openapi);
    let mut router = api
        .route(
            "/api/v1/openapi.json",
            axum::routing::get(move || {
                let doc = Arc::clone(&openapi);
                async move { axum::Json(doc.as_ref().clone()) }
            }),
        )
        .route(
            "/healthz",
            axum::routing::get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }),
        )
        .merge(extra);
    if with_metrics {
        router = router.route("/metrics", axum::routing::get(metrics_text));
    }
    // Everything outside the API is the web UI's; a path under /api/ that no route takes is
    // answered as the API answers, in problem+json.
    let ui = sluice_web::router(state.commands.clone(), state.web.clone());
    router
        .route(
            "/api/{*rest}",
            axum::routing::any(|| async { ApiError::not_found("no such path") }),
        )
        .fallback_service(ui)
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
                "this path does not take that method",
            )
        })
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        // Every request gets an answer: a panic anywhere below (a handler, auth, the store
        // code they call) is a logged 500 problem+json, and the server goes on. Inside `track`,
        // so the panic is logged in the request's span and counted as a 500.
        .layer(CatchPanicLayer::custom(|panic: Box<dyn Any + Send>| {
            ApiError::panicked(panic.as_ref()).into_response()
        }))
        .layer(middleware::from_fn(track))
        .layer(DefaultBodyLimit::max(state.limits.max_body_bytes))
        .with_state(state)
}

async fn metrics_text(State(state): State<AppState>) -> Response {
    let body = state
        .metrics
        .as_ref()
        .map(PrometheusHandle::render)
        .unwrap_or_default();
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        body,
    )
        .into_response()
}

/// Counts and times every request by route and status, with a tracing span around it that
/// names the request (what an error logged while it runs is logged with).
async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().to_string();
    let path = req.uri().path().to_owned();
    let started = Instant::now();
    let span = tracing::info_span!("request", %method, %route, %path);
    let response = tracing::Instrument::instrument(next.run(req), span).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("sluice_http_requests_total", &labels).increment(1);
    metrics::histogram!("sluice_http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}

/// Serves until SIGINT or SIGTERM, then finishes the requests in flight.
pub async fn serve(config: ServeConfig, store: Arc<dyn Store>) -> anyhow::Result<()> {
    let state = prepare(&config, store)?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let local = listener.local_addr()?;
    tracing::info!(%local, data_dir = %config.data_dir.display(), test_clock = ?config.test_clock, "sluice listening");
    println!("sluice listening on http://{local}");
    if let Some(addr) = config.metrics_listen {
        let metrics_app = Router::new()
            .route("/metrics", axum::routing::get(metrics_text))
            .with_state(state.clone());
        let metrics_listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {addr}"))?;
        tokio::spawn(async move { axum::serve(metrics_listener, metrics_app).await });
    }
    let stop = tokio_util::sync::CancellationToken::new();
    let engine = {
        let stop = stop.clone();
        tokio::spawn(Arc::clone(&state.engine).run(async move { stop.cancelled().await }))
    };
    let bound = config.engine.shutdown_grace + SHUTDOWN_SLACK;
    let app = app(state, config.metrics_listen.is_none());
    let mut server = {
        let stop = stop.clone();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    shutdown_signal().await;
                    stop.cancel();
                })
                .await
        })
    };
    let failed = tokio::select! {
        served = &mut server => Some(served),
        () = stop.cancelled() => None,
    };
    // The engine finishes the batches in hand (for `shutdown_grace`, then it cuts what is
    // still in flight and gives it back); requests in flight finish meanwhile. Whatever is
    // still running after the bound is abandoned: work claimed and not settled is taken back
    // at the next start.
    stop.cancel();
    let ended = tokio::time::timeout(bound, async {
        if failed.is_none()
            && let Ok(Err(e)) = (&mut server).await
        {
            tracing::error!(error = %e, "the HTTP server failed while shutting down");
        }
        if let Err(e) = engine.await {
            tracing::error!(error = %e, "the engine failed while shutting down");
        }
    })
    .await;
    if ended.is_err() {
        tracing::warn!(
            ?bound,
            "shutdown took longer than its bound; exiting anyway"
        );
    }
    match failed {
        Some(served) => Ok(served??),
        None => Ok(()),
    }
}

/// How long past the engine's `shutdown_grace` a shutdown may take: the settlements of cut
/// deliveries and the last HTTP answers.
pub const SHUTDOWN_SLACK: std::time::Duration = std::time::Duration::from_secs(5);

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod openapi_tests {
    use std::collections::HashSet;

    use super::*;

    /// The document is generated from the handlers; these are the rules of OpenAPI 3.1 that
    /// generation got wrong before (openapi-spec-validator refused the document for them).
    #[test]
    fn every_operation_is_unique_and_described() {
        let dir = tempfile::tempdir().unwrap();
        let config = ServeConfig {
            data_dir: dir.path().to_owned(),
            admin_token: Some("t".into()),
            test_clock: Some("2026-01-01T00:00:00Z".parse().unwrap()),
            ..ServeConfig::default()
        };
        let store = sluice_store_sqlite::SqliteStore::open_dir(dir.path()).unwrap();
        let state = prepare(&config, Arc::new(store)).unwrap();
        let (_, mut doc) = routes::router(&state).split_for_parts();
        routes::describe_responses(&mut doc);
        assert!(
            doc.paths.paths.len() >= 45,
            "{} paths",
            doc.paths.paths.len()
        );
        let mut ids = HashSet::new();
        for (path, item) in &doc.paths.paths {
            let ops = [&item.get, &item.put, &item.post, &item.delete, &item.patch];
            for op in ops.into_iter().flatten() {
                let id = op.operation_id.clone().unwrap_or_default();
                assert!(ids.insert(id.clone()), "operation id {id} repeats ({path})");
                for (status, response) in &op.responses.responses {
                    if let utoipa::openapi::RefOr::T(r) = response {
                        assert!(
                            !r.description.is_empty(),
                            "{path} {status} has no description"
                        );
                    }
                }
            }
        }
    }
}
