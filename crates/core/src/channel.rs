//! Channels: where messages go, and the settings each kind needs.

use serde::{Deserialize, Serialize};

/// The kind of a channel; a template is written for one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChannelType {
    Email,
    Webhook,
    Inbox,
}

impl ChannelType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Webhook => "webhook",
            Self::Inbox => "inbox",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "email" => Some(Self::Email),
            "webhook" => Some(Self::Webhook),
            "inbox" => Some(Self::Inbox),
            _ => None,
        }
    }
}

use std::collections::BTreeMap;

use crate::error::{FieldError, ValidationErrors};

/// `webhook`: an HTTP POST of JSON to `url`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub url: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// ISO 8601 duration (`PT10S`); default ten seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tls {
    None,
    Starttls,
    Tls,
}

/// `email`: SMTP to the user's server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    pub host: String,
    pub port: u16,
    pub tls: Tls,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    pub from: String,
}

/// `inbox`: messages the user's app fetches; nothing to configure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboxConfig {}

const REDACTED: &str = "<redacted>";

/// Checks `config` for a channel of `kind` and returns it normalized (as stored).
pub fn parse_config(
    kind: ChannelType,
    config: &serde_json::Value,
) -> Result<serde_json::Value, ValidationErrors> {
    fn decode<T: serde::de::DeserializeOwned>(
        v: &serde_json::Value,
    ) -> Result<T, ValidationErrors> {
        T::deserialize(v).map_err(|e| {
            let message = e.to_string();
            // The field is named in the message (unknown, missing) or its bad value is quoted.
            let quoted = crate::error::quoted(&message);
            let by_value = || {
                v.as_object()?.iter().find_map(|(key, value)| {
                    let shown = value
                        .as_str()
                        .map_or_else(|| value.to_string(), str::to_owned);
                    quoted.contains(&shown.as_str()).then_some(key.as_str())
                })
            };
            let field = message
                .strip_prefix("unknown field `")
                .and_then(|r| r.split('`').next())
                .or_else(|| {
                    message
                        .strip_prefix("missing field `")
                        .and_then(|r| r.split('`').next())
                })
                .or_else(by_value)
                .map_or_else(|| "config".to_owned(), |f| format!("config.{f}"));
            ValidationErrors(vec![FieldError::new(field, message)])
        })
    }
    let mut errors = ValidationErrors::default();
    let normalized = match kind {
        ChannelType::Webhook => {
            let c: WebhookConfig = decode(config)?;
            let url = c.url.trim();
            let scheme_ok = url.starts_with("http://") || url.starts_with("https://");
            if !scheme_ok || url.len() < 10 || url.contains(char::is_whitespace) {
                errors.push("config.url", "must be an absolute http:// or https:// URL");
            }
            if let Some(t) = &c.timeout {
                match crate::duration::IsoDuration::parse(t) {
                    Ok(d) if d.as_span().total(jiff::Unit::Second).unwrap_or(f64::MAX) > 300.0 => {
                        errors.push("config.timeout", "at most five minutes (PT5M)");
                    }
                    Ok(_) => {}
                    Err(e) => errors.push("config.timeout", e),
                }
            }
            for name in c.headers.keys() {
                if name.is_empty()
                    || !name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                {
                    errors.push(format!("config.headers.{name}"), "not a valid header name");
                }
            }
            serde_json::to_value(c)
        }
        ChannelType::Email => {
            let c: EmailConfig = decode(config)?;
            if c.host.trim().is_empty() {
                errors.push("config.host", "must not be empty");
            }
            if c.port == 0 {
                errors.push("config.port", "must be a TCP port (1–65535)");
            }
            if !c.from.contains('@') {
                errors.push("config.from", "must be an email address");
            }
            if c.password.is_some() && c.username.is_none() {
                errors.push("config.username", "required when a password is set");
            }
            serde_json::to_value(c)
        }
        ChannelType::Inbox => serde_json::to_value(decode::<InboxConfig>(config)?),
    };
    errors.into_result()?;
    normalized.map_err(|e| ValidationErrors::single("config", e.to_string()))
}

/// The config as the API shows it: secrets (the SMTP password, header values) never leave.
pub fn redact_config(config: &serde_json::Value) -> serde_json::Value {
    let mut shown = config.clone();
    if let Some(obj) = shown.as_object_mut() {
        if obj.contains_key("password") {
            obj.insert("password".into(), REDACTED.into());
        }
        if let Some(headers) = obj
            .get_mut("headers")
            .and_then(serde_json::Value::as_object_mut)
        {
            for v in headers.values_mut() {
                *v = REDACTED.into();
            }
        }
    }
    shown
}

/// A PUT that repeats the redacted placeholder (or omits the password) keeps the stored secret,
/// so a client can send back what it read.
pub fn keep_secrets(new: &mut serde_json::Value, old: &serde_json::Value) {
    let (Some(new), Some(old)) = (new.as_object_mut(), old.as_object()) else {
        return;
    };
    let password_kept = new.get("password").is_none_or(|p| p == REDACTED);
    if password_kept && let Some(p) = old.get("password") {
        new.insert("password".into(), p.clone());
    }
    if let (Some(headers), Some(old_headers)) = (
        new.get_mut("headers")
            .and_then(serde_json::Value::as_object_mut),
        old.get("headers").and_then(serde_json::Value::as_object),
    ) {
        for (name, v) in headers.iter_mut() {
            if v == REDACTED
                && let Some(o) = old_headers.get(name)
            {
                *v = o.clone();
            }
        }
    }
}
