//! The email channel against real SMTP servers: aiosmtpd (Python, writing a Maildir) for a
//! delivered message, a scripted SMTP peer for 4xx/5xx replies, a closed port, and peers that
//! misbehave (silent, never greeting, dropping connections) to show every delivery ends.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::json;
use sluice_channels::{
    Channel, DeliveryOutcome, EmailChannel, EmailLimits, OutgoingMessage, SubjectKind, build,
    message_id,
};
use sluice_core::channel::{ChannelType, EmailConfig, Tls};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// Makes sure `python3 -m aiosmtpd` can run, installing it from PyPI once if it is missing, so a
/// fresh machine or CI needs no manual step.
fn ensure_aiosmtpd() {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    let importable = || {
        Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let ready = READY.get_or_init(|| {
        if importable() {
            return Ok(());
        }
        let install = Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", "aiosmtpd"])
            .output()
            .map_err(|e| format!("cannot run python3: {e}"))?;
        if importable() {
            Ok(())
        } else {
            Err(format!(
                "the email tests need the aiosmtpd SMTP server: `python3 -m pip install aiosmtpd` \
                 failed ({}): {}",
                install.status,
                String::from_utf8_lossy(&install.stderr).trim()
            ))
        }
    });
    if let Err(message) = ready {
        panic!("{message}");
    }
}

/// An aiosmtpd process storing what it receives in a Maildir; killed when dropped.
struct SmtpServer {
    child: Child,
    port: u16,
    maildir: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

async fn start_aiosmtpd() -> SmtpServer {
    ensure_aiosmtpd();
    let dir = tempfile::tempdir().unwrap();
    // Left for aiosmtpd to create: Python's Maildir only makes cur/new/tmp for a new folder.
    let maildir = dir.path().join("maildir");
    let port = free_port();
    let mut child = Command::new("python3")
        .args(["-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Mailbox"])
        .arg(&maildir)
        .args(["-l", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    // Readiness, not timing: poll until it listens (or has died), for at most 20 s.
    for _ in 0..200 {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
            panic!("aiosmtpd exited ({status}): {stderr}");
        }
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return SmtpServer {
                child,
                port,
                maildir,
                _dir: dir,
            };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    panic!("aiosmtpd did not listen on port {port}");
}

fn email_channel(port: u16) -> Arc<dyn Channel> {
    let config = json!({
        "host": "127.0.0.1",
        "port": port,
        "tls": "none",
        "from": "Sluice News <news@sluice.test>",
    });
    build(ChannelType::Email, &config).unwrap()
}

fn message() -> OutgoingMessage {
    OutgoingMessage {
        idempotency_key: "jrn_1:v3:enr_5:welcome:0".into(),
        profile_id: "prof_5".into(),
        to_email: Some("ada@example.com".into()),
        subject_kind: SubjectKind::Journey { id: "jrn_1".into() },
        version: 3,
        node_id: Some("welcome".into()),
        subject: Some("Welcome aboard".into()),
        body: "Hello Ada,\nthanks for signing up.".into(),
        sent_at: "2026-05-01T09:00:00Z".parse().unwrap(),
    }
}

fn maildir_messages(maildir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(maildir.join("new")) else {
        return Vec::new();
    };
    entries
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect()
}

/// The value of header `name` (first occurrence, case-insensitive, unfolded).
fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    let head = message.split("\n\n").next()?;
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

#[tokio::test]
async fn delivers_to_a_real_smtp_server_with_a_stable_message_id() {
    let server = start_aiosmtpd().await;
    let channel = email_channel(server.port);

    let outcome = channel.deliver(&message()).await;
    let DeliveryOutcome::Delivered { detail } = &outcome else {
        panic!("{outcome:?}");
    };
    assert!(
        detail.as_deref().unwrap_or("").starts_with("250"),
        "{detail:?}"
    );

    let stored = maildir_messages(&server.maildir);
    assert_eq!(stored.len(), 1, "{stored:?}");
    let mail = stored[0].replace("\r\n", "\n");
    assert_eq!(header(&mail, "To"), Some("ada@example.com"));
    assert_eq!(
        header(&mail, "From"),
        Some("\"Sluice News\" <news@sluice.test>")
    );
    assert_eq!(header(&mail, "Subject"), Some("Welcome aboard"));
    assert_eq!(
        header(&mail, "Message-ID"),
        Some(message_id("jrn_1:v3:enr_5:welcome:0").as_str())
    );
    assert_eq!(
        header(&mail, "Date"),
        Some("Fri, 01 May 2026 09:00:00 +0000")
    );
    assert!(
        header(&mail, "Content-Type").is_some_and(|v| v.starts_with("text/plain")),
        "{mail}"
    );
    // aiosmtpd records the SMTP envelope too.
    assert_eq!(header(&mail, "X-RcptTo"), Some("ada@example.com"));
    let body = mail.split_once("\n\n").unwrap().1;
    assert_eq!(body.trim_end(), "Hello Ada,\nthanks for signing up.");

    // The same action delivered again (say after a crash) is the same message to the receiver;
    // the pooled connection is reused for it.
    assert!(channel.deliver(&message()).await.is_delivered());
    let stored = maildir_messages(&server.maildir);
    assert_eq!(stored.len(), 2);
    let ids: Vec<_> = stored
        .iter()
        .map(|m| header(&m.replace("\r\n", "\n"), "Message-ID").map(str::to_owned))
        .collect();
    assert_eq!(ids[0], ids[1]);
}

#[tokio::test]
async fn unreachable_smtp_port_is_retryable() {
    let channel = email_channel(free_port());
    match channel.deliver(&message()).await {
        DeliveryOutcome::Retryable { reason, .. } => {
            assert!(reason.contains("refused"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

/// A minimal SMTP peer that accepts everything except `RCPT`, which it answers with `rcpt_reply`:
/// the quickest way to get an exact 4xx or 5xx from a real conversation.
async fn scripted_smtp(rcpt_reply: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 scripted ESMTP\r\n").await?;
                while let Some(line) = lines.next_line().await? {
                    let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                    let reply = match verb.as_str() {
                        "EHLO" | "HELO" => "250 scripted",
                        "RCPT" => rcpt_reply,
                        "QUIT" => "221 bye",
                        _ => "250 OK",
                    };
                    write.write_all(format!("{reply}\r\n").as_bytes()).await?;
                    if verb == "QUIT" {
                        break;
                    }
                }
                std::io::Result::Ok(())
            });
        }
    });
    port
}

#[tokio::test]
async fn permanent_reply_is_fatal_and_transient_reply_is_retryable() {
    let rejected = scripted_smtp("550 5.1.1 no such user").await;
    match email_channel(rejected).deliver(&message()).await {
        DeliveryOutcome::Fatal { reason } => {
            assert!(
                reason.contains("550") && reason.contains("no such user"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }

    let greylisted = scripted_smtp("451 4.7.1 greylisted, try later").await;
    match email_channel(greylisted).deliver(&message()).await {
        DeliveryOutcome::Retryable { reason, .. } => {
            assert!(
                reason.contains("451") && reason.contains("greylisted"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Misbehaving servers: every delivery ends by its deadline, none hangs, the pool never opens
// more connections than it may, and a failure never poisons it.

/// What a [`Peer`] does wrong on the connections it accepts from now on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Misbehaviour {
    /// A well-behaved server.
    None,
    /// Accepts the TCP connection and never sends its greeting.
    NoGreeting,
    /// Answers DATA with 354, takes the message and never answers after its final dot.
    SilentAfterDot,
    /// Closes the connection when it gets RCPT.
    CloseAtRcpt,
    /// Accepts this many messages on a connection (250 each), then closes it, as a server's
    /// limit of messages per connection or its idle time-out does.
    CloseAfter(usize),
}

#[derive(Default)]
struct PeerStats {
    /// Connections accepted so far.
    accepted: AtomicUsize,
    /// Connections open now (until the peer reads the client's end of it).
    open: AtomicUsize,
    /// The most connections open at once.
    peak_open: AtomicUsize,
    /// Messages accepted (250 after the final dot).
    messages: AtomicUsize,
}

/// An SMTP server on a real TCP port, speaking just enough SMTP, misbehaving as told.
struct Peer {
    port: u16,
    stats: Arc<PeerStats>,
    behaviour: Arc<Mutex<Misbehaviour>>,
}

impl Peer {
    /// `delay`: how long it takes over each message before its 250.
    async fn start(behaviour: Misbehaviour, delay: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let stats = Arc::new(PeerStats::default());
        let behaviour = Arc::new(Mutex::new(behaviour));
        let (s, b) = (Arc::clone(&stats), Arc::clone(&behaviour));
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let stats = Arc::clone(&s);
                let behaviour = *b.lock().unwrap();
                stats.accepted.fetch_add(1, Ordering::SeqCst);
                let open = stats.open.fetch_add(1, Ordering::SeqCst) + 1;
                stats.peak_open.fetch_max(open, Ordering::SeqCst);
                tokio::spawn(async move {
                    let _ = converse(stream, behaviour, delay, &stats).await;
                    stats.open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        Self {
            port,
            stats,
            behaviour,
        }
    }

    fn set(&self, behaviour: Misbehaviour) {
        *self.behaviour.lock().unwrap() = behaviour;
    }

    fn accepted(&self) -> usize {
        self.stats.accepted.load(Ordering::SeqCst)
    }

    fn peak_open(&self) -> usize {
        self.stats.peak_open.load(Ordering::SeqCst)
    }

    fn messages(&self) -> usize {
        self.stats.messages.load(Ordering::SeqCst)
    }
}

/// One connection's conversation; returns (closing the connection) when the client closes it
/// or the misbehaviour says so.
async fn converse(
    stream: tokio::net::TcpStream,
    behaviour: Misbehaviour,
    delay: Duration,
    stats: &PeerStats,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    if behaviour == Misbehaviour::NoGreeting {
        while lines.next_line().await?.is_some() {}
        return Ok(());
    }
    write.write_all(b"220 peer ESMTP\r\n").await?;
    let mut accepted = 0;
    while let Some(line) = lines.next_line().await? {
        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
        let reply = match verb.as_str() {
            "EHLO" | "HELO" => "250 peer",
            "RCPT" if behaviour == Misbehaviour::CloseAtRcpt => return Ok(()),
            "DATA" => {
                write.write_all(b"354 go ahead\r\n").await?;
                while let Some(line) = lines.next_line().await? {
                    if line == "." {
                        break;
                    }
                }
                if behaviour == Misbehaviour::SilentAfterDot {
                    while lines.next_line().await?.is_some() {}
                    return Ok(());
                }
                tokio::time::sleep(delay).await;
                stats.messages.fetch_add(1, Ordering::SeqCst);
                write.write_all(b"250 2.0.0 queued\r\n").await?;
                accepted += 1;
                if behaviour == Misbehaviour::CloseAfter(accepted) {
                    return Ok(());
                }
                continue;
            }
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => "250 OK",
        };
        write.write_all(format!("{reply}\r\n").as_bytes()).await?;
    }
    Ok(())
}

/// Short bounds so that these tests take a second or two.
const LIMITS: EmailLimits = EmailLimits {
    connections: 2,
    command_timeout: Duration::from_millis(300),
    delivery_timeout: Duration::from_secs(1),
    idle_timeout: Duration::from_secs(30),
};

/// How much later than its deadline a delivery may end (scheduling on a busy 2-core machine).
const SLACK: Duration = Duration::from_millis(700);

fn limited_channel(port: u16, limits: EmailLimits) -> EmailChannel {
    let config = EmailConfig {
        host: "127.0.0.1".into(),
        port,
        tls: Tls::None,
        username: None,
        password: None,
        from: "Sluice News <news@sluice.test>".into(),
    };
    EmailChannel::with_limits(&config, limits).unwrap()
}

fn message_to(i: usize) -> OutgoingMessage {
    OutgoingMessage {
        idempotency_key: format!("cmp_1:v1:prof_{i}"),
        profile_id: format!("prof_{i}"),
        to_email: Some(format!("p{i}@example.com")),
        subject_kind: SubjectKind::Campaign { id: "cmp_1".into() },
        ..message()
    }
}

/// Delivers messages `0..n` at once; each outcome with how long its call took.
async fn deliver_all(channel: &EmailChannel, n: usize) -> Vec<(DeliveryOutcome, Duration)> {
    let messages: Vec<_> = (0..n).map(message_to).collect();
    futures_util::future::join_all(messages.iter().map(|m| async move {
        let started = Instant::now();
        let outcome = channel.deliver(m).await;
        (outcome, started.elapsed())
    }))
    .await
}

fn assert_timed_out(outcome: &DeliveryOutcome, took: Duration, words: &str) {
    match outcome {
        DeliveryOutcome::Retryable { reason, .. } => {
            assert!(
                reason.starts_with("SMTP delivery timed out after") && reason.contains(words),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(took <= LIMITS.delivery_timeout + SLACK, "took {took:?}");
}

#[tokio::test]
async fn a_server_silent_after_the_final_dot_times_out_and_the_pool_recovers() {
    let peer = Peer::start(Misbehaviour::SilentAfterDot, Duration::ZERO).await;
    let channel = limited_channel(peer.port, LIMITS);
    // Three deliveries, two connections: two wait for the reply to their message and give up
    // after the command time-out; the third waits for a connection, then does the same.
    let outcomes = deliver_all(&channel, 3).await;
    for (outcome, took) in &outcomes {
        assert_timed_out(outcome, *took, "the reply to the message");
    }
    assert_eq!(
        peer.accepted(),
        3,
        "a connection that timed out is never reused"
    );
    assert_eq!(peer.messages(), 0);

    // The stuck connections were dropped, not pooled: the next delivery opens a new one.
    peer.set(Misbehaviour::None);
    let before = peer.accepted();
    let outcome = channel.deliver(&message_to(9)).await;
    assert!(outcome.is_delivered(), "{outcome:?}");
    assert_eq!(peer.accepted(), before + 1);
    assert_eq!(peer.messages(), 1);
}

#[tokio::test]
async fn a_server_that_never_greets_times_out_connecting() {
    let peer = Peer::start(Misbehaviour::NoGreeting, Duration::ZERO).await;
    let channel = limited_channel(peer.port, LIMITS);
    let outcomes = deliver_all(&channel, 3).await;
    for (outcome, took) in &outcomes {
        assert_timed_out(outcome, *took, "connecting");
    }
    assert_eq!(peer.accepted(), 3);

    // The whole delivery's deadline holds even when one step alone would be allowed longer.
    let patient = EmailLimits {
        command_timeout: Duration::from_secs(30),
        ..LIMITS
    };
    let started = Instant::now();
    let outcome = limited_channel(peer.port, patient)
        .deliver(&message_to(0))
        .await;
    assert_timed_out(&outcome, started.elapsed(), "after 1s while connecting");

    peer.set(Misbehaviour::None);
    assert!(channel.deliver(&message_to(9)).await.is_delivered());
}

#[tokio::test]
async fn a_server_that_drops_the_connection_at_rcpt_is_retryable_at_once() {
    let peer = Peer::start(Misbehaviour::CloseAtRcpt, Duration::ZERO).await;
    let channel = limited_channel(peer.port, LIMITS);
    for (outcome, took) in deliver_all(&channel, 4).await {
        match outcome {
            DeliveryOutcome::Retryable { reason, .. } => {
                assert!(reason.contains("RCPT TO"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        // Noticed when the connection closes, not by a time-out.
        assert!(took < LIMITS.delivery_timeout, "took {took:?}");
    }
    peer.set(Misbehaviour::None);
    let before = peer.accepted();
    assert!(channel.deliver(&message_to(9)).await.is_delivered());
    assert_eq!(
        peer.accepted(),
        before + 1,
        "a dropped connection is never reused"
    );
}

#[tokio::test]
async fn a_connection_the_server_closes_after_a_few_messages_is_replaced() {
    let peer = Peer::start(Misbehaviour::CloseAfter(3), Duration::ZERO).await;
    let channel = limited_channel(
        peer.port,
        EmailLimits {
            connections: 1,
            ..LIMITS
        },
    );
    // One at a time over one connection: the fourth finds its pooled connection closed, and
    // goes over a new one without failing.
    for i in 0..10 {
        let outcome = channel.deliver(&message_to(i)).await;
        assert!(outcome.is_delivered(), "message {i}: {outcome:?}");
    }
    assert_eq!(peer.messages(), 10);
    assert_eq!(peer.accepted(), 4, "3 + 3 + 3 + 1 messages");
    assert_eq!(peer.peak_open(), 1);
}

#[tokio::test]
async fn many_concurrent_deliveries_share_the_pools_connections() {
    // Each message takes the server 2 ms, so deliveries pile up behind the connections.
    let peer = Peer::start(Misbehaviour::None, Duration::from_millis(2)).await;
    let limits = EmailLimits {
        connections: 4,
        delivery_timeout: Duration::from_secs(20),
        ..LIMITS
    };
    let channel = limited_channel(peer.port, limits);
    let outcomes = deliver_all(&channel, 200).await;
    for (outcome, _) in &outcomes {
        assert!(outcome.is_delivered(), "{outcome:?}");
    }
    assert_eq!(peer.messages(), 200);
    assert!(peer.peak_open() <= 4, "{} open at once", peer.peak_open());
    assert_eq!(
        peer.accepted(),
        4,
        "connections are reused, not opened per message"
    );
}

#[tokio::test]
async fn a_cancelled_delivery_never_leaves_its_connection_in_the_pool() {
    let peer = Peer::start(Misbehaviour::SilentAfterDot, Duration::ZERO).await;
    let channel = limited_channel(peer.port, LIMITS);
    // The caller gives up first (an engine deadline, a shutdown): the future is dropped
    // mid-conversation.
    let cancelled =
        tokio::time::timeout(Duration::from_millis(100), channel.deliver(&message_to(0))).await;
    assert!(cancelled.is_err());
    peer.set(Misbehaviour::None);
    let outcome = channel.deliver(&message_to(1)).await;
    assert!(outcome.is_delivered(), "{outcome:?}");
    assert_eq!(peer.accepted(), 2);
}

#[tokio::test]
async fn many_concurrent_deliveries_to_aiosmtpd_all_arrive() {
    let server = start_aiosmtpd().await;
    let channel = limited_channel(
        server.port,
        EmailLimits {
            connections: 8,
            ..EmailLimits::default()
        },
    );
    let outcomes = deliver_all(&channel, 200).await;
    for (outcome, _) in &outcomes {
        assert!(outcome.is_delivered(), "{outcome:?}");
    }
    assert_eq!(maildir_messages(&server.maildir).len(), 200);
}
