//! What every handler shares: the store, the clock and the settings.

use std::sync::Arc;

use sluice_core::clock::Clock;
use sluice_store::Store;

use crate::error::{ApiError, ApiResult};

#[derive(Clone)]
pub struct AppState {
    /// The use cases; handlers call these and render what they return.
    pub commands: sluice_commands::Commands,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub limits: Limits,
    /// SHA-256 of `SLUICE_ADMIN_TOKEN`, when set.
    pub env_admin_hash: Option<String>,
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// The runtime that carries out due work; `serve` runs it, handlers wake it and brake it.
    pub engine: Arc<sluice_engine::Engine>,
    pub web: sluice_web::WebConfig,
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub max_import_bytes: usize,
}

impl AppState {
    /// Runs a storage call on the blocking pool: the store is synchronous (SQLite). A call that
    /// panics is answered as a logged 500 (the store's transaction rolled back as it unwound).
    pub async fn db<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> ApiResult<T> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || f(store.as_ref()))
            .await
            .map_err(ApiError::join_failed)?
    }

    pub fn now(&self) -> jiff::Timestamp {
        self.clock.now()
    }
}
