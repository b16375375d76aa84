//! Delivery benchmark: a one-time campaign to N profiles through a webhook channel to a local
//! receiver, end to end (occurrence fan-out, render, HTTP POST, settlement), and how long an
//! abort takes with sends pending. Prints a table.
//!
//! `cargo bench -p sluice-api --bench delivery` (`SLUICE_BENCH_ROWS`, default 100,000).

// The allocator of the `sluice` binary (see crates/cli/src/main.rs), so figures are its own.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod support;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::json;
use support::{App, env, peak_memory_mib, quantile, receiver};

/// An immediate campaign to everyone through a webhook at `url`, at most `rate` messages per
/// second when given.
async fn campaign(app: &App, url: &str, rate: Option<u32>) -> anyhow::Result<String> {
    let channel = app
        .post(
            "/api/v1/channels",
            json!({"name": "hook", "type": "webhook", "config": {"url": url},
                   "rate_limit_per_second": rate}),
        )
        .await?;
    let template = app
        .post(
            "/api/v1/templates",
            json!({"name": "t", "channel_type": "webhook", "body": "Hi {{ profile.first_name }}"}),
        )
        .await?;
    let audience = app
        .post(
            "/api/v1/audiences",
            json!({"name": "all", "rule": {"attr": "first_name", "op": "exists"}}),
        )
        .await?;
    let campaign = app
        .post(
            "/api/v1/campaigns",
            json!({"name": "bench", "channel_id": channel["id"], "template_id": template["id"],
                   "audience_id": audience["id"], "schedule": {"type": "immediate"}}),
        )
        .await?;
    Ok(campaign["id"].as_str().unwrap_or_default().to_owned())
}

/// Seconds from activation until the campaign is completed.
async fn throughput(rows: usize) -> anyhow::Result<f64> {
    let app = App::start(true, None).await?;
    let (url, count) = receiver(Duration::ZERO).await?;
    app.import(rows).await?;
    let id = campaign(&app, &url, None).await?;
    let started = Instant::now();
    app.post(&format!("/api/v1/campaigns/{id}/activate"), json!({}))
        .await?;
    loop {
        let c = app
            .call(
                reqwest::Method::GET,
                &format!("/api/v1/campaigns/{id}"),
                None,
            )
            .await?;
        if c["status"] == "completed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        count.load(Ordering::Relaxed) as usize == rows,
        "not every message arrived"
    );
    app.stop.cancel();
    Ok(secs)
}

/// Milliseconds each of `runs` aborts takes with `rows` sends pending: each run activates a
/// new campaign to everyone, waits until its fan-out is planned and deliveries are under way
/// (a receiver that answers in 5 ms keeps chunks in flight, the rest wait in the store), and
/// aborts it. The brake waits for the deliveries in flight, as B1 requires.
async fn abort_latencies(rows: usize, runs: usize) -> anyhow::Result<Vec<f64>> {
    let app = App::start(true, None).await?;
    let (url, count) = receiver(Duration::from_millis(5)).await?;
    app.import(rows).await?;
    let mut latencies = Vec::with_capacity(runs);
    for _ in 0..runs {
        // Slow enough that most sends still wait when the fan-out is planned, at any size.
        let id = campaign(&app, &url, Some(100)).await?;
        let before = count.load(Ordering::Relaxed);
        app.post(&format!("/api/v1/campaigns/{id}/activate"), json!({}))
            .await?;
        // Every send planned (the fan-out goes a page at a time) and some delivered.
        loop {
            let results = app
                .call(
                    reqwest::Method::GET,
                    &format!("/api/v1/campaigns/{id}/results"),
                    None,
                )
                .await?;
            if results["entered"].as_u64() == Some(rows as u64)
                && count.load(Ordering::Relaxed) > before
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let started = Instant::now();
        let answer = app
            .post(&format!("/api/v1/campaigns/{id}/abort"), json!({}))
            .await?;
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        let cancelled = answer["summary"]["cancelled"].as_u64().unwrap_or_default() as usize;
        anyhow::ensure!(
            cancelled > rows / 2,
            "the abort came too late to measure: only {cancelled} sends were still pending"
        );
    }
    app.stop.cancel();
    latencies.sort_by(f64::total_cmp);
    Ok(latencies)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let rows = env("SLUICE_BENCH_ROWS", 100_000);
    let runs = env("SLUICE_BENCH_ABORTS", 10);
    let only = std::env::var("SLUICE_BENCH_ONLY").unwrap_or_default();
    println!("\ndelivery, {rows} profiles, webhook to a local receiver, fresh SQLite file\n");
    println!("| measure | value |");
    println!("|---------|------:|");
    if only != "abort" {
        let secs = throughput(rows).await?;
        println!("| one-time campaign, activate → completed | {secs:.2} s |");
        println!(
            "| deliveries per second, end to end | {:.0} |",
            rows as f64 / secs
        );
        if let Some(peak) = peak_memory_mib() {
            println!("| peak memory of the process (server, engine, receiver) | {peak} MiB |");
        }
    }
    if only != "throughput" {
        for size in [1_000, rows] {
            let l = abort_latencies(size, runs).await?;
            println!(
                "| abort with {size} sends pending, {runs} runs: p50 / p99 / max | {:.1} / {:.1} / {:.1} ms |",
                quantile(&l, 0.5),
                quantile(&l, 0.99),
                l[l.len() - 1]
            );
        }
    }
    Ok(())
}
