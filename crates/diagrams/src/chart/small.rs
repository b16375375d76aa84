//! Inline figures for a counters table: a stacked bar of outcomes (a channel's sent, failed,
//! skipped) and a sparkline. Their figures are in their accessible name, and the page shows
//! the numbers beside them, so the colours are a visual aid only; they carry no ids, so any
//! number of them can share a page.

use super::DeliveryOutcome;
use crate::palette::{GRID, SURFACE};
use crate::svg::{Num, Svg, escape, put, thousands};

const BAR_W: f64 = 160.0;
const BAR_H: f64 = 10.0;
const SPARK_W: f64 = 120.0;
const SPARK_H: f64 = 28.0;

/// A horizontal bar split by outcome, each part as long as its share. `label` names what is
/// counted ("Email channel").
pub fn counter_bar(label: &str, parts: &[(DeliveryOutcome, u64)]) -> Svg {
    let total: u64 = parts.iter().map(|(_, n)| n).sum();
    let figures: Vec<String> = parts
        .iter()
        .map(|(o, n)| format!("{} {}", thousands(*n), o.label().to_lowercase()))
        .collect();
    let name = if figures.is_empty() {
        format!("{label}: nothing yet")
    } else {
        format!("{label}: {}", figures.join(", "))
    };
    let mut out = String::with_capacity(512);
    put!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="sluice-diagram counter-bar" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{name}"><title>{name}</title><rect class="track" width="{w}" height="{h}" rx="3" fill="{GRID}"/>"#,
        w = Num(BAR_W),
        h = Num(BAR_H),
        name = escape(&name),
    );
    if total > 0 {
        let mut x = 0.0;
        for (outcome, n) in parts.iter().filter(|(_, n)| *n > 0) {
            let w = BAR_W * *n as f64 / total as f64;
            put!(
                out,
                r#"<rect class="bar bar-{}" x="{}" width="{}" height="{}" fill="{}" stroke="{SURFACE}" stroke-width="1"/>"#,
                outcome.as_str(),
                Num(x),
                Num(w.max(1.0)),
                Num(BAR_H),
                outcome.colour()
            );
            x += w;
        }
    }
    out.push_str("</svg>");
    Svg::new(out)
}

/// A line through `values` (oldest first) in `currentColor`, its last point marked.
pub fn sparkline(label: &str, values: &[u64]) -> Svg {
    let max = values.iter().copied().max().unwrap_or(0);
    let name = match (values.first(), values.last()) {
        (Some(first), Some(last)) => format!(
            "{label}: from {} to {}, at most {}",
            thousands(*first),
            thousands(*last),
            thousands(max)
        ),
        _ => format!("{label}: no data yet"),
    };
    let mut out = String::with_capacity(256 + values.len() * 12);
    put!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="sluice-diagram sparkline" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{name}"><title>{name}</title>"#,
        w = Num(SPARK_W),
        h = Num(SPARK_H),
        name = escape(&name),
    );
    let step = SPARK_W.min(SPARK_W - 4.0) / (values.len().max(2) - 1) as f64;
    let point = |i: usize, v: u64| {
        let y = SPARK_H - 3.0 - (SPARK_H - 6.0) * v as f64 / max.max(1) as f64;
        (2.0 + step * i as f64, y)
    };
    let points: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let (x, y) = point(i, v);
            format!("{},{}", Num(x), Num(y))
        })
        .collect();
    if !points.is_empty() {
        put!(
            out,
            r#"<polyline class="spark-line" points="{}" fill="none" stroke="currentColor" stroke-width="1.5" stroke-linejoin="round"/>"#,
            points.join(" ")
        );
        let (x, y) = point(values.len() - 1, values[values.len() - 1]);
        put!(
            out,
            r#"<circle class="spark-last" cx="{}" cy="{}" r="2.5" fill="currentColor"/>"#,
            Num(x),
            Num(y)
        );
    }
    out.push_str("</svg>");
    Svg::new(out)
}
