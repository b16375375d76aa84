//! A journey version's definition (API.md "Journeys"), serialized exactly as the API shows it,
//! and its publish-time validation (PRODUCT.md J2), which names every offending field.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::graph::Graph;
use crate::channel::ChannelType;
use crate::duration::IsoDuration;
use crate::error::ValidationErrors;
use crate::rule::Rule;
use crate::schedule::Schedule;

/// The global timeout when a definition names none (PRODUCT.md: 91 days).
pub const DEFAULT_TIMEOUT: &str = "P91D";

/// What publishing needs to know about the objects a definition names.
pub trait References {
    fn channel_type(&self, id: &str) -> Option<ChannelType>;
    fn template_channel_type(&self, id: &str) -> Option<ChannelType>;
    fn audience_exists(&self, id: &str) -> bool;
    fn journey_exists(&self, id: &str) -> bool;
}

/// The graph of one journey version, how profiles enter it and how long they may stay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JourneyDefinition {
    pub entry: Entry,
    #[serde(default)]
    #[schema(default = json!({"mode": "never"}))]
    pub reentry: Reentry,
    /// A profile still inside after this long leaves with outcome `timed_out`.
    #[serde(default = "default_timeout")]
    #[schema(default = json!(DEFAULT_TIMEOUT))]
    pub timeout: IsoDuration,
    /// Id of the node every entrant starts at.
    pub start: String,
    pub nodes: Vec<Node>,
}

fn default_timeout() -> IsoDuration {
    // A constant known to parse; the test `defaults_are_never_and_91_days` guards it.
    IsoDuration::parse(DEFAULT_TIMEOUT).expect("DEFAULT_TIMEOUT is a valid ISO 8601 duration")
}

/// How profiles come in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Entry {
    /// Each event of this name enters its profile.
    Event { event: String },
    /// The audience's members enter when the schedule fires (any schedule but `api`).
    Audience {
        audience_id: String,
        schedule: Schedule,
    },
}

/// Whether a profile that has been through this version may enter it again. It is never inside
/// the same version twice at once, whatever the mode.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "mode", rename_all = "snake_case", from = "ReentryWire")]
pub enum Reentry {
    #[default]
    Never,
    Always,
    /// Again once `wait` has passed since its previous entrance.
    After {
        wait: IsoDuration,
    },
}

/// serde ignores extra fields next to the tag of a unit variant even with
/// `deny_unknown_fields`; empty struct variants make `{"mode":"never","wait":…}` an error.
#[derive(Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
enum ReentryWire {
    Never {},
    Always {},
    After { wait: IsoDuration },
}

impl From<ReentryWire> for Reentry {
    fn from(wire: ReentryWire) -> Self {
        match wire {
            ReentryWire::Never {} => Reentry::Never,
            ReentryWire::Always {} => Reentry::Always,
            ReentryWire::After { wait } => Reentry::After { wait },
        }
    }
}

/// One step of the walk. A node without `next` (or a condition without the branch taken) ends
/// the walk.
// Struct variants rather than wrapped structs: the OpenAPI schema of a wrapped struct would be
// an `allOf` of a closed object and the `type` tag, which no node can satisfy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Node {
    /// Sends the template through the channel.
    Message {
        id: String,
        channel_id: String,
        template_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<String>,
    },
    /// Holds the profile for `duration`, or until `until` (exactly one of them); an `until`
    /// already past when the profile arrives does not hold it.
    Wait {
        id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration: Option<IsoDuration>,
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            deserialize_with = "crate::rfc3339::option::deserialize"
        )]
        #[schema(value_type = Option<String>, format = DateTime)]
        until: Option<Timestamp>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<String>,
    },
    /// Goes to `then` when the profile matches `rule`, else to `else`.
    Condition {
        id: String,
        // Kept as sent so that validation can report rule errors under `nodes[i].rule`; the
        // engine gets the parsed rules from `JourneyDefinition::condition_rules`.
        #[schema(value_type = Rule)]
        rule: Value,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        then: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        r#else: Option<String>,
    },
    /// Sets attributes of the profile (top-level keys, replacing their values).
    UpdateProfile {
        id: String,
        #[schema(value_type = Object)]
        set: Map<String, Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<String>,
    },
    /// Takes the profile out of journey `journey_id`.
    RemoveFromJourney {
        id: String,
        journey_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<String>,
    },
    /// Ends the walk.
    End { id: String },
}

impl Node {
    pub fn id(&self) -> &str {
        match self {
            Node::Message { id, .. }
            | Node::Wait { id, .. }
            | Node::Condition { id, .. }
            | Node::UpdateProfile { id, .. }
            | Node::RemoveFromJourney { id, .. }
            | Node::End { id } => id,
        }
    }

    /// The `type` as written in JSON.
    pub fn type_name(&self) -> &'static str {
        match self {
            Node::Message { .. } => "message",
            Node::Wait { .. } => "wait",
            Node::Condition { .. } => "condition",
            Node::UpdateProfile { .. } => "update_profile",
            Node::RemoveFromJourney { .. } => "remove_from_journey",
            Node::End { .. } => "end",
        }
    }

    /// Ids this node may lead to (`then` before `else`); empty when the walk ends here.
    pub fn successors(&self) -> Vec<&str> {
        self.edges().into_iter().map(|(_, id)| id).collect()
    }

    /// `(field, target id)` of each outgoing edge, the field named as in JSON.
    pub(super) fn edges(&self) -> Vec<(&'static str, &str)> {
        match self {
            Node::Message { next, .. }
            | Node::Wait { next, .. }
            | Node::UpdateProfile { next, .. }
            | Node::RemoveFromJourney { next, .. } => {
                next.as_deref().map(|id| ("next", id)).into_iter().collect()
            }
            Node::Condition { then, r#else, .. } => [("then", then), ("else", r#else)]
                .into_iter()
                .filter_map(|(field, id)| id.as_deref().map(|id| (field, id)))
                .collect(),
            Node::End { .. } => Vec::new(),
        }
    }

    /// For a wait node, when a profile that arrived at `arrived` moves on; `None` for other
    /// nodes, an invalid wait (neither or both of duration/until) or a time out of range.
    pub fn resume_at(&self, arrived: Timestamp) -> Option<Timestamp> {
        match self {
            Node::Wait {
                duration: Some(d),
                until: None,
                ..
            } => d.after(arrived),
            Node::Wait {
                duration: None,
                until: Some(until),
                ..
            } => Some((*until).max(arrived)),
            _ => None,
        }
    }

    /// Whether every pass through this node takes time. A wait until a fixed time does not:
    /// once that time has passed it holds nobody.
    pub fn always_delays(&self) -> bool {
        matches!(
            self,
            Node::Wait {
                duration: Some(_),
                until: None,
                ..
            }
        )
    }
}

impl JourneyDefinition {
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id() == id)
    }

    pub fn start_node(&self) -> Option<&Node> {
        self.node(&self.start)
    }

    /// The nodes `node` may lead to, skipping ids that do not exist (a validated definition
    /// has none).
    pub fn successors(&self, node: &Node) -> Vec<&Node> {
        node.successors()
            .into_iter()
            .filter_map(|id| self.node(id))
            .collect()
    }

    /// Every condition's parsed rule by node id, or all rule errors under `nodes[i].rule`.
    pub fn condition_rules(&self) -> Result<BTreeMap<&str, Rule>, ValidationErrors> {
        let mut rules = BTreeMap::new();
        let mut errors = ValidationErrors::default();
        for (i, node) in self.nodes.iter().enumerate() {
            if let Node::Condition { id, rule, .. } = node {
                match Rule::parse(rule) {
                    Ok(rule) => {
                        rules.insert(id.as_str(), rule);
                    }
                    Err(e) => errors.extend_under(&format!("nodes[{i}].rule"), e),
                }
            }
        }
        errors.into_result().map(|()| rules)
    }

    /// Distinct channel ids of message nodes, in node order.
    pub fn referenced_channels(&self) -> Vec<&str> {
        self.collect(|n| match n {
            Node::Message { channel_id, .. } => Some(channel_id.as_str()),
            _ => None,
        })
    }

    /// Distinct template ids of message nodes, in node order.
    pub fn referenced_templates(&self) -> Vec<&str> {
        self.collect(|n| match n {
            Node::Message { template_id, .. } => Some(template_id.as_str()),
            _ => None,
        })
    }

    /// The entry audience, if any (conditions hold rules, not audience ids).
    pub fn referenced_audiences(&self) -> Vec<&str> {
        match &self.entry {
            Entry::Audience { audience_id, .. } => vec![audience_id.as_str()],
            Entry::Event { .. } => Vec::new(),
        }
    }

    /// Distinct journey ids of remove_from_journey nodes, in node order.
    pub fn referenced_journeys(&self) -> Vec<&str> {
        self.collect(|n| match n {
            Node::RemoveFromJourney { journey_id, .. } => Some(journey_id.as_str()),
            _ => None,
        })
    }

    fn collect<'a>(&'a self, pick: impl Fn(&'a Node) -> Option<&'a str>) -> Vec<&'a str> {
        let mut ids = Vec::new();
        for id in self.nodes.iter().filter_map(pick) {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        ids
    }

    /// J2: everything publishing requires, every problem reported. `now` is the engine's clock,
    /// against which schedules and durations are judged.
    pub fn validate(&self, refs: &dyn References, now: Timestamp) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::default();
        self.validate_entry(refs, now, &mut errors);
        if let Reentry::After { wait } = &self.reentry {
            check_duration(wait, now, "reentry.wait", &mut errors);
        }
        check_duration(&self.timeout, now, "timeout", &mut errors);
        if self.nodes.is_empty() {
            errors.push("nodes", "a journey needs at least one node");
        } else if self.node(&self.start).is_none() {
            errors.push(
                "start",
                format!("start node \"{}\" does not exist", self.start),
            );
        }
        let graph = Graph::new(&self.nodes, &mut errors);
        for (i, node) in self.nodes.iter().enumerate() {
            validate_node(node, &format!("nodes[{i}]"), refs, now, &mut errors);
            graph.check_edges(i, &mut errors);
        }
        graph.check_reachable(&self.start, &mut errors);
        graph.check_cycles(&mut errors);
        errors.into_result()
    }

    fn validate_entry(&self, refs: &dyn References, now: Timestamp, errors: &mut ValidationErrors) {
        match &self.entry {
            Entry::Event { event } if event.trim().is_empty() => {
                errors.push("entry.event", "the event name must not be empty");
            }
            Entry::Event { .. } => {}
            Entry::Audience {
                audience_id,
                schedule,
            } => {
                if !refs.audience_exists(audience_id) {
                    errors.push(
                        "entry.audience_id",
                        format!("audience \"{audience_id}\" does not exist"),
                    );
                }
                if matches!(schedule, Schedule::Api) {
                    errors.push(
                        "entry.schedule.type",
                        "a journey cannot enter on an api schedule; use immediate, once or \
                         recurring (or an event entry)",
                    );
                } else if let Err(e) = schedule.validate(now) {
                    errors.extend_under("entry.schedule", e);
                }
            }
        }
    }
}

fn validate_node(
    node: &Node,
    at: &str,
    refs: &dyn References,
    now: Timestamp,
    errors: &mut ValidationErrors,
) {
    let id = node.id();
    match node {
        Node::Message {
            channel_id,
            template_id,
            ..
        } => {
            let channel = refs.channel_type(channel_id);
            if channel.is_none() {
                errors.push(
                    format!("{at}.channel_id"),
                    format!("node \"{id}\": channel \"{channel_id}\" does not exist"),
                );
            }
            match (refs.template_channel_type(template_id), channel) {
                (None, _) => errors.push(
                    format!("{at}.template_id"),
                    format!("node \"{id}\": template \"{template_id}\" does not exist"),
                ),
                (Some(t), Some(c)) if t != c => errors.push(
                    format!("{at}.template_id"),
                    format!(
                        "node \"{id}\": template \"{template_id}\" is for {} channels, but \
                         channel \"{channel_id}\" is a {} channel",
                        t.as_str(),
                        c.as_str()
                    ),
                ),
                _ => {}
            }
        }
        Node::Wait {
            duration, until, ..
        } => match (duration, until) {
            (Some(d), None) => check_duration(d, now, &format!("{at}.duration"), errors),
            (None, Some(_)) => {}
            _ => errors.push(
                at,
                format!("node \"{id}\": a wait node has exactly one of duration, until"),
            ),
        },
        Node::Condition { rule, .. } => {
            if let Err(e) = Rule::parse(rule) {
                errors.extend_under(&format!("{at}.rule"), e);
            }
        }
        Node::UpdateProfile { set, .. } => {
            if set.is_empty() {
                errors.push(
                    format!("{at}.set"),
                    format!("node \"{id}\": set needs at least one attribute"),
                );
            }
            if set.contains_key("") {
                errors.push(
                    format!("{at}.set"),
                    format!("node \"{id}\": attribute names must not be empty"),
                );
            }
        }
        Node::RemoveFromJourney { journey_id, .. } => {
            if !refs.journey_exists(journey_id) {
                errors.push(
                    format!("{at}.journey_id"),
                    format!("node \"{id}\": journey \"{journey_id}\" does not exist"),
                );
            }
        }
        Node::End { .. } => {}
    }
}

/// Durations here must move time forward: a zero wait in a cycle would spin, a zero timeout or
/// re-entrance period means nothing sensible.
fn check_duration(d: &IsoDuration, now: Timestamp, field: &str, errors: &mut ValidationErrors) {
    match d.after(now) {
        None => errors.push(
            field,
            format!("{d} reaches beyond the supported range of times"),
        ),
        Some(t) if t <= now => errors.push(field, format!("{d} is not a positive duration")),
        Some(_) => {}
    }
}
