//! `sluice templates …`: list, inspect, preview and delete message templates.

use anyhow::Result;
use clap::Subcommand;
use serde_json::{Value, json};

use super::{Ctx, delete};
use crate::client::{Paging, seg};
use crate::output::{field, print_json};

#[derive(Debug, Subcommand)]
pub enum TemplatesCmd {
    /// List templates.
    List {
        #[command(flatten)]
        paging: Paging,
    },
    /// Show one template, its subject and body unrendered.
    Get { id: String },
    /// Render a template for one profile and print its subject and body.
    ///
    /// A variable the profile (or --context) does not have renders as empty, or as the
    /// template's `default:`.
    Preview {
        id: String,
        #[arg(long, value_name = "PROFILE_ID")]
        profile: String,
        /// JSON object the template sees as `event` (`{{ event.order }}`).
        #[arg(long, value_name = "JSON")]
        context: Option<String>,
    },
    /// Delete a template (refused, exit 4, while a campaign or journey uses it).
    Delete {
        id: String,
        /// Do not ask for confirmation (required when stdin is not a terminal).
        #[arg(short, long)]
        yes: bool,
    },
}

pub async fn run(ctx: &Ctx, cmd: TemplatesCmd) -> Result<()> {
    match cmd {
        TemplatesCmd::List { paging } => {
            let page = ctx.client.list("/api/v1/templates", &[], &paging).await?;
            let columns = ["id", "name", "channel type", "subject", "updated"];
            ctx.out.list(&page, &columns, |t| {
                vec![
                    field(t, "id"),
                    field(t, "name"),
                    field(t, "channel_type"),
                    field(t, "subject"),
                    field(t, "updated_at"),
                ]
            });
        }
        TemplatesCmd::Get { id } => ctx.out.object(&ctx.client.get(&base(&id), &[]).await?),
        TemplatesCmd::Preview {
            id,
            profile,
            context,
        } => {
            let mut body = json!({ "profile_id": profile });
            if let Some(c) = context {
                body["context"] = super::json_object_arg("--context", &c)?;
            }
            let rendered = ctx
                .client
                .post(&format!("{}/preview", base(&id)), &body)
                .await?;
            if ctx.out.is_json() {
                print_json(&rendered);
            } else {
                print!("{}", preview_text(&rendered));
            }
        }
        TemplatesCmd::Delete { id, yes } => {
            let question = format!("Delete template {id}?");
            delete(ctx, &format!("template {id}"), &base(&id), &question, yes).await?;
        }
    }
    Ok(())
}

fn base(id: &str) -> String {
    format!("/api/v1/templates/{}", seg(id))
}

/// A rendered message as a mail reader shows it: `Subject: …`, a blank line, the body.
/// Without a subject (webhook and inbox templates may have none) only the body.
pub fn preview_text(rendered: &Value) -> String {
    let body = field(rendered, "body");
    let mut text = match rendered.get("subject").and_then(Value::as_str) {
        Some(subject) => format!("Subject: {subject}\n\n{body}"),
        None => body,
    };
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previews_read_like_a_message() {
        let r = json!({"subject": "Hi Ann", "body": "Hello Ann\n"});
        assert_eq!(preview_text(&r), "Subject: Hi Ann\n\nHello Ann\n");
        let r = json!({"subject": null, "body": "Hello"});
        assert_eq!(preview_text(&r), "Hello\n");
        let r = json!({"subject": "", "body": ""});
        assert_eq!(preview_text(&r), "Subject: \n\n");
    }
}
