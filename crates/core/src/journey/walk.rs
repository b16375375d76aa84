//! The journey interpreter: from one node, for one profile, walk the graph until something
//! must happen outside the core — a message to send, a wait, or the end. Conditions are
//! decided and profile updates applied on the way (later conditions see them). Pure: the
//! engine carries out what the walk returns.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::{Map, Value};

use super::{JourneyDefinition, Node};
use crate::rule::{EventCounts, ProfileView, Rule};

/// Nodes passed in one walk at most; a validated graph cannot loop without a wait (J2), so
/// this only guards against a definition that was never validated.
pub const MAX_STEPS: usize = 1_000;

/// Where a walk stopped.
#[derive(Debug, Clone, PartialEq)]
pub enum Stop {
    /// `node_id` is a message to send; after it the walk goes on at its `next`.
    Message {
        node_id: String,
        channel_id: String,
        template_id: String,
    },
    /// Hold at wait `node_id` until `until`; then the walk goes on at its `next`.
    Wait { node_id: String, until: Timestamp },
    /// The walk ended (an `end` node, or a node without a way on).
    End,
}

/// What a walk did and where it stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct Walk {
    /// Attributes set by `update_profile` nodes, in order.
    pub updates: Vec<Map<String, Value>>,
    /// Journeys `remove_from_journey` nodes took the profile out of, in order.
    pub removals: Vec<String>,
    /// The nodes passed, in order (the last one is where it stopped).
    pub visited: Vec<String>,
    pub stop: Stop,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalkError {
    #[error("node `{0}` does not exist in this version")]
    UnknownNode(String),
    #[error("more than {MAX_STEPS} nodes without a wait or a message")]
    TooLong,
}

/// Condition rules of a version, parsed once: what `walk` reads conditions from.
pub type ConditionRules<'a> = BTreeMap<&'a str, Rule>;

/// Walks from `from`. With `skip_first`, `from` itself counts as done (a message just sent, a
/// wait just over) and the walk starts at its way on.
pub fn walk(
    definition: &JourneyDefinition,
    rules: &ConditionRules<'_>,
    from: &str,
    skip_first: bool,
    attributes: &mut Map<String, Value>,
    events: &dyn EventCounts,
    now: Timestamp,
) -> Result<Walk, WalkError> {
    let mut walk = Walk {
        updates: Vec::new(),
        removals: Vec::new(),
        visited: Vec::new(),
        stop: Stop::End,
    };
    let mut at = Some(from.to_owned());
    let mut skip = skip_first;
    for _ in 0..MAX_STEPS {
        let Some(id) = at.take() else { return Ok(walk) };
        let node = definition
            .node(&id)
            .ok_or_else(|| WalkError::UnknownNode(id.clone()))?;
        if !skip {
            walk.visited.push(id.clone());
        }
        let passing = std::mem::take(&mut skip);
        at = match node {
            Node::Message { next, .. } if passing => next.clone(),
            Node::Message {
                channel_id,
                template_id,
                ..
            } => {
                walk.stop = Stop::Message {
                    node_id: id,
                    channel_id: channel_id.clone(),
                    template_id: template_id.clone(),
                };
                return Ok(walk);
            }
            Node::Wait { next, .. } if passing => next.clone(),
            Node::Wait { next, .. } => match node.resume_at(now) {
                Some(until) if until > now => {
                    walk.stop = Stop::Wait { node_id: id, until };
                    return Ok(walk);
                }
                // A wait `until` a time already past holds nobody.
                _ => next.clone(),
            },
            Node::Condition { then, r#else, .. } => {
                let holds = rules.get(id.as_str()).is_some_and(|rule| {
                    rule.matches(&ProfileView {
                        attributes,
                        events,
                        now,
                    })
                });
                if holds { then.clone() } else { r#else.clone() }
            }
            Node::UpdateProfile { set, next, .. } => {
                if !passing {
                    attributes.extend(set.iter().map(|(k, v)| (k.clone(), v.clone())));
                    walk.updates.push(set.clone());
                }
                next.clone()
            }
            Node::RemoveFromJourney {
                journey_id, next, ..
            } => {
                if !passing {
                    walk.removals.push(journey_id.clone());
                }
                next.clone()
            }
            Node::End { .. } => None,
        };
    }
    Err(WalkError::TooLong)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::rule::NoEvents;

    fn definition() -> JourneyDefinition {
        serde_json::from_value(json!({
            "entry": {"type": "event", "event": "signed_up"},
            "start": "welcome",
            "nodes": [
                {"id": "welcome", "type": "message", "channel_id": "c", "template_id": "t", "next": "pause"},
                {"id": "pause", "type": "wait", "duration": "P1D", "next": "check"},
                {"id": "check", "type": "condition", "rule": {"attr": "plan", "op": "eq", "value": "vip"},
                 "then": "tag", "else": "done"},
                {"id": "tag", "type": "update_profile", "set": {"onboarded": true, "plan": "gold"}, "next": "again"},
                {"id": "again", "type": "condition", "rule": {"attr": "plan", "op": "eq", "value": "gold"},
                 "then": "rm", "else": "done"},
                {"id": "rm", "type": "remove_from_journey", "journey_id": "jrn_other", "next": "done"},
                {"id": "done", "type": "end"}
            ]
        }))
        .unwrap()
    }

    fn now() -> Timestamp {
        "2026-01-01T00:00:00Z".parse().unwrap()
    }

    fn run(from: &str, skip: bool, attributes: &mut Map<String, Value>) -> Walk {
        let d = definition();
        let rules = d.condition_rules().unwrap();
        walk(&d, &rules, from, skip, attributes, &NoEvents, now()).unwrap()
    }

    #[test]
    fn a_message_stops_the_walk_and_after_it_a_wait_does() {
        let mut attrs = Map::new();
        let w = run("welcome", false, &mut attrs);
        assert_eq!(
            w.stop,
            Stop::Message {
                node_id: "welcome".into(),
                channel_id: "c".into(),
                template_id: "t".into()
            }
        );
        let w = run("welcome", true, &mut attrs);
        let until = "2026-01-02T00:00:00Z".parse().unwrap();
        assert_eq!(
            w.stop,
            Stop::Wait {
                node_id: "pause".into(),
                until
            }
        );
        assert_eq!(w.visited, ["pause"]);
    }

    #[test]
    fn conditions_see_updates_made_on_the_way() {
        let mut attrs = Map::new();
        attrs.insert("plan".into(), json!("vip"));
        let w = run("pause", true, &mut attrs);
        assert_eq!(w.stop, Stop::End);
        assert_eq!(w.visited, ["check", "tag", "again", "rm", "done"]);
        assert_eq!(
            w.updates,
            [json!({"onboarded": true, "plan": "gold"})
                .as_object()
                .unwrap()
                .clone()]
        );
        assert_eq!(w.removals, ["jrn_other"]);
        assert_eq!(attrs["plan"], "gold");
    }

    #[test]
    fn the_else_branch_ends_the_walk() {
        let mut attrs = Map::new();
        let w = run("check", false, &mut attrs);
        assert_eq!(w.visited, ["check", "done"]);
        assert!(w.updates.is_empty() && w.removals.is_empty());
        assert_eq!(w.stop, Stop::End);
    }

    #[test]
    fn unknown_nodes_and_endless_loops_are_errors() {
        let d = definition();
        let rules = d.condition_rules().unwrap();
        let err = walk(
            &d,
            &rules,
            "nowhere",
            false,
            &mut Map::new(),
            &NoEvents,
            now(),
        )
        .unwrap_err();
        assert_eq!(err, WalkError::UnknownNode("nowhere".into()));
        let looping: JourneyDefinition = serde_json::from_value(json!({
            "entry": {"type": "event", "event": "e"}, "start": "a",
            "nodes": [{"id": "a", "type": "update_profile", "set": {"x": 1}, "next": "a"}]
        }))
        .unwrap();
        let rules = looping.condition_rules().unwrap();
        let err = walk(
            &looping,
            &rules,
            "a",
            false,
            &mut Map::new(),
            &NoEvents,
            now(),
        )
        .unwrap_err();
        assert_eq!(err, WalkError::TooLong);
    }
}
