//! The use cases of Sluice. Each command composes, once, what a user's action means: load,
//! check the lifecycle and the references, engage the brake, apply in the store's transaction,
//! hold or release the brake, wake the engine. The JSON API, the web UI and the CLI's server
//! side call these and nothing below them, so a front end only parses, calls and renders.

mod audiences;
mod brake;
mod caller;
mod campaigns;
mod channels;
mod error;
mod ids;
mod journeys;
mod notifications;
mod overview;
mod results;
mod sessions;
mod templates;

use std::sync::Arc;

use sluice_core::clock::Clock;
use sluice_engine::Engine;
use sluice_store::{CommandContext, Store};

pub use audiences::{AudienceInput, Audiences};
pub use brake::Braked;
pub use caller::{Caller, Permission, hash_secret, new_secret};
pub use campaigns::{CampaignInput, Campaigns};
pub use channels::{ChannelInput, Channels};
pub use error::{Error, Result};
pub use ids::new_id;
pub use journeys::{Journeys, validate as validate_journey};
pub use overview::{CampaignFilter, CampaignOverview, CampaignRow, Named, Unread};
pub use results::ACTIONS_CSV_HEADER;
pub use sessions::{Session, SignedIn, TOKEN_FIELD};
pub use templates::{Rendered, TemplateInput, Templates};

/// The application: its store, clock and engine, and the commands over them. Cheap to clone.
#[derive(Clone)]
pub struct Commands {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    engine: Arc<Engine>,
    /// SHA-256 of `SLUICE_ADMIN_TOKEN`, when set.
    env_admin_hash: Option<String>,
}

impl Commands {
    pub fn new(engine: Arc<Engine>, env_admin_token: Option<&str>) -> Self {
        Self {
            store: Arc::clone(engine.store()),
            clock: Arc::clone(engine.clock()),
            engine,
            env_admin_hash: env_admin_token.map(hash_secret),
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Business time now (the test clock when `--test-clock` drives it).
    pub fn now(&self) -> jiff::Timestamp {
        self.clock.now()
    }

    /// Runs a storage call on the blocking pool: the store is synchronous. A call that panics
    /// is logged and reported as [`Error::Failed`] (the store's transaction rolled back as it
    /// unwound).
    pub async fn db<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> Result<T> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || f(store.as_ref()))
            .await
            .map_err(join_failed)?
    }

    /// Resolves an API token's secret to its caller; `None` when no token has it.
    pub async fn authenticate(&self, secret: &str) -> Result<Option<Caller>> {
        let hash = hash_secret(secret);
        if self.env_admin_hash.as_deref() == Some(hash.as_str()) {
            return Ok(Some(Caller {
                actor: "admin (SLUICE_ADMIN_TOKEN)".into(),
                role: sluice_store::Role::Admin,
                token_id: None,
            }));
        }
        let found = self.db(move |s| Ok(s.token_by_hash(&hash)?)).await?;
        Ok(found.map(|t| Caller {
            actor: format!("{} ({})", t.name, t.id),
            role: t.role,
            token_id: Some(t.id),
        }))
    }

    fn context(&self, caller: &Caller, reason: Option<String>) -> CommandContext {
        CommandContext {
            actor: caller.actor.clone(),
            reason,
            now: self.now(),
        }
    }
}

/// Names must be present and short enough for a list column.
pub fn check_name(field: &str, name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::field(field, "must not be empty"));
    }
    if name.len() > 200 {
        return Err(Error::field(field, "longer than 200 bytes"));
    }
    Ok(())
}

/// Logs a caught panic with its message (in the current span).
pub fn log_panic(payload: &(dyn std::any::Any + Send)) {
    let message = payload
        .downcast_ref::<&'static str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(a panic without a message)");
    tracing::error!(panic = message, "a request panicked");
}

pub(crate) fn join_failed(e: tokio::task::JoinError) -> Error {
    match e.try_into_panic() {
        Ok(payload) => {
            log_panic(payload.as_ref());
            Error::Failed("the command failed; nothing was changed; see the server log".into())
        }
        Err(e) => {
            tracing::error!(error = %e, "a command was cancelled");
            Error::Failed("the command was cancelled (the server is shutting down)".into())
        }
    }
}
