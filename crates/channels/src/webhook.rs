//! The webhook channel: `POST <url>` of a JSON payload, with the action's `Idempotency-Key` so a
//! receiver can drop a repeat (B4). The HTTP status decides the outcome: 2xx delivered; 429 and
//! 5xx retried, honouring `Retry-After`; other 4xx (and redirects, which a POST must not follow)
//! failed for good; time-outs and connection errors retried.

use std::time::Duration;

use jiff::Timestamp;
use reqwest::header::{CONTENT_TYPE, DATE, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use serde_json::{Map, Value, json};
use sluice_core::channel::{ChannelType, WebhookConfig};
use sluice_core::duration::IsoDuration;

use crate::{
    Channel, ChannelError, DeliveryFuture, DeliveryOutcome, OutgoingMessage, SubjectKind,
    error_chain, excerpt,
};

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// How much of a failing reply's body goes into the reason.
const EXCERPT_CHARS: usize = 200;
/// Bytes read from a reply at most; the rest is never downloaded.
const EXCERPT_BYTES: usize = 2048;

/// One configured webhook. Holds one `reqwest::Client`, whose pool keeps connections to the
/// receiver open across deliveries; share the channel (`Arc<dyn Channel>`), do not rebuild it.
#[derive(Debug)]
pub struct WebhookChannel {
    client: reqwest::Client,
    url: reqwest::Url,
    headers: HeaderMap,
    timeout: Duration,
}

impl WebhookChannel {
    pub fn new(config: &WebhookConfig) -> Result<Self, ChannelError> {
        let invalid = |m: String| ChannelError::invalid(ChannelType::Webhook, m);
        let url = reqwest::Url::parse(config.url.trim())
            .map_err(|e| invalid(format!("url `{}`: {e}", config.url)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid(format!("url `{url}` is not http(s)")));
        }
        let timeout = match &config.timeout {
            None => DEFAULT_TIMEOUT,
            Some(text) => {
                let seconds = IsoDuration::parse(text)
                    .map_err(|e| invalid(format!("timeout: {e}")))?
                    .as_span()
                    .total(jiff::Unit::Second)
                    .map_err(|e| invalid(format!("timeout `{text}`: {e}")))?;
                Duration::try_from_secs_f64(seconds)
                    .ok()
                    .filter(|d| !d.is_zero())
                    .ok_or_else(|| invalid(format!("timeout `{text}` must be positive")))?
            }
        };
        let mut headers = HeaderMap::new();
        for (name, value) in &config.headers {
            let name = HeaderName::try_from(name.as_str())
                .map_err(|e| invalid(format!("header name `{name}`: {e}")))?;
            let mut value = HeaderValue::try_from(value.as_str())
                .map_err(|e| invalid(format!("header `{name}` value: {e}")))?;
            // Configured headers usually carry the receiver's secret; keep it out of debug logs.
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            // A redirected POST becomes a GET in most clients; a moved endpoint is a config error.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("sluice/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| invalid(format!("http client: {e}")))?;
        Ok(Self {
            client,
            url,
            headers,
            timeout,
        })
    }

    async fn post(&self, message: &OutgoingMessage) -> DeliveryOutcome {
        let sent = self
            .client
            .post(self.url.clone())
            .headers(self.headers.clone())
            // Set after the configured headers so that these two cannot be overridden.
            .header("Idempotency-Key", &message.idempotency_key)
            .header(CONTENT_TYPE, "application/json")
            .body(payload(message).to_string())
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(e) => return self.transport_failure(&e),
        };
        let status = response.status();
        let retry_after = retry_after(response.headers(), message.sent_at);
        let body = read_excerpt(response).await;
        let reason = || match body.as_deref() {
            Some(text) if !text.is_empty() => format!("HTTP {status}: {text}"),
            _ => format!("HTTP {status}"),
        };
        if status.is_success() {
            DeliveryOutcome::Delivered {
                detail: Some(format!("HTTP {status}")),
            }
        } else if status == reqwest::StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            DeliveryOutcome::Retryable {
                reason: reason(),
                retry_after,
            }
        } else {
            DeliveryOutcome::Fatal { reason: reason() }
        }
    }

    fn transport_failure(&self, error: &reqwest::Error) -> DeliveryOutcome {
        // Everything that fails before a status arrives (time-out, refused, reset, DNS, TLS) may
        // well pass on a later try; the retry budget bounds the cost of being wrong.
        let reason = if error.is_timeout() {
            format!("timed out after {:?}", self.timeout)
        } else if error.is_connect() {
            format!("connection failed: {}", error_chain(error))
        } else {
            format!("request failed: {}", error_chain(error))
        };
        DeliveryOutcome::Retryable {
            reason,
            retry_after: None,
        }
    }
}

impl Channel for WebhookChannel {
    fn deliver<'a>(&'a self, message: &'a OutgoingMessage) -> DeliveryFuture<'a> {
        Box::pin(self.post(message))
    }
}

/// The JSON body a webhook receives: `{idempotency_key, profile_id, campaign_id | journey_id,
/// version, node_id?, subject?, body, sent_at}`, absent optionals left out.
pub fn payload(message: &OutgoingMessage) -> Value {
    let mut body = Map::new();
    body.insert("idempotency_key".into(), json!(message.idempotency_key));
    body.insert("profile_id".into(), json!(message.profile_id));
    match &message.subject_kind {
        SubjectKind::Campaign { id } => body.insert("campaign_id".into(), json!(id)),
        SubjectKind::Journey { id } => body.insert("journey_id".into(), json!(id)),
    };
    body.insert("version".into(), json!(message.version));
    if let Some(node_id) = &message.node_id {
        body.insert("node_id".into(), json!(node_id));
    }
    if let Some(subject) = &message.subject {
        body.insert("subject".into(), json!(subject));
    }
    body.insert("body".into(), json!(message.body));
    body.insert("sent_at".into(), json!(message.sent_at.to_string()));
    Value::Object(body)
}

/// `Retry-After` as seconds or an HTTP-date. A date is measured against the receiver's own
/// `Date` header when it sent one (so clock skew between us cancels out), else against the
/// message's `sent_at` from the engine's clock (Sluice never reads the wall clock directly).
fn retry_after(headers: &HeaderMap, sent_at: Timestamp) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = parse_http_date(value)?;
    let now = headers
        .get(DATE)
        .and_then(|d| d.to_str().ok())
        .and_then(parse_http_date)
        .unwrap_or(sent_at);
    let wait = at.duration_since(now);
    // A date in the past means "now".
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

/// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), which RFC 2822 parsing accepts.
fn parse_http_date(text: &str) -> Option<Timestamp> {
    jiff::fmt::rfc2822::parse(text)
        .ok()
        .map(|zoned| zoned.timestamp())
}

/// The start of the reply body, bounded, as text; `None` if reading it failed.
async fn read_excerpt(mut response: reqwest::Response) -> Option<String> {
    let mut bytes = Vec::new();
    while bytes.len() < EXCERPT_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            Ok(None) => break,
            Err(_) => return None,
        }
    }
    bytes.truncate(EXCERPT_BYTES);
    Some(excerpt(&String::from_utf8_lossy(&bytes), EXCERPT_CHARS))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    HeaderName::from_static(k),
                    HeaderValue::from_str(v).unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let sent: Timestamp = "2015-10-21T07:28:00Z".parse().unwrap();
        let secs = |s| Some(Duration::from_secs(s));
        assert_eq!(
            retry_after(&headers(&[("retry-after", "120")]), sent),
            secs(120)
        );
        let date = "Wed, 21 Oct 2015 07:28:30 GMT";
        assert_eq!(
            retry_after(&headers(&[("retry-after", date)]), sent),
            secs(30)
        );
        let with_server_date = headers(&[
            ("retry-after", date),
            ("date", "Wed, 21 Oct 2015 07:28:25 GMT"),
        ]);
        assert_eq!(retry_after(&with_server_date, sent), secs(5));
        let past = headers(&[("retry-after", "Wed, 21 Oct 2015 07:00:00 GMT")]);
        assert_eq!(retry_after(&past, sent), secs(0));
        assert_eq!(
            retry_after(&headers(&[("retry-after", "soon")]), sent),
            None
        );
        assert_eq!(retry_after(&HeaderMap::new(), sent), None);
    }

    #[test]
    fn timeout_comes_from_the_config() {
        let config = |timeout: Option<&str>| WebhookConfig {
            url: "http://127.0.0.1:9/hook".into(),
            headers: Default::default(),
            timeout: timeout.map(Into::into),
        };
        let timeout = |t| WebhookChannel::new(&config(t)).map(|c| c.timeout);
        assert_eq!(timeout(None).unwrap(), DEFAULT_TIMEOUT);
        assert_eq!(timeout(Some("PT5S")).unwrap(), Duration::from_secs(5));
        assert_eq!(timeout(Some("PT0.5S")).unwrap(), Duration::from_millis(500));
        assert!(timeout(Some("PT0S")).is_err());
        assert!(timeout(Some("five")).is_err());
    }

    #[test]
    fn bad_headers_and_urls_are_config_errors() {
        let mut config = WebhookConfig {
            url: "ftp://example.com/x".into(),
            headers: Default::default(),
            timeout: None,
        };
        assert!(WebhookChannel::new(&config).is_err());
        config.url = "https://example.com/x".into();
        config.headers.insert("X-Token".into(), "a\nb".into());
        assert!(WebhookChannel::new(&config).is_err());
    }
}
