//! End to end: `audiences`, `channels`, `templates` and `inbox` against a real server.
//!
//! Names and the audience's attribute value carry a per-run tag, so the tour also runs
//! against a shared server (`SLUICE_E2E_URL`) without meeting another run's objects.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use common::{Server, describe, start};

/// The email password the server stores and must never hand back, nor the CLI print.
const PASSWORD: &str = "pw-never-shown-4711";

/// An inbox channel, template and audience with an immediate inbound campaign that apply
/// activates, plus an email channel with a password and a template nothing uses.
fn catalog(tag: &str) -> String {
    format!(
        r#"
kind: audience
name: cat-members-{tag}
rule: {{attr: plan, op: eq, value: "member-{tag}"}}
---
kind: audience
name: cat-nobody-{tag}
rule: {{attr: plan, op: eq, value: "nobody-{tag}"}}
---
kind: channel
name: cat-mail-{tag}
type: email
config: {{host: smtp.example.com, port: 587, tls: starttls, username: mailer, password: "{PASSWORD}", from: "shop@example.com"}}
rate_limit_per_second: 7
---
kind: channel
name: cat-box-{tag}
type: inbox
config: {{}}
---
kind: template
name: cat-note-{tag}
channel_type: inbox
subject: "Hi {{{{ profile.first_name | default: \"there\" }}}}"
body: "News[{{{{ profile.nickname }}}}] order {{{{ event.order }}}}"
---
kind: template
name: cat-spare-{tag}
channel_type: email
subject: Spare
body: unused
---
kind: campaign
name: cat-inbound-{tag}
channel: cat-box-{tag}
template: cat-note-{tag}
audience: cat-members-{tag}
schedule: {{type: immediate}}
activate: true
"#
    )
}

/// The id of the item called `name` in a `… list --all --output json` answer.
fn id_named(server: &Server, list: &[&str], name: &str) -> String {
    let mut args = list.to_vec();
    args.extend(["--all", "--output", "json"]);
    let v = server.json(&args);
    v["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["name"] == name)
        .and_then(|i| i["id"].as_str())
        .unwrap_or_else(|| panic!("{name} not in {list:?}: {v:#}"))
        .to_string()
}

fn exit_code(server: &Server, args: &[&str]) -> Option<i32> {
    let out = server.sluice(args);
    assert!(
        !out.status.success(),
        "{args:?} succeeded: {}",
        describe(&out)
    );
    out.status.code()
}

#[test]
fn catalog_and_inbox() {
    let server = start();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let tag = format!("{nanos:x}");
    let file = server.dir.path().join("catalog.yaml");
    std::fs::write(&file, catalog(&tag)).unwrap();
    server.ok(&["apply", "-f", file.to_str().unwrap()]);
    let (member, outsider) = (format!("m-{tag}"), format!("n-{tag}"));
    let csv = server.dir.path().join("people.csv");
    std::fs::write(
        &csv,
        format!("id,plan\n{member},member-{tag}\n{outsider},other\n"),
    )
    .unwrap();
    server.ok(&["profiles", "import", csv.to_str().unwrap()]);

    // Audiences: listed (paged), shown, counted; deleting needs --yes, and one in use is a 409.
    let members = id_named(
        &server,
        &["audiences", "list"],
        &format!("cat-members-{tag}"),
    );
    let nobody = id_named(
        &server,
        &["audiences", "list"],
        &format!("cat-nobody-{tag}"),
    );
    let page = server.json(&["audiences", "list", "--limit", "1", "--output", "json"]);
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1), "{page:#}");
    assert!(page["next_cursor"].is_string(), "{page:#}");
    let table = server.ok(&["audiences", "list", "--all"]);
    assert!(
        table.contains(&format!(r#"plan eq "member-{tag}""#)),
        "{table}"
    );
    assert!(
        server
            .ok(&["audiences", "get", &members])
            .contains("cat-members")
    );
    assert_eq!(server.ok(&["audiences", "count", &members]).trim(), "1");
    assert_eq!(server.ok(&["audiences", "count", &nobody]).trim(), "0");
    let count = server.json(&["audiences", "count", &members, "--output", "json"]);
    assert_eq!(count["count"], 1, "{count:#}");
    assert_eq!(
        exit_code(&server, &["audiences", "delete", &nobody]),
        Some(2)
    );
    assert_eq!(
        exit_code(&server, &["audiences", "delete", &members, "--yes"]),
        Some(4)
    );
    server.ok(&["audiences", "delete", &nobody, "--yes"]);
    assert_eq!(exit_code(&server, &["audiences", "get", &nobody]), Some(3));

    // Channels: type, rate limit and settings shown; the password never, in any format.
    let mail = id_named(&server, &["channels", "list"], &format!("cat-mail-{tag}"));
    for args in [
        vec!["channels", "list", "--all"],
        vec!["channels", "list", "--all", "--output", "json"],
        vec!["channels", "get", &mail],
        vec!["channels", "get", &mail, "--output", "json"],
    ] {
        let text = server.ok(&args);
        assert!(
            !text.contains(PASSWORD),
            "{args:?} shows the password:\n{text}"
        );
        assert!(text.contains("smtp.example.com"), "{args:?}:\n{text}");
    }
    let shown = server.ok(&["channels", "get", &mail]);
    assert!(shown.contains("email") && shown.contains('7'), "{shown}");
    assert!(shown.contains("shop@example.com"), "{shown}");

    // Templates: listed, shown unrendered, previewed with a missing variable as empty.
    let note = id_named(&server, &["templates", "list"], &format!("cat-note-{tag}"));
    let spare = id_named(&server, &["templates", "list"], &format!("cat-spare-{tag}"));
    assert!(
        server
            .ok(&["templates", "get", &note])
            .contains("profile.nickname")
    );
    let preview = server.ok(&["templates", "preview", &note, "--profile", &member]);
    assert_eq!(preview, "Subject: Hi there\n\nNews[] order \n", "{preview}");
    let args = [
        "templates",
        "preview",
        &note,
        "--profile",
        &member,
        "--context",
        r#"{"order": 42}"#,
        "--output",
        "json",
    ];
    let rendered = server.json(&args);
    assert_eq!(rendered["body"], "News[] order 42", "{rendered:#}");
    let args = [
        "templates",
        "preview",
        &note,
        "--profile",
        &member,
        "--context",
        "[1]",
    ];
    assert_eq!(exit_code(&server, &args), Some(2));
    server.ok(&["templates", "delete", &spare, "--yes"]);
    assert_eq!(exit_code(&server, &["templates", "get", &spare]), Some(3));
    server.ok(&["channels", "delete", &mail, "--yes"]);
    assert_eq!(exit_code(&server, &["channels", "get", &mail]), Some(3));

    // Inbox: the live inbound campaign's message for a member, nothing for anyone else.
    let inbox = server.ok(&["inbox", &member]);
    assert!(
        inbox.contains(&format!("cat-inbound-{tag}")) && inbox.contains("News[] order"),
        "{inbox}"
    );
    let json = server.json(&["inbox", &member, "--output", "json"]);
    let items = json["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{json:#}");
    assert_eq!(items[0]["subject"], "Hi there", "{json:#}");
    assert_eq!(server.ok(&["inbox", &outsider]).trim(), "(none)");
    let json: Value = server.json(&["inbox", &outsider, "--output", "json"]);
    assert_eq!(json["items"].as_array().map(Vec::len), Some(0), "{json:#}");
    assert_eq!(
        exit_code(&server, &["inbox", &format!("ghost-{tag}")]),
        Some(3)
    );
}
