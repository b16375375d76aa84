//! End to end: the compiled `sluice` binary as the server and as its client.
//!
//! `full_tour` starts `sluice serve` on a free port with a temporary data dir and drives it
//! with client commands.
//! `SLUICE_E2E_URL` points the tour at an already running server instead (admin token
//! `SLUICE_E2E_TOKEN`, default `test-admin`). The other tests need no server at all.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_sluice");
const ADMIN_TOKEN: &str = "test-admin";

/// Variables that would leak the developer's setup into the test.
const SLUICE_VARS: &[&str] = &[
    "SLUICE_URL",
    "SLUICE_TOKEN",
    "SLUICE_OUTPUT",
    "SLUICE_CONFIG",
    "SLUICE_LISTEN",
    "SLUICE_DATA_DIR",
    "SLUICE_DATABASE_URL",
    "SLUICE_TEST_CLOCK",
    "SLUICE_ADMIN_TOKEN",
    "SLUICE_MAX_BODY_BYTES",
    "SLUICE_MAX_IMPORT_BYTES",
    "SLUICE_METRICS_LISTEN",
];

const SAMPLE: &str = r#"
kind: audience
name: e2e-members
rule: {attr: plan, op: eq, value: member}
---
kind: channel
name: e2e-hook
type: webhook
config: {url: "http://127.0.0.1:9/"}
---
kind: template
name: e2e-hello
channel_type: webhook
subject: Hello
body: "Hello {{ profile.id }}"
---
kind: campaign
name: e2e-now
channel: e2e-hook
template: e2e-hello
audience: e2e-members
schedule: {type: immediate}
---
kind: journey
name: e2e-onboarding
publish: true
entry: {type: event, event: signed_up}
reentry: {mode: never}
timeout: P91D
start: hello
nodes:
  - {id: hello, type: message, channel: e2e-hook, template: e2e-hello, next: done}
  - {id: done, type: end}
"#;

/// A running server (ours, killed on drop) and the scratch directory the client runs in.
struct Server {
    child: Option<Child>,
    url: String,
    token: String,
    dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Server {
    /// Runs a client command against this server; stdin is never a terminal here.
    fn sluice(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(BIN);
        for v in SLUICE_VARS {
            cmd.env_remove(v);
        }
        cmd.args(args)
            .env("SLUICE_URL", &self.url)
            .env("SLUICE_TOKEN", &self.token)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .output()
            .expect("running sluice")
    }

    /// Runs a command that must succeed and returns its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.sluice(args);
        assert!(
            out.status.success(),
            "sluice {args:?} failed: {}",
            describe(&out)
        );
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    fn json(&self, args: &[&str]) -> Value {
        let text = self.ok(args);
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("sluice {args:?}: not JSON ({e}): {text}"))
    }
}

fn describe(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A port nobody listens on right now: bind :0, read the port, let it go.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a free port");
    listener.local_addr().expect("local addr").port()
}

/// A minimal `GET` without an HTTP client dependency: the status code and the body.
fn http_get(addr: &str, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((status, body))
}

/// Starts `sluice serve` on a free port and a fresh data dir, and waits for /healthz.
fn start() -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    if let Ok(url) = std::env::var("SLUICE_E2E_URL") {
        let token = std::env::var("SLUICE_E2E_TOKEN").unwrap_or_else(|_| ADMIN_TOKEN.into());
        return Server {
            child: None,
            url,
            token,
            dir,
        };
    }
    let addr = format!("127.0.0.1:{}", free_port());
    let log_path = dir.path().join("server.log");
    // A file, not a pipe: nobody reads a pipe while the tour runs, and a full one blocks the server.
    let log = File::create(&log_path).expect("server log");
    let mut cmd = Command::new(BIN);
    for v in SLUICE_VARS {
        cmd.env_remove(v);
    }
    let child = cmd
        .args(["serve", "--listen", &addr, "--data-dir"])
        .arg(dir.path().join("data"))
        .env("SLUICE_ADMIN_TOKEN", ADMIN_TOKEN)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log handle"))
        .stderr(log)
        .spawn()
        .expect("starting sluice serve");
    let mut server = Server {
        child: Some(child),
        url: format!("http://{addr}"),
        token: ADMIN_TOKEN.into(),
        dir,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let exited = server
            .child
            .as_mut()
            .and_then(|c| c.try_wait().expect("polling the server"));
        if let Some(status) = exited {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            panic!("sluice serve exited with {status} before answering /healthz:\n{log}");
        }
        if let Some((200, _)) = http_get(&addr, "/healthz") {
            return server;
        }
        assert!(
            Instant::now() < deadline,
            "sluice serve did not answer /healthz in 60 s:\n{}",
            read(&log_path)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn full_tour() {
    let server = start();
    let sample = server.dir.path().join("sample.yaml");
    std::fs::write(&sample, SAMPLE).unwrap();
    let sample = sample.to_str().unwrap();

    // Apply twice: the first run creates, the second finds everything as the file says.
    let first = server.json(&["apply", "-f", sample, "--output", "json"]);
    let first = first.as_array().expect("apply reports an array");
    assert_eq!(first.len(), 5, "{first:?}");
    let second = server.json(&["apply", "-f", sample, "--output", "json"]);
    for row in second.as_array().unwrap() {
        assert_eq!(
            row["result"], "unchanged",
            "second apply changed something: {second:#}"
        );
    }
    let campaign_id = first
        .iter()
        .find(|r| r["kind"] == "campaign")
        .and_then(|r| r["id"].as_str())
        .expect("campaign id")
        .to_string();

    let list = server.json(&["campaigns", "list", "--output", "json"]);
    let items = list["items"].as_array().expect("items");
    assert!(
        items
            .iter()
            .any(|c| c["id"] == campaign_id.as_str() && c["name"] == "e2e-now"),
        "{list:#}"
    );

    // A one-time campaign cannot be modified once activated (C3): 409 → exit 4.
    server.ok(&["campaigns", "activate", &campaign_id, "--reason", "e2e"]);
    let modify = server.sluice(&["campaigns", "modify", &campaign_id]);
    assert_eq!(modify.status.code(), Some(4), "{}", describe(&modify));

    // 10,000 profiles in several chunks.
    let csv = server.dir.path().join("profiles.csv");
    let mut text = String::from("id,email,plan\n");
    for i in 0..10_000 {
        text.push_str(&format!("e2e-{i},e2e-{i}@example.com,member\n"));
    }
    std::fs::write(&csv, text).unwrap();
    let report = server.json(&[
        "profiles",
        "import",
        csv.to_str().unwrap(),
        "--chunk-lines",
        "4000",
        "--output",
        "json",
    ]);
    assert_eq!(report["imported"], 10_000, "{report:#}");
    assert_eq!(report["failed"], 0, "{report:#}");

    server.ok(&[
        "events",
        "send",
        "--profile",
        "e2e-1",
        "--name",
        "signed_up",
    ]);
}

/// A client against a port nobody listens on: exit 7.
#[test]
fn unreachable_server_is_exit_seven() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server {
        child: None,
        url: format!("http://127.0.0.1:{}", free_port()),
        token: ADMIN_TOKEN.into(),
        dir,
    };
    let out = server.sluice(&["campaigns", "list"]);
    assert_eq!(out.status.code(), Some(7), "{}", describe(&out));
}

/// Local validation and confirmation rules need no server.
#[test]
fn invalid_apply_file_and_unconfirmed_brakes() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server {
        child: None,
        url: format!("http://127.0.0.1:{}", free_port()),
        token: ADMIN_TOKEN.into(),
        dir,
    };
    let bad = server.dir.path().join("bad.yaml");
    std::fs::write(&bad, "kind: widget\nname: w\n---\nkind: audience\n").unwrap();
    let out = server.sluice(&["apply", "-f", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(5), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("document 1: unknown kind")
            && stderr.contains("document 2: missing `name`"),
        "{stderr}"
    );

    // Without a terminal and without --yes, a brake is refused before any request: exit 2.
    for args in [
        ["campaigns", "abort", "c1"],
        ["campaigns", "stop", "c1"],
        ["campaigns", "delete", "c1"],
    ] {
        let out = server.sluice(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", describe(&out));
    }
    let out = server.sluice(&["journeys", "stop", "j1", "1"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
}

#[test]
fn help_documents_exit_codes() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("Exit codes:") && help.contains("7  cannot connect"),
        "{help}"
    );
    let out = Command::new(BIN)
        .args(["campaigns", "frobnicate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
