//! The email channel: SMTP to the user's server through lettre's pooled async transport. Each
//! message carries a `Message-ID` derived from the idempotency key, so a repeat after a crash is
//! the same message to any receiver that dedupes on it (B4). Reply codes decide the outcome:
//! 4xx and connection trouble are retried, 5xx failed for good.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls as SmtpTls, TlsParameters};
use lettre::transport::smtp::{AsyncSmtpTransportBuilder, PoolConfig};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use sha2::{Digest, Sha256};
use sluice_core::channel::{ChannelType, EmailConfig, Tls};

use crate::{
    Channel, ChannelError, DeliveryFuture, DeliveryOutcome, OutgoingMessage, error_chain, excerpt,
};

/// Per SMTP command; a stuck server must not hold a worker for lettre's default minute.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
const POOL_SIZE: u32 = 8;

type Transport = AsyncSmtpTransport<Tokio1Executor>;

/// One configured SMTP server.
pub struct EmailChannel {
    builder: AsyncSmtpTransportBuilder,
    /// Built on first use: lettre's pool spawns its idle-reaper task when built, which needs a
    /// running Tokio runtime, and `crate::build` should not.
    transport: OnceLock<Transport>,
    from: Mailbox,
}

impl std::fmt::Debug for EmailChannel {
    // The builder holds the credentials; show only where mail goes and as whom.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailChannel")
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl EmailChannel {
    pub fn new(config: &EmailConfig) -> Result<Self, ChannelError> {
        let invalid = |m: String| ChannelError::invalid(ChannelType::Email, m);
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e| invalid(format!("from `{}`: {e}", config.from)))?;
        let host = config.host.trim();
        let tls = match config.tls {
            Tls::None => SmtpTls::None,
            Tls::Starttls | Tls::Tls => {
                let parameters = TlsParameters::new(host.to_owned())
                    .map_err(|e| invalid(format!("tls for `{host}`: {e}")))?;
                if config.tls == Tls::Tls {
                    SmtpTls::Wrapper(parameters)
                } else {
                    // Required, not opportunistic: never send credentials or mail in the clear
                    // to a server configured for STARTTLS.
                    SmtpTls::Required(parameters)
                }
            }
        };
        let mut builder = Transport::builder_dangerous(host)
            .port(config.port)
            .tls(tls)
            .timeout(Some(COMMAND_TIMEOUT))
            .pool_config(PoolConfig::new().max_size(POOL_SIZE));
        if let Some(username) = &config.username {
            let password = config.password.clone().unwrap_or_default();
            builder = builder.credentials(Credentials::new(username.clone(), password));
        }
        Ok(Self {
            builder,
            transport: OnceLock::new(),
            from,
        })
    }

    fn transport(&self) -> &Transport {
        self.transport.get_or_init(|| self.builder.clone().build())
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
        match self.transport().send(email).await {
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
            Err(e) => classify(&e),
        }
    }
}

impl Channel for EmailChannel {
    fn deliver<'a>(&'a self, message: &'a OutgoingMessage) -> DeliveryFuture<'a> {
        Box::pin(self.send(message))
    }
}

fn classify(error: &lettre::transport::smtp::Error) -> DeliveryOutcome {
    let reason = excerpt(&error_chain(error), 300);
    if error.is_permanent() || error.is_client() {
        // 5xx: the server refused for good (unknown mailbox, rejected sender). A client error is
        // a message lettre refuses to send at all; neither changes on retry.
        DeliveryOutcome::Fatal { reason }
    } else {
        // 4xx (greylisting, mailbox busy), refused or dropped connections, time-outs, TLS trouble.
        DeliveryOutcome::Retryable {
            reason,
            retry_after: None,
        }
    }
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
