//! Deliveries over time as stacked bars: a legend with totals, a y axis on round steps, the
//! caller's bucket labels thinned until they fit, and one pattern per outcome so that no
//! outcome is told by its colour alone.

use super::ticks::nice_scale;
use super::{ChartOptions, DeliveryOutcome, Series, deliveries_table};
use crate::palette::{BORDER, GRID, MUTED, SURFACE};
use crate::svg::{FONT, Num, Svg, compact, escape, id_prefix, put, thousands, truncate};

const LEGEND_ROW: f64 = 22.0;
const LABEL_CHARS: usize = 16;

pub(super) fn render(series: &[Series], buckets: &[&str], options: &ChartOptions) -> Svg {
    let p = id_prefix(&options.id_prefix);
    let table = deliveries_table(series, buckets);
    let empty = table.grand_total == 0;
    // Nothing to plot: a short box with the message, not a tall empty frame.
    let (w, h) = (
        options.width.max(240.0),
        if empty {
            120.0
        } else {
            options.height.max(160.0)
        },
    );
    let mut out = String::with_capacity(4096 + buckets.len() * 200 * series.len().max(1));
    put!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="sluice-diagram deliveries-chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-labelledby="{p}-title {p}-desc" font-family="{FONT}">"#,
        w = Num(w),
        h = Num(h),
    );
    put!(
        out,
        r#"<title id="{p}-title">{}</title><desc id="{p}-desc">{}</desc>"#,
        escape(&options.title),
        escape(&description(series, buckets))
    );
    out.push_str("<defs>");
    for s in series {
        pattern(&mut out, &p, s.outcome);
    }
    out.push_str("</defs>");

    let legend_rows = if empty {
        0.0
    } else {
        legend(&mut out, &p, series, &table.totals, w)
    };
    let (_, top_value) = nice_scale(table.rows.iter().map(|r| r.total).max().unwrap_or(0));
    let tick_chars = compact(top_value).chars().count() as f64;
    let plot = Plot {
        left: 14.0 + tick_chars * 7.0,
        right: w - 16.0,
        top: 16.0 + legend_rows * LEGEND_ROW + 10.0,
        bottom: h - 36.0,
    };
    if empty {
        put!(
            out,
            r#"<path class="axis" d="M{} {}H{}" stroke="{BORDER}"/><text class="empty" x="{}" y="{}" font-size="15" text-anchor="middle" fill="{MUTED}">No deliveries yet</text>"#,
            Num(plot.left),
            Num(plot.bottom),
            Num(plot.right),
            Num((plot.left + plot.right) / 2.0),
            Num((plot.top + plot.bottom) / 2.0),
        );
        out.push_str("</svg>");
        return Svg::new(out);
    }
    y_axis(&mut out, &plot, top_value);
    bars(&mut out, &p, &plot, series, buckets, &table, top_value);
    x_labels(&mut out, &plot, buckets);
    out.push_str("</svg>");
    Svg::new(out)
}

struct Plot {
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
}

impl Plot {
    fn y(&self, value: u64, top_value: u64) -> f64 {
        self.bottom - (self.bottom - self.top) * value as f64 / top_value.max(1) as f64
    }
}

fn description(series: &[Series], buckets: &[&str]) -> String {
    let table = deliveries_table(series, buckets);
    if table.grand_total == 0 {
        return "No deliveries yet.".to_owned();
    }
    let mut text = format!(
        "Stacked bars of {} action{} over {} time bucket{}",
        thousands(table.grand_total),
        if table.grand_total == 1 { "" } else { "s" },
        buckets.len(),
        if buckets.len() == 1 { "" } else { "s" },
    );
    if let (Some(first), Some(last), true) = (buckets.first(), buckets.last(), buckets.len() > 1) {
        put!(text, ", from {first} to {last}");
    }
    let totals: Vec<String> = table
        .columns
        .iter()
        .zip(&table.totals)
        .map(|(o, t)| format!("{} {}", thousands(*t), o.label().to_lowercase()))
        .collect();
    put!(text, ". In all: {}.", totals.join(", "));
    // Reversed, so that of equal maxima the first bucket is named.
    if let Some(busiest) = table.rows.iter().rev().max_by_key(|r| r.total) {
        put!(
            text,
            " Busiest: {} with {}.",
            busiest.bucket,
            thousands(busiest.total)
        );
    }
    text
}

/// A fill per outcome: the colour, with white marks in a shape of its own except for
/// `delivered`, the common case, which stays plain.
fn pattern(out: &mut String, p: &str, outcome: DeliveryOutcome) {
    let c = outcome.colour();
    let id = outcome.as_str();
    let (transform, marks) = match outcome {
        DeliveryOutcome::Delivered => return,
        DeliveryOutcome::Failed => ("rotate(45)", r#"<rect width="2.5" height="7"/>"#),
        DeliveryOutcome::Skipped => ("", r#"<circle cx="3.5" cy="3.5" r="1.4"/>"#),
        DeliveryOutcome::Cancelled => ("rotate(-45)", r#"<rect width="2.5" height="7"/>"#),
        DeliveryOutcome::Removed => ("", r#"<rect width="7" height="2.5"/>"#),
        DeliveryOutcome::TimedOut => ("", r#"<rect width="2.5" height="7"/>"#),
        DeliveryOutcome::Unknown => (
            "rotate(45)",
            r#"<rect width="1.8" height="7"/><rect width="7" height="1.8"/>"#,
        ),
    };
    let transform = if transform.is_empty() {
        String::new()
    } else {
        format!(r#" patternTransform="{transform}""#)
    };
    put!(
        out,
        r#"<pattern id="{p}-{id}" width="7" height="7" patternUnits="userSpaceOnUse"{transform}><rect width="7" height="7" fill="{c}"/><g fill="{SURFACE}" fill-opacity="0.7">{marks}</g></pattern>"#
    );
}

fn fill(p: &str, outcome: DeliveryOutcome) -> String {
    match outcome {
        DeliveryOutcome::Delivered => outcome.colour().to_owned(),
        other => format!("url(#{p}-{})", other.as_str()),
    }
}

/// Swatch, word and total per series, wrapped into rows; returns how many rows.
fn legend(out: &mut String, p: &str, series: &[Series], totals: &[u64], w: f64) -> f64 {
    let (mut x, mut row) = (16.0, 0.0);
    out.push_str(r#"<g class="legend">"#);
    for (s, total) in series.iter().zip(totals) {
        let text = format!("{} {}", s.outcome.label(), thousands(*total));
        let item_w = 22.0 + text.chars().count() as f64 * 6.8 + 18.0;
        if x > 16.0 && x + item_w > w - 16.0 {
            x = 16.0;
            row += 1.0;
        }
        let y = 16.0 + row * LEGEND_ROW;
        put!(
            out,
            r#"<g class="legend-item legend-{}"><rect x="{}" y="{}" width="14" height="14" rx="2" fill="{}" stroke="{}"/><text x="{}" y="{}" font-size="12" fill="currentColor">{} <tspan font-weight="700">{}</tspan></text></g>"#,
            s.outcome.as_str(),
            Num(x),
            Num(y),
            fill(p, s.outcome),
            s.outcome.colour(),
            Num(x + 20.0),
            Num(y + 11.5),
            s.outcome.label(),
            thousands(*total)
        );
        x += item_w;
    }
    out.push_str("</g>");
    row + 1.0
}

fn y_axis(out: &mut String, plot: &Plot, top_value: u64) {
    let (step, _) = nice_scale(top_value);
    out.push_str(r#"<g class="axis axis-y">"#);
    let mut value = 0;
    while value <= top_value {
        let y = plot.y(value, top_value);
        let stroke = if value == 0 { BORDER } else { GRID };
        put!(
            out,
            r#"<path class="{}" d="M{} {}H{}" stroke="{stroke}"/><text x="{}" y="{}" font-size="11" text-anchor="end" fill="{MUTED}">{}</text>"#,
            if value == 0 { "baseline" } else { "gridline" },
            Num(plot.left),
            Num(y),
            Num(plot.right),
            Num(plot.left - 6.0),
            Num(y + 4.0),
            compact(value)
        );
        match value.checked_add(step) {
            Some(next) => value = next,
            None => break,
        }
    }
    out.push_str("</g>");
}

fn bars(
    out: &mut String,
    p: &str,
    plot: &Plot,
    series: &[Series],
    buckets: &[&str],
    table: &super::DeliveriesTable,
    top_value: u64,
) {
    let band = (plot.right - plot.left) / buckets.len().max(1) as f64;
    let bar_w = (band * 0.72).clamp(1.0, 56.0);
    for (i, row) in table.rows.iter().enumerate() {
        let x = plot.left + band * i as f64 + (band - bar_w) / 2.0;
        let parts: Vec<String> = series
            .iter()
            .zip(&row.counts)
            .filter(|(_, n)| **n > 0)
            .map(|(s, n)| format!("{} {}", thousands(*n), s.outcome.label().to_lowercase()))
            .collect();
        put!(
            out,
            r#"<g class="bucket"><title>{}: {} ({} in all)</title>"#,
            escape(buckets[i]),
            if parts.is_empty() {
                "nothing".to_owned()
            } else {
                parts.join(", ")
            },
            thousands(row.total)
        );
        let mut below = 0u64;
        for (s, &n) in series.iter().zip(&row.counts) {
            if n == 0 {
                continue;
            }
            let (y0, y1) = (
                plot.y(below, top_value),
                plot.y(below.saturating_add(n), top_value),
            );
            below = below.saturating_add(n);
            // A white edge separates stacked segments, so each meets white, not a neighbour.
            put!(
                out,
                r#"<rect class="bar bar-{}" x="{}" y="{}" width="{}" height="{}" fill="{}" stroke="{SURFACE}" stroke-width="0.75"/>"#,
                s.outcome.as_str(),
                Num(x),
                Num(y1),
                Num(bar_w),
                Num((y0 - y1).max(0.5)),
                fill(p, s.outcome),
            );
        }
        out.push_str("</g>");
    }
}

/// Every k-th label, k as small as lets them stand side by side without touching.
fn x_labels(out: &mut String, plot: &Plot, buckets: &[&str]) {
    let band = (plot.right - plot.left) / buckets.len().max(1) as f64;
    let widest = buckets
        .iter()
        .map(|b| truncate(b, LABEL_CHARS).chars().count())
        .max()
        .unwrap_or(0) as f64;
    let needed = widest * 6.4 + 10.0;
    let every = (needed / band).ceil().max(1.0) as usize;
    out.push_str(r#"<g class="axis axis-x">"#);
    for (i, label) in buckets.iter().enumerate().step_by(every) {
        put!(
            out,
            r#"<text x="{}" y="{}" font-size="11" text-anchor="middle" fill="{MUTED}">{}</text>"#,
            Num(plot.left + band * (i as f64 + 0.5)),
            Num(plot.bottom + 18.0),
            escape(&truncate(label, LABEL_CHARS))
        );
    }
    out.push_str("</g>");
}
