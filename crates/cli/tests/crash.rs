//! B4, durable execution: the real `sluice serve` is killed with SIGKILL in the middle of a
//! send and started again on the same data dir. Nothing may be lost (every member's key reaches
//! the receiver, the action log has exactly one `delivered` record per member) and nothing but
//! the deliveries in flight at the kill may be repeated — each with the same key and payload.
//!
//! The receiver is a minimal HTTP/1.1 server written here (this crate has no server library):
//! it records every request on arrival and answers 200 after ~20 ms.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::net::TcpListener as StdListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

const BIN: &str = env!("CARGO_BIN_EXE_sluice");
const TOKEN: &str = "test-admin";
const MEMBERS: usize = 600;
/// Deliveries the engine hands to channels at once (`EngineConfig::chunk` ×
/// `chunks_in_flight` × `workers`): at most this many can be in flight when the process dies.
fn in_flight_max() -> usize {
    let c = sluice_engine::EngineConfig::default();
    c.chunk * c.chunks_in_flight * c.workers
}

/// Every request the receiver got: (idempotency key, body), in arrival order; and how many it
/// has answered.
#[derive(Clone, Default)]
struct Receiver {
    seen: Arc<Mutex<Vec<(String, Value)>>>,
    answered: Arc<Mutex<usize>>,
    /// While set, requests are recorded and never answered.
    hang: Arc<std::sync::atomic::AtomicBool>,
}

impl Receiver {
    async fn start() -> (Self, String) {
        let receiver = Self::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let r = receiver.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(r.clone().serve(stream));
            }
        });
        (receiver, url)
    }

    /// One keep-alive connection: requests until the client closes it.
    async fn serve(self, stream: tokio::net::TcpStream) {
        let mut stream = BufReader::new(stream);
        loop {
            let (mut key, mut length, mut line) = (String::new(), 0, String::new());
            if stream.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            loop {
                line.clear();
                if stream.read_line(&mut line).await.unwrap_or(0) == 0 {
                    return;
                }
                let Some((name, value)) = line.trim_end().split_once(':') else {
                    break; // the empty line after the headers
                };
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().unwrap_or(0),
                    "idempotency-key" => key = value.trim().to_owned(),
                    _ => {}
                }
            }
            let mut body = vec![0; length];
            if stream.read_exact(&mut body).await.is_err() {
                return;
            }
            let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
            self.seen.lock().unwrap().push((key, body));
            if self.hang.load(std::sync::atomic::Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            let reply = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
            if stream.get_mut().write_all(reply).await.is_err() {
                return;
            }
            *self.answered.lock().unwrap() += 1;
        }
    }

    fn total(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    fn requests(&self) -> Vec<(String, Value)> {
        self.seen.lock().unwrap().clone()
    }
}

/// A `sluice serve` process on a data dir; killed on drop.
struct Server {
    child: Child,
    base: String,
    log: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A test clock that never moves: rate limits, back-off and leases must run in real time.
const FROZEN: &[&str] = &["--test-clock", "2026-01-01T00:00:00Z"];

impl Server {
    async fn start(data_dir: &Path, log: &Path) -> Self {
        Self::start_with(data_dir, log, &[]).await
    }

    async fn start_with(data_dir: &Path, log: &Path, args: &[&str]) -> Self {
        let port = StdListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let out = File::options().create(true).append(true).open(log).unwrap();
        let mut cmd = Command::new(BIN);
        for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("SLUICE_")) {
            cmd.env_remove(name);
        }
        let child = cmd
            .args(["serve", "--listen", &addr, "--data-dir"])
            .arg(data_dir)
            .args(args)
            .env("SLUICE_ADMIN_TOKEN", TOKEN)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("starting sluice serve");
        let mut server = Self {
            child,
            base: format!("http://{addr}"),
            log: log.to_owned(),
        };
        let http = client();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("sluice serve exited with {status}:\n{}", server.log());
            }
            let health = http.get(format!("{}/healthz", server.base)).send().await;
            if health.is_ok_and(|r| r.status() == 200) {
                return server;
            }
            assert!(
                Instant::now() < deadline,
                "no /healthz in 60 s:\n{}",
                server.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, then waits for the process to exit; how long it took.
    fn terminate(mut self) -> Duration {
        let asked = Instant::now();
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(status.success());
        while self.child.try_wait().unwrap().is_none() {
            assert!(
                asked.elapsed() < Duration::from_secs(60),
                "still running a minute after SIGTERM:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        asked.elapsed()
    }

    /// SIGKILL: no shutdown, no flush, no settling of what is in flight.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = client().request(method.clone(), format!("{}{path}", self.base));
        req = req.bearer_auth(TOKEN);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let r = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = r.status();
        let text = r.text().await.unwrap();
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    async fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn create(&self, path: &str, body: Value) -> String {
        self.post(path, body).await["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The action records with `outcome` of `subject` (`/api/v1/campaigns/{id}` or a journey
    /// version's path), read page by page.
    async fn actions(&self, subject: &str, outcome: &str) -> Vec<Value> {
        let mut all = Vec::new();
        let mut cursor = String::new();
        loop {
            let path = format!("{subject}/results/actions?outcome={outcome}&limit=250{cursor}");
            let page = self.get(&path).await;
            all.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(next) => cursor = format!("&cursor={next}"),
                None => return all,
            }
        }
    }

    /// The same records as CSV rows (header left out).
    async fn csv_rows(&self, subject: &str, outcome: &str) -> Vec<String> {
        let url = format!("{}{subject}/results/actions?outcome={outcome}", self.base);
        let r = client()
            .get(url)
            .bearer_auth(TOKEN)
            .header("accept", "text/csv")
            .send();
        let text = r.await.unwrap().text().await.unwrap();
        text.lines().skip(1).map(str::to_owned).collect()
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// The payload without `sent_at` (the engine's clock at each attempt).
fn content(body: &Value) -> Value {
    let mut body = body.clone();
    if let Some(fields) = body.as_object_mut() {
        fields.remove("sent_at");
    }
    body
}

/// A server on a fresh data dir with a webhook channel to `url`, a template, and `MEMBERS`
/// profiles; the ids of channel and template.
async fn prepare(server: &Server, url: &str) -> (String, String) {
    let channel = json!({"name": "hook", "type": "webhook", "config": {"url": url}});
    let channel = server.create("/api/v1/channels", channel).await;
    let template = json!({"name": "t", "channel_type": "webhook", "body": "Hi {{ profile.name }}"});
    let template = server.create("/api/v1/templates", template).await;
    let mut csv = String::from("id,name\n");
    for i in 0..MEMBERS {
        csv.push_str(&format!("p{i},Person {i}\n"));
    }
    let import = client()
        .post(format!("{}/api/v1/profiles/import", server.base))
        .bearer_auth(TOKEN)
        .header("content-type", "text/csv")
        .body(csv)
        .send();
    let imported: Value = import.await.unwrap().json().await.unwrap();
    assert_eq!(imported["imported"], MEMBERS, "{imported}");
    (channel, template)
}

/// A one-time campaign to every profile through `channel` with `template`, activated; its id.
async fn launch(server: &Server, (channel, template): (&str, &str)) -> String {
    let audience = json!({"name": "all", "rule": {"all": []}});
    let audience = server.create("/api/v1/audiences", audience).await;
    let campaign = json!({"name": "launch", "channel_id": channel, "template_id": template,
                          "audience_id": audience, "schedule": {"type": "immediate"}});
    let id = server.create("/api/v1/campaigns", campaign).await;
    server
        .post(&format!("/api/v1/campaigns/{id}/activate"), json!({}))
        .await;
    id
}

/// Waits until the receiver has `kill_after` requests, kills the server and starts it again
/// on the same data dir; the requests at the kill.
async fn kill_at(
    server: Server,
    receiver: &Receiver,
    kill_after: usize,
    expected: usize,
    (data, log, args): (&Path, &Path, &[&str]),
) -> (Server, usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while receiver.total() < kill_after {
        assert!(
            Instant::now() < deadline,
            "no {kill_after} requests:\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    server.kill();
    // Requests the dead process wrote before it died may still be in the receiver's socket
    // buffers: they count as before the kill, not as sent after the restart.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let at_kill = receiver.total();
    assert!(
        at_kill < expected,
        "the send was over before the kill ({at_kill} requests)"
    );
    (Server::start_with(data, log, args).await, at_kill)
}

/// Polls `path` until `done` holds of it.
async fn wait_until(server: &Server, path: &str, done: impl Fn(&Value) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let value = server.get(path).await;
        if done(&value) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "not done: {value}\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// B4 after a kill: every expected message (`expected` keys) reached the receiver, repeats only
/// of those in flight and each with its key and payload, exactly one `delivered` record each.
async fn check_b4(
    server: &Server,
    receiver: &Receiver,
    subject: &str,
    expected: usize,
    what: &str,
) {
    let requests = receiver.requests();
    let mut by_key: HashMap<&str, Vec<&Value>> = HashMap::new();
    for (key, body) in &requests {
        by_key.entry(key).or_default().push(body);
    }
    assert_eq!(by_key.len(), expected, "{what}: keys lost");
    for (key, bodies) in &by_key {
        assert!(
            bodies
                .iter()
                .all(|b| content(b) == content(bodies[0]) && b["idempotency_key"] == *key),
            "{what}: a repeat of {key} differs: {bodies:?}"
        );
    }
    let delivered = server.actions(subject, "delivered").await;
    assert_eq!(delivered.len(), expected, "{what}: delivered records");
    assert_eq!(
        server.csv_rows(subject, "delivered").await.len(),
        expected,
        "{what}: CSV rows"
    );
    let results = server.get(&format!("{subject}/results")).await;
    assert_eq!(results["delivered"], expected, "{what}: {results}");
    assert_eq!(results["failed"], 0, "{what}: {results}");
    let repeats = requests.len() - expected;
    eprintln!("{what}: {repeats} repeated");
    assert!(
        repeats <= in_flight_max(),
        "{what}: {repeats} deliveries were repeated after the restart; only those in flight at \
         the kill (at most {}) should be",
        in_flight_max()
    );
}

/// Sends to `MEMBERS` profiles, kills the server once the receiver has `kill_after` requests,
/// restarts it and checks B4. `args` start both servers; `rate` limits the channel.
async fn kill_and_restart(kill_after: usize, args: &[&str], rate: Option<u32>) {
    let dir = tempfile::tempdir().unwrap();
    let (data, log) = (dir.path().join("data"), dir.path().join("server.log"));
    let (receiver, url) = Receiver::start().await;
    let server = Server::start_with(&data, &log, args).await;
    let (channel, template) = prepare(&server, &url).await;
    if let Some(rate) = rate {
        let limited = json!({"name": "hook", "type": "webhook", "config": {"url": url},
                             "rate_limit_per_second": rate});
        server
            .call(
                reqwest::Method::PUT,
                &format!("/api/v1/channels/{channel}"),
                Some(limited),
            )
            .await;
    }
    let id = launch(&server, (&channel, &template)).await;

    let started = Instant::now();
    let (server, at_kill) =
        kill_at(server, &receiver, kill_after, MEMBERS, (&data, &log, args)).await;
    wait_until(&server, &format!("/api/v1/campaigns/{id}"), |c| {
        c["status"] == "completed"
    })
    .await;

    if let Some(rate) = rate {
        // The limit held across the restart: no faster than its rate, less the burst it
        // allows after each start.
        let floor =
            Duration::from_secs_f64((MEMBERS as f64 - 2.0 * f64::from(rate)) / f64::from(rate));
        assert!(
            started.elapsed() >= floor,
            "{MEMBERS} messages at {rate}/s took {:?}",
            started.elapsed()
        );
    }
    let what = format!("campaign, kill after {kill_after} (at {at_kill})");
    let subject = format!("/api/v1/campaigns/{id}");
    check_b4(&server, &receiver, &subject, MEMBERS, &what).await;
    let requests = receiver.requests();
    let profiles: HashSet<&Value> = requests.iter().map(|(_, b)| &b["profile_id"]).collect();
    assert_eq!(profiles.len(), MEMBERS, "{what}: one key per member");
    let delivered = server.actions(&subject, "delivered").await;
    let recorded: HashSet<&Value> = delivered.iter().map(|a| &a["profile_id"]).collect();
    assert_eq!(
        recorded, profiles,
        "{what}: one delivered record per member"
    );
    let after: HashSet<&str> = requests[at_kill..]
        .iter()
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(
        after.len(),
        requests.len() - at_kill,
        "{what}: a key sent twice after restart"
    );
}

/// The same for a journey: every member enters by an event and walks `hello` (message) →
/// `bye` (message) → `done`; the server is killed mid-walk and restarted.
async fn kill_journey_and_restart(kill_after: usize) {
    let dir = tempfile::tempdir().unwrap();
    let (data, log) = (dir.path().join("data"), dir.path().join("server.log"));
    let (receiver, url) = Receiver::start().await;
    let server = Server::start(&data, &log).await;
    let (channel, template) = prepare(&server, &url).await;
    let journey = json!({
        "name": "welcome", "entry": {"type": "event", "event": "signed_up"}, "start": "hello",
        "nodes": [
            {"id": "hello", "type": "message", "channel_id": channel, "template_id": template, "next": "bye"},
            {"id": "bye", "type": "message", "channel_id": channel, "template_id": template, "next": "done"},
            {"id": "done", "type": "end"}
        ]
    });
    let id = server.create("/api/v1/journeys", journey).await;
    server
        .post(
            &format!("/api/v1/journeys/{id}/versions/1/publish"),
            json!({}),
        )
        .await;
    let events: Vec<Value> = (0..MEMBERS)
        .map(|i| json!({"profile_id": format!("p{i}"), "name": "signed_up"}))
        .collect();
    server.post("/api/v1/events", Value::Array(events)).await;

    let expected = 2 * MEMBERS;
    let (server, at_kill) =
        kill_at(server, &receiver, kill_after, expected, (&data, &log, &[])).await;
    let subject = format!("/api/v1/journeys/{id}/versions/1");
    wait_until(&server, &format!("{subject}/results"), |r| {
        r["completed"] == MEMBERS
    })
    .await;

    let what = format!("journey, kill after {kill_after} (at {at_kill})");
    check_b4(&server, &receiver, &subject, expected, &what).await;
    // Each profile got each of its two messages under one key.
    let mut keys: HashMap<(String, String), HashSet<String>> = HashMap::new();
    for (key, body) in receiver.requests() {
        let who = body["profile_id"].as_str().unwrap_or_default().to_owned();
        let node = body["node_id"].as_str().unwrap_or_default().to_owned();
        keys.entry((who, node)).or_default().insert(key);
    }
    assert_eq!(
        keys.len(),
        expected,
        "{what}: a message per profile and node"
    );
    assert!(keys.values().all(|k| k.len() == 1), "{what}: one key each");
}
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_send_killed_early_resumes_without_loss_or_duplicates() {
    kill_and_restart(50, &[], None).await;
}

/// On a test clock that never moves, a rate-limited send goes out at its rate (its deferrals
/// are held in real time), and after a kill the restarted server completes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rate_limited_send_on_a_frozen_clock_completes_across_a_kill() {
    kill_and_restart(150, FROZEN, Some(150)).await;
}

/// SIGTERM ends the process within its bound (the engine's shutdown grace, 5 s, and 5 s more)
/// whatever is in flight: deliveries to a receiver that never answers are cut and given back,
/// and the next start delivers them, each under its key.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_ends_the_process_in_bounded_time_and_a_restart_takes_over() {
    let dir = tempfile::tempdir().unwrap();
    let (data, log) = (dir.path().join("data"), dir.path().join("server.log"));
    let (receiver, url) = Receiver::start().await;
    receiver
        .hang
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let server = Server::start(&data, &log).await;
    let (channel, template) = prepare(&server, &url).await;
    let id = launch(&server, (&channel, &template)).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while receiver.total() < 100 {
        assert!(
            Instant::now() < deadline,
            "no deliveries:\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let took = server.terminate();
    eprintln!(
        "SIGTERM with {} deliveries hanging: exited in {took:?}",
        receiver.total()
    );
    assert!(
        took <= Duration::from_secs(12),
        "SIGTERM took {took:?} with deliveries hanging"
    );
    receiver
        .hang
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let server = Server::start(&data, &log).await;
    wait_until(&server, &format!("/api/v1/campaigns/{id}"), |c| {
        c["status"] == "completed"
    })
    .await;
    let subject = format!("/api/v1/campaigns/{id}");
    check_b4(&server, &receiver, &subject, MEMBERS, "after SIGTERM").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_send_killed_halfway_resumes_without_loss_or_duplicates() {
    kill_and_restart(300, &[], None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_journey_killed_mid_walk_resumes_without_loss_or_duplicates() {
    kill_journey_and_restart(400).await;
}
