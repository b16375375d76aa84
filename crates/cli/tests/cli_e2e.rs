//! End to end: the compiled `sluice` binary as the server and as its client.
//!
//! `full_tour` starts `sluice serve` on a free port with a temporary data dir and drives it
//! with client commands (the harness is in `common`; `catalog_e2e.rs` tours audiences,
//! channels, templates and the inbox the same way).
//! `SLUICE_E2E_URL` points the tour at an already running server instead (admin token
//! `SLUICE_E2E_TOKEN`, default `test-admin`). The other tests need no server at all.

mod common;

use std::process::Command;

use common::{ADMIN_TOKEN, BIN, Server, describe, free_port, start};

const SAMPLE: &str = r#"
kind: audience
name: e2e-members
rule: {attr: plan, op: eq, value: member}
---
kind: channel
name: e2e-hook
type: webhook
config: {url: "http://127.0.0.1:9/"}
---
kind: template
name: e2e-hello
channel_type: webhook
subject: Hello
body: "Hello {{ profile.id }}"
---
kind: campaign
name: e2e-now
channel: e2e-hook
template: e2e-hello
audience: e2e-members
schedule: {type: immediate}
---
kind: journey
name: e2e-onboarding
publish: true
entry: {type: event, event: signed_up}
reentry: {mode: never}
timeout: P91D
start: hello
nodes:
  - {id: hello, type: message, channel: e2e-hook, template: e2e-hello, next: done}
  - {id: done, type: end}
"#;

#[test]
fn full_tour() {
    let server = start();
    let sample = server.dir.path().join("sample.yaml");
    std::fs::write(&sample, SAMPLE).unwrap();
    let sample = sample.to_str().unwrap();

    // Apply twice: the first run creates, the second finds everything as the file says.
    let first = server.json(&["apply", "-f", sample, "--output", "json"]);
    let first = first.as_array().expect("apply reports an array");
    assert_eq!(first.len(), 5, "{first:?}");
    let second = server.json(&["apply", "-f", sample, "--output", "json"]);
    for row in second.as_array().unwrap() {
        assert_eq!(
            row["result"], "unchanged",
            "second apply changed something: {second:#}"
        );
    }
    let campaign_id = first
        .iter()
        .find(|r| r["kind"] == "campaign")
        .and_then(|r| r["id"].as_str())
        .expect("campaign id")
        .to_string();

    let list = server.json(&["campaigns", "list", "--output", "json"]);
    let items = list["items"].as_array().expect("items");
    assert!(
        items
            .iter()
            .any(|c| c["id"] == campaign_id.as_str() && c["name"] == "e2e-now"),
        "{list:#}"
    );

    // A one-time campaign cannot be modified once activated (C3): 409 → exit 4.
    server.ok(&["campaigns", "activate", &campaign_id, "--reason", "e2e"]);
    let modify = server.sluice(&["campaigns", "modify", &campaign_id]);
    assert_eq!(modify.status.code(), Some(4), "{}", describe(&modify));

    // 10,000 profiles in several chunks.
    let csv = server.dir.path().join("profiles.csv");
    let mut text = String::from("id,email,plan\n");
    for i in 0..10_000 {
        text.push_str(&format!("e2e-{i},e2e-{i}@example.com,member\n"));
    }
    std::fs::write(&csv, text).unwrap();
    let report = server.json(&[
        "profiles",
        "import",
        csv.to_str().unwrap(),
        "--chunk-lines",
        "4000",
        "--output",
        "json",
    ]);
    assert_eq!(report["imported"], 10_000, "{report:#}");
    assert_eq!(report["failed"], 0, "{report:#}");

    // The sample's audience holds the imported members.
    let audiences = server.json(&["audiences", "list", "--all", "--output", "json"]);
    let audience_id = audiences["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|a| a["name"] == "e2e-members")
        .and_then(|a| a["id"].as_str())
        .unwrap_or_else(|| panic!("e2e-members missing: {audiences:#}"))
        .to_string();
    let count = server.ok(&["audiences", "count", &audience_id]);
    let count: u64 = count.trim().parse().expect("count prints a number");
    assert!(count >= 10_000, "{count}");

    server.ok(&[
        "events",
        "send",
        "--profile",
        "e2e-1",
        "--name",
        "signed_up",
    ]);
}

/// A client against a port nobody listens on: exit 7.
#[test]
fn unreachable_server_is_exit_seven() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server {
        child: None,
        url: format!("http://127.0.0.1:{}", free_port()),
        token: ADMIN_TOKEN.into(),
        dir,
    };
    let out = server.sluice(&["campaigns", "list"]);
    assert_eq!(out.status.code(), Some(7), "{}", describe(&out));
}

/// Local validation and confirmation rules need no server.
#[test]
fn invalid_apply_file_and_unconfirmed_brakes() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server {
        child: None,
        url: format!("http://127.0.0.1:{}", free_port()),
        token: ADMIN_TOKEN.into(),
        dir,
    };
    let bad = server.dir.path().join("bad.yaml");
    std::fs::write(&bad, "kind: widget\nname: w\n---\nkind: audience\n").unwrap();
    let out = server.sluice(&["apply", "-f", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(5), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("document 1: unknown kind")
            && stderr.contains("document 2: missing `name`"),
        "{stderr}"
    );

    // Without a terminal and without --yes, a brake is refused before any request: exit 2.
    for args in [
        ["campaigns", "abort", "c1"],
        ["campaigns", "stop", "c1"],
        ["campaigns", "delete", "c1"],
        ["audiences", "delete", "a1"],
        ["channels", "delete", "ch1"],
        ["templates", "delete", "t1"],
    ] {
        let out = server.sluice(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", describe(&out));
    }
    let out = server.sluice(&["journeys", "stop", "j1", "1"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
}

#[test]
fn help_documents_exit_codes() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("Exit codes:") && help.contains("7  cannot connect"),
        "{help}"
    );
    for command in ["audiences", "channels", "templates", "inbox"] {
        assert!(help.contains(command), "{command} missing from:\n{help}");
    }
    let out = Command::new(BIN)
        .args(["campaigns", "frobnicate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
