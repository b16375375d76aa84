//! `sluice journeys …`: list, inspect and steer journeys and their versions (rules J1–J9).

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use serde_json::Value;

use super::results::{self, ActionsArgs, lifecycle_done};
use super::{Ctx, confirm, parse_version};
use crate::apply::Kind;
use crate::client::{Paging, reason_body, seg};
use crate::output::{field, print_json, print_rows};

#[derive(Debug, Subcommand)]
pub enum JourneysCmd {
    /// List journeys with the status of each version.
    List {
        #[command(flatten)]
        paging: Paging,
    },
    /// Show one journey and its versions.
    Get { id: String },
    /// List a journey's versions.
    Versions { id: String },
    /// Create a journey from a YAML/JSON file (`name` plus the definition; references may be
    /// names, as in `sluice apply`; `publish: true` publishes it).
    Create {
        #[arg(short, long, value_name = "FILE")]
        file: PathBuf,
    },
    /// Start draft version N+1, copied from the latest version.
    NewVersion { id: String },
    /// Publish a draft version; a live previous version closes to new entrances.
    Publish(VersionAction),
    /// Close a version to new entrances: nobody new enters, people inside go on to the end.
    Close(Destructive),
    /// Stop a version: everyone inside is halted at once (for a crisis).
    Stop(Destructive),
    /// Copy a version into a new journey (draft version 1).
    Duplicate(VersionAction),
    /// Delete a journey whose versions are all drafts.
    Delete {
        id: String,
        /// Do not ask for confirmation.
        #[arg(short, long)]
        yes: bool,
    },
    /// List the profiles inside a version.
    Profiles {
        id: String,
        #[arg(value_parser = parse_version)]
        version: u32,
        /// Only profiles in this state (e.g. `active`).
        #[arg(long)]
        state: Option<String>,
        #[command(flatten)]
        paging: Paging,
    },
    /// Take one profile out of a live version; its pending step is cancelled.
    Remove {
        id: String,
        #[arg(value_parser = parse_version)]
        version: u32,
        profile: String,
        /// Do not ask for confirmation.
        #[arg(short, long)]
        yes: bool,
    },
    /// Show a version's counters, per node and per channel.
    Results {
        id: String,
        #[arg(value_parser = parse_version)]
        version: u32,
    },
    /// Show a version's action log (or export it with --csv).
    Actions {
        id: String,
        #[arg(value_parser = parse_version)]
        version: u32,
        #[command(flatten)]
        filter: ActionsArgs,
    },
}

#[derive(Debug, Args)]
pub struct VersionAction {
    pub id: String,
    /// The version number (`3` or `v3`).
    #[arg(value_parser = parse_version)]
    pub version: u32,
    /// Why; recorded in the audit log.
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
}

#[derive(Debug, Args)]
pub struct Destructive {
    pub id: String,
    /// The version number (`3` or `v3`).
    #[arg(value_parser = parse_version)]
    pub version: u32,
    /// Why; recorded in the audit log and the notification.
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(short, long)]
    pub yes: bool,
}

pub async fn run(ctx: &Ctx, cmd: JourneysCmd) -> Result<()> {
    match cmd {
        JourneysCmd::List { paging } => {
            let page = ctx.client.list("/api/v1/journeys", &[], &paging).await?;
            ctx.out.list(&page, &["id", "name", "versions"], |j| {
                vec![field(j, "id"), field(j, "name"), versions_label(j)]
            });
        }
        JourneysCmd::Get { id } => {
            let j = ctx.client.get(&base(&id), &[]).await?;
            if ctx.out.is_json() {
                print_json(&j);
            } else {
                println!("journey {} — {}", field(&j, "id"), field(&j, "name"));
                print_versions(&j);
            }
        }
        JourneysCmd::Versions { id } => {
            let j = ctx.client.get(&base(&id), &[]).await?;
            if ctx.out.is_json() {
                print_json(j.get("versions").unwrap_or(&Value::Null));
            } else {
                print_versions(&j);
            }
        }
        JourneysCmd::Create { file } => {
            super::apply::create_one(ctx, &file, Kind::Journey).await?;
        }
        JourneysCmd::NewVersion { id } => {
            let v = ctx
                .client
                .post(&format!("{}/versions", base(&id)), &serde_json::json!({}))
                .await?;
            let n = v
                .get("version")
                .map(crate::output::cell)
                .unwrap_or_default();
            lifecycle_done(
                ctx,
                &format!("journey {id}"),
                &format!("draft v{n} created"),
                &v,
            );
        }
        JourneysCmd::Publish(a) => {
            action(
                ctx,
                &a.id,
                a.version,
                "publish",
                "published",
                a.reason.as_deref(),
            )
            .await?;
        }
        JourneysCmd::Duplicate(a) => {
            let path = format!("{}/versions/{}/duplicate", base(&a.id), a.version);
            let copy = ctx
                .client
                .post(&path, &reason_body(a.reason.as_deref()))
                .await?;
            if ctx.out.is_json() {
                print_json(&copy);
            } else {
                println!(
                    "journey {} v{}: duplicated as {} ({})",
                    a.id,
                    a.version,
                    field(&copy, "id"),
                    field(&copy, "name")
                );
            }
        }
        JourneysCmd::Close(d) => {
            confirm(
                &format!(
                    "Close journey {} v{} to new entrances? Nobody new enters; people inside go on to the end.\n\
                     A closed version can never be reopened or deleted (you can create a new version).",
                    d.id, d.version
                ),
                d.yes,
            )?;
            action(
                ctx,
                &d.id,
                d.version,
                "close",
                "closed to new entrances",
                d.reason.as_deref(),
            )
            .await?;
        }
        JourneysCmd::Stop(d) => {
            confirm(
                &format!(
                    "Stop journey {} v{}? Everyone inside is halted at once: no further step runs for them.\n\
                     Done actions stay done. A stopped version can never be restarted.",
                    d.id, d.version
                ),
                d.yes,
            )?;
            action(
                ctx,
                &d.id,
                d.version,
                "stop",
                "stopped",
                d.reason.as_deref(),
            )
            .await?;
        }
        JourneysCmd::Delete { id, yes } => {
            confirm(
                &format!("Delete journey {id}? (Only while every version is a draft.)"),
                yes,
            )?;
            let answer = ctx.client.delete(&base(&id)).await?;
            lifecycle_done(ctx, &format!("journey {id}"), "deleted", &answer);
        }
        JourneysCmd::Profiles {
            id,
            version,
            state,
            paging,
        } => {
            let query: Vec<(&str, String)> = state.map(|s| ("state", s)).into_iter().collect();
            let path = format!("{}/versions/{version}/profiles", base(&id));
            let page = ctx.client.list(&path, &query, &paging).await?;
            ctx.out
                .list(&page, &["profile", "state", "node", "entered"], |p| {
                    let profile = p
                        .get("profile_id")
                        .or_else(|| p.get("id"))
                        .map(crate::output::cell);
                    vec![
                        profile.unwrap_or_default(),
                        field(p, "state"),
                        field(p, "node_id"),
                        field(p, "entered_at"),
                    ]
                });
        }
        JourneysCmd::Remove {
            id,
            version,
            profile,
            yes,
        } => {
            confirm(
                &format!(
                    "Remove profile {profile} from journey {id} v{version}? Its pending step is cancelled."
                ),
                yes,
            )?;
            let path = format!(
                "{}/versions/{version}/profiles/{}",
                base(&id),
                seg(&profile)
            );
            let answer = ctx.client.delete(&path).await?;
            lifecycle_done(
                ctx,
                &format!("journey {id} v{version}"),
                &format!("removed {profile}"),
                &answer,
            );
        }
        JourneysCmd::Results { id, version } => {
            results::results(ctx, &format!("{}/versions/{version}", base(&id))).await?;
        }
        JourneysCmd::Actions {
            id,
            version,
            filter,
        } => {
            results::actions(ctx, &format!("{}/versions/{version}", base(&id)), &filter).await?;
        }
    }
    Ok(())
}

fn base(id: &str) -> String {
    format!("/api/v1/journeys/{}", seg(id))
}

async fn action(
    ctx: &Ctx,
    id: &str,
    version: u32,
    verb: &str,
    done: &str,
    reason: Option<&str>,
) -> Result<()> {
    let path = format!("{}/versions/{version}/{verb}", base(id));
    let answer = ctx.client.post(&path, &reason_body(reason)).await?;
    lifecycle_done(ctx, &format!("journey {id} v{version}"), done, &answer);
    Ok(())
}

fn versions_of(j: &Value) -> &[Value] {
    j.get("versions")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// `v1 closed · v2 live · v3 draft`.
pub fn versions_label(j: &Value) -> String {
    versions_of(j)
        .iter()
        .map(|v| format!("v{} {}", field(v, "version"), field(v, "status")))
        .collect::<Vec<_>>()
        .join(" · ")
}

fn print_versions(j: &Value) {
    let rows = versions_of(j)
        .iter()
        .map(|v| {
            vec![
                field(v, "version"),
                field(v, "status"),
                field(v, "published_at"),
                field(v, "closed_at"),
            ]
        })
        .collect();
    print_rows(&["version", "status", "published", "closed"], rows);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn versions_read_as_one_line() {
        let j = json!({"versions": [{"version": 1, "status": "closed"}, {"version": 2, "status": "live"}]});
        assert_eq!(versions_label(&j), "v1 closed · v2 live");
        assert_eq!(versions_label(&json!({})), "");
    }
}
