//! The UI's static files, embedded in the binary and served at `/static/<hash>/<name>`: the
//! hash is of all of them together, so a new build's files get new URLs and browsers may keep
//! each one for a year (`immutable`).

use std::sync::LazyLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use crate::Web;

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "sluice.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../static/sluice.css"),
    },
    Asset {
        name: "sluice.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../static/sluice.js"),
    },
    Asset {
        name: "icon.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("../static/icon.svg"),
    },
];

/// The first 12 hex digits of the SHA-256 of every asset.
static VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut hash = Sha256::new();
    for asset in ASSETS {
        hash.update(asset.name.as_bytes());
        hash.update(asset.body);
    }
    hex::encode(hash.finalize())[..12].to_owned()
});

/// The URL of a static file of this build.
pub fn url(name: &str) -> String {
    format!("/static/{}/{name}", VERSION.as_str())
}

pub fn routes() -> Router<Web> {
    Router::new().route("/static/{version}/{name}", get(serve))
}

async fn serve(Path((version, name)): Path<(String, String)>) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // An old build's URL gets today's file, but not for long: its page is out of date.
    let cache = if version == VERSION.as_str() {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        asset.body,
    )
        .into_response()
}
