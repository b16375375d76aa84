//! Channels: deliver one rendered message to a webhook (HTTP), an SMTP server, or the in-app inbox,
//! and say how it went (delivered, worth retrying, or failed for good). Retrying is the engine's
//! job; this crate supplies the classification, the back-off curve and the rate limiter it uses.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use sluice_core::channel::{ChannelType, EmailConfig, InboxConfig, WebhookConfig};

mod backoff;
mod email;
mod inbox;
mod rate_limit;
mod webhook;

pub use backoff::{backoff, backoff_cap};
pub use email::{
    COMMAND_TIMEOUT, DELIVERY_TIMEOUT, EmailChannel, EmailLimits, IDLE_TIMEOUT, POOL_SIZE,
    message_id,
};
pub use inbox::InboxChannel;
pub use rate_limit::RateLimiter;
pub use webhook::{WebhookChannel, payload as webhook_payload};

/// One action's message, rendered and ready to go out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// Deterministic per action (B4): a receiver that honours it never sees a message twice,
    /// even when a crash makes the engine deliver again.
    pub idempotency_key: String,
    pub profile_id: String,
    /// The profile's `email` attribute; only the email channel reads it.
    pub to_email: Option<String>,
    pub subject_kind: SubjectKind,
    pub version: u32,
    pub node_id: Option<String>,
    pub subject: Option<String>,
    pub body: String,
    /// From the engine's clock, not the wall clock, so manual-clock runs are reproducible.
    pub sent_at: jiff::Timestamp,
}

/// What sent the message: a campaign or a journey (the webhook payload names it
/// `campaign_id` or `journey_id`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SubjectKind {
    Campaign { id: String },
    Journey { id: String },
}

/// How one delivery attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Delivered {
        detail: Option<String>,
    },
    /// Worth another attempt; `retry_after` is the receiver's own request (429 / Retry-After)
    /// and overrides the engine's back-off when present.
    Retryable {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// Retrying cannot help (a 4xx, a 5xx SMTP reply, no address).
    Fatal {
        reason: String,
    },
}

impl DeliveryOutcome {
    pub fn is_delivered(&self) -> bool {
        matches!(self, Self::Delivered { .. })
    }

    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Retryable { .. })
    }

    pub fn is_fatal(&self) -> bool {
        matches!(self, Self::Fatal { .. })
    }
}

/// The future a delivery returns; boxed so that `Arc<dyn Channel>` works without `async_trait`.
pub type DeliveryFuture<'a> = Pin<Box<dyn Future<Output = DeliveryOutcome> + Send + 'a>>;

/// A place messages go. One value per configured channel, shared by all workers: it holds the
/// connection pool, so build it once and keep it.
pub trait Channel: Send + Sync {
    fn deliver<'a>(&'a self, message: &'a OutgoingMessage) -> DeliveryFuture<'a>;
}

/// A stored channel config that this crate cannot use.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error("invalid {kind} channel config: {message}")]
    InvalidConfig { kind: &'static str, message: String },
}

impl ChannelError {
    pub(crate) fn invalid(kind: ChannelType, message: impl std::fmt::Display) -> Self {
        Self::InvalidConfig {
            kind: kind.as_str(),
            message: message.to_string(),
        }
    }
}

/// Builds the channel for a stored config (as normalized by `sluice_core::channel::parse_config`).
/// Opens no connection: the first delivery does, so this may run outside a Tokio runtime.
pub fn build(
    channel_type: ChannelType,
    config: &serde_json::Value,
) -> Result<Arc<dyn Channel>, ChannelError> {
    fn decode<T: serde::de::DeserializeOwned>(
        kind: ChannelType,
        config: &serde_json::Value,
    ) -> Result<T, ChannelError> {
        T::deserialize(config).map_err(|e| ChannelError::invalid(kind, e))
    }
    Ok(match channel_type {
        ChannelType::Webhook => Arc::new(WebhookChannel::new(&decode::<WebhookConfig>(
            channel_type,
            config,
        )?)?),
        ChannelType::Email => Arc::new(EmailChannel::new(&decode::<EmailConfig>(
            channel_type,
            config,
        )?)?),
        ChannelType::Inbox => {
            decode::<InboxConfig>(channel_type, config)?;
            Arc::new(InboxChannel)
        }
    })
}

/// At most `max` characters of a receiver's reply, on one line, for failure reasons: enough to
/// tell what went wrong without storing a whole error page per action.
pub(crate) fn excerpt(text: &str, max: usize) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &one_line[..cut]),
        None => one_line,
    }
}

/// An error with its causes, for failure reasons: top-level messages are often generic ("error
/// sending request") and the cause says what broke. A cause already quoted by its parent's
/// message (lettre does that) is not repeated.
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_is_one_bounded_line() {
        assert_eq!(excerpt("  a\n b\t c ", 10), "a b c");
        assert_eq!(excerpt("héllo wörld", 5), "héllo…");
    }

    #[test]
    fn build_rejects_configs_of_the_wrong_shape() {
        let err = build(ChannelType::Webhook, &serde_json::json!({"host": "x"}))
            .err()
            .expect("a webhook needs a url");
        assert!(err.to_string().contains("webhook"), "{err}");
        assert!(build(ChannelType::Inbox, &serde_json::json!({"x": 1})).is_err());
        let bad_from = serde_json::json!({"host": "h", "port": 25, "tls": "none", "from": "nope"});
        assert!(build(ChannelType::Email, &bad_from).is_err());
    }

    #[tokio::test]
    async fn inbox_is_served_not_sent() {
        let channel = build(ChannelType::Inbox, &serde_json::json!({})).unwrap();
        let message = OutgoingMessage {
            idempotency_key: "k".into(),
            profile_id: "p".into(),
            to_email: None,
            subject_kind: SubjectKind::Campaign { id: "c".into() },
            version: 1,
            node_id: None,
            subject: None,
            body: "hi".into(),
            sent_at: jiff::Timestamp::UNIX_EPOCH,
        };
        assert_eq!(
            channel.deliver(&message).await,
            DeliveryOutcome::Delivered {
                detail: Some("served in-app".into())
            }
        );
    }
}
