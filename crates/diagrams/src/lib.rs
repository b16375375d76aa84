//! Sluice's diagrams as SVG strings to embed inline in server-rendered pages: a journey's
//! graph with per-node counts, and the Results tab's charts. Pure functions: no I/O, and the
//! same input always gives the same bytes.
//!
//! Every diagram has `role="img"` (or `group` when it holds links), a `<title>` and a
//! `<desc>`, and comes with a function returning the same figures as rows for a visually
//! hidden table ([`journey_rows`], [`deliveries_table`]). An [`Svg`] is already escaped:
//! insert it as is (askama: `{{ svg|safe }}`).
//!
//! Styling: colours and fonts are presentation attributes, which any page rule overrides, and
//! text without a colour of its own uses `currentColor`. Hooks, all under `.sluice-diagram`:
//! - journey graph (`.journey-graph`): `.entry`, `.node` plus `.node-message`, `.node-wait`,
//!   `.node-condition`, `.node-update_profile`, `.node-remove_from_journey`, `.node-end`,
//!   `.node-missing`; inside a node `.node-box`, `.node-badge`, `.node-kind`, `.node-name`,
//!   `.node-detail`, `.node-count`, `.node-count-label`; `a.node-link` around a linked node
//!   (give it a `:focus-visible` style, e.g. a thicker `.node-box` stroke); `.edge`,
//!   `.edge-back` (a loop), `.edge-line`, `.edge-label`, `.arrowhead`.
//! - deliveries chart (`.deliveries-chart`): `.legend-item`, `.bucket`, `.bar` plus
//!   `.bar-delivered`, `.bar-failed`, …, `.axis-x`, `.axis-y`, `.gridline`, `.baseline`,
//!   `.empty`.
//! - `.counter-bar` and `.sparkline` (`.spark-line`, `.spark-last`).
//!
//! Sizes: each SVG has a viewBox and its natural `width`/`height`. A big journey is wider
//! than a phone: put it in a container with `overflow-x: auto` rather than shrink it with
//! `max-width: 100%`; the chart can shrink (`max-width: 100%; height: auto`).

mod chart;
mod graph;
mod palette;
mod svg;

pub use chart::{
    ChartOptions, DeliveriesRow, DeliveriesTable, DeliveryOutcome, Series, counter_bar,
    deliveries_chart, deliveries_chart_with, deliveries_table, sparkline,
};
pub use graph::{
    GraphOptions, NextStep, NodeCount, NodeCounts, NodeKind, NodeRow, journey_graph,
    journey_graph_with, journey_rows,
};
pub use svg::{Svg, compact, escape, thousands};
