//! `sluice`: the Sluice server (`sluice serve`) and a command-line client of its HTTP API.
//!
//! Exit codes are documented in [`error`] and at the end of `sluice --help`.

mod apply;
mod cli;
mod client;
mod commands;
mod config;
mod error;
mod import;
mod output;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

/// mimalloc instead of the system allocator: glibc's malloc and free were a fifth of the CPU
/// of a webhook campaign or journey (many small, short-lived buffers across threads), and with
/// mimalloc the same build delivered 15–25% more per second, for ~100 MiB more peak memory at
/// a million profiles in flight (BENCHMARKS.md, 2026-11-24).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // clap exits by itself: 0 for --help/--version, 2 for a usage error.
    let cli = cli::Cli::parse();
    let serving = matches!(cli.command, cli::Command::Serve(_));
    // The server logs at info by default; client commands stay quiet unless RUST_LOG asks.
    let default_filter = if serving { "info" } else { "warn" };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter)),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a person watching; log files and CI stay plain text.
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(error::exit_code(&err) as u8)
        }
    }
}
