//! The journey graph as a reader sees it: one titled group per node, loops dashed, hostile
//! names escaped, the same bytes on every run, and rows that match the picture.

use serde_json::{Value, json};
use sluice_core::journey::JourneyDefinition;

use super::render::safe_href;
use super::*;

fn def(v: Value) -> JourneyDefinition {
    serde_json::from_value(v).expect("definition deserializes")
}

fn message(id: &str, next: Option<&str>) -> Value {
    let mut node = json!({"id": id, "type": "message", "channel_id": "ch_email",
                          "template_id": "tpl"});
    if let Some(next) = next {
        node["next"] = json!(next);
    }
    node
}

/// `welcome → pause (wait) → check (yes: done, no: nudge → welcome... via wait)`.
fn looped() -> JourneyDefinition {
    def(json!({
        "entry": {"type": "event", "event": "signed_up"},
        "start": "welcome",
        "nodes": [
            message("welcome", Some("pause")),
            {"id": "pause", "type": "wait", "duration": "P2D", "next": "check"},
            {"id": "check", "type": "condition",
             "rule": {"attr": "opened", "op": "exists"}, "then": "done", "else": "nudge"},
            message("nudge", Some("pause")),
            {"id": "done", "type": "end"}
        ]
    }))
}

fn parse(svg: &Svg) -> roxmltree::Document<'_> {
    roxmltree::Document::parse(svg.as_str()).expect("the SVG is well-formed XML")
}

fn with_class<'a>(doc: &'a roxmltree::Document<'a>, class: &str) -> Vec<roxmltree::Node<'a, 'a>> {
    doc.descendants()
        .filter(|n| {
            n.attribute("class")
                .is_some_and(|c| c.split(' ').any(|word| word == class))
        })
        .collect()
}

fn child_text<'a>(node: roxmltree::Node<'a, 'a>, tag: &str) -> Option<&'a str> {
    node.children()
        .find(|c| c.has_tag_name(tag))
        .and_then(|c| c.text())
}

#[test]
fn every_node_is_a_titled_group_and_the_root_is_an_image() {
    let d = looped();
    let svg = journey_graph(&d, &NodeCounts::new());
    let doc = parse(&svg);
    let root = doc.root_element();
    assert_eq!(root.attribute("role"), Some("img"));
    assert!(root.attribute("viewBox").is_some());
    assert_eq!(child_text(root, "title"), Some("Journey graph"));
    let desc = child_text(root, "desc").expect("a description");
    assert!(desc.contains("5 nodes"), "{desc}");
    assert!(desc.contains("“nudge” back to “pause”"), "{desc}");
    let nodes = with_class(&doc, "node");
    assert_eq!(nodes.len(), d.nodes.len());
    for (node, id) in nodes
        .iter()
        .zip(["welcome", "pause", "check", "nudge", "done"])
    {
        assert!(node.has_tag_name("g"));
        let title = child_text(*node, "title").expect("each node has a title");
        assert!(title.contains(&format!("“{id}”")), "{title}");
    }
    // The counts-less variant says nothing of counts.
    assert!(!svg.as_str().contains("entered"));
    assert_eq!(
        svg.as_str().matches(r#"<g class="node"#).count(),
        d.nodes.len()
    );
}

#[test]
fn a_cycle_through_a_wait_is_one_dashed_back_edge() {
    let d = looped();
    let svg = journey_graph(&d, &NodeCounts::new());
    let doc = parse(&svg);
    let back = with_class(&doc, "edge-back");
    assert_eq!(back.len(), 1);
    assert_eq!(
        child_text(back[0], "title"),
        Some("nudge → pause, looping back")
    );
    let line = back[0]
        .children()
        .find(|c| c.has_tag_name("path"))
        .expect("a path");
    assert!(line.attribute("stroke-dasharray").is_some());
    assert_eq!(
        line.attribute("marker-end"),
        Some("url(#sluice-journey-arrow-back)")
    );
    // The forward edges are solid; yes/no label the condition's branches.
    assert_eq!(with_class(&doc, "edge").len(), 5);
    let labels: Vec<&str> = with_class(&doc, "edge-label")
        .iter()
        .filter_map(|g| g.descendants().find(|c| c.has_tag_name("text")))
        .filter_map(|t| t.text())
        .collect();
    assert_eq!(labels, ["yes", "no"]);
}

#[test]
fn hostile_names_are_escaped_everywhere() {
    let evil = r#"<script>alert("x")</script> & 'q'"#;
    let d = def(json!({
        "entry": {"type": "event", "event": evil},
        "start": evil,
        "nodes": [
            message(evil, Some("</svg><script>")),
            {"id": "</svg><script>", "type": "end"},
        ]
    }));
    let mut options = GraphOptions {
        title: evil.to_owned(),
        id_prefix: r#""><script>"#.to_owned(),
        ..GraphOptions::default()
    };
    options
        .links
        .insert(evil.to_owned(), r#"/n?a="1"&b=<2>"#.to_owned());
    let svg = journey_graph_with(&d, &NodeCounts::new(), &options);
    let text = svg.as_str();
    assert!(!text.contains("<script"), "{text}");
    assert!(text.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;"));
    let doc = parse(&svg);
    assert_eq!(child_text(doc.root_element(), "title"), Some(evil));
    let link = doc
        .descendants()
        .find(|n| n.has_tag_name("a"))
        .expect("a link");
    assert_eq!(link.attribute("href"), Some(r#"/n?a="1"&b=<2>"#));
    assert_eq!(doc.root_element().attribute("role"), Some("group"));
    assert_eq!(with_class(&doc, "node").len(), 2);
}

#[test]
fn only_relative_and_http_links_are_drawn() {
    assert!(safe_href("/journeys/1/nodes/a"));
    assert!(safe_href("nodes/a?x=1:2"));
    assert!(safe_href("https://example.test/a"));
    assert!(!safe_href("javascript:alert(1)"));
    assert!(!safe_href(" JavaScript:alert(1)"));
    assert!(!safe_href("data:text/html,x"));
    assert!(!safe_href(""));
    let d = looped();
    let mut options = GraphOptions::default();
    options
        .links
        .insert("welcome".into(), "javascript:alert(1)".into());
    let svg = journey_graph_with(&d, &NodeCounts::new(), &options);
    assert!(!svg.as_str().contains("<a "));
    assert_eq!(parse(&svg).root_element().attribute("role"), Some("img"));
}

#[test]
fn output_is_deterministic() {
    let d = looped();
    let counts: NodeCounts = [(
        "pause",
        NodeCount {
            entered: 12,
            waiting: 3,
            done: 9,
        },
    )]
    .into_iter()
    .collect();
    let first = journey_graph(&d, &counts);
    for _ in 0..5 {
        assert_eq!(journey_graph(&d, &counts), first);
        assert_eq!(journey_rows(&d, &counts), journey_rows(&d, &counts));
    }
}

#[test]
fn counts_appear_only_where_given() {
    let d = looped();
    let counts: NodeCounts = [(
        "pause",
        NodeCount {
            entered: 12_345,
            waiting: 3,
            done: 9,
        },
    )]
    .into_iter()
    .collect();
    let svg = journey_graph(&d, &counts);
    let doc = parse(&svg);
    let nodes = with_class(&doc, "node");
    let counted: Vec<_> = nodes
        .iter()
        .filter(|n| {
            n.descendants()
                .any(|c| c.attribute("class") == Some("node-count node-count-entered"))
        })
        .collect();
    assert_eq!(counted.len(), 1);
    let title = child_text(*counted[0], "title").unwrap_or_default();
    assert!(
        title.contains("12,345 entered, 3 waiting now, 9 done"),
        "{title}"
    );
    // The box shows the short form.
    assert!(svg.as_str().contains(">12.3k</text>"));
}

#[test]
fn rows_follow_the_picture() {
    let d = looped();
    let counts: NodeCounts = [(
        "check",
        NodeCount {
            entered: 5,
            waiting: 0,
            done: 5,
        },
    )]
    .into_iter()
    .collect();
    let rows = journey_rows(&d, &counts);
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["welcome", "pause", "check", "done", "nudge"]);
    assert!(rows[0].is_start);
    assert_eq!(rows[1].kind, NodeKind::Wait);
    assert_eq!(rows[1].detail, "for 2 days");
    let check = &rows[2];
    assert_eq!(check.detail, "opened is set");
    assert_eq!(
        check.counts,
        Some(NodeCount {
            entered: 5,
            waiting: 0,
            done: 5
        })
    );
    assert_eq!(
        check.next,
        [
            NextStep {
                id: "done".into(),
                label: Some("yes"),
                loops_back: false,
                missing: false
            },
            NextStep {
                id: "nudge".into(),
                label: Some("no"),
                loops_back: false,
                missing: false
            },
        ]
    );
    assert!(rows[4].next[0].loops_back);
    assert!(rows[3].next.is_empty());
}

#[test]
fn drafts_draw_missing_targets_and_a_missing_start() {
    let d = def(json!({
        "entry": {"type": "event", "event": "e"},
        "start": "nowhere",
        "nodes": [message("a", Some("ghost")), message("a", None), message("b", Some(""))]
    }));
    let svg = journey_graph(&d, &NodeCounts::new());
    let doc = parse(&svg);
    assert_eq!(
        with_class(&doc, "node").len(),
        5,
        "3 nodes and 2 missing targets"
    );
    assert_eq!(with_class(&doc, "node-missing").len(), 2);
    assert!(with_class(&doc, "entry-edge").is_empty());
    let rows = journey_rows(&d, &NodeCounts::new());
    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter()
            .any(|r| r.next.first().is_some_and(|n| n.missing && n.id == "ghost"))
    );
}

#[test]
fn one_node_and_no_node() {
    let one = def(json!({
        "entry": {"type": "event", "event": "e"},
        "start": "only",
        "nodes": [{"id": "only", "type": "end"}]
    }));
    let doc_svg = journey_graph(&one, &NodeCounts::new());
    assert_eq!(with_class(&parse(&doc_svg), "node").len(), 1);
    let none = def(json!({"entry": {"type": "event", "event": "e"}, "start": "x", "nodes": []}));
    let svg = journey_graph(&none, &NodeCounts::new());
    assert!(svg.as_str().contains("no nodes yet"));
    parse(&svg);
}

#[test]
fn a_wait_that_loops_to_itself_is_drawn_as_a_loop() {
    let d = def(json!({
        "entry": {"type": "event", "event": "e"},
        "start": "tick",
        "nodes": [{"id": "tick", "type": "wait", "duration": "PT1H", "next": "tick"}]
    }));
    let svg = journey_graph(&d, &NodeCounts::new());
    let doc = parse(&svg);
    assert_eq!(with_class(&doc, "edge-back").len(), 1);
    let rows = journey_rows(&d, &NodeCounts::new());
    assert!(rows[0].next[0].loops_back);
}
