//! Writes a laid-out journey as SVG: the entry, node boxes (icon, kind, name, detail, counts),
//! smooth forward edges with `yes`/`no` labels, and loops drawn dashed up a lane on the right.
//! Defaults are presentation attributes, so any page rule on the classes overrides them.

use sluice_core::journey::JourneyDefinition;

use super::icons::icon;
use super::layout::{NODE_W, Vertex};
use super::model::{NodeKind, entry_text};
use super::{Drawing, GraphOptions, NodeCount, NodeCounts};
use crate::palette::{BACK_EDGE, BORDER, EDGE, MISSING, MUTED, SURFACE};
use crate::svg::{FONT, Num, Svg, compact, escape, id_prefix, put, thousands, truncate};

const MARGIN: f64 = 24.0;
const ENTRY_H: f64 = 28.0;
const ENTRY_GAP: f64 = 36.0;
const LAYER_GAP: f64 = 76.0;
const H_PLAIN: f64 = 86.0;
const H_COUNTS: f64 = 126.0;
const NAME_CHARS: usize = 24;
const DETAIL_CHARS: usize = 31;

pub(crate) fn kind_colour(kind: NodeKind) -> &'static str {
    match kind {
        NodeKind::Message => "#0969da",
        NodeKind::Wait => "#8250df",
        NodeKind::Condition => "#9a6700",
        NodeKind::UpdateProfile => "#1a7f37",
        NodeKind::RemoveFromJourney => "#bc4c00",
        NodeKind::End => "#57606a",
        NodeKind::Missing => MISSING,
    }
}

struct Frame<'a> {
    d: &'a Drawing<'a>,
    prefix: String,
    node_h: f64,
    top: f64,
}

impl Frame<'_> {
    fn cx(&self, v: usize) -> f64 {
        MARGIN + self.d.layout.x[v]
    }

    fn layer_top(&self, layer: usize) -> f64 {
        self.top + layer as f64 * (self.node_h + LAYER_GAP)
    }

    fn top_of(&self, v: usize) -> f64 {
        self.layer_top(self.d.layout.vertex_layer[v])
    }
}

pub(super) fn render(
    d: &Drawing<'_>,
    definition: &JourneyDefinition,
    counts: &NodeCounts,
    options: &GraphOptions,
) -> Svg {
    let prefix = id_prefix(&options.id_prefix);
    let any_counts = d.model.boxes.iter().any(|b| counts.get(b.id).is_some());
    let frame = Frame {
        d,
        prefix,
        node_h: if any_counts { H_COUNTS } else { H_PLAIN },
        top: MARGIN + ENTRY_H + ENTRY_GAP,
    };
    let layers = d.layout.rows.len();
    let entry = entry_text(&definition.entry);
    let entry_w = entry.chars().count() as f64 * 6.6 + 40.0;
    let start_cx = d.model.start.map(|s| frame.cx(d.layout.vertex_of(s)));
    let entry_x = start_cx.map_or(MARGIN, |cx| (cx - entry_w / 2.0).max(MARGIN));
    let width = (MARGIN * 2.0 + d.layout.width).max(entry_x + entry_w + MARGIN);
    let loops = d.layout.back.iter().any(|&b| b);
    let height = if layers == 0 {
        frame.top + 40.0
    } else {
        frame.layer_top(layers) - LAYER_GAP + MARGIN + if loops { 40.0 } else { 0.0 }
    };

    let p = &frame.prefix;
    let linked = d.model.boxes.iter().any(|b| {
        b.kind != NodeKind::Missing && options.links.get(b.id).is_some_and(|h| safe_href(h))
    });
    let role = if linked { "group" } else { "img" };
    let mut out = String::with_capacity(4096 + d.model.boxes.len() * 1200);
    put!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="sluice-diagram journey-graph" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="{role}" aria-labelledby="{p}-title {p}-desc" font-family="{FONT}">"#,
        w = Num(width),
        h = Num(height),
    );
    put!(
        out,
        r#"<title id="{p}-title">{}</title><desc id="{p}-desc">{}</desc>"#,
        escape(&options.title),
        escape(&description(d, &entry))
    );
    for (name, colour) in [("arrow", EDGE), ("arrow-back", BACK_EDGE)] {
        put!(
            out,
            r#"<defs><marker id="{p}-{name}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="9" markerHeight="9" markerUnits="userSpaceOnUse" orient="auto"><path class="arrowhead" d="M0 0 10 5 0 10z" fill="{colour}"/></marker></defs>"#
        );
    }
    entry_pill(&mut out, &frame, &entry, entry_x, entry_w);
    if layers == 0 {
        put!(
            out,
            r#"<text class="empty" x="{}" y="{}" font-size="14" fill="{MUTED}">This journey has no nodes yet.</text>"#,
            Num(MARGIN),
            Num(frame.top + 20.0)
        );
    }
    edges(&mut out, &frame);
    for (i, b) in d.model.boxes.iter().enumerate() {
        node_box(&mut out, &frame, i, counts.get(b.id), options);
    }
    out.push_str("</svg>");
    Svg::new(out)
}

fn description(d: &Drawing<'_>, entry: &str) -> String {
    let real = d
        .model
        .boxes
        .iter()
        .filter(|b| b.kind != NodeKind::Missing)
        .count();
    let mut text = format!(
        "{real} node{} in {} layer{}, read top to bottom.",
        if real == 1 { "" } else { "s" },
        d.layout.rows.len(),
        if d.layout.rows.len() == 1 { "" } else { "s" },
    );
    match d.model.start {
        Some(s) => put!(
            text,
            " {entry}, profiles start at “{}”.",
            d.model.boxes[s].id
        ),
        None => put!(text, " {entry}; the start node does not exist yet."),
    }
    let loops: Vec<String> = d
        .model
        .edges
        .iter()
        .zip(&d.layout.back)
        .filter(|(_, back)| **back)
        .map(|(e, _)| {
            format!(
                "“{}” back to “{}”",
                d.model.boxes[e.from].id, d.model.boxes[e.to].id
            )
        })
        .collect();
    if !loops.is_empty() {
        put!(text, " Loops (dashed): {}.", loops.join(", "));
    }
    let missing: Vec<&str> = d
        .model
        .boxes
        .iter()
        .filter(|b| b.kind == NodeKind::Missing)
        .map(|b| b.id)
        .collect();
    if !missing.is_empty() {
        put!(text, " Missing nodes: {}.", missing.join(", "));
    }
    text
}

fn entry_pill(out: &mut String, f: &Frame<'_>, entry: &str, x: f64, w: f64) {
    let y = MARGIN;
    put!(
        out,
        r#"<g class="entry"><rect x="{}" y="{}" width="{}" height="{ENTRY_H}" rx="14" fill="{SURFACE}" stroke="{BORDER}"/><path d="M{} {}l7 5-7 5z" fill="{MUTED}"/><text x="{}" y="{}" font-size="12" fill="{MUTED}">{}</text></g>"#,
        Num(x),
        Num(y),
        Num(w),
        Num(x + 14.0),
        Num(y + 9.0),
        Num(x + 28.0),
        Num(y + 18.5),
        escape(entry)
    );
    if let Some(s) = f.d.model.start {
        let v = f.d.layout.vertex_of(s);
        let cx = f.cx(v);
        let from_x = cx.clamp(x + 14.0, x + w - 14.0);
        let (y0, y1) = (y + ENTRY_H, f.top_of(v));
        let mid = (y0 + y1) / 2.0;
        put!(
            out,
            r#"<path class="edge-line entry-edge" d="M{} {}C{} {} {} {} {} {}" fill="none" stroke="{EDGE}" stroke-width="1.5" marker-end="url(#{}-arrow)"/>"#,
            Num(from_x),
            Num(y0),
            Num(from_x),
            Num(mid),
            Num(cx),
            Num(mid),
            Num(cx),
            Num(y1),
            f.prefix
        );
    }
}

/// Where each edge leaves and arrives: ports spread along the bottom and top of a box,
/// sorted by the direction of the edge so that edges of one box never cross at it.
struct Ports {
    out_x: Vec<f64>,
    in_x: Vec<f64>,
    /// Per edge, its rank among back edges leaving (and entering) the same box.
    back_rank: Vec<(usize, usize)>,
}

fn ports(f: &Frame<'_>) -> Ports {
    let (model, layout) = (&f.d.model, &f.d.layout);
    let count = model.edges.len();
    let mut ports = Ports {
        out_x: vec![0.0; count],
        in_x: vec![0.0; count],
        back_rank: vec![(0, 0); count],
    };
    for node in 0..model.boxes.len() {
        let cx = f.cx(layout.vertex_of(node));
        let spread = |edges: &mut Vec<(f64, usize)>, slots: &mut [f64], step: f64| {
            edges.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let m = edges.len();
            let step = if m > 1 {
                step.min((NODE_W - 96.0) / (m - 1) as f64)
            } else {
                0.0
            };
            for (k, &(_, e)) in edges.iter().enumerate() {
                slots[e] = cx + (k as f64 - (m as f64 - 1.0) / 2.0) * step;
            }
        };
        let forward = |e: usize| !layout.back[e];
        let mut outs: Vec<(f64, usize)> = (0..count)
            .filter(|&e| model.edges[e].from == node && forward(e))
            .map(|e| (f.cx(layout.chains[e][1]), e))
            .collect();
        spread(&mut outs, &mut ports.out_x, 60.0);
        let mut ins: Vec<(f64, usize)> = (0..count)
            .filter(|&e| model.edges[e].to == node && forward(e))
            .map(|e| (f.cx(layout.chains[e][layout.chains[e].len() - 2]), e))
            .collect();
        spread(&mut ins, &mut ports.in_x, 20.0);
        let mut rank = (0, 0);
        for e in 0..count {
            if layout.back[e] && model.edges[e].from == node {
                ports.back_rank[e].0 = rank.0;
                ports.out_x[e] = cx + NODE_W / 2.0 - 22.0 - 10.0 * rank.0 as f64;
                rank.0 += 1;
            }
            if layout.back[e] && model.edges[e].to == node {
                ports.back_rank[e].1 = rank.1;
                ports.in_x[e] = cx + NODE_W / 2.0 - 22.0 - 10.0 * rank.1 as f64;
                rank.1 += 1;
            }
        }
    }
    ports
}

fn edges(out: &mut String, f: &Frame<'_>) {
    let (model, layout) = (&f.d.model, &f.d.layout);
    let ports = ports(f);
    let mut labels = String::new();
    // Inner lanes run their horizontal legs nearest the boxes, so nested loops do not cross.
    let mut by_lane: Vec<(f64, usize)> = (0..model.edges.len())
        .filter_map(|e| layout.lane[e].map(|x| (x, e)))
        .collect();
    by_lane.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut lane_rank = vec![0usize; model.edges.len()];
    for (rank, &(_, e)) in by_lane.iter().enumerate() {
        lane_rank[e] = rank;
    }
    for (e, edge) in model.edges.iter().enumerate() {
        let (from, to) = (&model.boxes[edge.from], &model.boxes[edge.to]);
        let back = layout.back[e];
        let chain = &layout.chains[e];
        let start = (ports.out_x[e], f.top_of(chain[0]) + f.node_h);
        let path = if let Some(lane) = layout.lane[e].filter(|_| back) {
            // Down out of the source, right to the lane, up, left over the target, down in.
            let stagger = 8.0 * (lane_rank[e] % 3) as f64;
            let below = start.1 + 24.0 + stagger;
            let end = (ports.in_x[e], f.top_of(chain[1]));
            let above = end.1 - 12.0 - stagger;
            let lane = MARGIN + lane;
            rounded(&[
                start,
                (start.0, below),
                (lane, below),
                (lane, above),
                (end.0, above),
                end,
            ])
        } else {
            smooth(f, chain, start, ports.in_x[e])
        };
        let (class, colour, marker, extra) = if back {
            (
                "edge edge-back",
                BACK_EDGE,
                "arrow-back",
                r#" stroke-width="2" stroke-dasharray="7 5""#,
            )
        } else {
            ("edge", EDGE, "arrow", r#" stroke-width="1.5""#)
        };
        let label_note = edge.label.map(|l| format!(" ({l})")).unwrap_or_default();
        let back_note = if back { ", looping back" } else { "" };
        put!(
            out,
            r#"<g class="{class}"><title>{} → {}{label_note}{back_note}</title><path class="edge-line" d="{path}" fill="none" stroke="{colour}"{extra} marker-end="url(#{}-{marker})"/></g>"#,
            escape(from.id),
            escape(to.id),
            f.prefix
        );
        if let Some(label) = edge.label {
            let w = label.len() as f64 * 6.5 + 14.0;
            let (x, y) = (start.0, start.1 + 16.0);
            put!(
                labels,
                r#"<g class="edge-label"><rect x="{}" y="{}" width="{}" height="16" rx="8" fill="{SURFACE}" stroke="{colour}"/><text x="{}" y="{}" font-size="11" text-anchor="middle" fill="{colour}">{label}</text></g>"#,
                Num(x - w / 2.0),
                Num(y - 8.0),
                Num(w),
                Num(x),
                Num(y + 4.0)
            );
        }
    }
    out.push_str(&labels);
}

/// A forward edge: vertical-tangent curves between layers, straight through the layers it
/// skips (its dummies).
fn smooth(f: &Frame<'_>, chain: &[usize], start: (f64, f64), end_x: f64) -> String {
    let mut points = vec![start];
    for &v in &chain[1..chain.len() - 1] {
        let top = f.top_of(v);
        points.push((f.cx(v), top));
        points.push((f.cx(v), top + f.node_h));
    }
    let last = chain[chain.len() - 1];
    points.push((end_x, f.top_of(last)));
    let mut d = format!("M{} {}", Num(start.0), Num(start.1));
    for pair in points.windows(2) {
        let ((x0, y0), (x1, y1)) = (pair[0], pair[1]);
        if (x0 - x1).abs() < 0.05 {
            put!(d, "V{}", Num(y1));
        } else {
            let mid = (y0 + y1) / 2.0;
            put!(
                d,
                "C{} {} {} {} {} {}",
                Num(x0),
                Num(mid),
                Num(x1),
                Num(mid),
                Num(x1),
                Num(y1)
            );
        }
    }
    d
}

/// A polyline of horizontal and vertical runs with its corners rounded.
fn rounded(points: &[(f64, f64)]) -> String {
    const R: f64 = 10.0;
    let mut d = format!("M{} {}", Num(points[0].0), Num(points[0].1));
    for i in 1..points.len() {
        let (x, y) = points[i];
        if let Some(&(nx, ny)) = points.get(i + 1) {
            let (px, py) = points[i - 1];
            let r = R
                .min(((x - px).abs() + (y - py).abs()) / 2.0)
                .min(((nx - x).abs() + (ny - y).abs()) / 2.0);
            let (ix, iy) = (sign(x - px), sign(y - py));
            let (ox, oy) = (sign(nx - x), sign(ny - y));
            put!(
                d,
                "L{} {}Q{} {} {} {}",
                Num(x - ix * r),
                Num(y - iy * r),
                Num(x),
                Num(y),
                Num(x + ox * r),
                Num(y + oy * r)
            );
        } else {
            put!(d, "L{} {}", Num(x), Num(y));
        }
    }
    d
}

/// Whether `href` is a relative URL or an http(s) one: a `javascript:` (or any other scheme)
/// link in a page is a script, so such a node is drawn without its link.
pub(crate) fn safe_href(href: &str) -> bool {
    let lower = href.trim_start().to_ascii_lowercase();
    let scheme_end = lower.find([':', '/', '?', '#']);
    match scheme_end {
        Some(i) if lower.as_bytes()[i] == b':' => {
            lower.starts_with("https:") || lower.starts_with("http:")
        }
        _ => !lower.is_empty(),
    }
}

/// −1, 0 or 1 (`f64::signum` gives 1 for 0).
fn sign(v: f64) -> f64 {
    if v.abs() < 1e-9 { 0.0 } else { v.signum() }
}

fn node_box(
    out: &mut String,
    f: &Frame<'_>,
    i: usize,
    count: Option<&NodeCount>,
    options: &GraphOptions,
) {
    let b = &f.d.model.boxes[i];
    let v = f.d.layout.vertex_of(i);
    debug_assert!(matches!(f.d.layout.vertices[v], Vertex::Node(_)));
    let (x, y) = (f.cx(v) - NODE_W / 2.0, f.top_of(v));
    let colour = kind_colour(b.kind);
    let name = if b.id.is_empty() { "(no id)" } else { b.id };
    let mut title = format!("{} “{name}”: {}.", b.kind.label(), b.detail);
    if let Some(c) = count {
        put!(
            title,
            " {} entered, {} waiting now, {} done.",
            thousands(c.entered),
            thousands(c.waiting),
            thousands(c.done)
        );
    }
    let next = f.d.next_steps(i);
    if !next.is_empty() {
        let list: Vec<String> = next
            .iter()
            .map(|n| match n.label {
                Some(l) => format!("{l}: {}", n.id),
                None => n.id.clone(),
            })
            .collect();
        put!(title, " Next: {}.", list.join(", "));
    }
    let link = options
        .links
        .get(b.id)
        .filter(|href| b.kind != NodeKind::Missing && safe_href(href));
    if let Some(href) = link {
        put!(
            out,
            r#"<a class="node-link" href="{}" aria-label="{}">"#,
            escape(href),
            escape(&title)
        );
    }
    let dash = if b.kind == NodeKind::Missing {
        r#" stroke-dasharray="5 4""#
    } else {
        ""
    };
    let kind_word = b.kind.label().to_uppercase();
    put!(
        out,
        r#"<g class="node node-{}" transform="translate({},{})"><title>{}</title><rect class="node-box" width="{NODE_W}" height="{}" rx="10" fill="{SURFACE}" stroke="{colour}" stroke-width="1.5"{dash}/><rect class="node-badge" x="12" y="12" width="24" height="24" rx="6" fill="{colour}"/><g transform="translate(16,16)" fill="none" stroke="{SURFACE}" stroke-width="1.6" stroke-linecap="round" stroke-linejoin="round">{}</g><text class="node-kind" x="44" y="28.5" font-size="11" font-weight="700" letter-spacing="0.6" fill="{colour}">{kind_word}</text><text class="node-name" x="12" y="58" font-size="14.5" font-weight="600" fill="currentColor">{}</text><text class="node-detail" x="12" y="76" font-size="12" fill="{MUTED}">{}</text>"#,
        b.kind.type_name(),
        Num(x),
        Num(y),
        escape(&title),
        Num(f.node_h),
        icon(b.kind),
        escape(&truncate(name, NAME_CHARS)),
        escape(&truncate(&b.detail, DETAIL_CHARS)),
    );
    if let Some(c) = count {
        put!(
            out,
            r#"<path class="node-divider" d="M12 88.5H{}" stroke="{}" stroke-width="1"/>"#,
            Num(NODE_W - 12.0),
            crate::palette::GRID
        );
        for (k, (value, word)) in [
            (c.entered, "entered"),
            (c.waiting, "waiting"),
            (c.done, "done"),
        ]
        .into_iter()
        .enumerate()
        {
            let cx = 12.0 + k as f64 * 72.0;
            put!(
                out,
                r#"<text class="node-count node-count-{word}" x="{}" y="106" font-size="14" font-weight="700" fill="currentColor">{}</text><text class="node-count-label" x="{}" y="119" font-size="11" fill="{MUTED}">{word}</text>"#,
                Num(cx),
                compact(value),
                Num(cx)
            );
        }
    }
    out.push_str("</g>");
    if link.is_some() {
        out.push_str("</a>");
    }
}
