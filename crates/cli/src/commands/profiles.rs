//! `sluice profiles …`: chunked import with progress, and get/list/delete.

use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal};
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};

use super::{Ctx, confirm};
use crate::client::{Paging, seg};
use crate::error::{Code, Failure};
use crate::import::{Chunker, ImportFormat, csv_columns};
use crate::output::{cell, field, print_json, print_rows};

/// A chunk also ends at this size, well under the server's default 256 MiB import limit.
const MAX_CHUNK_BYTES: usize = 32 << 20;
/// Errors kept for the report; a file that is wrong throughout would otherwise fill memory.
const MAX_ERRORS_KEPT: usize = 1000;
/// Errors shown in the table report.
const ERRORS_SHOWN: usize = 20;

#[derive(Debug, Subcommand)]
pub enum ProfilesCmd {
    /// Import profiles from a CSV (header row with `id`) or NDJSON file, in chunks.
    ///
    /// Bad lines are reported with their line number in the file and do not stop the others;
    /// the exit code is 5 when any line was rejected.
    Import(ImportArgs),
    /// Show one profile.
    Get { id: String },
    /// List profiles.
    List {
        #[command(flatten)]
        paging: Paging,
    },
    /// Erase a profile and its events.
    Delete {
        id: String,
        /// Do not ask for confirmation.
        #[arg(short, long)]
        yes: bool,
    },
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file (`-` for stdin, which needs --format).
    pub file: PathBuf,
    /// File format [default: from the extension: .csv, .ndjson/.jsonl/.json].
    #[arg(long, value_enum)]
    pub format: Option<ImportFormat>,
    /// Records per request.
    #[arg(long, default_value_t = 50_000, value_name = "N")]
    pub chunk_lines: u64,
}

pub async fn run(ctx: &Ctx, cmd: ProfilesCmd) -> Result<()> {
    match cmd {
        ProfilesCmd::Import(args) => import(ctx, &args).await,
        ProfilesCmd::Get { id } => {
            ctx.out.object(&ctx.client.get(&path(&id), &[]).await?);
            Ok(())
        }
        ProfilesCmd::List { paging } => {
            let page = ctx.client.list("/api/v1/profiles", &[], &paging).await?;
            ctx.out
                .list(&page, &["id", "email", "attributes", "consent"], |p| {
                    let attributes = p.get("attributes").unwrap_or(&Value::Null);
                    vec![
                        field(p, "id"),
                        field(attributes, "email"),
                        cell(attributes),
                        field(p, "consent"),
                    ]
                });
            Ok(())
        }
        ProfilesCmd::Delete { id, yes } => {
            confirm(
                &format!("Delete profile {id} and all its events? This cannot be undone."),
                yes,
            )?;
            let answer = ctx.client.delete(&path(&id)).await?;
            if ctx.out.is_json() {
                print_json(&answer);
            } else {
                println!("profile {id}: deleted");
            }
            Ok(())
        }
    }
}

fn path(id: &str) -> String {
    format!("/api/v1/profiles/{}", seg(id))
}

/// Totals over all chunks, with error lines relative to the whole file.
#[derive(Debug, Default)]
struct Report {
    imported: u64,
    failed: u64,
    errors: Vec<(u64, String)>,
}

async fn import(ctx: &Ctx, args: &ImportArgs) -> Result<()> {
    let format = args
        .format
        .or_else(|| ImportFormat::from_path(&args.file))
        .ok_or_else(|| {
            Failure::new(
                Code::Usage,
                "cannot tell the format from the file name; give --format csv or --format ndjson",
            )
        })?;
    let (reader, size): (Box<dyn BufRead>, Option<u64>) = if args.file.as_os_str() == "-" {
        (Box::new(BufReader::new(std::io::stdin())), None)
    } else {
        let file =
            File::open(&args.file).with_context(|| format!("opening {}", args.file.display()))?;
        let size = file.metadata().ok().map(|m| m.len());
        (Box::new(BufReader::with_capacity(1 << 20, file)), size)
    };
    let mut chunker = Chunker::new(reader, format, args.chunk_lines, MAX_CHUNK_BYTES)?;
    if format == ImportFormat::Csv {
        let columns = csv_columns(chunker.header());
        if !columns.iter().any(|c| c == "id") {
            let found = columns.join(", ");
            return Err(Failure::new(
                Code::Validation,
                format!("the CSV header has no `id` column (found: {found})"),
            )
            .into());
        }
    }

    let bar = progress_bar(size);
    let mut report = Report::default();
    let mut records = 0u64;
    while let Some(mut chunk) = chunker.next_chunk()? {
        let (first, count, bytes) = (chunk.first_line, chunk.records, chunk.file_bytes);
        let answer = ctx
            .client
            .post_bytes(
                "/api/v1/profiles/import",
                format.content_type(),
                std::mem::take(&mut chunk.body),
            )
            .await
            .with_context(|| {
                format!(
                    "importing the {count} records from line {first} on ({} imported before)",
                    report.imported
                )
            });
        let answer = match answer {
            Ok(a) => a,
            Err(e) => {
                bar.abandon();
                return Err(e);
            }
        };
        report.imported += answer.get("imported").and_then(Value::as_u64).unwrap_or(0);
        report.failed += answer.get("failed").and_then(Value::as_u64).unwrap_or(0);
        for e in answer
            .get("errors")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if report.errors.len() >= MAX_ERRORS_KEPT {
                break;
            }
            let line = e
                .get("line")
                .and_then(Value::as_u64)
                .map_or(0, |l| chunk.file_line(l));
            report.errors.push((line, field(e, "message")));
        }
        records += count;
        bar.inc(bytes);
        bar.set_message(format!(
            "{records} records, {} imported, {} failed",
            report.imported, report.failed
        ));
    }
    bar.finish_and_clear();
    print_report(ctx, &report);
    if report.failed > 0 {
        return Err(Failure::new(
            Code::Validation,
            format!("{} records were rejected", report.failed),
        )
        .into());
    }
    Ok(())
}

/// A bar over the file's bytes on a terminal; nothing when stderr is not one (CI logs).
fn progress_bar(size: Option<u64>) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::with_draw_target(size, ProgressDrawTarget::hidden());
    }
    let (bar, template) = match size {
        Some(n) => (
            ProgressBar::new(n),
            "{spinner} [{elapsed_precise}] [{wide_bar}] {bytes}/{total_bytes} {msg}",
        ),
        None => (
            ProgressBar::new_spinner(),
            "{spinner} [{elapsed_precise}] {bytes} {msg}",
        ),
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

fn print_report(ctx: &Ctx, report: &Report) {
    if ctx.out.is_json() {
        let errors: Vec<Value> = report
            .errors
            .iter()
            .map(|(l, m)| json!({"line": l, "message": m}))
            .collect();
        print_json(
            &json!({"imported": report.imported, "failed": report.failed, "errors": errors}),
        );
        return;
    }
    println!("imported {}, failed {}", report.imported, report.failed);
    if report.errors.is_empty() {
        return;
    }
    let rows = report
        .errors
        .iter()
        .take(ERRORS_SHOWN)
        .map(|(l, m)| vec![l.to_string(), m.clone()])
        .collect();
    print_rows(&["line", "error"], rows);
    let more = report.failed.saturating_sub(ERRORS_SHOWN as u64);
    if more > 0 {
        println!("… and {more} more (use --output json to see up to {MAX_ERRORS_KEPT})");
    }
}
