//! The email channel against real SMTP servers: aiosmtpd (Python, writing a Maildir) for a
//! delivered message, a scripted SMTP peer for 4xx/5xx replies, and a closed port.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde_json::json;
use sluice_channels::{Channel, DeliveryOutcome, OutgoingMessage, SubjectKind, build, message_id};
use sluice_core::channel::ChannelType;
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
