//! Journey and event-ingest benchmark, over real HTTP into a fresh SQLite file, on the test
//! clock: N events of a name no journey listens to (plain ingest), then, twice, N events
//! entering an event-triggered journey `first` (message) → `pause` (wait 1 hour) → `second`
//! (message) → `done` (end): once with its messages delivered to a local webhook receiver,
//! once through the inbox channel (no network hop: what the engine itself costs). Prints a
//! table.
//!
//! `cargo bench -p sluice-api --bench journey` (`SLUICE_BENCH_ROWS`, default 100,000;
//! `SLUICE_BENCH_CHANNELS=inbox` runs one channel's pass).

// The allocator of the `sluice` binary (see crates/cli/src/main.rs), so figures are its own.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod support;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use serde_json::{Value, json};
use support::{App, env, peak_memory_mib, receiver};

/// Events per request: well under the 1 MiB body limit.
const BATCH: usize = 5_000;

/// Seconds to post `rows` events named `name`, `BATCH` per request, two requests at a time.
async fn ingest(app: &App, name: &str, rows: usize) -> anyhow::Result<f64> {
    // Each request's body is built when it is sent, so the bench's own memory stays small.
    let body = |start: usize| {
        Value::Array(
            (start..(start + BATCH).min(rows))
                .map(|i| {
                    json!({"profile_id": format!("p{i:07}"), "name": name,
                                "properties": {"plan": "pro", "n": i}})
                })
                .collect(),
        )
    };
    let started = Instant::now();
    let mut posts = futures_util::stream::iter((0..rows).step_by(BATCH))
        .map(|start| app.post("/api/v1/events", body(start)))
        .buffer_unordered(2);
    while let Some(result) = posts.next().await {
        result?;
    }
    Ok(started.elapsed().as_secs_f64())
}

/// Polls the version's results until `done` holds of them.
async fn until_results(app: &App, id: &str, done: impl Fn(&Value) -> bool) -> anyhow::Result<()> {
    loop {
        let r = app
            .call(
                reqwest::Method::GET,
                &format!("/api/v1/journeys/{id}/versions/1/results"),
                None,
            )
            .await?;
        if done(&r) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Seconds for: the events entering the journey, entry → everybody waiting, wait over →
/// everybody done; messages through a channel of `kind` (`webhook` to the local receiver,
/// or `inbox`: no network hop, what the engine itself costs).
async fn journey(app: &App, url: &str, kind: &str, rows: usize) -> anyhow::Result<[f64; 3]> {
    let config = if kind == "webhook" {
        json!({"url": url})
    } else {
        json!({})
    };
    let channel = app
        .post(
            "/api/v1/channels",
            json!({"name": kind, "type": kind, "config": config}),
        )
        .await?;
    let template = app
        .post(
            "/api/v1/templates",
            json!({"name": "t", "channel_type": kind, "body": "Hi {{ profile.id }}, {{ event.plan }}"}),
        )
        .await?;
    let event = format!("signed_up_{kind}");
    let journey = app
        .post(
            "/api/v1/journeys",
            json!({
                "name": kind, "entry": {"type": "event", "event": event},
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
    let n = rows as u64;
    // The events are ingested and each enters the journey while the engine runs the first
    // steps beside them; then everybody waits at `pause` once the first message is settled.
    let started = Instant::now();
    let entering = ingest(app, &event, rows).await?;
    until_results(app, &id, |r| {
        r["per_node"]["first"]["sent"].as_u64() == Some(n)
    })
    .await?;
    let waiting = started.elapsed().as_secs_f64();
    // The wait ends for everybody at once: second message, end.
    app.post("/api/v1/test/clock", json!({"advance": "PT1H"}))
        .await?;
    let resumed = Instant::now();
    until_results(app, &id, |r| r["completed"].as_u64() == Some(n)).await?;
    Ok([entering, waiting, resumed.elapsed().as_secs_f64()])
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let rows = env("SLUICE_BENCH_ROWS", 100_000);
    let app = App::start(true, Some("2026-01-01T00:00:00Z")).await?;
    let (url, count) = receiver(Duration::ZERO).await?;
    let plain = ingest(&app, "page_viewed", rows).await?;
    let n = rows as f64;
    let mut lines = vec![format!(
        "| event ingest over HTTP, {BATCH} per request (no journey) | {:.0} events/s |",
        n / plain
    )];
    let kinds = std::env::var("SLUICE_BENCH_CHANNELS").unwrap_or_else(|_| "webhook,inbox".into());
    for kind in kinds.split(',') {
        let [entering, waiting, done] = journey(&app, &url, kind, rows).await?;
        lines.push(format!(
            "| {kind}: events entering the journey (ingest + entry) | {:.0} entries/s |",
            n / entering
        ));
        lines.push(format!(
            "| {kind}: entry → all waiting (message + wait: 2 nodes each) | {waiting:.2} s, {:.0} nodes/s |",
            2.0 * n / waiting
        ));
        lines.push(format!(
            "| {kind}: wait over → all done (message + end: 2 nodes each) | {done:.2} s, {:.0} nodes/s |",
            2.0 * n / done
        ));
    }
    let webhooks = if kinds.contains("webhook") {
        2 * rows
    } else {
        0
    };
    anyhow::ensure!(
        count.load(Ordering::Relaxed) as usize == webhooks,
        "the receiver got {} messages, not {webhooks}",
        count.load(Ordering::Relaxed)
    );
    app.stop.cancel();
    println!("\njourney and events, {rows} profiles, fresh SQLite file, test clock\n");
    println!("| measure | value |");
    println!("|---------|------:|");
    for line in lines {
        println!("{line}");
    }
    if let Some(peak) = peak_memory_mib() {
        println!("| peak memory of the process (server, engine, receiver) | {peak} MiB |");
    }
    Ok(())
}
