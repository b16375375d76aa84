//! Sluice's diagrams as SVG strings to embed inline in server-rendered pages: a journey's
//! graph with per-node counts, and the Results tab's charts. Pure functions: no I/O, and the
//! same input always gives the same bytes.
//!
//! Every diagram has `role="img"` (or `group` when it holds links), a `<title>` and a
//! `<desc>`, and comes with a function returning the same figures as rows for a visually
//! hidden table. Colours are presentation attributes, so a page rule on the documented classes
//! (`.node-box`, `.edge-back .edge-line`, `.bar-failed`, …) restyles them; text without a
//! colour of its own uses `currentColor`.

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
