//! Command dispatch and what the commands share: the client context, confirmations, input files.

pub mod apply;
pub mod audiences;
pub mod campaigns;
pub mod channels;
pub mod events;
pub mod inbox;
pub mod journeys;
pub mod misc;
pub mod profiles;
pub mod results;
pub mod templates;

use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::Path;

use anyhow::{Context, Result};

use crate::cli::{Cli, Command};
use crate::client::Client;
use crate::error::{Code, Failure};
use crate::output::Out;

/// What every client command needs.
pub struct Ctx {
    pub client: Client,
    pub out: Out,
}

pub async fn run(cli: Cli) -> Result<()> {
    let command = match cli.command {
        Command::Serve(args) => return serve(&args).await,
        other => other,
    };
    let ctx = Ctx {
        client: Client::new(&cli.global.url, cli.global.token)?,
        out: Out {
            format: cli.global.output,
        },
    };
    match command {
        Command::Serve(_) => unreachable!("handled above"),
        Command::Apply(args) => apply::run(&ctx, &args).await,
        Command::Campaigns(cmd) => campaigns::run(&ctx, cmd).await,
        Command::Journeys(cmd) => journeys::run(&ctx, cmd).await,
        Command::Profiles(cmd) => profiles::run(&ctx, cmd).await,
        Command::Audiences(cmd) => audiences::run(&ctx, cmd).await,
        Command::Channels(cmd) => channels::run(&ctx, cmd).await,
        Command::Templates(cmd) => templates::run(&ctx, cmd).await,
        Command::Inbox(args) => inbox::run(&ctx, &args).await,
        Command::Events(cmd) => events::run(&ctx, cmd).await,
        Command::Notifications(cmd) => misc::notifications(&ctx, cmd).await,
        Command::Audit(args) => misc::audit(&ctx, &args).await,
        Command::Tokens(cmd) => misc::tokens(&ctx, cmd).await,
        Command::Clock(cmd) => misc::clock(&ctx, cmd).await,
    }
}

async fn serve(args: &crate::config::ServeArgs) -> Result<()> {
    // A bad config file, variable or flag is the caller's to fix, like a clap error: exit 2.
    let config = crate::config::resolve(args, |name| std::env::var(name).ok())
        .map_err(|e| Failure::new(Code::Usage, format!("{e:#}")))?;
    tracing::info!(
        listen = %config.listen,
        data_dir = %config.data_dir.display(),
        database = config.database_url.is_some(),
        test_clock = ?config.test_clock,
        metrics_listen = ?config.metrics_listen,
        "starting sluice"
    );
    let store = open_store(&config)?;
    sluice_api::serve(config, store).await
}

/// The store backend is the binary's choice: the embedded SQLite store under `--data-dir`
/// unless a database URL names another.
fn open_store(config: &sluice_api::ServeConfig) -> Result<std::sync::Arc<dyn sluice_store::Store>> {
    use anyhow::Context as _;
    if let Some(url) = &config.database_url {
        anyhow::bail!(
            "--database-url {}: the PostgreSQL backend is not available in this build; \
             use --data-dir for the embedded SQLite store",
            redact_url(url)
        );
    }
    let store = sluice_store_sqlite::SqliteStore::open_dir(&config.data_dir)
        .with_context(|| format!("opening the store in {}", config.data_dir.display()))?;
    Ok(std::sync::Arc::new(store))
}

fn redact_url(url: &str) -> String {
    match url.split_once('@') {
        Some((_, host)) => format!("postgres://…@{host}"),
        None => url.to_owned(),
    }
}

/// Asks before a destructive action. `--yes` skips the question; without a terminal to ask
/// on, the action is refused (exit 2) so a script never destroys something by accident.
pub fn confirm(question: &str, yes: bool) -> Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(Failure::new(
            Code::Usage,
            "refusing a destructive action without --yes (stdin is not a terminal)",
        )
        .into());
    }
    eprint!("{question}\nContinue? [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(Failure::new(Code::Other, "cancelled; nothing was changed").into())
    }
}

/// Confirms, then `DELETE`s `path` and reports `<what>: deleted` (or the server's JSON).
pub async fn delete(ctx: &Ctx, what: &str, path: &str, question: &str, yes: bool) -> Result<()> {
    confirm(question, yes)?;
    let answer = ctx.client.delete(path).await?;
    if ctx.out.is_json() {
        crate::output::print_json(&answer);
    } else {
        println!("{what}: deleted");
    }
    Ok(())
}

/// Reads a whole input file, `-` meaning stdin.
pub fn read_input(path: &Path) -> Result<String> {
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading stdin")?;
        return Ok(text);
    }
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// A version number as given on the command line: `3` or `v3`.
pub fn parse_version(s: &str) -> Result<u32, String> {
    s.strip_prefix('v')
        .unwrap_or(s)
        .parse()
        .map_err(|_| format!("expected a version number like 3 or v3, got {s:?}"))
}

/// A JSON object given as a flag (`--context`, `--properties`): malformed is a usage error.
pub fn json_object_arg(flag: &str, text: &str) -> Result<serde_json::Value> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v @ serde_json::Value::Object(_)) => Ok(v),
        Ok(_) => Err(Failure::new(Code::Usage, format!("{flag}: expected a JSON object")).into()),
        Err(e) => Err(Failure::new(Code::Usage, format!("{flag}: invalid JSON: {e}")).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_with_or_without_v() {
        assert_eq!(parse_version("3"), Ok(3));
        assert_eq!(parse_version("v12"), Ok(12));
        assert!(parse_version("latest").is_err());
    }

    #[test]
    fn json_flags_must_be_objects() {
        assert!(json_object_arg("--context", r#"{"order": 7}"#).is_ok());
        let err = json_object_arg("--context", "[1]").unwrap_err();
        assert_eq!(crate::error::exit_code(&err), Code::Usage);
        assert!(json_object_arg("--context", "{").is_err());
    }
}
