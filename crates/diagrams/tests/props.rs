//! Property: any journey the core types can express, valid or a draft half-edited, renders
//! as well-formed SVG with every node in it, the same bytes twice, and one row per node.

use proptest::prelude::*;
use serde_json::{Map, json};
use sluice_core::duration::IsoDuration;
use sluice_core::journey::{Entry, JourneyDefinition, Node, Reentry};
use sluice_diagrams::{NodeCount, NodeCounts, journey_graph, journey_rows};

/// Ids drawn from a pool that has quotes, markup and ampersands in it.
const NAMES: [&str; 8] = ["a", "b<c>", "d&e", "f\"g'", "h", "i j", "é", "<script>"];

fn id(i: usize) -> String {
    format!("{}{}", NAMES[i % NAMES.len()], i / NAMES.len())
}

/// `(kind, first target, second target)` per node; a target at or past `n` names no node.
fn node(i: usize, kind: u8, t1: Option<usize>, t2: Option<usize>) -> Node {
    let id = id(i);
    let next = t1.map(self::id);
    match kind % 6 {
        0 => Node::Message {
            id,
            channel_id: "ch".into(),
            template_id: "tpl".into(),
            next,
        },
        1 => Node::Wait {
            id,
            duration: IsoDuration::parse("P1D").ok(),
            until: None,
            next,
        },
        2 => Node::Condition {
            id,
            rule: json!({"attr": "x", "op": "eq", "value": 1}),
            then: next,
            r#else: t2.map(self::id),
        },
        3 => Node::UpdateProfile {
            id,
            set: Map::from_iter([("k".to_owned(), json!(1))]),
            next,
        },
        4 => Node::RemoveFromJourney {
            id,
            journey_id: "j".into(),
            next,
        },
        _ => Node::End { id },
    }
}

fn journeys() -> impl Strategy<Value = JourneyDefinition> {
    (1usize..=60).prop_flat_map(|n| {
        let target = proptest::option::weighted(0.85, 0..n + 2);
        (
            proptest::collection::vec((any::<u8>(), target.clone(), target), n),
            0..n + 1,
        )
            .prop_map(move |(nodes, start)| JourneyDefinition {
                entry: Entry::Event {
                    event: "e&<>".into(),
                },
                reentry: Reentry::Never,
                timeout: IsoDuration::parse("P91D").expect("valid"),
                start: id(start),
                nodes: nodes
                    .into_iter()
                    .enumerate()
                    .map(|(i, (kind, t1, t2))| node(i, kind, t1, t2))
                    .collect(),
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn every_journey_renders_with_every_node((definition, with_counts) in (journeys(), any::<bool>())) {
        let counts: NodeCounts = if with_counts {
            definition.nodes.iter().map(|n| (n.id().to_owned(), NodeCount { entered: 7, waiting: 1, done: 6 })).collect()
        } else {
            NodeCounts::new()
        };
        let svg = journey_graph(&definition, &counts);
        prop_assert_eq!(&journey_graph(&definition, &counts), &svg);
        let doc = roxmltree::Document::parse(svg.as_str()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let titles: Vec<&str> = doc
            .descendants()
            .filter(|n| n.attribute("class").is_some_and(|c| c.starts_with("node ")))
            .filter_map(|g| g.children().find(|c| c.has_tag_name("title")).and_then(|t| t.text()))
            .collect();
        let mut missing: Vec<String> = definition
            .nodes
            .iter()
            .flat_map(|n| n.successors())
            .filter(|t| definition.node(t).is_none())
            .map(str::to_owned)
            .collect();
        missing.sort();
        missing.dedup();
        prop_assert_eq!(titles.len(), definition.nodes.len() + missing.len());
        for node in &definition.nodes {
            let quoted = format!("“{}”", node.id());
            prop_assert!(titles.iter().any(|t| t.contains(&quoted)), "{} has no box", node.id());
        }
        let rows = journey_rows(&definition, &counts);
        prop_assert_eq!(rows.len(), definition.nodes.len());
    }
}
