//! Smaller commands: notifications, the audit log, API tokens and the test clock.

use anyhow::Result;
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::Ctx;
use crate::client::{Paging, seg};
use crate::error::{Code, exit_code};
use crate::output::{counters_line, field, print_json};

#[derive(Debug, Subcommand)]
pub enum NotificationsCmd {
    /// List notifications, newest first.
    List {
        /// Only unread ones.
        #[arg(long)]
        unread: bool,
        #[command(flatten)]
        paging: Paging,
    },
    /// Mark a notification read.
    Read { id: String },
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only entries about this subject, e.g. `campaign:ID` or `journey:ID`.
    #[arg(long, value_name = "TYPE:ID")]
    pub subject: Option<String>,
    #[command(flatten)]
    pub paging: Paging,
}

#[derive(Debug, Subcommand)]
pub enum TokensCmd {
    /// Create an API token; it is shown once.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = ["viewer", "editor", "admin"])]
        role: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClockCmd {
    /// Show the engine's current time.
    Get,
    /// Move the clock forward by an ISO 8601 duration (e.g. PT1H, P1D).
    Advance { duration: String },
    /// Set the clock to an RFC 3339 time.
    Set { time: jiff::Timestamp },
}

pub async fn notifications(ctx: &Ctx, cmd: NotificationsCmd) -> Result<()> {
    match cmd {
        NotificationsCmd::List { unread, paging } => {
            let query: Vec<(&str, String)> = if unread {
                vec![("unread", "true".into())]
            } else {
                Vec::new()
            };
            let page = ctx
                .client
                .list("/api/v1/notifications", &query, &paging)
                .await?;
            let columns = [
                "id", "at", "kind", "subject", "actor", "reason", "summary", "read",
            ];
            ctx.out.list(&page, &columns, |n| {
                vec![
                    field(n, "id"),
                    field(n, "at"),
                    field(n, "kind"),
                    subject_label(n.get("subject").unwrap_or(&Value::Null)),
                    field(n, "actor"),
                    field(n, "reason"),
                    counters_line(n.get("summary").unwrap_or(&Value::Null)),
                    field(n, "read"),
                ]
            });
        }
        NotificationsCmd::Read { id } => {
            let path = format!("/api/v1/notifications/{}/read", seg(&id));
            let answer = ctx.client.post(&path, &json!({})).await?;
            if ctx.out.is_json() {
                print_json(&answer);
            } else {
                println!("notification {id}: read");
            }
        }
    }
    Ok(())
}

pub async fn audit(ctx: &Ctx, args: &AuditArgs) -> Result<()> {
    let query: Vec<(&str, String)> = args
        .subject
        .iter()
        .map(|s| ("subject", s.clone()))
        .collect();
    let page = ctx
        .client
        .list("/api/v1/audit", &query, &args.paging)
        .await?;
    let columns = ["at", "actor", "action", "subject", "from", "to", "reason"];
    ctx.out.list(&page, &columns, |e| {
        let subject = match e.get("subject") {
            Some(s @ Value::Object(_)) => subject_label(s),
            Some(other) => crate::output::cell(other),
            None => String::new(),
        };
        vec![
            field(e, "at"),
            field(e, "actor"),
            field(e, "action"),
            subject,
            field(e, "from_status"),
            field(e, "to_status"),
            field(e, "reason"),
        ]
    });
    Ok(())
}

pub async fn tokens(ctx: &Ctx, cmd: TokensCmd) -> Result<()> {
    let TokensCmd::Create { name, role } = cmd;
    let answer = ctx
        .client
        .post("/api/v1/tokens", &json!({ "name": name, "role": role }))
        .await?;
    if ctx.out.is_json() {
        print_json(&answer);
    } else {
        println!(
            "token {} ({role}) created: {}",
            field(&answer, "id"),
            field(&answer, "token")
        );
        eprintln!("Store it now: it is not shown again.");
    }
    Ok(())
}

pub async fn clock(ctx: &Ctx, cmd: ClockCmd) -> Result<()> {
    const PATH: &str = "/api/v1/test/clock";
    let answer = match cmd {
        ClockCmd::Get => ctx.client.get(PATH, &[]).await,
        ClockCmd::Advance { duration } => {
            ctx.client.post(PATH, &json!({ "advance": duration })).await
        }
        ClockCmd::Set { time } => {
            ctx.client
                .post(PATH, &json!({ "set": time.to_string() }))
                .await
        }
    };
    // The API answers 404 when the server runs on the real clock; say so rather than "not found".
    let answer = answer.map_err(|e| match exit_code(&e) {
        Code::NotFound => e.context("no test clock (start the server with --test-clock)"),
        _ => e,
    })?;
    if ctx.out.is_json() {
        print_json(&answer);
    } else {
        println!("{}", field(&answer, "now"));
    }
    Ok(())
}

/// `{type: campaign, id: c1, version: 2}` as `campaign c1 v2`.
fn subject_label(s: &Value) -> String {
    let mut label = format!("{} {}", field(s, "type"), field(s, "id"));
    if let Some(v) = s.get("version").filter(|v| !v.is_null()) {
        label.push_str(&format!(" v{}", crate::output::cell(v)));
    }
    label.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_read_briefly() {
        assert_eq!(
            subject_label(&json!({"type": "journey", "id": "j1", "version": 2})),
            "journey j1 v2"
        );
        assert_eq!(
            subject_label(&json!({"type": "campaign", "id": "c1", "version": null})),
            "campaign c1"
        );
    }
}
