//! The Results tab's charts: deliveries over time as stacked bars per outcome (with the same
//! figures as table rows), and two small inline figures for counters: a stacked bar and a
//! sparkline.

mod bars;
mod small;
#[cfg(test)]
mod tests;
mod ticks;

pub use small::{counter_bar, sparkline};

use crate::svg::Svg;

/// What became of an action, with the names of the action log (`delivered`, `failed`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DeliveryOutcome {
    Delivered,
    Failed,
    Skipped,
    Cancelled,
    Removed,
    TimedOut,
    /// In flight when a brake cut it: the receiver may or may not have it.
    Unknown,
}

impl DeliveryOutcome {
    pub const ALL: [DeliveryOutcome; 7] = [
        Self::Delivered,
        Self::Failed,
        Self::Skipped,
        Self::Cancelled,
        Self::Removed,
        Self::TimedOut,
        Self::Unknown,
    ];

    /// The name in the action log and the API, and the CSS class suffix (`bar-…`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
            Self::Cancelled => "cancelled",
            Self::Removed => "removed",
            Self::TimedOut => "timed_out",
            Self::Unknown => "unknown",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == name)
    }

    /// The legend's word.
    pub fn label(self) -> &'static str {
        match self {
            Self::Delivered => "Delivered",
            Self::Failed => "Failed",
            Self::Skipped => "Skipped",
            Self::Cancelled => "Cancelled",
            Self::Removed => "Removed",
            Self::TimedOut => "Timed out",
            Self::Unknown => "Outcome unknown",
        }
    }

    pub(crate) fn colour(self) -> &'static str {
        match self {
            Self::Delivered => "#1a7f37",
            Self::Failed => "#cf222e",
            Self::Skipped => "#9a6700",
            Self::Cancelled => "#57606a",
            Self::Removed => "#0969da",
            Self::TimedOut => "#bc4c00",
            Self::Unknown => "#8250df",
        }
    }
}

/// The counts of one outcome, one per time bucket (a missing count is 0, extra ones are
/// ignored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    pub outcome: DeliveryOutcome,
    pub counts: Vec<u64>,
}

impl Series {
    pub fn new(outcome: DeliveryOutcome, counts: Vec<u64>) -> Self {
        Series { outcome, counts }
    }

    fn at(&self, bucket: usize) -> u64 {
        self.counts.get(bucket).copied().unwrap_or(0)
    }

    fn total(&self, buckets: usize) -> u64 {
        self.counts.iter().take(buckets).sum()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChartOptions {
    pub title: String,
    /// Prefix of the ids in the SVG (patterns, title, description): two charts on one page
    /// need different prefixes.
    pub id_prefix: String,
    /// The viewBox size; the SVG scales to its container.
    pub width: f64,
    pub height: f64,
}

impl Default for ChartOptions {
    fn default() -> Self {
        ChartOptions {
            title: "Deliveries over time".to_owned(),
            id_prefix: "sluice-deliveries".to_owned(),
            width: 720.0,
            height: 300.0,
        }
    }
}

/// Stacked bars of each outcome per time bucket. `buckets` are the caller's labels for the
/// buckets ("Mon 3", "09:00"), in order; the series' counts follow them.
pub fn deliveries_chart<L: AsRef<str>>(series: &[Series], buckets: &[L]) -> Svg {
    deliveries_chart_with(series, buckets, &ChartOptions::default())
}

/// [`deliveries_chart`] with a title, id prefix and size of the caller's choosing.
pub fn deliveries_chart_with<L: AsRef<str>>(
    series: &[Series],
    buckets: &[L],
    options: &ChartOptions,
) -> Svg {
    let labels: Vec<&str> = buckets.iter().map(AsRef::as_ref).collect();
    bars::render(series, &labels, options)
}

/// The chart's figures for a table: one column per series, one row per bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveriesTable {
    pub columns: Vec<DeliveryOutcome>,
    pub rows: Vec<DeliveriesRow>,
    /// Per column, over all buckets.
    pub totals: Vec<u64>,
    pub grand_total: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveriesRow {
    pub bucket: String,
    /// In the order of `columns`.
    pub counts: Vec<u64>,
    pub total: u64,
}

pub fn deliveries_table<L: AsRef<str>>(series: &[Series], buckets: &[L]) -> DeliveriesTable {
    let rows: Vec<DeliveriesRow> = buckets
        .iter()
        .enumerate()
        .map(|(i, label)| {
            let counts: Vec<u64> = series.iter().map(|s| s.at(i)).collect();
            DeliveriesRow {
                bucket: label.as_ref().to_owned(),
                total: counts.iter().sum(),
                counts,
            }
        })
        .collect();
    let totals: Vec<u64> = series.iter().map(|s| s.total(buckets.len())).collect();
    DeliveriesTable {
        columns: series.iter().map(|s| s.outcome).collect(),
        grand_total: totals.iter().sum(),
        rows,
        totals,
    }
}
