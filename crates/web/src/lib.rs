//! The web UI: server-rendered pages at `/`, embedded in the binary, over the same commands as
//! the JSON API (`sluice-commands`), so a page never decides a rule of its own.
//!
//! Every page works as plain HTML forms (POST, then a redirect to a GET); one small script
//! (`static/sluice.js`) adds the menu button, the confirm dialog, tabs and live refreshing.
//! Pages that need a signed-in caller take the [`Signed`] extractor; forms that change
//! anything take [`CsrfForm`] (see [`session`] for how a page uses both).

mod assets;
mod campaigns;
mod page;
pub mod session;
mod sign_in;
pub mod subject;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use sluice_commands::Commands;
use tower_http::catch_panic::CatchPanicLayer;

pub use page::{FieldErrors, Layout, PageError};
pub use session::{CsrfForm, Signed};

/// How the UI is served.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// How long a sign-in lasts (real time).
    pub session_lifetime: Duration,
    /// When the session cookie is marked `Secure`.
    pub secure_cookies: SecureCookies,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            session_lifetime: Duration::from_secs(12 * 3600),
            secure_cookies: SecureCookies::Auto,
        }
    }
}

/// Sluice itself serves plain HTTP; TLS is a reverse proxy's job. A `Secure` cookie is only
/// sent back over HTTPS, so marking it when the browser talks plain HTTP would sign nobody in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SecureCookies {
    /// `Secure` when the request came through a proxy that says `X-Forwarded-Proto: https`.
    /// (A client that sends the header itself only makes its own cookie stricter.)
    #[default]
    Auto,
    /// Always `Secure`: the UI is only ever reached over HTTPS.
    Always,
    /// Never `Secure` (plain HTTP on a trusted network).
    Never,
}

impl SecureCookies {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "auto" => Some(Self::Auto),
            "always" => Some(Self::Always),
            "never" => Some(Self::Never),
            _ => None,
        }
    }
}

impl std::str::FromStr for SecureCookies {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::parse(s.trim()).ok_or_else(|| format!("`{s}`: expected auto, always or never"))
    }
}

/// The state every page gets: the commands and the UI's settings. Cheap to clone.
#[derive(Clone)]
pub struct Web(Arc<Inner>);

struct Inner {
    commands: Commands,
    config: WebConfig,
}

impl Web {
    pub fn commands(&self) -> &Commands {
        &self.0.commands
    }

    pub fn config(&self) -> &WebConfig {
        &self.0.config
    }
}

/// Every page of the UI, with its state applied; the server mounts it beside the JSON API.
pub fn router(commands: Commands, config: WebConfig) -> Router {
    let web = Web(Arc::new(Inner { commands, config }));
    Router::new()
        .route("/", get(|| async { Redirect::to("/campaigns") }))
        .merge(sign_in::routes())
        .merge(campaigns::routes())
        .merge(assets::routes())
        .fallback(page::not_found)
        // A panic in a page is answered with the 500 page, in HTML (the API's own layer
        // would answer problem+json), and logged.
        .layer(CatchPanicLayer::custom(
            |panic: Box<dyn std::any::Any + Send>| page::panicked(panic.as_ref()),
        ))
        .layer(middleware::from_fn(protect))
        .with_state(web)
}

/// Headers every answer of the UI carries. The policy allows only our own script and style
/// (no inline ones) and no framing; pages are never cached, so the Back button after signing
/// out shows nothing of what was on screen.
async fn protect(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
             object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response.into_response()
}
