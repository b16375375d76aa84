//! `sluice apply -f FILE`: make the server hold what the file says, idempotently.
//!
//! Order of work: parse and validate the file, read what exists (lists only, no writes), check
//! every name reference, then create/update in dependency order. The first server error stops
//! the run; what was done before it is still reported.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{Context, Result};
use serde_json::Value;

use super::Ctx;
use crate::apply::exec::{Applier, Row, str_field};
use crate::apply::refs::{self, Catalog};
use crate::apply::{Doc, Issue, Kind, parse};
use crate::client::{Client, seg};
use crate::error::{Code, Failure};
use crate::output::{print_json, print_rows};

/// Create or update definitions from a YAML (multi-document) or JSON file.
///
/// Each definition has `kind` (audience, channel, template, campaign, journey), `name`, and
/// the API's create body. References may be names (`channel: my-hook`, `template: welcome`,
/// `audience: vips`; in journeys `entry.audience`, message nodes' `channel`/`template`,
/// `remove_from_journey` nodes' `journey`) or ids (`channel_id`, …).
///
/// Identity is the name: missing → created, equal → unchanged, different → updated (a live
/// campaign is reported, not changed: use `sluice campaigns modify`; a journey gets a new
/// draft version). Fields the file leaves out are not compared. `activate: true` (campaign)
/// and `publish: true` (journey) take a definition live the first time only.
#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// The file, or `-` for stdin.
    #[arg(short, long, value_name = "FILE")]
    pub file: PathBuf,
    /// Show what would change without changing anything.
    #[arg(long)]
    pub dry_run: bool,
}

pub async fn run(ctx: &Ctx, args: &ApplyArgs) -> Result<()> {
    let text = super::read_input(&args.file)?;
    let (docs, mut issues) = parse::parse_partial(&text);
    if docs.is_empty() {
        return Err(invalid(&mut issues));
    }
    // Reading the catalog is the only server call before validation ends (lists, no writes).
    let catalog = match fetch_catalog(&ctx.client, &docs).await {
        Ok(c) => c,
        // The file's own problems are the more useful report when the server is unreachable.
        Err(_) if !issues.is_empty() => return Err(invalid(&mut issues)),
        Err(e) => return Err(e),
    };
    issues.extend(refs::check_against(&docs, &catalog));
    let order = refs::order(&docs, &catalog).unwrap_or_else(|more| {
        issues.extend(more);
        Vec::new()
    });
    if !issues.is_empty() {
        return Err(invalid(&mut issues));
    }

    let mut applier = Applier {
        client: &ctx.client,
        ids: HashMap::new(),
        catalog: &catalog,
        dry_run: args.dry_run,
    };
    let mut rows = Vec::new();
    let mut failure = None;
    for i in order {
        let doc = &docs[i];
        match applier.apply(doc).await {
            Ok(row) => rows.push(row),
            Err(e) => {
                let what = format!("document {} ({} {:?})", doc.index, doc.kind, doc.name);
                failure = Some(e.context(what));
                break;
            }
        }
    }
    report(ctx, &rows);
    failure.map_or(Ok(()), Err)
}

/// `sluice campaigns create -f` / `sluice journeys create -f`: always creates (names need not
/// be unique on the server), resolving by-name references like apply does.
pub async fn create_one(ctx: &Ctx, file: &std::path::Path, kind: Kind) -> Result<()> {
    let text = super::read_input(file)?;
    let doc = parse::parse_one(&text, kind).map_err(|mut i| invalid(&mut i))?;
    let docs = [doc];
    let catalog = fetch_catalog(&ctx.client, &docs).await?;
    // Only the references matter here: a same-named object on the server is no conflict.
    let own = &docs[0];
    let mut issues = refs::check_references(&docs, &catalog);
    if !issues.is_empty() {
        return Err(invalid(&mut issues));
    }
    let applier = Applier {
        client: &ctx.client,
        ids: HashMap::new(),
        catalog: &catalog,
        dry_run: false,
    };
    let body = refs::resolve(own, |k, n| applier.lookup(k, n)).map_err(anyhow::Error::msg)?;
    let (id, result, _) = match kind {
        Kind::Journey => applier.journey(own, None, body).await?,
        _ => applier.campaign(own, None, body).await?,
    };
    if ctx.out.is_json() {
        let path = format!("/api/v1/{}/{}", kind.collection(), seg(&id));
        print_json(&ctx.client.get(&path, &[]).await?);
    } else {
        println!("{kind} {id}: {result}");
    }
    Ok(())
}

fn invalid(issues: &mut [Issue]) -> anyhow::Error {
    // File order reads best; the sort is stable, so one definition's issues keep their order.
    issues.sort_by_key(|i| i.index);
    let lines: Vec<String> = issues.iter().map(|i| format!("  - {i}")).collect();
    Failure::new(
        Code::Validation,
        format!(
            "the file is not valid; nothing was sent:\n{}",
            lines.join("\n")
        ),
    )
    .into()
}

/// Names and ids of what exists, for the kinds the file defines or references.
async fn fetch_catalog(client: &Client, docs: &[Doc]) -> Result<Catalog> {
    let mut catalog = Catalog::default();
    for kind in refs::kinds_needed(docs) {
        add_to_catalog(client, &mut catalog, kind).await?;
    }
    Ok(catalog)
}

async fn add_to_catalog(client: &Client, catalog: &mut Catalog, kind: Kind) -> Result<()> {
    let path = format!("/api/v1/{}", kind.collection());
    let items = client
        .list_all(&path)
        .await
        .with_context(|| format!("listing {}", kind.collection()))?;
    for item in items {
        if let (Some(id), Some(name)) = (str_field(&item, "id"), str_field(&item, "name")) {
            catalog.add(kind, name, id);
        }
    }
    Ok(())
}

fn report(ctx: &Ctx, rows: &[Row]) {
    if ctx.out.is_json() {
        let items: Vec<Value> = rows
            .iter()
            .map(|r| {
                serde_json::json!({"document": r.index, "kind": r.kind.as_str(), "name": r.name,
                                   "id": r.id, "result": r.result, "warning": r.warning})
            })
            .collect();
        print_json(&Value::Array(items));
    } else {
        let table = rows
            .iter()
            .map(|r| {
                vec![
                    r.kind.to_string(),
                    r.name.clone(),
                    r.id.clone(),
                    r.result.clone(),
                ]
            })
            .collect();
        print_rows(&["kind", "name", "id", "result"], table);
    }
    for r in rows {
        if let Some(w) = &r.warning {
            eprintln!(
                "warning: document {} ({} {:?}): {w}",
                r.index, r.kind, r.name
            );
        }
    }
}
