//! The browser tests' harness: a whole Sluice server in-process (the API with the UI mounted,
//! as `serve` builds it) on a free port against SQLite in a temp dir, with a known admin
//! token; chromedriver on a free port driving headless Chromium; fixtures through the JSON
//! API; axe-core injected through WebDriver; screenshots at 1280 and 390 px.
//!
//! A missing browser skips a test on a developer's machine, but FAILS it under CI (`CI` set)
//! or `scripts/test` (`SLUICE_REQUIRE_BROWSER` set), which installs Chromium first.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use sluice_api::ServeConfig;
use sluice_store::Store;
use sluice_web::WebConfig;
use tempfile::TempDir;

pub const ADMIN: &str = "browser-test-admin";
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The flags CI runs Chromium with: headless, and nothing that reaches the network.
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,900",
];
const AXE: &str = include_str!("../axe/axe.min.js");
const WCAG_TAGS: &[&str] = &["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

/// A running server and a browser session on it.
pub struct Ui {
    pub base: String,
    pub browser: Client,
    pub store: Arc<dyn Store>,
    http: reqwest::Client,
    server: tokio::task::JoinHandle<()>,
    driver: Child,
    _dir: TempDir,
}

impl Ui {
    /// The usual server and browser; `None` (after saying why) when there is no browser on a
    /// developer's machine.
    pub async fn start() -> Option<Ui> {
        Self::start_with(WebConfig::default()).await
    }

    pub async fn start_with(web: WebConfig) -> Option<Ui> {
        if !browser_installed() {
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let config = ServeConfig {
            data_dir: dir.path().to_owned(),
            admin_token: Some(ADMIN.into()),
            test_clock: Some("2026-01-01T00:00:00Z".parse().expect("instant")),
            web,
            ..ServeConfig::default()
        };
        let store = sluice_store_sqlite::SqliteStore::open_dir(dir.path()).expect("store");
        let state = sluice_api::prepare(&config, Arc::new(store)).expect("prepare");
        let store = Arc::clone(&state.store);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let app = sluice_api::app(state, false);
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve");
        });
        let (driver, browser) = open_browser().await;
        Some(Ui {
            base,
            browser,
            store,
            http: reqwest::Client::new(),
            server,
            driver,
            _dir: dir,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn goto(&self, path: &str) {
        self.browser.goto(&self.url(path)).await.expect("goto");
    }

    /// The path and query the browser is at.
    pub async fn path(&self) -> String {
        let url = self.browser.current_url().await.expect("url");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        match self
            .browser
            .wait()
            .at_most(Duration::from_secs(5))
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(e) => panic!("no `{css}` on {}: {e}", self.path().await),
        }
    }

    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.expect("text")
    }

    pub async fn count(&self, css: &str) -> usize {
        self.browser
            .find_all(Locator::Css(css))
            .await
            .expect("find_all")
            .len()
    }

    /// Signs in through the form, from wherever the browser is sent to it.
    pub async fn sign_in(&self, token: &str) {
        self.goto("/sign-in").await;
        self.submit_token(token).await;
        assert_eq!(
            self.path().await,
            "/campaigns",
            "signed in, on the campaigns list"
        );
    }

    /// Types `token` into the sign-in form on screen and submits it.
    pub async fn submit_token(&self, token: &str) {
        let field = self.find("#token").await;
        field.clear().await.expect("clear");
        field.send_keys(token).await.expect("type the token");
        self.find("form[action='/sign-in'] button[type=submit]")
            .await
            .click()
            .await
            .expect("submit");
        self.find("main h1").await;
    }

    /// The session cookie's value (WebDriver sees HttpOnly cookies; page script does not).
    pub async fn session_cookie(&self) -> String {
        self.browser
            .get_named_cookie("sluice_session")
            .await
            .expect("a session cookie")
            .value()
            .to_owned()
    }

    // ----- the JSON API, as the admin -----

    pub async fn api(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .http
            .request(method.clone(), self.url(path))
            .bearer_auth(ADMIN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("API call");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        self.api(reqwest::Method::POST, path, Some(body)).await
    }

    /// A new API token of `role`: (id, secret).
    pub async fn token(&self, role: &str) -> (String, String) {
        let t = self
            .post(
                "/api/v1/tokens",
                json!({"name": format!("{role} in a browser"), "role": role}),
            )
            .await;
        (id(&t), t["token"].as_str().expect("secret").to_owned())
    }

    /// A webhook channel, a template for it and an audience of everybody: (channel, template,
    /// audience).
    pub async fn setup(&self) -> (String, String, String) {
        let channel = self
            .post(
                "/api/v1/channels",
                json!({"name": "Partner webhook", "type": "webhook",
                       "config": {"url": "http://127.0.0.1:9/hook"}}),
            )
            .await;
        let template = self
            .post(
                "/api/v1/templates",
                json!({"name": "Hello", "channel_type": "webhook", "body": "Hi {{ profile.id }}"}),
            )
            .await;
        let audience = self
            .post(
                "/api/v1/audiences",
                json!({"name": "Everybody", "rule": {"all": []}}),
            )
            .await;
        (id(&channel), id(&template), id(&audience))
    }

    // ----- what a test asserts with -----

    /// Runs axe-core on the page and fails with every WCAG 2.1 A/AA violation, readably.
    pub async fn assert_accessible(&self, what: &str) {
        self.browser
            .execute(AXE, vec![])
            .await
            .expect("inject axe-core");
        let script = r#"
            const done = arguments[arguments.length - 1];
            axe.run(document, { runOnly: { type: "tag", values: arguments[0] } })
              .then(r => done(JSON.stringify(r.violations)))
              .catch(e => done(JSON.stringify([{ id: "axe-error", help: String(e), nodes: [] }])));
        "#;
        let result = self
            .browser
            .execute_async(script, vec![json!(WCAG_TAGS)])
            .await
            .expect("run axe-core");
        let violations: Vec<Value> =
            serde_json::from_str(result.as_str().expect("a JSON string")).expect("violations");
        if violations.is_empty() {
            return;
        }
        let mut report = format!(
            "{} WCAG 2.1 A/AA violation(s) on {what} ({}):\n",
            violations.len(),
            self.path().await
        );
        for v in &violations {
            report.push_str(&format!(
                "- {} [{}]: {}\n  {}\n",
                v["id"].as_str().unwrap_or("?"),
                v["impact"].as_str().unwrap_or("?"),
                v["help"].as_str().unwrap_or(""),
                v["helpUrl"].as_str().unwrap_or("")
            ));
            for node in v["nodes"].as_array().into_iter().flatten() {
                report.push_str(&format!(
                    "    at {}\n      {}\n",
                    node["target"],
                    node["failureSummary"]
                        .as_str()
                        .unwrap_or("")
                        .replace('\n', "\n      ")
                ));
            }
        }
        panic!("{report}");
    }

    /// Screenshots of the page at 1280 and 390 px wide into target/ui-screenshots/, then back
    /// to 1280.
    pub async fn screenshots(&self, name: &str) {
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        for (width, height) in [(390, 844), (1280, 900)] {
            self.browser
                .set_window_size(width, height)
                .await
                .expect("window size");
            // Usable at this width: nothing makes the whole page scroll sideways (a wide
            // table scrolls in its own box).
            let widths = self
                .browser
                .execute(
                    "const d = document.documentElement; return [d.scrollWidth, d.clientWidth]",
                    vec![],
                )
                .await
                .expect("page widths");
            assert!(
                widths[0].as_u64() <= widths[1].as_u64(),
                "{name} at {width} px scrolls sideways: {widths}"
            );
            let png = self.browser.screenshot().await.expect("screenshot");
            std::fs::write(dir.join(format!("{name}-{width}.png")), png).expect("write png");
        }
    }

    /// Waits until `check` holds, polling, for up to `secs` seconds.
    pub async fn eventually<F, Fut>(&self, secs: u64, what: &str, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !check().await {
            assert!(Instant::now() < deadline, "timed out waiting: {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A plain HTTP client that carries `cookie` (for requests a page would never send).
    pub fn raw(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
    }

    pub async fn close(mut self) {
        let _ = self.browser.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        self.server.abort();
    }
}

impl Drop for Ui {
    fn drop(&mut self) {
        // A failed test never reaches `close`: chromedriver (and its browser) must not outlive it.
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

pub fn id(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_owned()
}

fn browser_installed() -> bool {
    let present =
        std::path::Path::new(CHROMIUM).exists() && std::path::Path::new(CHROMEDRIVER).exists();
    if present {
        return true;
    }
    let required = std::env::var_os("CI").is_some_and(|v| !v.is_empty())
        || std::env::var_os("SLUICE_REQUIRE_BROWSER").is_some_and(|v| !v.is_empty());
    assert!(
        !required,
        "{CHROMIUM} or {CHROMEDRIVER} is missing, and browser tests must run here (CI or \
         SLUICE_REQUIRE_BROWSER): install the Debian packages `chromium` and `chromium-driver` \
         (scripts/test does)"
    );
    eprintln!(
        "SKIPPED: no {CHROMIUM} / {CHROMEDRIVER}; `apt-get install chromium chromium-driver` \
         to run the browser tests (scripts/test does it, and CI fails without them)"
    );
    false
}

/// Starts chromedriver on a free port and opens a headless Chromium session.
async fn open_browser() -> (Child, Client) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut driver = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let url = format!("http://127.0.0.1:{port}");
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"binary": CHROMIUM, "args": CHROMIUM_FLAGS}),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(client) => return (driver, client),
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => {
                let _ = driver.kill();
                panic!("no browser session from chromedriver on {url}: {e}");
            }
        }
    }
}

fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        PathBuf::from,
    );
    target.join("ui-screenshots")
}
