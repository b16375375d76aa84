//! Import benchmark: 1,000,000 profiles as CSV and as NDJSON, streamed over real HTTP into a
//! fresh SQLite file, end to end (parse, validate, one transaction). Prints a table.
//!
//! `cargo bench -p sluice-api --bench import` (set `SLUICE_BENCH_ROWS` for another size).

// The allocator of the `sluice` binary (see crates/cli/src/main.rs), so figures are its own.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::Instant;

use std::sync::Arc;

use sluice_api::ServeConfig;

fn csv_body(rows: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(rows * 80);
    out.extend_from_slice(b"id,email,first_name,age,tier,consent.email\n");
    for i in 0..rows {
        let tier = ["gold", "silver", "bronze"][i % 3];
        let consent = if i % 10 == 0 { "false" } else { "true" };
        out.extend_from_slice(
            format!(
                "p{i:07},user{i}@example.com,Name{i},{},{tier},{consent}\n",
                18 + i % 60
            )
            .as_bytes(),
        );
    }
    out
}

fn ndjson_body(rows: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(rows * 110);
    for i in 0..rows {
        out.extend_from_slice(
            format!(
                "{{\"id\":\"p{i:07}\",\"attributes\":{{\"email\":\"user{i}@example.com\",\"first_name\":\"Name{i}\",\"age\":{}}}}}\n",
                18 + i % 60
            )
            .as_bytes(),
        );
    }
    out
}

async fn run(
    label: &str,
    content_type: &str,
    body: Vec<u8>,
    rows: usize,
) -> anyhow::Result<(String, f64, f64)> {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(sluice_store_sqlite::SqliteStore::open_dir(dir.path())?);
    let state = sluice_api::prepare(
        &ServeConfig {
            data_dir: dir.path().to_owned(),
            admin_token: Some("bench".into()),
            ..ServeConfig::default()
        },
        store,
    )?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/api/v1/profiles/import", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, sluice_api::app(state, false)).await });
    let bytes = body.len();
    let started = Instant::now();
    let response = reqwest::Client::new()
        .post(&url)
        .bearer_auth("bench")
        .header("content-type", content_type)
        .body(body)
        .send()
        .await?;
    let status = response.status();
    let answer: serde_json::Value = response.json().await?;
    let secs = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        status.is_success() && answer["imported"] == rows,
        "import failed: {status} {answer}"
    );
    let mib = bytes as f64 / (1024.0 * 1024.0);
    Ok((label.to_owned(), secs, mib))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let rows: usize = std::env::var("SLUICE_BENCH_ROWS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let results = vec![
        run("CSV", "text/csv", csv_body(rows), rows).await?,
        run("NDJSON", "application/x-ndjson", ndjson_body(rows), rows).await?,
    ];
    println!("\nprofile import, {rows} rows, one HTTP request each, fresh SQLite file (WAL)\n");
    println!("| format | body MiB | seconds | profiles/s |");
    println!("|--------|---------:|--------:|-----------:|");
    for (label, secs, mib) in results {
        println!(
            "| {label} | {mib:.1} | {secs:.2} | {:.0} |",
            rows as f64 / secs
        );
    }
    Ok(())
}
