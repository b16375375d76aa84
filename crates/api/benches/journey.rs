//! Journey and event-ingest benchmark, over real HTTP into a fresh SQLite file, on the test
//! clock: N events of a name no journey listens to (plain ingest), then N `signed_up` events
//! entering an event-triggered journey `first` (message) → `pause` (wait 1 hour) → `second`
//! (message) → `done` (end), its messages delivered to a local webhook receiver. Prints a table.
//!
//! `cargo bench -p sluice-api --bench journey` (`SLUICE_BENCH_ROWS`, default 100,000).

mod support;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{App, env, peak_memory_mib, receiver};

/// Events per request: well under the 1 MiB body limit.
const BATCH: usize = 5_000;

/// Seconds to post `rows` events named `name`, `BATCH` per request, two requests at a time.
async fn ingest(app: &App, name: &str, rows: usize) -> anyhow::Result<f64> {
    let bodies: Vec<Value> = (0..rows)
        .step_by(BATCH)
        .map(|start| {
            let end = (start + BATCH).min(rows);
            Value::Array(
                (start..end)
                    .map(|i| {
                        json!({"profile_id": format!("p{i:07}"), "name": name,
                                    "properties": {"plan": "pro", "n": i}})
                    })
                    .collect(),
            )
        })
        .collect();
    let started = Instant::now();
    let mut posts = futures_util::stream::iter(
        bodies
            .into_iter()
            .map(|body| app.post("/api/v1/events", body)),
    )
    .buffer_unordered(2);
    while let Some(result) = futures_util::StreamExt::next(&mut posts).await {
        result?;
    }
    Ok(started.elapsed().as_secs_f64())
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) -> anyhow::Result<()> {
    for _ in 0..600_000 {
        if done() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    anyhow::bail!("timed out waiting for {what}")
}

use futures_util::StreamExt as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let rows = env("SLUICE_BENCH_ROWS", 100_000);
    let app = App::start(true, Some("2026-01-01T00:00:00Z")).await?;
    let (url, count) = receiver(Duration::ZERO).await?;

    let plain = ingest(&app, "page_viewed", rows).await?;

    let channel = app
        .post(
            "/api/v1/channels",
            json!({"name": "hook", "type": "webhook", "config": {"url": url}}),
        )
        .await?;
    let template = app
        .post(
            "/api/v1/templates",
            json!({"name": "t", "channel_type": "webhook", "body": "Hi {{ profile.id }}, {{ event.plan }}"}),
        )
        .await?;
    let journey = app
        .post(
            "/api/v1/journeys",
            json!({
                "name": "bench", "entry": {"type": "event", "event": "signed_up"},
                "start": "first",
                "nodes": [
                    {"id": "first", "type": "message", "channel_id": channel["id"], "template_id": template["id"], "next": "pause"},
                    {"id": "pause", "type": "wait", "duration": "PT1H", "next": "second"},
                    {"id": "second", "type": "message", "channel_id": channel["id"], "template_id": template["id"], "next": "done"},
                    {"id": "done", "type": "end"}
                ]
            }),
        )
        .await?;
    let id = journey["id"].as_str().unwrap_or_default().to_owned();
    app.post(
        &format!("/api/v1/journeys/{id}/versions/1/publish"),
        json!({}),
    )
    .await?;

    // Entries: the events are ingested and each enters the journey while the engine runs the
    // first steps beside them.
    let started = Instant::now();
    let entering = ingest(&app, "signed_up", rows).await?;
    wait_until("the first messages", || {
        count.load(Ordering::Relaxed) as usize >= rows
    })
    .await?;
    let first = started.elapsed().as_secs_f64();
    // Everybody waits at `pause` (the step after the first message is settled).
    loop {
        let r = app
            .call(
                reqwest::Method::GET,
                &format!("/api/v1/journeys/{id}/versions/1/results"),
                None,
            )
            .await?;
        if r["per_node"]["first"]["sent"].as_u64() == Some(rows as u64) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let waiting = started.elapsed().as_secs_f64();

    // The wait ends for everybody at once: second message, end.
    app.post("/api/v1/test/clock", json!({"advance": "PT1H"}))
        .await?;
    let resumed = Instant::now();
    wait_until("the second messages", || {
        count.load(Ordering::Relaxed) as usize >= 2 * rows
    })
    .await?;
    loop {
        let r = app
            .call(
                reqwest::Method::GET,
                &format!("/api/v1/journeys/{id}/versions/1/results"),
                None,
            )
            .await?;
        if r["completed"].as_u64() == Some(rows as u64) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let second = resumed.elapsed().as_secs_f64();
    app.stop.cancel();

    let n = rows as f64;
    println!(
        "\njourney and events, {rows} profiles, webhook to a local receiver, fresh SQLite file\n"
    );
    println!("| measure | value |");
    println!("|---------|------:|");
    println!(
        "| event ingest over HTTP, {BATCH} per request (no journey) | {:.0} events/s |",
        n / plain
    );
    println!(
        "| events entering the journey (ingest + entry) | {:.0} entries/s |",
        n / entering
    );
    println!(
        "| entry → first message delivered, all {rows} | {first:.2} s ({:.0} per s) |",
        n / first
    );
    println!(
        "| entry → everybody waiting (message + wait: 2 node executions each) | {waiting:.2} s ({:.0} nodes/s) |",
        2.0 * n / waiting
    );
    println!(
        "| wait over → everybody done (message + end: 2 node executions each) | {second:.2} s ({:.0} nodes/s) |",
        2.0 * n / second
    );
    if let Some(peak) = peak_memory_mib() {
        println!("| peak memory of the process (server, engine, receiver) | {peak} MiB |");
    }
    Ok(())
}
