//! The e2e harness: starts `sluice serve` on a free port with a temporary data dir (or uses
//! the server at `SLUICE_E2E_URL`, admin token `SLUICE_E2E_TOKEN`, default `test-admin`) and
//! runs the compiled `sluice` binary against it as a client.

// Each test binary uses its own part of the harness.
#![allow(dead_code)]

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_sluice");
pub const ADMIN_TOKEN: &str = "test-admin";

/// Variables that would leak the developer's setup into the test.
pub const SLUICE_VARS: &[&str] = &[
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

/// A running server (ours, killed on drop) and the scratch directory the client runs in.
pub struct Server {
    pub child: Option<Child>,
    pub url: String,
    pub token: String,
    pub dir: tempfile::TempDir,
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
    pub fn sluice(&self, args: &[&str]) -> Output {
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
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.sluice(args);
        assert!(
            out.status.success(),
            "sluice {args:?} failed: {}",
            describe(&out)
        );
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let text = self.ok(args);
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("sluice {args:?}: not JSON ({e}): {text}"))
    }
}

pub fn describe(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A port nobody listens on right now: bind :0, read the port, let it go.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a free port");
    listener.local_addr().expect("local addr").port()
}

/// A minimal `GET` without an HTTP client dependency: the status code and the body.
pub fn http_get(addr: &str, path: &str) -> Option<(u16, String)> {
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
pub fn start() -> Server {
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

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}
