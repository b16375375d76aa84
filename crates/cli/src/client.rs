//! HTTP client for the Sluice API: bearer auth, problem+json → [`ApiError`], and cursor paging.
//!
//! Responses are kept as `serde_json::Value`: the CLI mostly shows what the server says, and
//! staying untyped means a field the server adds later is printed rather than dropped.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use reqwest::{Method, RequestBuilder, Response};
use serde_json::{Value, json};

use crate::error::{ApiError, ConnectError, Problem};

/// Where `sluice serve` writes the generated admin token on first start with default settings.
pub const DEFAULT_TOKEN_FILE: &str = "./sluice-data/admin-token";

/// The server's hard cap on `limit`; `--all` asks for pages this big.
const MAX_PAGE: usize = 1000;

/// `--limit` / `--all` of every list command.
#[derive(Debug, Clone, clap::Args)]
pub struct Paging {
    /// Show at most this many items (following `next_cursor` as needed).
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Follow `next_cursor` to the end and show every item.
    #[arg(long, conflicts_with = "limit")]
    pub all: bool,
}

/// One or more pages of a list, flattened; `next_cursor` is where the next call would continue.
#[derive(Debug, Default)]
pub struct Page {
    pub items: Vec<Value>,
    pub next_cursor: Option<String>,
}

impl Page {
    /// The same `{items, next_cursor}` shape the server uses, for `--output json`.
    pub fn to_json(&self) -> Value {
        json!({ "items": self.items, "next_cursor": self.next_cursor })
    }
}

pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Client {
    /// `token` comes from `--token`/`SLUICE_TOKEN`; without one, the admin token file that a
    /// default `sluice serve` in this directory wrote is tried, so a local tour needs no setup.
    pub fn new(url: &str, token: Option<String>) -> Result<Self> {
        let token = token
            .filter(|t| !t.is_empty())
            .or_else(|| read_token_file(Path::new(DEFAULT_TOKEN_FILE)));
        let http = reqwest::Client::builder()
            .user_agent(concat!("sluice-cli/", env!("CARGO_PKG_VERSION")))
            // No overall timeout: stop/abort wait for the brake and imports can be large.
            .connect_timeout(Duration::from_secs(10))
            .build()
            .context("building the HTTP client")?;
        Ok(Self {
            http,
            base: url.trim_end_matches('/').to_string(),
            token,
        })
    }

    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value> {
        let req = self.request(Method::GET, path).query(query);
        json_body(self.send(Method::GET, path, req).await?).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Value> {
        let req = self.request(Method::POST, path).json(body);
        json_body(self.send(Method::POST, path, req).await?).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Result<Value> {
        let req = self.request(Method::PUT, path).json(body);
        json_body(self.send(Method::PUT, path, req).await?).await
    }

    pub async fn delete(&self, path: &str) -> Result<Value> {
        let req = self.request(Method::DELETE, path);
        json_body(self.send(Method::DELETE, path, req).await?).await
    }

    /// POSTs a raw body (the import endpoint takes CSV or NDJSON, not a JSON document).
    pub async fn post_bytes(&self, path: &str, content_type: &str, body: Vec<u8>) -> Result<Value> {
        let req = self
            .request(Method::POST, path)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body);
        json_body(self.send(Method::POST, path, req).await?).await
    }

    /// GETs with `Accept: text/csv` and copies the streamed body to `out` as it arrives.
    pub async fn get_csv(
        &self,
        path: &str,
        query: &[(&str, String)],
        out: &mut dyn std::io::Write,
    ) -> Result<()> {
        let req = self
            .request(Method::GET, path)
            .query(query)
            .header(reqwest::header::ACCEPT, "text/csv");
        let mut resp = self.send(Method::GET, path, req).await?;
        while let Some(chunk) = resp.chunk().await.context("reading the CSV stream")? {
            out.write_all(&chunk)?;
        }
        out.flush()?;
        Ok(())
    }

    /// Lists `path`, following `next_cursor` until `paging` is satisfied.
    pub async fn list(
        &self,
        path: &str,
        query: &[(&str, String)],
        paging: &Paging,
    ) -> Result<Page> {
        let limit = paging.limit.max(1);
        let mut page = Page::default();
        loop {
            let want = if paging.all {
                MAX_PAGE
            } else {
                (limit - page.items.len()).min(MAX_PAGE)
            };
            let mut q = query.to_vec();
            q.push(("limit", want.to_string()));
            if let Some(c) = &page.next_cursor {
                q.push(("cursor", c.clone()));
            }
            let v = self.get(path, &q).await?;
            page.items.extend(items_of(&v));
            page.next_cursor = v
                .get("next_cursor")
                .and_then(Value::as_str)
                .filter(|c| !c.is_empty())
                .map(str::to_string);
            let satisfied = !paging.all && page.items.len() >= limit;
            if page.next_cursor.is_none() || satisfied {
                return Ok(page);
            }
        }
    }

    /// Every item of a list, for lookups (apply's name resolution) rather than display.
    pub async fn list_all(&self, path: &str) -> Result<Vec<Value>> {
        let paging = Paging {
            limit: MAX_PAGE,
            all: true,
        };
        Ok(self.list(path, &[], &paging).await?.items)
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let req = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    async fn send(&self, method: Method, path: &str, req: RequestBuilder) -> Result<Response> {
        tracing::debug!(%method, path, "request");
        let resp = req.send().await.map_err(|source| {
            if source.is_connect() || source.is_timeout() {
                anyhow::Error::new(ConnectError {
                    url: self.base.clone(),
                    source,
                })
            } else {
                anyhow::Error::new(source).context(format!("{method} {path}"))
            }
        })?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        Err(ApiError {
            method: method.to_string(),
            path: path.to_string(),
            problem: problem_of(resp).await,
        }
        .into())
    }
}

/// Reads the response as JSON; an empty body (204, or a bare 202) is `null`.
async fn json_body(resp: Response) -> Result<Value> {
    let bytes = resp.bytes().await.context("reading the response")?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&bytes).context("the server's response is not JSON")
}

/// Turns an error response into a [`Problem`], also when it is not problem+json (a proxy's
/// HTML page, plain text), so the user always sees the status and something readable.
async fn problem_of(resp: Response) -> Problem {
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    let mut problem = serde_json::from_str::<Problem>(&text).unwrap_or_else(|_| Problem {
        detail: Some(text.trim().chars().take(500).collect()).filter(|d: &String| !d.is_empty()),
        ..Problem::default()
    });
    problem.status = status.as_u16();
    if problem.title.is_none() {
        problem.title = status.canonical_reason().map(str::to_string);
    }
    problem
}

/// The items of a list response: `{items: [...]}` or a bare array.
pub fn items_of(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a.clone(),
        Value::Object(o) => match o.get("items") {
            Some(Value::Array(a)) => a.clone(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

fn read_token_file(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let token = text.trim();
    (!token.is_empty()).then(|| token.to_string())
}

/// Percent-encodes one path segment (ids are opaque and profile ids are the user's own keys,
/// so they may hold `/`, `@`, spaces…).
pub fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `{"reason": …}` when given, else `{}`: every lifecycle action takes this optional body.
pub fn reason_body(reason: Option<&str>) -> Value {
    match reason {
        Some(r) => json!({ "reason": r }),
        None => json!({}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(seg("cmp_01H"), "cmp_01H");
        assert_eq!(seg("a/b c@d"), "a%2Fb%20c%40d");
        assert_eq!(seg("ü"), "%C3%BC");
    }

    #[test]
    fn items_accepts_both_list_shapes() {
        assert_eq!(
            items_of(&json!({"items": [1, 2], "next_cursor": null})).len(),
            2
        );
        assert_eq!(items_of(&json!([1])).len(), 1);
        assert!(items_of(&json!({"id": "x"})).is_empty());
    }

    #[test]
    fn token_file_is_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("admin-token");
        std::fs::write(&p, "abc123\n").unwrap();
        assert_eq!(read_token_file(&p).as_deref(), Some("abc123"));
        std::fs::write(&p, "  \n").unwrap();
        assert_eq!(read_token_file(&p), None);
        assert_eq!(read_token_file(&dir.path().join("missing")), None);
    }
}
