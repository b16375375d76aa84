//! `sluice events send`: one event from flags, or many from an NDJSON file in batches.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::Ctx;
use crate::error::{Code, Failure};
use crate::output::print_json;

#[derive(Debug, Subcommand)]
pub enum EventsCmd {
    /// Send an event (`--profile` and `--name`), or every line of an NDJSON file (`-f`).
    ///
    /// An unknown profile id creates the profile. Events are what trigger journeys.
    Send(SendArgs),
}

#[derive(Debug, Args)]
pub struct SendArgs {
    /// The profile the event belongs to.
    #[arg(
        long,
        value_name = "PROFILE_ID",
        required_unless_present = "file",
        conflicts_with = "file"
    )]
    pub profile: Option<String>,
    /// The event name (e.g. `signed_up`).
    #[arg(long, required_unless_present = "file", conflicts_with = "file")]
    pub name: Option<String>,
    /// Event properties, a JSON object.
    #[arg(long, value_name = "JSON", conflicts_with = "file")]
    pub properties: Option<String>,
    /// When it happened (RFC 3339) [default: the server's now].
    #[arg(long, value_name = "TIME", conflicts_with = "file")]
    pub timestamp: Option<jiff::Timestamp>,
    /// NDJSON file of `{profile_id, name, properties?, timestamp?}` objects (`-` for stdin).
    #[arg(short, long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Events per request when sending a file.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub batch: usize,
}

pub async fn run(ctx: &Ctx, cmd: EventsCmd) -> Result<()> {
    let EventsCmd::Send(args) = cmd;
    let events = match &args.file {
        Some(file) => parse_ndjson(&super::read_input(file)?)?,
        None => vec![single(&args)?],
    };
    let mut accepted = 0;
    let mut last = Value::Null;
    for batch in events.chunks(args.batch.max(1)) {
        // One event goes as an object, several as an array: both forms are the API's.
        let body = match batch {
            [one] => one.clone(),
            many => Value::Array(many.to_vec()),
        };
        last = ctx.client.post("/api/v1/events", &body).await?;
        accepted += last
            .get("accepted")
            .and_then(Value::as_u64)
            .unwrap_or(batch.len() as u64);
    }
    if ctx.out.is_json() {
        if events.len() <= args.batch {
            print_json(&last);
        } else {
            print_json(&json!({ "accepted": accepted }));
        }
    } else {
        println!("accepted {accepted} event(s)");
    }
    Ok(())
}

fn single(args: &SendArgs) -> Result<Value> {
    // clap guarantees both when there is no --file.
    let mut event = json!({ "profile_id": args.profile, "name": args.name });
    if let Some(p) = &args.properties {
        event["properties"] = super::json_object_arg("--properties", p)?;
    }
    if let Some(t) = args.timestamp {
        event["timestamp"] = Value::String(t.to_string());
    }
    Ok(event)
}

/// Every non-blank line must be a JSON object; all bad lines are reported before anything is
/// sent, so a half-sent file never needs untangling.
fn parse_ndjson(text: &str) -> Result<Vec<Value>> {
    let mut events = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(line) {
            Ok(v @ Value::Object(_)) => events.push(v),
            Ok(_) => bad.push(format!("  line {}: expected a JSON object", i + 1)),
            Err(e) => bad.push(format!("  line {}: {e}", i + 1)),
        }
    }
    if !bad.is_empty() {
        let shown = bad.iter().take(20).cloned().collect::<Vec<_>>().join("\n");
        return Err(Failure::new(
            Code::Validation,
            format!("{} bad line(s); nothing was sent:\n{shown}", bad.len()),
        )
        .into());
    }
    if events.is_empty() {
        return Err(Failure::new(Code::Validation, "the file holds no events").into());
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ndjson_lines_are_checked_before_sending() {
        let ok = parse_ndjson(
            "{\"profile_id\":\"p\",\"name\":\"a\"}\n\n{\"profile_id\":\"q\",\"name\":\"b\"}\n",
        );
        assert_eq!(ok.unwrap().len(), 2);
        let err = parse_ndjson("{\"a\":1}\n[1]\n{oops\n").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("line 2: expected a JSON object") && text.contains("line 3:"),
            "{text}"
        );
        assert_eq!(crate::error::exit_code(&err), Code::Validation);
    }
}
