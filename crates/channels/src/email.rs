//! The email channel: SMTP to the user's server over a small connection pool of our own. Each
//! message carries a `Message-ID` derived from the idempotency key, so a repeat after a crash is
//! the same message to any receiver that dedupes on it (B4). Reply codes decide the outcome:
//! 4xx, connection trouble and time-outs are retried, 5xx failed for good.
//!
//! Why not lettre's `AsyncSmtpTransport` pool: its `max_size` bounds only the *idle*
//! connections it keeps, not the ones in use, so every concurrent delivery opened a connection
//! of its own (the engine has hundreds in flight); and its timeout covers only the TCP connect,
//! so a server that stopped answering (no greeting, no reply after the message's final dot)
//! held a delivery, and the batch waiting for it, forever. Here:
//!
//! - at most [`EmailLimits::connections`] connections are open to the server: a delivery takes
//!   a permit of a semaphore of that size before it takes (or opens) a connection;
//! - a connection carries one message at a time and goes back to the pool only after a
//!   transaction that ended well; after any error or time-out it is dropped (closed), never
//!   reused in an unknown state;
//! - every step (connecting with greeting, EHLO, STARTTLS and AUTH; MAIL; each RCPT; DATA; the
//!   message up to the server's reply) has [`EmailLimits::command_timeout`], and the whole
//!   delivery, waiting for a connection included, [`EmailLimits::delivery_timeout`]: every
//!   `deliver` ends by then, as `Retryable` ("SMTP delivery timed out …") if nothing else;
//! - a pooled connection that the server closed while it was idle is noticed at `MAIL` (nothing
//!   of the message sent yet) and the message goes once more over a new connection; connections
//!   idle longer than [`EmailLimits::idle_timeout`] are closed.

use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};
use std::time::{Duration, SystemTime};

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Quit, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use lettre::transport::smtp::response::Response;
use sha2::{Digest, Sha256};
use sluice_core::channel::{ChannelType, EmailConfig, Tls};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::{
    Channel, ChannelError, DeliveryFuture, DeliveryOutcome, OutgoingMessage, error_chain, excerpt,
};

/// How long one step of the SMTP conversation may take: connecting (TCP, greeting, EHLO,
/// STARTTLS, AUTH), then each of MAIL, RCPT, DATA and the message's final reply. A stuck server
/// must not hold a connection for lettre's default minute (RFC 5321 §4.5.3.2 asks clients for
/// minutes; a bulk sender with a retry queue is better served by giving up sooner).
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one delivery may take in all, waiting for a free connection included; then it ends
/// as retryable. The engine's own per-delivery deadline, if shorter, wins.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(60);
/// Connections open to one channel's server at most; deliveries beyond it wait their turn.
pub const POOL_SIZE: usize = 8;
/// A pooled connection unused for this long is closed (servers drop idle clients after a few
/// minutes; 30 s keeps us well inside that).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The email channel's bounds: [`EmailLimits::default`] is what `build` uses; tests pass
/// shorter ones to [`EmailChannel::with_limits`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmailLimits {
    /// Connections open to the server at most (at least 1).
    pub connections: usize,
    /// Per step of the conversation (see [`COMMAND_TIMEOUT`]).
    pub command_timeout: Duration,
    /// Per delivery, from the call of `deliver` to its outcome (see [`DELIVERY_TIMEOUT`]).
    pub delivery_timeout: Duration,
    /// An idle pooled connection older than this is closed, not reused.
    pub idle_timeout: Duration,
}

impl Default for EmailLimits {
    fn default() -> Self {
        Self {
            connections: POOL_SIZE,
            command_timeout: COMMAND_TIMEOUT,
            delivery_timeout: DELIVERY_TIMEOUT,
            idle_timeout: IDLE_TIMEOUT,
        }
    }
}

/// How the connection is secured.
#[derive(Clone)]
enum Security {
    None,
    /// TLS from the first byte (SMTPS, usually port 465).
    Wrapper(TlsParameters),
    /// STARTTLS, required rather than opportunistic: never send credentials or mail in the
    /// clear to a server configured for it.
    StartTls(TlsParameters),
}

/// One configured SMTP server.
pub struct EmailChannel {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<Credentials>,
    hello: ClientId,
    from: Mailbox,
    limits: EmailLimits,
    pool: Arc<Pool>,
}

impl std::fmt::Debug for EmailChannel {
    // Never the credentials: where mail goes, as whom, and the bounds.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailChannel")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("from", &self.from.to_string())
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl EmailChannel {
    pub fn new(config: &EmailConfig) -> Result<Self, ChannelError> {
        Self::with_limits(config, EmailLimits::default())
    }

    /// With other bounds than the defaults (tests use short ones).
    pub fn with_limits(config: &EmailConfig, limits: EmailLimits) -> Result<Self, ChannelError> {
        let invalid = |m: String| ChannelError::invalid(ChannelType::Email, m);
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e| invalid(format!("from `{}`: {e}", config.from)))?;
        let host = config.host.trim();
        let security = match config.tls {
            Tls::None => Security::None,
            Tls::Starttls | Tls::Tls => {
                let parameters = TlsParameters::new(host.to_owned())
                    .map_err(|e| invalid(format!("tls for `{host}`: {e}")))?;
                if config.tls == Tls::Tls {
                    Security::Wrapper(parameters)
                } else {
                    Security::StartTls(parameters)
                }
            }
        };
        let credentials = config.username.as_ref().map(|username| {
            Credentials::new(
                username.clone(),
                config.password.clone().unwrap_or_default(),
            )
        });
        let limits = EmailLimits {
            connections: limits.connections.max(1),
            ..limits
        };
        Ok(Self {
            host: host.to_owned(),
            port: config.port,
            security,
            credentials,
            hello: ClientId::default(),
            from,
            limits,
            pool: Arc::new(Pool {
                permits: Semaphore::new(limits.connections),
                idle: Mutex::new(Vec::new()),
                reaper: OnceLock::new(),
            }),
        })
    }

    fn compose(&self, message: &OutgoingMessage) -> Result<Message, DeliveryOutcome> {
        let fatal = |reason: String| DeliveryOutcome::Fatal { reason };
        let to: Mailbox = match message.to_email.as_deref().map(str::trim) {
            None | Some("") => return Err(fatal("no email address".into())),
            Some(address) => address
                .parse()
                .map_err(|e| fatal(format!("no email address: `{address}` is invalid ({e})")))?,
        };
        // The engine's clock, not the wall clock lettre would use otherwise.
        let date = SystemTime::try_from(message.sent_at)
            .map_err(|e| fatal(format!("sent_at out of range: {e}")))?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .message_id(Some(message_id(&message.idempotency_key)))
            .date(date);
        if let Some(subject) = &message.subject {
            builder = builder.subject(subject);
        }
        builder
            .header(ContentType::TEXT_PLAIN)
            .body(message.body.clone())
            .map_err(|e| fatal(format!("cannot build the message: {e}")))
    }

    async fn send(&self, message: &OutgoingMessage) -> DeliveryOutcome {
        let email = match self.compose(message) {
            Ok(email) => email,
            Err(outcome) => return outcome,
        };
        let deadline = Instant::now() + self.limits.delivery_timeout;
        // Every step below is bounded by the deadline already; this bounds whatever is not.
        let result = match tokio::time::timeout_at(deadline, self.attempt(&email, deadline)).await {
            Ok(result) => result,
            Err(_) => Err(Failure::TimedOut {
                stage: None,
                after: self.limits.delivery_timeout,
            }),
        };
        match result {
            Ok(response) => DeliveryOutcome::Delivered {
                detail: Some(excerpt(
                    &format!(
                        "{} {}",
                        response.code(),
                        response.message().collect::<Vec<_>>().join(" ")
                    ),
                    200,
                )),
            },
            Err(failure) => failure.outcome(),
        }
    }

    /// One message: a permit, a connection (pooled or new), the transaction; the connection
    /// goes back to the pool only if the transaction ended well.
    async fn attempt(&self, email: &Message, deadline: Instant) -> Result<Response, Failure> {
        self.pool.start_reaper(self.limits.idle_timeout);
        let envelope = email.envelope();
        let body = email.formatted();
        let _permit = match tokio::time::timeout_at(deadline, self.pool.permits.acquire()).await {
            Ok(Ok(permit)) => permit,
            // The semaphore is never closed; were it, waiting longer would not help either.
            Ok(Err(_)) | Err(_) => {
                return Err(Failure::TimedOut {
                    stage: Some(Stage::Waiting),
                    after: self.limits.delivery_timeout,
                });
            }
        };
        if let Some(mut conn) = self.pool.take_idle(self.limits.idle_timeout) {
            match self.transact(&mut conn, envelope, &body, deadline).await {
                Ok(response) => {
                    self.pool.put(conn);
                    return Ok(response);
                }
                // Closed by the server while it sat in the pool: nothing of this message was
                // accepted yet, so it goes once more over a new connection.
                Err(failure) if failure.before_the_message() => drop(conn),
                Err(failure) => return Err(failure),
            }
        }
        let mut conn = self
            .step(deadline, Stage::Connecting, self.connect())
            .await?;
        let response = self.transact(&mut conn, envelope, &body, deadline).await?;
        self.pool.put(conn);
        Ok(response)
    }

    /// A new connection: TCP (or TLS), greeting, EHLO, STARTTLS when configured, AUTH.
    async fn connect(&self) -> Result<AsyncSmtpConnection, SmtpError> {
        let wrapper = match &self.security {
            Security::Wrapper(parameters) => Some(parameters.clone()),
            Security::None | Security::StartTls(_) => None,
        };
        let mut conn = AsyncSmtpConnection::connect_tokio1(
            (self.host.as_str(), self.port),
            Some(self.limits.command_timeout),
            &self.hello,
            wrapper,
            None,
        )
        .await?;
        if let Security::StartTls(parameters) = &self.security {
            conn.starttls(parameters.clone(), &self.hello).await?;
        }
        if let Some(credentials) = &self.credentials {
            conn.auth(DEFAULT_MECHANISMS, credentials).await?;
        }
        Ok(conn)
    }

    /// One mail transaction (MAIL, RCPT, DATA, the message), each step bounded; what lettre's
    /// `AsyncSmtpConnection::send` does, with time limits.
    async fn transact(
        &self,
        conn: &mut AsyncSmtpConnection,
        envelope: &lettre::address::Envelope,
        body: &[u8],
        deadline: Instant,
    ) -> Result<Response, Failure> {
        let mut options = Vec::new();
        if envelope
            .from()
            .into_iter()
            .chain(envelope.to())
            .any(|address| !AsRef::<str>::as_ref(address).is_ascii())
        {
            if !conn.server_info().supports_feature(Extension::SmtpUtfEight) {
                return Err(Failure::Refused(
                    "an address is not ASCII and the server does not support SMTPUTF8".into(),
                ));
            }
            options.push(MailParameter::SmtpUtfEight);
        }
        if !body.is_ascii() {
            if !conn.server_info().supports_feature(Extension::EightBitMime) {
                return Err(Failure::Refused(
                    "the message is not ASCII and the server does not support 8BITMIME".into(),
                ));
            }
            options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        let sender = envelope.from().cloned();
        self.step(
            deadline,
            Stage::Mail,
            conn.command(Mail::new(sender, options)),
        )
        .await?;
        for to in envelope.to() {
            self.step(
                deadline,
                Stage::Rcpt,
                conn.command(Rcpt::new(to.clone(), vec![])),
            )
            .await?;
        }
        self.step(deadline, Stage::Data, conn.command(Data)).await?;
        // The message and its final dot in one write. lettre's `message` writes them apart, and
        // on a connection with Nagle's algorithm on (lettre never sets TCP_NODELAY) the dot then
        // waits for the server's delayed ACK of the message: 40 ms per message on Linux, which
        // capped a connection at ~25 messages/s.
        match String::from_utf8(terminated(body)) {
            Ok(data) => {
                self.step(deadline, Stage::Message, conn.command(data))
                    .await
            }
            Err(_) => {
                self.step(deadline, Stage::Message, conn.message(body))
                    .await
            }
        }
    }

    /// `work` within the per-command limit and the delivery's deadline, whichever comes first.
    async fn step<T>(
        &self,
        deadline: Instant,
        stage: Stage,
        work: impl Future<Output = Result<T, SmtpError>>,
    ) -> Result<T, Failure> {
        let limit = (Instant::now() + self.limits.command_timeout).min(deadline);
        match tokio::time::timeout_at(limit, work).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(Failure::Smtp { stage, error }),
            Err(_) => Err(Failure::TimedOut {
                stage: Some(stage),
                after: if limit == deadline {
                    self.limits.delivery_timeout
                } else {
                    self.limits.command_timeout
                },
            }),
        }
    }
}

impl Channel for EmailChannel {
    fn deliver<'a>(&'a self, message: &'a OutgoingMessage) -> DeliveryFuture<'a> {
        Box::pin(self.send(message))
    }
}

type SmtpError = lettre::transport::smtp::Error;

/// The connections of one channel: a permit per connection in use, and the idle ones.
/// Connections open = in use + idle ≤ permits, since a delivery opens one only when none is
/// idle, and holds its permit while it uses it.
struct Pool {
    permits: Semaphore,
    /// Most recently used last.
    idle: Mutex<Vec<Idle>>,
    /// The task closing idle connections past their time, spawned on first use (it needs a
    /// runtime, and `crate::build` may run outside one). It ends when the channel is dropped.
    reaper: OnceLock<()>,
}

struct Idle {
    conn: AsyncSmtpConnection,
    since: Instant,
}

impl Pool {
    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Idle>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The most recently used idle connection still within `max_idle`; older ones are closed.
    fn take_idle(&self, max_idle: Duration) -> Option<AsyncSmtpConnection> {
        let mut idle = self.idle();
        idle.retain(|c| c.since.elapsed() < max_idle);
        idle.pop().map(|c| c.conn)
    }

    fn put(&self, conn: AsyncSmtpConnection) {
        self.idle().push(Idle {
            conn,
            since: Instant::now(),
        });
    }

    fn start_reaper(self: &Arc<Self>, max_idle: Duration) {
        self.reaper.get_or_init(|| {
            let pool: Weak<Self> = Arc::downgrade(self);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(max_idle).await;
                    let Some(pool) = pool.upgrade() else {
                        return;
                    };
                    let stale: Vec<Idle> = {
                        let mut idle = pool.idle();
                        let (stale, fresh) = std::mem::take(&mut *idle)
                            .into_iter()
                            .partition(|c| c.since.elapsed() >= max_idle);
                        *idle = fresh;
                        stale
                    };
                    drop(pool);
                    // A polite QUIT, briefly; dropping closes the connection anyway.
                    for Idle { mut conn, .. } in stale {
                        let _ =
                            tokio::time::timeout(Duration::from_secs(1), conn.command(Quit)).await;
                    }
                }
            });
        });
    }
}

/// Where in a delivery something went wrong, for reasons an operator can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Waiting,
    Connecting,
    Mail,
    Rcpt,
    Data,
    Message,
}

impl Stage {
    fn describe(self) -> &'static str {
        match self {
            Self::Waiting => "while waiting for a free connection",
            Self::Connecting => "while connecting (greeting, EHLO, STARTTLS, AUTH)",
            Self::Mail => "at MAIL FROM",
            Self::Rcpt => "at RCPT TO",
            Self::Data => "at DATA",
            Self::Message => "waiting for the reply to the message",
        }
    }
}

enum Failure {
    Smtp {
        stage: Stage,
        error: SmtpError,
    },
    /// No answer in time; `stage` is `None` if the overall deadline caught it elsewhere.
    TimedOut {
        stage: Option<Stage>,
        after: Duration,
    },
    /// Our own refusal to send (the server lacks an extension the message needs).
    Refused(String),
}

impl Failure {
    /// Failed at `MAIL`, for any reason but a permanent refusal: the connection (if it was a
    /// pooled one) may have been closed by the server while idle.
    fn before_the_message(&self) -> bool {
        matches!(self, Self::Smtp { stage: Stage::Mail, error } if !error.is_permanent())
    }

    fn outcome(self) -> DeliveryOutcome {
        match self {
            Self::Smtp { stage, error } => classify(&error, stage),
            Self::TimedOut { stage, after } => DeliveryOutcome::Retryable {
                reason: match stage {
                    Some(stage) => {
                        format!(
                            "SMTP delivery timed out after {after:?} {}",
                            stage.describe()
                        )
                    }
                    None => format!("SMTP delivery timed out after {after:?}"),
                },
                retry_after: None,
            },
            Self::Refused(reason) => DeliveryOutcome::Fatal { reason },
        }
    }
}

fn classify(error: &SmtpError, stage: Stage) -> DeliveryOutcome {
    let reason = excerpt(
        &format!("{} ({})", error_chain(error), stage.describe()),
        300,
    );
    if error.is_permanent() || error.is_client() {
        // 5xx: the server refused for good (unknown mailbox, rejected sender). A client error is
        // a message lettre refuses to send at all; neither changes on retry.
        DeliveryOutcome::Fatal { reason }
    } else {
        // 4xx (greylisting, mailbox busy), refused or dropped connections, TLS trouble.
        DeliveryOutcome::Retryable {
            reason,
            retry_after: None,
        }
    }
}

/// The DATA content for a formatted message: dot-stuffed (RFC 5321 §4.5.2: a line starting with
/// `.` gets another) and ended by `CRLF . CRLF`.
fn terminated(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + message.len() / 64 + 5);
    let mut line_start = true;
    for (i, &b) in message.iter().enumerate() {
        if line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        line_start = b == b'\n' && i > 0 && message[i - 1] == b'\r';
    }
    out.extend_from_slice(b"\r\n.\r\n");
    out
}

/// The `Message-ID` for an idempotency key: `<{sha256-hex}@sluice>`. Hashing keeps any key
/// (whatever characters it holds) a valid id, and the same key always gives the same id.
pub fn message_id(idempotency_key: &str) -> String {
    format!(
        "<{}@sluice>",
        hex::encode(Sha256::digest(idempotency_key.as_bytes()))
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SubjectKind;

    fn channel() -> EmailChannel {
        EmailChannel::new(&EmailConfig {
            host: "127.0.0.1".into(),
            port: 2525,
            tls: Tls::None,
            username: None,
            password: None,
            from: "Sluice <news@example.com>".into(),
        })
        .unwrap()
    }

    fn message(to: Option<&str>) -> OutgoingMessage {
        OutgoingMessage {
            idempotency_key: "campaign:c1:v1:p1".into(),
            profile_id: "p1".into(),
            to_email: to.map(Into::into),
            subject_kind: SubjectKind::Campaign { id: "c1".into() },
            version: 1,
            node_id: None,
            subject: Some("Hi".into()),
            body: "Hello".into(),
            sent_at: jiff::Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn data_is_dot_stuffed_and_terminated() {
        assert_eq!(
            terminated(b"a\r\n.b\r\n..c\r\nd.e"),
            b"a\r\n..b\r\n...c\r\nd.e\r\n.\r\n"
        );
        assert_eq!(terminated(b".x"), b"..x\r\n.\r\n");
        // A bare LF or CR starts no line (as lettre's own codec has it).
        assert_eq!(terminated(b"a\n.b\r.c"), b"a\n.b\r.c\r\n.\r\n");
    }

    #[test]
    fn message_id_is_stable_per_key() {
        let id = message_id("k1");
        assert_eq!(id, message_id("k1"));
        assert_ne!(id, message_id("k2"));
        assert!(id.starts_with('<') && id.ends_with("@sluice>"));
        assert_eq!(id.len(), 1 + 64 + "@sluice>".len());
    }

    #[tokio::test]
    async fn a_missing_or_invalid_address_is_fatal_without_connecting() {
        let channel = channel();
        for to in [None, Some(""), Some("not an address")] {
            match channel.deliver(&message(to)).await {
                DeliveryOutcome::Fatal { reason } => {
                    assert!(reason.starts_with("no email address"), "{reason}");
                }
                other => panic!("{to:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_message_has_the_derived_id_and_the_engines_date() {
        let email = channel().compose(&message(Some("a@example.com"))).unwrap();
        let text = String::from_utf8(email.formatted()).unwrap();
        assert!(text.contains(&format!("Message-ID: {}", message_id("campaign:c1:v1:p1"))));
        assert!(
            text.contains("Date: Thu, 01 Jan 1970 00:00:00 +0000"),
            "{text}"
        );
    }
}
