//! What campaigns and journeys share: results counters, the action log, lifecycle answers.

use std::collections::BTreeSet;

use anyhow::Result;
use serde_json::Value;

use super::Ctx;
use crate::client::Paging;
use crate::output::{COUNTER_ORDER, cell, field, new_table, ordered_keys, print_json, print_rows};

/// Filters of `… actions`.
#[derive(Debug, clap::Args)]
pub struct ActionsArgs {
    /// Only records with this outcome.
    #[arg(long, value_parser = ["delivered", "failed", "skipped", "cancelled", "removed", "timed_out"])]
    pub outcome: Option<String>,
    /// Only records of this profile.
    #[arg(long, value_name = "PROFILE_ID")]
    pub profile: Option<String>,
    /// Write every matching record as CSV to stdout (streamed by the server, no paging).
    #[arg(long, conflicts_with = "all")]
    pub csv: bool,
    #[command(flatten)]
    pub paging: Paging,
}

/// `GET <base>/results`: the counters, then per-node and per-channel tables.
pub async fn results(ctx: &Ctx, base: &str) -> Result<()> {
    let v = ctx.client.get(&format!("{base}/results"), &[]).await?;
    if ctx.out.is_json() {
        print_json(&v);
        return Ok(());
    }
    let Value::Object(map) = &v else {
        println!("{}", cell(&v));
        return Ok(());
    };
    let counters: Vec<&str> = ordered_keys(map, COUNTER_ORDER)
        .into_iter()
        .filter(|k| !map[*k].is_object())
        .collect();
    let mut t = new_table(&counters);
    t.add_row(counters.iter().map(|k| cell(&map[*k])));
    println!("{t}");
    for (key, title) in [("per_node", "node"), ("per_channel", "channel")] {
        if let Some(Value::Object(groups)) = map.get(key) {
            if groups.is_empty() {
                continue;
            }
            println!("\n{}", key.replace('_', " "));
            print_breakdown(title, groups);
        }
    }
    Ok(())
}

/// `{id: {counter: n}}` as one row per id, one column per counter seen anywhere.
fn print_breakdown(title: &str, groups: &serde_json::Map<String, Value>) {
    let seen: BTreeSet<&str> = groups
        .values()
        .filter_map(Value::as_object)
        .flat_map(|m| m.keys().map(String::as_str))
        .collect();
    let mut keys: Vec<&str> = COUNTER_ORDER
        .iter()
        .copied()
        .filter(|k| seen.contains(k))
        .collect();
    keys.extend(seen.iter().copied().filter(|k| !COUNTER_ORDER.contains(k)));
    let mut columns = vec![title];
    columns.extend(keys.iter().copied());
    let rows = groups
        .iter()
        .map(|(id, counters)| {
            let mut row = vec![id.clone()];
            row.extend(keys.iter().map(|k| field(counters, k)));
            row
        })
        .collect();
    print_rows(&columns, rows);
}

/// `GET <base>/results/actions`, as a table, JSON, or the server's CSV export.
pub async fn actions(ctx: &Ctx, base: &str, args: &ActionsArgs) -> Result<()> {
    let path = format!("{base}/results/actions");
    let mut query = Vec::new();
    if let Some(o) = &args.outcome {
        query.push(("outcome", o.clone()));
    }
    if let Some(p) = &args.profile {
        query.push(("profile_id", p.clone()));
    }
    if args.csv {
        let stdout = std::io::stdout();
        return ctx.client.get_csv(&path, &query, &mut stdout.lock()).await;
    }
    let page = ctx.client.list(&path, &query, &args.paging).await?;
    let columns = [
        "at",
        "profile",
        "version",
        "occurrence/node",
        "action",
        "outcome",
        "detail",
    ];
    ctx.out.list(&page, &columns, |a| {
        let place = match (a.get("occurrence"), a.get("node_id")) {
            (Some(o), _) if !o.is_null() => format!("#{}", cell(o)),
            (_, Some(n)) => cell(n),
            _ => String::new(),
        };
        vec![
            field(a, "at"),
            field(a, "profile_id"),
            field(a, "version"),
            place,
            field(a, "action"),
            field(a, "outcome"),
            field(a, "detail"),
        ]
    });
    Ok(())
}

/// Prints a lifecycle answer: the brake's summary when there is one, else the new status.
pub fn lifecycle_done(ctx: &Ctx, what: &str, done: &str, answer: &Value) {
    if ctx.out.is_json() {
        print_json(answer);
        return;
    }
    let status = answer.get("status").and_then(Value::as_str);
    match status {
        Some(s) => println!("{what}: {done} (status {s})"),
        None => println!("{what}: {done}"),
    }
    if let Some(Value::Object(summary)) = answer.get("summary") {
        let keys = ordered_keys(summary, COUNTER_ORDER);
        let mut t = new_table(&keys);
        t.add_row(keys.iter().map(|k| cell(&summary[*k])));
        println!("{t}");
    }
}
