//! What the benchmarks share: a Sluice server on a fresh SQLite file over real HTTP, a webhook
//! receiver that counts what it gets, and the figures they print.
#![allow(dead_code, reason = "each bench uses its own part")]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::Value;
use sluice_api::ServeConfig;

pub const TOKEN: &str = "bench";

pub struct App {
    pub base: String,
    pub http: reqwest::Client,
    pub stop: tokio_util::sync::CancellationToken,
    _dir: tempfile::TempDir,
}

impl App {
    /// A server with its engine (`engine`), on the test clock when `test_clock` is given.
    pub async fn start(engine: bool, test_clock: Option<&str>) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let store = Arc::new(sluice_store_sqlite::SqliteStore::open_dir(dir.path())?);
        let state = sluice_api::prepare(
            &ServeConfig {
                data_dir: dir.path().to_owned(),
                admin_token: Some(TOKEN.into()),
                test_clock: test_clock.map(str::parse).transpose()?,
                ..ServeConfig::default()
            },
            store,
        )?;
        let stop = tokio_util::sync::CancellationToken::new();
        if engine {
            let stop = stop.clone();
            tokio::spawn(Arc::clone(&state.engine).run(async move { stop.cancelled().await }));
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, sluice_api::app(state, false)).await });
        Ok(Self {
            base,
            http: reqwest::Client::new(),
            stop,
            _dir: dir,
        })
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status();
        let value: Value = response.json().await.unwrap_or(Value::Null);
        anyhow::ensure!(status.is_success(), "{path}: {status} {value}");
        Ok(value)
    }

    pub async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn import(&self, rows: usize) -> anyhow::Result<()> {
        let mut csv = String::from("id,first_name\n");
        for i in 0..rows {
            csv.push_str(&format!("p{i:07},Name{i}\n"));
        }
        let r = self
            .http
            .post(format!("{}/api/v1/profiles/import", self.base))
            .bearer_auth(TOKEN)
            .header("content-type", "text/csv")
            .body(csv)
            .send()
            .await?;
        anyhow::ensure!(r.status().is_success());
        Ok(())
    }
}

pub async fn receiver(delay: Duration) -> anyhow::Result<(String, Arc<AtomicU64>)> {
    let count = Arc::new(AtomicU64::new(0));
    let seen = Arc::clone(&count);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let seen = Arc::clone(&seen);
            async move {
                tokio::time::sleep(delay).await;
                seen.fetch_add(1, Ordering::Relaxed);
                "ok"
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((url, count))
}

/// The value below which `q` of the sorted `values` lie (nearest rank).
pub fn quantile(values: &[f64], q: f64) -> f64 {
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    values[rank - 1]
}

/// The process's peak resident set (Linux `VmHWM`), in MiB.
pub fn peak_memory_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

pub fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}
