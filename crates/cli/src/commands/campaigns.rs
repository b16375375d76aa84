//! `sluice campaigns …`: list, inspect, create and steer campaigns (rules C1–C10).

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::results::{self, ActionsArgs, lifecycle_done};
use super::{Ctx, confirm};
use crate::apply::Kind;
use crate::client::{Paging, reason_body, seg};
use crate::output::{field, print_json};

#[derive(Debug, Subcommand)]
pub enum CampaignsCmd {
    /// List campaigns; a live campaign with a draft in progress shows as `live ✎ draft v3`.
    List {
        /// Only campaigns with this status.
        #[arg(long, value_parser = ["draft", "scheduled", "live", "paused", "stopped", "aborted", "completed"])]
        status: Option<String>,
        #[command(flatten)]
        paging: Paging,
    },
    /// Show one campaign.
    Get { id: String },
    /// List a campaign's versions.
    Versions { id: String },
    /// Create a campaign from a YAML/JSON file: `name` plus the version fields; `channel`,
    /// `template` and `audience` may be given by name; `activate: true` activates it.
    Create {
        #[arg(short, long, value_name = "FILE")]
        file: PathBuf,
    },
    /// Activate the draft: schedule or start it (a draft of a live campaign replaces it).
    Activate(Action),
    /// Start a draft of a live recurring campaign; the live version keeps running.
    Modify(Action),
    /// Stop a recurring campaign: no further occurrence; one in progress runs to its end.
    Stop(Destructive),
    /// The emergency brake: no further message at all, not even the rest of a send.
    Abort(Destructive),
    /// Pause an inbound campaign (its messages are not served).
    Pause(Action),
    /// Resume a paused inbound campaign.
    Resume(Action),
    /// Copy the latest version into a new draft campaign, "<name> (copy)".
    Duplicate(Action),
    /// Delete a campaign that was never activated.
    Delete {
        id: String,
        /// Do not ask for confirmation.
        #[arg(short, long)]
        yes: bool,
    },
    /// Send an API-triggered campaign to one profile.
    Trigger {
        id: String,
        #[arg(long, value_name = "PROFILE_ID")]
        profile: String,
        /// JSON object the template sees as `event` (`{{ event.order }}`).
        #[arg(long, value_name = "JSON")]
        context: Option<String>,
    },
    /// List a campaign's runs.
    Occurrences {
        id: String,
        #[command(flatten)]
        paging: Paging,
    },
    /// Show a campaign's counters (summed over its occurrences).
    Results { id: String },
    /// Show the action log of a campaign (or export it with --csv).
    Actions {
        id: String,
        #[command(flatten)]
        filter: ActionsArgs,
    },
}

#[derive(Debug, Args)]
pub struct Action {
    pub id: String,
    /// Why; recorded in the audit log.
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
}

#[derive(Debug, Args)]
pub struct Destructive {
    pub id: String,
    /// Why; recorded in the audit log and the notification.
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(short, long)]
    pub yes: bool,
}

pub async fn run(ctx: &Ctx, cmd: CampaignsCmd) -> Result<()> {
    match cmd {
        CampaignsCmd::List { status, paging } => {
            let query: Vec<(&str, String)> = status.map(|s| ("status", s)).into_iter().collect();
            let page = ctx
                .client
                .list("/api/v1/campaigns", &query, &paging)
                .await?;
            let columns = ["id", "name", "status", "live", "draft", "updated"];
            ctx.out.list(&page, &columns, |c| {
                vec![
                    field(c, "id"),
                    field(c, "name"),
                    status_label(c),
                    field(c, "live_version"),
                    field(c, "draft_version"),
                    field(c, "updated_at"),
                ]
            });
        }
        CampaignsCmd::Get { id } => ctx.out.object(&ctx.client.get(&base(&id), &[]).await?),
        CampaignsCmd::Versions { id } => {
            let v = ctx
                .client
                .get(&format!("{}/versions", base(&id)), &[])
                .await?;
            let page = crate::client::Page {
                items: crate::client::items_of(&v),
                next_cursor: None,
            };
            if ctx.out.is_json() {
                print_json(&v);
            } else {
                let columns = [
                    "version",
                    "state",
                    "channel",
                    "template",
                    "audience",
                    "schedule",
                    "activated",
                ];
                ctx.out.list(&page, &columns, |v| {
                    vec![
                        field(v, "version"),
                        field(v, "state"),
                        field(v, "channel_id"),
                        field(v, "template_id"),
                        field(v, "audience_id"),
                        schedule_label(v.get("schedule").unwrap_or(&Value::Null)),
                        field(v, "activated_at"),
                    ]
                });
            }
        }
        CampaignsCmd::Create { file } => {
            super::apply::create_one(ctx, &file, Kind::Campaign).await?;
        }
        CampaignsCmd::Activate(a) => {
            action(ctx, &a.id, "activate", "activated", a.reason.as_deref()).await?;
        }
        CampaignsCmd::Modify(a) => {
            action(ctx, &a.id, "modify", "draft started", a.reason.as_deref()).await?;
        }
        CampaignsCmd::Pause(a) => {
            action(ctx, &a.id, "pause", "paused", a.reason.as_deref()).await?;
        }
        CampaignsCmd::Resume(a) => {
            action(ctx, &a.id, "resume", "resumed", a.reason.as_deref()).await?;
        }
        CampaignsCmd::Duplicate(a) => {
            let copy = ctx
                .client
                .post(
                    &format!("{}/duplicate", base(&a.id)),
                    &reason_body(a.reason.as_deref()),
                )
                .await?;
            if ctx.out.is_json() {
                print_json(&copy);
            } else {
                println!(
                    "campaign {}: duplicated as {} ({})",
                    a.id,
                    field(&copy, "id"),
                    field(&copy, "name")
                );
            }
        }
        CampaignsCmd::Stop(d) => {
            confirm(
                &format!(
                    "Stop campaign {}? No further occurrence will start; one in progress runs to its end.\n\
                     A stopped campaign can never be activated or resumed again (it can be duplicated).",
                    d.id
                ),
                d.yes,
            )?;
            action(ctx, &d.id, "stop", "stopped", d.reason.as_deref()).await?;
        }
        CampaignsCmd::Abort(d) => {
            confirm(
                &format!(
                    "Abort campaign {}? When this returns, no further message of it will be sent,\n\
                     including the rest of a send in progress. Messages already sent stay sent. This is final.",
                    d.id
                ),
                d.yes,
            )?;
            action(ctx, &d.id, "abort", "aborted", d.reason.as_deref()).await?;
        }
        CampaignsCmd::Delete { id, yes } => {
            confirm(
                &format!(
                    "Delete campaign {id}? (Only a campaign that was never activated can be deleted.)"
                ),
                yes,
            )?;
            let answer = ctx.client.delete(&base(&id)).await?;
            lifecycle_done(ctx, &format!("campaign {id}"), "deleted", &answer);
        }
        CampaignsCmd::Trigger {
            id,
            profile,
            context,
        } => {
            let mut body = json!({ "profile_id": profile });
            if let Some(c) = context {
                body["context"] = super::json_object_arg("--context", &c)?;
            }
            let answer = ctx
                .client
                .post(&format!("{}/trigger", base(&id)), &body)
                .await?;
            lifecycle_done(
                ctx,
                &format!("campaign {id}"),
                &format!("triggered for {profile}"),
                &answer,
            );
        }
        CampaignsCmd::Occurrences { id, paging } => {
            let page = ctx
                .client
                .list(&format!("{}/occurrences", base(&id)), &[], &paging)
                .await?;
            let columns = [
                "n",
                "version",
                "scheduled for",
                "started",
                "finished",
                "state",
                "delivered",
                "failed",
                "skipped",
            ];
            ctx.out.list(&page, &columns, |o| {
                [
                    "n",
                    "version",
                    "scheduled_for",
                    "started_at",
                    "finished_at",
                    "state",
                    "delivered",
                    "failed",
                    "skipped",
                ]
                .iter()
                .map(|k| field(o, k))
                .collect()
            });
        }
        CampaignsCmd::Results { id } => {
            results::results(ctx, &base(&id)).await?;
        }
        CampaignsCmd::Actions { id, filter } => {
            results::actions(ctx, &base(&id), &filter).await?;
        }
    }
    Ok(())
}

fn base(id: &str) -> String {
    format!("/api/v1/campaigns/{}", seg(id))
}

async fn action(ctx: &Ctx, id: &str, verb: &str, done: &str, reason: Option<&str>) -> Result<()> {
    let answer = ctx
        .client
        .post(&format!("{}/{verb}", base(id)), &reason_body(reason))
        .await?;
    lifecycle_done(ctx, &format!("campaign {id}"), done, &answer);
    Ok(())
}

/// The Status column: a campaign that is live (or scheduled, paused) and has a draft in
/// progress is marked, as the product's list marks it with an icon.
pub fn status_label(c: &Value) -> String {
    let status = field(c, "status");
    let live = c.get("live_version").and_then(Value::as_u64);
    let draft = c.get("draft_version").and_then(Value::as_u64);
    match (live, draft) {
        (Some(l), Some(d)) if d != l && status != "draft" => format!("{status} ✎ draft v{d}"),
        _ => status,
    }
}

/// A schedule in a few words: `immediate`, `once 2026-…`, `0 9 * * MON-FRI Europe/Berlin`.
fn schedule_label(s: &Value) -> String {
    match s.get("type").and_then(Value::as_str) {
        Some("once") => format!("once {}", field(s, "at")),
        Some("recurring") => format!("{} {}", field(s, "cron"), field(s, "timezone")),
        Some(other) => other.to_string(),
        None => crate::output::cell(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_campaign_with_draft_is_marked() {
        let c = json!({"status": "live", "live_version": 2, "draft_version": 3});
        assert_eq!(status_label(&c), "live ✎ draft v3");
        let c = json!({"status": "draft", "live_version": null, "draft_version": 1});
        assert_eq!(status_label(&c), "draft");
        let c = json!({"status": "completed", "live_version": 1, "draft_version": null});
        assert_eq!(status_label(&c), "completed");
    }

    #[test]
    fn schedules_read_briefly() {
        assert_eq!(schedule_label(&json!({"type": "immediate"})), "immediate");
        let s =
            json!({"type": "recurring", "cron": "0 9 * * MON-FRI", "timezone": "Europe/Berlin"});
        assert_eq!(schedule_label(&s), "0 9 * * MON-FRI Europe/Berlin");
    }
}
