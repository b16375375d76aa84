//! J2's graph checks through `JourneyDefinition::validate`: start, ids, edges, reachability,
//! cycles without a wait, and graphs too big for recursion.

use serde_json::{Value, json};

use super::definition_tests::{Refs, def, edited, errors_of, fields_of, now};
use super::*;

/// `welcome → a → b → welcome` with `b` of the given node JSON (minus id/next).
fn cycle_with(b: Value) -> JourneyDefinition {
    let mut b_node = b;
    b_node["id"] = json!("b");
    b_node["next"] = json!("welcome");
    def(json!({
        "entry": {"type": "event", "event": "signed_up"},
        "start": "welcome",
        "nodes": [
            {"id": "welcome", "type": "message", "channel_id": "ch_email",
             "template_id": "tpl_welcome", "next": "a"},
            {"id": "a", "type": "update_profile", "set": {"n": 1}, "next": "b"},
            b_node
        ]
    }))
}

#[test]
fn start_must_exist() {
    let d = edited(|v| v["start"] = json!("hello"));
    let errs = errors_of(&d);
    assert_eq!(
        errs,
        [(
            "start".to_owned(),
            "start node \"hello\" does not exist".to_owned()
        )]
    );
    let d = edited(|v| v["nodes"] = json!([]));
    assert_eq!(fields_of(&d), ["nodes"]);
}

#[test]
fn ids_must_be_non_empty_and_unique() {
    let d = edited(|v| {
        v["nodes"][5]["id"] = json!("");
        v["nodes"][4]["id"] = json!("welcome");
    });
    let errs = errors_of(&d);
    assert_eq!(
        errs[0],
        (
            "nodes[4].id".into(),
            "node id \"welcome\" is already used by nodes[0]".into()
        )
    );
    assert_eq!(
        errs[1],
        ("nodes[5].id".into(), "a node id must not be empty".into())
    );
    // Their former names now lead nowhere; the bad nodes are not also called unreachable.
    assert_eq!(
        fields_of(&d),
        [
            "nodes[4].id",
            "nodes[5].id",
            "nodes[3].next",
            "nodes[4].next"
        ]
    );
}

#[test]
fn every_edge_must_lead_to_a_node() {
    let d = edited(|v| {
        v["nodes"][2]["then"] = json!("tips");
        v["nodes"][2]["else"] = json!("end");
        v["nodes"][0]["next"] = json!("");
    });
    let errs = errors_of(&d);
    assert_eq!(
        errs[0],
        (
            "nodes[0].next".into(),
            "node \"welcome\": next → \"\" does not exist".into()
        )
    );
    assert_eq!(
        errs[1],
        (
            "nodes[2].then".into(),
            "node \"check\": then → \"tips\" does not exist".into()
        )
    );
    assert_eq!(
        errs[2],
        (
            "nodes[2].else".into(),
            "node \"check\": else → \"end\" does not exist".into()
        )
    );
    assert!(
        errs[3..]
            .iter()
            .all(|(_, m)| m.contains("is not reachable from start \"welcome\""))
    );
}

#[test]
fn unreachable_nodes_are_named() {
    let d = edited(|v| {
        v["nodes"][2]["then"] = json!("done");
        let nodes = v["nodes"].as_array_mut().unwrap();
        nodes.push(json!({"id": "orphan", "type": "end"}));
    });
    let errs = errors_of(&d);
    let names: Vec<&str> = errs.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(names, ["nodes[3]", "nodes[4]", "nodes[5]", "nodes[7]"]);
    assert_eq!(
        errs[0].1,
        "node \"tip\" is not reachable from start \"welcome\""
    );
    assert_eq!(
        errs[3].1,
        "node \"orphan\" is not reachable from start \"welcome\""
    );
}

#[test]
fn a_node_without_next_ends_the_walk() {
    let d = edited(|v| {
        v["nodes"][2].as_object_mut().unwrap().remove("else");
    });
    assert_eq!(d.validate(&Refs, now()), Ok(()));
    assert_eq!(d.node("check").unwrap().successors(), ["tip"]);
    let d = edited(|v| {
        v["nodes"][5].as_object_mut().unwrap().remove("next");
    });
    assert_eq!(d.validate(&Refs, now()), Ok(()));
    assert!(d.node("rm").unwrap().successors().is_empty());
}

#[test]
fn a_cycle_must_pass_through_a_wait() {
    let d = cycle_with(json!({"type": "remove_from_journey", "journey_id": "jrn_trial"}));
    let errs = errors_of(&d);
    assert_eq!(
        errs,
        [(
            "nodes[0]".into(),
            "node \"welcome\": the cycle welcome → a → b → welcome passes through no wait node \
             with a duration"
                .into()
        )]
    );
    let waited = cycle_with(json!({"type": "wait", "duration": "PT1H"}));
    assert_eq!(waited.validate(&Refs, now()), Ok(()));
    // A wait until a fixed time holds nobody once that time has passed.
    let until = cycle_with(json!({"type": "wait", "until": "2026-06-01T00:00:00Z"}));
    let errs = errors_of(&until);
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0].1.contains("a wait until a fixed time"),
        "{}",
        errs[0].1
    );
}

#[test]
fn self_loops_and_separate_cycles_are_each_reported() {
    let d = edited(|v| {
        v["nodes"][2]["else"] = json!("tag");
        v["nodes"][3]["next"] = json!("rm");
        v["nodes"][4]["next"] = json!("tag");
        v["nodes"][5]["next"] = json!("tip");
    });
    let errs = errors_of(&d);
    let fields: Vec<&str> = errs.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(fields, ["nodes[6]", "nodes[3]", "nodes[4]"]);
    assert!(
        errs[1]
            .1
            .starts_with("node \"tip\": the cycle tip → rm → tip "),
        "{}",
        errs[1].1
    );
    assert!(
        errs[2].1.starts_with("node \"tag\": the cycle tag → tag "),
        "{}",
        errs[2].1
    );
}

#[test]
fn huge_graphs_do_not_overflow_the_stack() {
    let n = 100_000;
    let mut nodes: Vec<Value> = (0..n)
        .map(|i| {
            json!({"id": format!("n{i}"), "type": "update_profile", "set": {"k": i},
                        "next": format!("n{}", i + 1)})
        })
        .collect();
    nodes.push(
        json!({"id": format!("n{n}"), "type": "update_profile", "set": {"k": 0}, "next": "n0"}),
    );
    let d = def(json!({"entry": {"type": "event", "event": "e"}, "start": "n0", "nodes": nodes}));
    let errs = errors_of(&d);
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].0, "nodes[0]");
}

mod cycles_match_a_naive_search {
    use proptest::prelude::*;
    use serde_json::json;

    use super::{Refs, def, now};

    /// `(is_wait, first edge, second edge)` per node; waits use only the first edge.
    type Shape = Vec<(bool, Option<usize>, Option<usize>)>;

    fn shape() -> impl Strategy<Value = Shape> {
        (1usize..8).prop_flat_map(|n| {
            let edge = prop::option::of(0..n);
            prop::collection::vec((prop::bool::weighted(0.3), edge.clone(), edge), n)
        })
    }

    fn edges(shape: &Shape, i: usize) -> Vec<usize> {
        let (wait, a, b) = shape[i];
        if wait {
            a.into_iter().collect()
        } else {
            a.into_iter().chain(b).collect()
        }
    }

    proptest! {
        #[test]
        fn reported_cycles_are_exactly_the_wait_free_groups(shape in shape()) {
            let n = shape.len();
            let name = |i: usize| format!("n{i}");
            let nodes: Vec<_> = shape.iter().enumerate().map(|(i, &(wait, a, b))| {
                let mut node = if wait {
                    json!({"id": name(i), "type": "wait", "duration": "PT1H"})
                } else {
                    json!({"id": name(i), "type": "condition", "rule": {"all": []}})
                };
                let (first, second) = if wait { ("next", None) } else { ("then", b) };
                if let Some(a) = a { node[first] = json!(name(a)); }
                if let Some(b) = second { node["else"] = json!(name(b)); }
                node
            }).collect();
            let d = def(json!({"entry": {"type": "event", "event": "e"}, "start": "n0", "nodes": nodes}));
            let reported: Vec<(String, String)> = match d.validate(&Refs, now()) {
                Ok(()) => Vec::new(),
                Err(e) => e.0.into_iter().filter(|e| e.message.contains("cycle"))
                    .map(|e| (e.field, e.message)).collect(),
            };
            // reach[i][j]: j is reachable from i in one or more steps through conditions only.
            let mut reach = vec![vec![false; n]; n];
            for i in (0..n).filter(|&i| !shape[i].0) {
                for j in edges(&shape, i).into_iter().filter(|&j| !shape[j].0) {
                    reach[i][j] = true;
                }
            }
            for k in 0..n { for i in 0..n { for j in 0..n {
                if reach[i][k] && reach[k][j] { reach[i][j] = true; }
            }}}
            let on_cycle: Vec<usize> = (0..n).filter(|&i| reach[i][i]).collect();
            let groups = on_cycle.iter().filter(|&&i| on_cycle.iter().all(|&j| j >= i || !reach[i][j] || !reach[j][i])).count();
            prop_assert_eq!(reported.len(), groups, "{:?} {:?}", shape, reported);
            for (field, message) in &reported {
                let i: usize = field.trim_start_matches("nodes[").trim_end_matches(']').parse().unwrap();
                prop_assert!(reach[i][i]);
                // The named cycle follows real edges and returns to where it started.
                let path: Vec<usize> = message.split("the cycle ").nth(1).unwrap()
                    .split(" passes").next().unwrap().split(" → ")
                    .map(|s| s.trim_start_matches('n').parse().unwrap()).collect();
                prop_assert_eq!(path.first(), path.last());
                prop_assert_eq!(path[0], i);
                for pair in path.windows(2) {
                    prop_assert!(edges(&shape, pair[0]).contains(&pair[1]), "{:?}", path);
                }
            }
        }
    }
}
