//! A journey definition seen as a drawable graph: boxes (the nodes, plus a placeholder for each
//! id an edge names that does not exist) and labelled edges. Drafts are drawn too, so nothing
//! here assumes the definition passed J2.

use std::collections::BTreeMap;

use jiff::Timestamp;
use sluice_core::journey::{Entry, JourneyDefinition, Node};
use sluice_core::rule::{AttrOp, AttrRule, EventOp, Rule};
use sluice_core::schedule::Schedule;

use crate::svg::truncate;

/// What a box is: one of the six node types, or an id that an edge names but no node has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NodeKind {
    Message,
    Wait,
    Condition,
    UpdateProfile,
    RemoveFromJourney,
    End,
    /// An edge leads to this id but the definition has no such node (a draft being edited).
    Missing,
}

impl NodeKind {
    pub(crate) fn of(node: &Node) -> Self {
        match node {
            Node::Message { .. } => NodeKind::Message,
            Node::Wait { .. } => NodeKind::Wait,
            Node::Condition { .. } => NodeKind::Condition,
            Node::UpdateProfile { .. } => NodeKind::UpdateProfile,
            Node::RemoveFromJourney { .. } => NodeKind::RemoveFromJourney,
            Node::End { .. } => NodeKind::End,
        }
    }

    /// The word a marketer reads, capitalised as a label.
    pub fn label(self) -> &'static str {
        match self {
            NodeKind::Message => "Message",
            NodeKind::Wait => "Wait",
            NodeKind::Condition => "Condition",
            NodeKind::UpdateProfile => "Update profile",
            NodeKind::RemoveFromJourney => "Remove from journey",
            NodeKind::End => "End",
            NodeKind::Missing => "Missing node",
        }
    }

    /// The `type` as written in JSON, and the CSS class suffix (`node-…`).
    pub fn type_name(self) -> &'static str {
        match self {
            NodeKind::Message => "message",
            NodeKind::Wait => "wait",
            NodeKind::Condition => "condition",
            NodeKind::UpdateProfile => "update_profile",
            NodeKind::RemoveFromJourney => "remove_from_journey",
            NodeKind::End => "end",
            NodeKind::Missing => "missing",
        }
    }
}

pub(crate) struct NodeBox<'a> {
    pub id: &'a str,
    pub kind: NodeKind,
    /// One short line on what the node does ("for 2 days", "plan = trial").
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Edge {
    pub from: usize,
    pub to: usize,
    /// `yes`/`no` on a condition's branches; nothing on a plain `next`.
    pub label: Option<&'static str>,
}

pub(crate) struct Model<'a> {
    /// The definition's nodes in order, then one placeholder per missing id.
    pub boxes: Vec<NodeBox<'a>>,
    pub edges: Vec<Edge>,
    pub start: Option<usize>,
}

impl<'a> Model<'a> {
    pub(crate) fn new(definition: &'a JourneyDefinition) -> Self {
        // Edges lead to the first node of an id, as in the engine; later duplicates still
        // get a box so the editor sees them.
        let mut index: BTreeMap<&str, usize> = BTreeMap::new();
        let mut boxes = Vec::with_capacity(definition.nodes.len());
        for (i, node) in definition.nodes.iter().enumerate() {
            index.entry(node.id()).or_insert(i);
            boxes.push(NodeBox {
                id: node.id(),
                kind: NodeKind::of(node),
                detail: detail(node),
            });
        }
        let mut edges = Vec::new();
        for (from, node) in definition.nodes.iter().enumerate() {
            for (label, target) in labelled_successors(node) {
                let to = *index.entry(target).or_insert_with(|| {
                    boxes.push(NodeBox {
                        id: target,
                        kind: NodeKind::Missing,
                        detail: "no node has this id".to_owned(),
                    });
                    boxes.len() - 1
                });
                edges.push(Edge { from, to, label });
            }
        }
        let start = index
            .get(definition.start.as_str())
            .copied()
            .filter(|&i| i < definition.nodes.len());
        Model {
            boxes,
            edges,
            start,
        }
    }
}

/// Outgoing edges with their labels, `then` before `else`.
pub(crate) fn labelled_successors(node: &Node) -> Vec<(Option<&'static str>, &str)> {
    match node {
        Node::Condition { then, r#else, .. } => [(Some("yes"), then), (Some("no"), r#else)]
            .into_iter()
            .filter_map(|(label, id)| id.as_deref().map(|id| (label, id)))
            .collect(),
        other => other
            .successors()
            .into_iter()
            .map(|id| (None, id))
            .collect(),
    }
}

/// How the journey is entered, in a few words.
pub(crate) fn entry_text(entry: &Entry) -> String {
    match entry {
        Entry::Event { event } => format!("On event {}", truncate(event, 40)),
        Entry::Audience {
            audience_id,
            schedule,
        } => {
            let audience = truncate(audience_id, 32);
            match schedule {
                Schedule::Immediate => format!("Audience {audience}, on publish"),
                Schedule::Once { at } => format!("Audience {audience}, {}", utc(*at)),
                Schedule::Recurring { cron, timezone, .. } => format!(
                    "Audience {audience}, cron {} ({})",
                    truncate(cron, 24),
                    truncate(timezone, 24)
                ),
                Schedule::Api => format!("Audience {audience}"),
            }
        }
    }
}

/// `2026-03-01 09:00 UTC`: the diagram states the zone rather than guess the viewer's.
fn utc(t: Timestamp) -> String {
    let text = t.to_string();
    let short = text
        .strip_suffix(":00Z")
        .unwrap_or(&text)
        .replacen('T', " ", 1);
    format!("{} UTC", short.trim_end_matches('Z'))
}

fn detail(node: &Node) -> String {
    match node {
        Node::Message {
            channel_id,
            template_id,
            ..
        } => format!("{channel_id} · {template_id}"),
        Node::Wait {
            duration: Some(d),
            until: None,
            ..
        } => format!("for {}", human_duration(&d.to_string())),
        Node::Wait {
            duration: None,
            until: Some(t),
            ..
        } => {
            // jiff prints `2026-03-01T09:00:00Z`; the page shows exact local times elsewhere.
            let text = t.to_string();
            let short = text
                .strip_suffix(":00Z")
                .unwrap_or(&text)
                .replacen('T', " ", 1);
            format!("until {short} UTC")
        }
        Node::Wait { .. } => "needs a duration or a time".to_owned(),
        Node::Condition { rule, .. } => match Rule::parse(rule) {
            Ok(rule) => rule_summary(&rule),
            Err(_) => "rule has errors".to_owned(),
        },
        Node::UpdateProfile { set, .. } => {
            let keys: Vec<&str> = set.keys().map(String::as_str).collect();
            match keys.as_slice() {
                [] => "sets nothing".to_owned(),
                [one] => format!("set {one}"),
                [first, rest @ ..] => format!("set {first} +{}", rest.len()),
            }
        }
        Node::RemoveFromJourney { journey_id, .. } => format!("from {journey_id}"),
        Node::End { .. } => "the walk ends".to_owned(),
    }
}

/// `P2DT3H` → `2 days 3 hours`; anything unusual is shown as written.
pub(crate) fn human_duration(iso: &str) -> String {
    let Some(body) = iso.strip_prefix('P') else {
        return iso.to_owned();
    };
    let mut parts = Vec::new();
    let mut in_time = false;
    let mut number = String::new();
    for c in body.chars() {
        match c {
            'T' if number.is_empty() => in_time = true,
            '0'..='9' | '.' | ',' => number.push(c),
            unit => {
                let name = match (unit, in_time) {
                    ('Y', false) => "year",
                    ('M', false) => "month",
                    ('W', false) => "week",
                    ('D', false) => "day",
                    ('H', true) => "hour",
                    ('M', true) => "minute",
                    ('S', true) => "second",
                    _ => return iso.to_owned(),
                };
                if number.is_empty() {
                    return iso.to_owned();
                }
                let plural = if number == "1" { "" } else { "s" };
                parts.push(format!("{number} {name}{plural}"));
                number.clear();
            }
        }
    }
    if parts.is_empty() || !number.is_empty() {
        return iso.to_owned();
    }
    parts.join(" ")
}

/// A rule in one short line: the top of it exactly, nested groups only counted.
fn rule_summary(rule: &Rule) -> String {
    match rule {
        Rule::All(rules) if rules.len() == 1 => rule_summary(&rules[0]),
        Rule::Any(rules) if rules.len() == 1 => rule_summary(&rules[0]),
        Rule::All(rules) => format!("all of {} rules", rules.len()),
        Rule::Any(rules) => format!("any of {} rules", rules.len()),
        Rule::Not(inner) => format!("not: {}", rule_summary(inner)),
        Rule::Attr(attr) => attr_summary(attr),
        Rule::Event(event) => {
            let op = match event.op {
                EventOp::CountGte => "≥",
                EventOp::CountLt => "<",
            };
            let within = event
                .within
                .as_ref()
                .map(|w| format!(" in {}", human_duration(&w.to_string())))
                .unwrap_or_default();
            format!("{} {op} {}×{within}", event.name, event.count)
        }
    }
}

fn attr_summary(attr: &AttrRule) -> String {
    let value = attr
        .value
        .as_ref()
        .map(|v| match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .unwrap_or_default();
    let op = match attr.op {
        AttrOp::Eq => "=",
        AttrOp::Ne => "≠",
        AttrOp::Lt => "<",
        AttrOp::Lte => "≤",
        AttrOp::Gt => ">",
        AttrOp::Gte => "≥",
        AttrOp::In => "in",
        AttrOp::NotIn => "not in",
        AttrOp::Contains => "contains",
        AttrOp::StartsWith => "starts with",
        AttrOp::Exists => return format!("{} is set", attr.path),
        AttrOp::NotExists => return format!("{} is not set", attr.path),
    };
    format!("{} {op} {value}", attr.path)
}

#[cfg(test)]
mod tests {
    use super::human_duration;

    #[test]
    fn durations_read_as_words() {
        assert_eq!(human_duration("P1D"), "1 day");
        assert_eq!(human_duration("P2DT3H"), "2 days 3 hours");
        assert_eq!(human_duration("PT30M"), "30 minutes");
        assert_eq!(human_duration("P1W"), "1 week");
        assert_eq!(human_duration("P1X"), "P1X");
        assert_eq!(human_duration("P"), "P");
    }
}
