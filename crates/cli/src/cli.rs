//! The command line: global options and the command tree (each command's flags live with it).

use clap::{Args, Parser, Subcommand};

use crate::commands::templates::TemplatesCmd;
use crate::commands::{apply::ApplyArgs, audiences::AudiencesCmd, campaigns::CampaignsCmd};
use crate::commands::{channels::ChannelsCmd, events::EventsCmd, inbox::InboxArgs};
use crate::commands::{journeys::JourneysCmd, misc, profiles::ProfilesCmd};
use crate::config::ServeArgs;
use crate::error::EXIT_CODES_HELP;
use crate::output::Format;

/// Sluice: campaigns and customer journeys, with brakes you can trust.
///
/// `sluice serve` runs the engine; every other command is a client of its HTTP API.
#[derive(Debug, Parser)]
#[command(name = "sluice", version, after_help = EXIT_CODES_HELP)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Heading of the client options in help: `serve` shows them too (they are global) but
/// ignores them.
const CLIENT: &str = "Client options";

/// Options of every client command.
#[derive(Debug, Args)]
pub struct Global {
    /// Base URL of the Sluice server.
    #[arg(
        long,
        global = true,
        env = "SLUICE_URL",
        hide_env_values = true,
        default_value = "http://127.0.0.1:8080",
        help_heading = CLIENT
    )]
    pub url: String,
    /// API token. If neither this nor SLUICE_TOKEN is set, ./sluice-data/admin-token (written by
    /// a default `sluice serve` in this directory) is used when it exists.
    #[arg(
        long,
        global = true,
        env = "SLUICE_TOKEN",
        hide_env_values = true,
        help_heading = CLIENT
    )]
    pub token: Option<String>,
    /// Output format: tables for people, or the server's JSON for scripts.
    #[arg(
        long,
        global = true,
        value_enum,
        env = "SLUICE_OUTPUT",
        hide_env_values = true,
        default_value_t = Format::Table,
        help_heading = CLIENT
    )]
    pub output: Format,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the Sluice server (defaults < --config file < SLUICE_* variables < flags).
    ///
    /// SLUICE_ADMIN_TOKEN, when set, is accepted as an admin token; otherwise the first start
    /// on an empty database creates one, prints it once and writes it to <data-dir>/admin-token.
    /// Logs go to stderr; RUST_LOG filters them (default: info).
    Serve(ServeArgs),
    /// Create or update audiences, channels, templates, campaigns and journeys from a file.
    Apply(ApplyArgs),
    /// List, inspect and steer campaigns (activate, modify, stop, abort, …).
    #[command(subcommand)]
    Campaigns(CampaignsCmd),
    /// List, inspect and steer journeys and their versions (publish, close, stop, …).
    #[command(subcommand)]
    Journeys(JourneysCmd),
    /// Import, list, inspect and delete profiles.
    #[command(subcommand)]
    Profiles(ProfilesCmd),
    /// List, inspect, count and delete audiences (create them with `apply`).
    #[command(subcommand)]
    Audiences(AudiencesCmd),
    /// List, inspect and delete channels; secrets are never shown (admin).
    #[command(subcommand)]
    Channels(ChannelsCmd),
    /// List, inspect, preview and delete templates (create them with `apply`).
    #[command(subcommand)]
    Templates(TemplatesCmd),
    /// Show the in-app messages a profile sees now (live inbound campaigns).
    Inbox(InboxArgs),
    /// Send events (what triggers journeys).
    #[command(subcommand)]
    Events(EventsCmd),
    /// Notifications about aborts, stops, closes, finishes and failures.
    #[command(subcommand)]
    Notifications(misc::NotificationsCmd),
    /// The audit log of lifecycle commands, newest first.
    Audit(misc::AuditArgs),
    /// API tokens (admin).
    #[command(subcommand)]
    Tokens(misc::TokensCmd),
    /// The test clock of a server started with --test-clock.
    #[command(subcommand)]
    Clock(misc::ClockCmd),
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_tree_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn help_documents_exit_codes_and_the_token_file() {
        let help = Cli::command().render_long_help().to_string();
        assert!(
            help.contains("4  conflict / illegal lifecycle action (409)"),
            "{help}"
        );
        assert!(help.contains("./sluice-data/admin-token"), "{help}");
    }

    #[test]
    fn help_lists_every_command() {
        let help = Cli::command().render_help().to_string();
        for name in ["audiences", "channels", "templates", "inbox", "profiles"] {
            assert!(help.contains(name), "{name} missing from:\n{help}");
        }
    }

    #[test]
    fn usage_errors_are_exit_code_two() {
        let err = Cli::try_parse_from(["sluice", "campaigns", "stop"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }
}
