//! A journey's graph as a layered SVG diagram with per-node counts, and the same facts as
//! plain rows for a visually hidden table beside it.

mod icons;
pub(crate) mod layout;
mod model;
mod render;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use sluice_core::journey::JourneyDefinition;

pub use model::NodeKind;
#[cfg(test)]
pub(crate) use render::kind_colour;

use crate::svg::Svg;
use layout::Layout;
use model::Model;

/// How many profiles a node has seen: the caller fills one per node id it knows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct NodeCount {
    /// Profiles that reached the node.
    pub entered: u64,
    /// Profiles at the node now (held by a wait, or about to run it).
    pub waiting: u64,
    /// Profiles that have passed the node.
    pub done: u64,
}

/// Counts by node id. A node without an entry is drawn without numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeCounts(BTreeMap<String, NodeCount>);

impl NodeCounts {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, node_id: impl Into<String>, count: NodeCount) {
        self.0.insert(node_id.into(), count);
    }

    pub fn get(&self, node_id: &str) -> Option<&NodeCount> {
        self.0.get(node_id)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<K: Into<String>> FromIterator<(K, NodeCount)> for NodeCounts {
    fn from_iter<I: IntoIterator<Item = (K, NodeCount)>>(iter: I) -> Self {
        NodeCounts(iter.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }
}

/// What the page may set besides the counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphOptions {
    /// The SVG's `<title>`, read by screen readers first.
    pub title: String,
    /// Prefix of every id in the SVG (markers, title, description); two diagrams on one page
    /// need different prefixes. Characters other than ASCII letters, digits, `-` and `_`
    /// become `-`.
    pub id_prefix: String,
    /// A URL per node id: that node's box becomes a link (relative or http(s) URLs only;
    /// others are dropped). With any link the root's role is `group` instead of `img`, since
    /// the content of an image is not interactive to assistive technology.
    pub links: BTreeMap<String, String>,
}

impl Default for GraphOptions {
    fn default() -> Self {
        GraphOptions {
            title: "Journey graph".to_owned(),
            id_prefix: "sluice-journey".to_owned(),
            links: BTreeMap::new(),
        }
    }
}

/// One node as a row of the accessible table, in the diagram's reading order (top to
/// bottom, left to right).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRow {
    pub id: String,
    pub kind: NodeKind,
    /// What the node does, in a few words ("for 2 days", "plan = trial").
    pub detail: String,
    /// Where profiles go from here; empty when the walk ends.
    pub next: Vec<NextStep>,
    pub counts: Option<NodeCount>,
    /// Whether entrants start here.
    pub is_start: bool,
}

/// One outgoing edge of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextStep {
    pub id: String,
    /// `yes` or `no` on a condition's branches.
    pub label: Option<&'static str>,
    /// The edge goes back up to an earlier node: a loop (J2 lets one through a wait).
    pub loops_back: bool,
    /// No node has this id (a draft being edited).
    pub missing: bool,
}

/// The journey's graph, laid out in layers from the start node down, with each node's counts
/// where `counts` has them.
pub fn journey_graph(definition: &JourneyDefinition, counts: &NodeCounts) -> Svg {
    journey_graph_with(definition, counts, &GraphOptions::default())
}

/// [`journey_graph`] with a title, id prefix and node links of the caller's choosing.
pub fn journey_graph_with(
    definition: &JourneyDefinition,
    counts: &NodeCounts,
    options: &GraphOptions,
) -> Svg {
    let drawing = Drawing::new(definition);
    render::render(&drawing, definition, counts, options)
}

/// The facts of [`journey_graph`] as rows, for a table or list beside the picture.
pub fn journey_rows(definition: &JourneyDefinition, counts: &NodeCounts) -> Vec<NodeRow> {
    let drawing = Drawing::new(definition);
    let model = &drawing.model;
    drawing
        .reading_order()
        .into_iter()
        .filter(|&i| model.boxes[i].kind != NodeKind::Missing)
        .map(|i| {
            let b = &model.boxes[i];
            NodeRow {
                id: b.id.to_owned(),
                kind: b.kind,
                detail: b.detail.clone(),
                next: drawing.next_steps(i),
                counts: counts.get(b.id).copied(),
                is_start: model.start == Some(i),
            }
        })
        .collect()
}

/// A definition's model and its layout, which the picture and the rows share.
pub(crate) struct Drawing<'a> {
    pub model: Model<'a>,
    pub layout: Layout,
}

impl<'a> Drawing<'a> {
    pub(crate) fn new(definition: &'a JourneyDefinition) -> Self {
        let model = Model::new(definition);
        let pairs: Vec<(usize, usize)> = model.edges.iter().map(|e| (e.from, e.to)).collect();
        let layout = Layout::new(model.boxes.len(), &pairs, model.start);
        Drawing { model, layout }
    }

    /// Box indices top to bottom, then left to right.
    pub(crate) fn reading_order(&self) -> Vec<usize> {
        self.layout
            .rows
            .iter()
            .flatten()
            .filter_map(|&v| match self.layout.vertices[v] {
                layout::Vertex::Node(i) => Some(i),
                layout::Vertex::Dummy { .. } => None,
            })
            .collect()
    }

    pub(crate) fn next_steps(&self, from: usize) -> Vec<NextStep> {
        self.model
            .edges
            .iter()
            .enumerate()
            .filter(|(_, e)| e.from == from)
            .map(|(i, e)| NextStep {
                id: self.model.boxes[e.to].id.to_owned(),
                label: e.label,
                loops_back: self.layout.back[i],
                missing: self.model.boxes[e.to].kind == NodeKind::Missing,
            })
            .collect()
    }
}
