//! `sluice channels …`: list, inspect and delete delivery channels (admin).
//!
//! The server never returns secrets (it answers `<redacted>` in their place). The CLI does not
//! rely on that alone: whatever it prints, table or JSON, has passwords, tokens and header
//! values masked, and the list shows only a channel's non-secret settings.

use anyhow::Result;
use clap::Subcommand;
use serde_json::{Map, Value};

use super::{Ctx, delete};
use crate::client::{Paging, seg};
use crate::output::{cell, field, print_json, print_rows};

/// What a secret is replaced with, as the server does.
const REDACTED: &str = "<redacted>";

/// The order settings are shown in; others follow alphabetically.
const CONFIG_ORDER: &[&str] = &["url", "host", "port", "tls", "from", "username", "timeout"];

#[derive(Debug, Subcommand)]
pub enum ChannelsCmd {
    /// List channels: type, name, rate limit and the non-secret settings.
    List {
        #[command(flatten)]
        paging: Paging,
    },
    /// Show one channel (secrets are never shown).
    Get { id: String },
    /// Delete a channel (refused, exit 4, while a campaign or journey uses it).
    Delete {
        id: String,
        /// Do not ask for confirmation (required when stdin is not a terminal).
        #[arg(short, long)]
        yes: bool,
    },
}

pub async fn run(ctx: &Ctx, cmd: ChannelsCmd) -> Result<()> {
    match cmd {
        ChannelsCmd::List { paging } => {
            let mut page = ctx.client.list("/api/v1/channels", &[], &paging).await?;
            page.items.iter_mut().for_each(redact_channel);
            let columns = ["id", "name", "type", "rate limit/s", "settings"];
            ctx.out.list(&page, &columns, |c| {
                vec![
                    field(c, "id"),
                    field(c, "name"),
                    field(c, "type"),
                    field(c, "rate_limit_per_second"),
                    settings_label(c.get("config").unwrap_or(&Value::Null)),
                ]
            });
        }
        ChannelsCmd::Get { id } => {
            let mut channel = ctx.client.get(&base(&id), &[]).await?;
            redact_channel(&mut channel);
            if ctx.out.is_json() {
                print_json(&channel);
            } else {
                print_rows(&["field", "value"], channel_rows(&channel));
            }
        }
        ChannelsCmd::Delete { id, yes } => {
            let question =
                format!("Delete channel {id}? Its stored settings and secrets are lost.");
            delete(ctx, &format!("channel {id}"), &base(&id), &question, yes).await?;
        }
    }
    Ok(())
}

fn base(id: &str) -> String {
    format!("/api/v1/channels/{}", seg(id))
}

/// True for a setting whose value is a secret: passwords, tokens, keys.
fn is_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "password",
        "secret",
        "token",
        "api_key",
        "apikey",
        "private_key",
        "authorization",
    ]
    .iter()
    .any(|s| key.contains(s))
}

/// Masks every secret in a channel's `config`: secret-named settings and all header values.
pub fn redact_channel(channel: &mut Value) {
    let Some(Value::Object(config)) = channel.get_mut("config") else {
        return;
    };
    for (key, value) in config.iter_mut() {
        if key.eq_ignore_ascii_case("headers") {
            if let Value::Object(headers) = value {
                headers
                    .values_mut()
                    .for_each(|v| *v = Value::String(REDACTED.into()));
            }
        } else if is_secret(key) && !value.is_null() {
            *value = Value::String(REDACTED.into());
        }
    }
}

fn ordered(config: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut entries: Vec<_> = config.iter().collect();
    entries.sort_by_key(|(k, _)| {
        CONFIG_ORDER
            .iter()
            .position(|p| p == k)
            .unwrap_or(CONFIG_ORDER.len())
    });
    entries
}

/// The non-secret settings on one line: `url=http://…, timeout=PT5S, headers=X-Api-Key`
/// (header names only; secrets left out entirely).
pub fn settings_label(config: &Value) -> String {
    let Value::Object(config) = config else {
        return cell(config);
    };
    ordered(config)
        .into_iter()
        .filter(|(k, v)| !is_secret(k) && !v.is_null())
        .map(|(k, v)| match v {
            Value::Object(headers) if k.eq_ignore_ascii_case("headers") => {
                let names: Vec<&str> = headers.keys().map(String::as_str).collect();
                format!("{k}={}", names.join(" "))
            }
            other => format!("{k}={}", cell(other)),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Field/value rows of one (already redacted) channel, its settings as `config.<key>` rows.
pub fn channel_rows(channel: &Value) -> Vec<Vec<String>> {
    let Value::Object(map) = channel else {
        return vec![vec![String::new(), cell(channel)]];
    };
    let mut rows = Vec::new();
    for key in ["id", "name", "type", "rate_limit_per_second"] {
        rows.push(vec![key.to_string(), field(channel, key)]);
    }
    if let Some(Value::Object(config)) = map.get("config") {
        for (k, v) in ordered(config) {
            let text = match v {
                Value::Object(headers) if k.eq_ignore_ascii_case("headers") => headers
                    .iter()
                    .map(|(name, value)| format!("{name}: {}", cell(value)))
                    .collect::<Vec<_>>()
                    .join("\n"),
                other => cell(other),
            };
            rows.push(vec![format!("config.{k}"), text]);
        }
    }
    let shown = ["id", "name", "type", "rate_limit_per_second", "config"];
    for (k, v) in map.iter().filter(|(k, _)| !shown.contains(&k.as_str())) {
        rows.push(vec![k.clone(), cell(v)]);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn email() -> Value {
        json!({"id": "chn_1", "name": "mail", "type": "email", "rate_limit_per_second": 5,
               "config": {"from": "a@b.c", "host": "smtp.example.com", "password": "hunter2",
                          "port": 587, "tls": "starttls", "username": "u"},
               "created_at": "2026-01-01T00:00:00Z"})
    }

    #[test]
    fn secrets_are_masked_even_if_the_server_sent_them() {
        let mut c = email();
        redact_channel(&mut c);
        assert_eq!(c["config"]["password"], REDACTED);
        assert_eq!(c["config"]["host"], "smtp.example.com");
        let mut hook = json!({"config": {"url": "http://x", "headers": {"X-Key": "k1"}}});
        redact_channel(&mut hook);
        assert_eq!(hook["config"]["headers"]["X-Key"], REDACTED);
        assert!(!hook.to_string().contains("k1"));
    }

    #[test]
    fn settings_show_only_what_is_not_secret() {
        let c = email();
        assert_eq!(
            settings_label(&c["config"]),
            "host=smtp.example.com, port=587, tls=starttls, from=a@b.c, username=u"
        );
        let hook = json!({"url": "http://x", "timeout": "PT5S", "headers": {"A": "1", "B": "2"}});
        assert_eq!(
            settings_label(&hook),
            "url=http://x, timeout=PT5S, headers=A B"
        );
        assert_eq!(settings_label(&json!({})), "");
    }

    #[test]
    fn one_channel_reads_as_rows() {
        let mut c = email();
        redact_channel(&mut c);
        let rows = channel_rows(&c);
        let text = format!("{rows:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert_eq!(rows[0], ["id", "chn_1"]);
        assert_eq!(rows[3], ["rate_limit_per_second", "5"]);
        assert_eq!(rows[4], ["config.host", "smtp.example.com"]);
        assert!(rows.contains(&vec!["config.password".into(), REDACTED.into()]));
        assert_eq!(
            rows.last().unwrap(),
            &["created_at", "2026-01-01T00:00:00Z"]
        );
    }
}
