//! The web UI: server-rendered pages at `/`, embedded in the binary, over the same commands as
//! the JSON API (`sluice-commands`), so a page never decides a rule of its own.

use axum::Router;
use sluice_commands::Commands;

/// How the UI is served.
#[derive(Debug, Clone, Default)]
pub struct WebConfig {}

/// Every page of the UI, with its state applied; the server mounts it beside the JSON API.
pub fn router(commands: Commands, config: WebConfig) -> Router {
    let _ = (commands, config);
    Router::new()
}
