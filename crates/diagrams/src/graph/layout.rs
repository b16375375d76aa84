//! Sugiyama-style layered layout of a directed graph whose boxes all have one size: back edges
//! found by a depth-first walk from the start, layers by longest path over what remains, long
//! edges split into dummy vertices, barycenter sweeps against crossings, and x positions by
//! isotonic regression so that each vertex sits as near its neighbours as the order allows.
//! Everything is iterative and tie-broken by index, so the same graph always lays out the same.

#[cfg(test)]
#[path = "layout_tests.rs"]
mod tests;

/// Width of a node box; every box has it, so the layout needs no text measurement.
pub(crate) const NODE_W: f64 = 228.0;
/// Width a long edge takes up in a layer it crosses.
const DUMMY_W: f64 = 6.0;
const GAP_NODES: f64 = 44.0;
const GAP_DUMMY: f64 = 16.0;
/// How far right of the rightmost box in its layers a back edge's lane runs, and how far
/// apart two lanes are.
const LANE_GAP: f64 = 30.0;
const LANE_STEP: f64 = 18.0;
const ORDER_SWEEPS: usize = 16;
const PLACE_ROUNDS: usize = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Vertex {
    Node(usize),
    /// A point where forward edge `edge` crosses a layer between its ends.
    Dummy {
        edge: usize,
    },
}

pub(crate) struct Layout {
    /// Per edge: whether it closes a cycle (drawn around the side, against the flow).
    pub back: Vec<bool>,
    /// Per node.
    pub layer: Vec<usize>,
    pub vertices: Vec<Vertex>,
    pub vertex_layer: Vec<usize>,
    /// Per layer, vertex indices from left to right.
    pub rows: Vec<Vec<usize>>,
    /// Per vertex, the x of its centre (≥ 0, the leftmost box touching 0).
    pub x: Vec<f64>,
    /// Per edge, its vertices from source to target (just the two ends for a back edge).
    pub chains: Vec<Vec<usize>>,
    /// Per edge, the x of the lane a back edge climbs; `None` for forward edges.
    pub lane: Vec<Option<f64>>,
    /// Right end of everything drawn, lanes included.
    pub width: f64,
}

impl Layout {
    /// `edges` are `(from, to)` node indices below `n`; `start` is drawn first and on top.
    pub(crate) fn new(n: usize, edges: &[(usize, usize)], start: Option<usize>) -> Self {
        let (back, preorder) = find_back_edges(n, edges, start);
        let layer = assign_layers(n, edges, &back);
        let (vertices, vertex_layer, chains) = split_long_edges(&layer, edges, &back);
        let layers = vertex_layer.iter().max().map_or(0, |&m| m + 1);
        let segments = segments(n, &chains, edges, &back);
        let rows = order(&vertices, &vertex_layer, layers, &segments, &preorder);
        let x = place(&rows, &segments, &vertices);
        let mut layout = Layout {
            back,
            layer,
            vertices,
            vertex_layer,
            rows,
            x,
            chains,
            lane: Vec::new(),
            width: 0.0,
        };
        layout.route_back_edges(edges);
        layout
    }

    /// The vertex of node `i`.
    pub(crate) fn vertex_of(&self, node: usize) -> usize {
        // Nodes are the first `n` vertices, in node order (see `split_long_edges`).
        node
    }

    fn route_back_edges(&mut self, edges: &[(usize, usize)]) {
        let right: Vec<f64> = self
            .rows
            .iter()
            .map(|row| {
                row.iter()
                    .map(|&v| self.x[v] + width(self.vertices[v]) / 2.0)
                    .fold(0.0, f64::max)
            })
            .collect();
        let mut width = right.iter().copied().fold(NODE_W, f64::max);
        let mut back: Vec<usize> = (0..edges.len()).filter(|&e| self.back[e]).collect();
        // Short loops take the inner lanes, so nested loops do not cross each other.
        back.sort_by_key(|&e| {
            let (from, to) = edges[e];
            (self.layer[from].abs_diff(self.layer[to]), e)
        });
        self.lane = vec![None; edges.len()];
        let mut placed: Vec<(usize, usize, f64)> = Vec::new();
        for e in back {
            let (from, to) = edges[e];
            let (top, bottom) = (
                self.layer[to].min(self.layer[from]),
                self.layer[from].max(self.layer[to]),
            );
            let mut x = right[top..=bottom].iter().copied().fold(0.0, f64::max) + LANE_GAP;
            for &(t, b, lane) in &placed {
                if t <= bottom && top <= b {
                    x = x.max(lane + LANE_STEP);
                }
            }
            placed.push((top, bottom, x));
            self.lane[e] = Some(x);
            width = width.max(x + 8.0);
        }
        self.width = width;
    }
}

/// Marks the edges that a depth-first walk finds leading back to a vertex still on its path:
/// removing them leaves the graph acyclic. The walk starts at `start`, then at nodes nobody
/// leads to, then anywhere left, each in index order. Also returns each node's preorder
/// number, a natural left-to-right order to start from.
pub(crate) fn find_back_edges(
    n: usize,
    edges: &[(usize, usize)],
    start: Option<usize>,
) -> (Vec<bool>, Vec<usize>) {
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut has_in = vec![false; n];
    for (e, &(from, to)) in edges.iter().enumerate() {
        out[from].push(e);
        if from != to {
            has_in[to] = true;
        }
    }
    const NEW: u8 = 0;
    const ON_PATH: u8 = 1;
    const DONE: u8 = 2;
    let mut state = vec![NEW; n];
    let mut back = vec![false; edges.len()];
    let mut preorder = vec![usize::MAX; n];
    let mut counter = 0;
    let roots = start
        .into_iter()
        .chain((0..n).filter(|&i| !has_in[i]))
        .chain(0..n);
    for root in roots {
        if state[root] != NEW {
            continue;
        }
        state[root] = ON_PATH;
        preorder[root] = counter;
        counter += 1;
        // (node, how many of its out-edges have been followed)
        let mut path = vec![(root, 0usize)];
        while let Some(&mut (v, ref mut next)) = path.last_mut() {
            if let Some(&e) = out[v].get(*next) {
                *next += 1;
                let w = edges[e].1;
                match state[w] {
                    NEW => {
                        state[w] = ON_PATH;
                        preorder[w] = counter;
                        counter += 1;
                        path.push((w, 0));
                    }
                    ON_PATH => back[e] = true,
                    _ => {}
                }
            } else {
                state[v] = DONE;
                path.pop();
            }
        }
    }
    (back, preorder)
}

/// Layer of each node: the longest path to it over the forward edges, so every forward edge
/// points down at least one layer (Kahn's order; the forward edges form no cycle).
pub(crate) fn assign_layers(n: usize, edges: &[(usize, usize)], back: &[bool]) -> Vec<usize> {
    let mut indegree = vec![0usize; n];
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (e, &(from, to)) in edges.iter().enumerate() {
        if !back[e] {
            indegree[to] += 1;
            out[from].push(to);
        }
    }
    let mut layer = vec![0usize; n];
    let mut ready: Vec<usize> = (0..n).rev().filter(|&i| indegree[i] == 0).collect();
    while let Some(v) = ready.pop() {
        for &w in &out[v] {
            layer[w] = layer[w].max(layer[v] + 1);
            indegree[w] -= 1;
            if indegree[w] == 0 {
                ready.push(w);
            }
        }
    }
    layer
}

type Split = (Vec<Vertex>, Vec<usize>, Vec<Vec<usize>>);

/// Vertices (the nodes first, in order, then one dummy per layer a forward edge skips) and
/// each edge's chain of vertices.
fn split_long_edges(layer: &[usize], edges: &[(usize, usize)], back: &[bool]) -> Split {
    let mut vertices: Vec<Vertex> = (0..layer.len()).map(Vertex::Node).collect();
    let mut vertex_layer = layer.to_vec();
    let mut chains = Vec::with_capacity(edges.len());
    for (e, &(from, to)) in edges.iter().enumerate() {
        let mut chain = vec![from];
        if !back[e] {
            for l in layer[from] + 1..layer[to] {
                vertices.push(Vertex::Dummy { edge: e });
                vertex_layer.push(l);
                chain.push(vertices.len() - 1);
            }
        }
        chain.push(to);
        chains.push(chain);
    }
    (vertices, vertex_layer, chains)
}

/// A piece of a forward edge between two adjacent layers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Segment {
    pub upper: usize,
    pub lower: usize,
    /// Where the edge leaves its upper vertex among that vertex's forward edges, from −0.5
    /// (first, e.g. `yes`) to 0.5 (last), 0 when it is the only one.
    pub port: f64,
}

fn segments(
    n: usize,
    chains: &[Vec<usize>],
    edges: &[(usize, usize)],
    back: &[bool],
) -> Vec<Segment> {
    let mut out_degree = vec![0usize; n];
    let mut rank = vec![0usize; edges.len()];
    for (e, &(from, _)) in edges.iter().enumerate() {
        if !back[e] {
            rank[e] = out_degree[from];
            out_degree[from] += 1;
        }
    }
    let mut segments = Vec::new();
    for (e, chain) in chains.iter().enumerate() {
        if back[e] {
            continue;
        }
        let degree = out_degree[edges[e].0];
        let port = if degree > 1 {
            rank[e] as f64 / (degree - 1) as f64 - 0.5
        } else {
            0.0
        };
        for (i, pair) in chain.windows(2).enumerate() {
            segments.push(Segment {
                upper: pair[0],
                lower: pair[1],
                // Only the first piece leaves a port; further down the edge is a line.
                port: if i == 0 { port } else { 0.0 },
            });
        }
    }
    segments
}

/// Left-to-right order in each layer: start from the walk's preorder, then alternate
/// downward and upward barycenter sweeps, keeping the order with the fewest crossings.
fn order(
    vertices: &[Vertex],
    vertex_layer: &[usize],
    layers: usize,
    segments: &[Segment],
    preorder: &[usize],
) -> Vec<Vec<usize>> {
    // Dummies sort just after the node their edge comes from.
    let tie = |v: usize| match vertices[v] {
        Vertex::Node(i) => (preorder[i], 0, v),
        Vertex::Dummy { .. } => (usize::MAX, 1, v),
    };
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); layers];
    for v in 0..vertices.len() {
        rows[vertex_layer[v]].push(v);
    }
    rows.iter_mut().for_each(|row| row.sort_by_key(|&v| tie(v)));
    let mut pos = positions(&rows, vertices.len());
    let mut up: Vec<Vec<(usize, f64)>> = vec![Vec::new(); vertices.len()];
    let mut down: Vec<Vec<(usize, f64)>> = vec![Vec::new(); vertices.len()];
    for s in segments {
        up[s.lower].push((s.upper, s.port));
        down[s.upper].push((s.lower, s.port));
    }
    // First pass: each layer follows the one above it, so the initial order is already sane.
    sweep(&mut rows, &mut pos, 1..layers, &up, 0.2);
    let mut best = (crossings(segments, &pos, vertex_layer), rows.clone());
    for round in 0..ORDER_SWEEPS {
        if best.0 == 0 {
            break;
        }
        if round % 2 == 0 {
            sweep(
                &mut rows,
                &mut pos,
                (0..layers.saturating_sub(1)).rev(),
                &down,
                0.0,
            );
        } else {
            sweep(&mut rows, &mut pos, 1..layers, &up, 0.2);
        }
        let count = crossings(segments, &pos, vertex_layer);
        if count < best.0 {
            best = (count, rows.clone());
        }
    }
    best.1
}

/// Re-sorts each layer of `layers` by the mean position of its neighbours in `neighbours`
/// (a port shifts that position by up to `port_weight`, so `yes` goes left of `no`); a vertex
/// with no such neighbour keeps its place.
fn sweep(
    rows: &mut [Vec<usize>],
    pos: &mut [usize],
    layers: impl Iterator<Item = usize>,
    neighbours: &[Vec<(usize, f64)>],
    port_weight: f64,
) {
    for l in layers {
        let mut keyed: Vec<(f64, usize, usize)> = rows[l]
            .iter()
            .map(|&v| {
                let near = &neighbours[v];
                let key = if near.is_empty() {
                    pos[v] as f64
                } else {
                    near.iter()
                        .map(|&(u, port)| pos[u] as f64 + port * port_weight)
                        .sum::<f64>()
                        / near.len() as f64
                };
                (key, pos[v], v)
            })
            .collect();
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        rows[l] = keyed.into_iter().map(|(_, _, v)| v).collect();
        for (i, &v) in rows[l].iter().enumerate() {
            pos[v] = i;
        }
    }
}

fn positions(rows: &[Vec<usize>], count: usize) -> Vec<usize> {
    let mut pos = vec![0; count];
    for row in rows {
        for (i, &v) in row.iter().enumerate() {
            pos[v] = i;
        }
    }
    pos
}

/// Pairs of segments between the same two layers that cross. Segments sharing an end are
/// drawn from separate ports sorted by direction, so they never cross.
pub(crate) fn crossings(segments: &[Segment], pos: &[usize], vertex_layer: &[usize]) -> usize {
    let layers = vertex_layer.iter().max().map_or(0, |&m| m + 1);
    let mut by_layer: Vec<Vec<&Segment>> = vec![Vec::new(); layers];
    for s in segments {
        by_layer[vertex_layer[s.upper]].push(s);
    }
    let mut count = 0;
    for group in &by_layer {
        for (i, a) in group.iter().enumerate() {
            for b in &group[i + 1..] {
                if a.upper == b.upper || a.lower == b.lower {
                    continue;
                }
                let above = pos[a.upper].cmp(&pos[b.upper]);
                let below = pos[a.lower].cmp(&pos[b.lower]);
                if above != below {
                    count += 1;
                }
            }
        }
    }
    count
}

/// x of each vertex's centre. Each round moves every layer towards its neighbours above (then
/// below): the positions nearest (least squares) to the neighbours' mean that keep the order
/// and the gaps, found exactly by pool-adjacent-violators on the gap-adjusted targets.
fn place(rows: &[Vec<usize>], segments: &[Segment], vertices: &[Vertex]) -> Vec<f64> {
    let mut up: Vec<Vec<usize>> = vec![Vec::new(); vertices.len()];
    let mut down: Vec<Vec<usize>> = vec![Vec::new(); vertices.len()];
    for s in segments {
        up[s.lower].push(s.upper);
        down[s.upper].push(s.lower);
    }
    // offsets[l][i]: where row l's i-th centre sits when the row is packed from 0.
    let offsets: Vec<Vec<f64>> = rows
        .iter()
        .map(|row| {
            let mut at = 0.0;
            let mut out = Vec::with_capacity(row.len());
            for (i, &v) in row.iter().enumerate() {
                if i > 0 {
                    at += gap(vertices[row[i - 1]], vertices[v]);
                }
                out.push(at);
            }
            out
        })
        .collect();
    let mut x = vec![0.0; vertices.len()];
    for (row, off) in rows.iter().zip(&offsets) {
        let half = off.last().copied().unwrap_or(0.0) / 2.0;
        for (&v, &o) in row.iter().zip(off) {
            x[v] = o - half;
        }
    }
    let layers = rows.len();
    for _ in 0..PLACE_ROUNDS {
        for l in (0..layers.saturating_sub(1)).rev() {
            align(&rows[l], &offsets[l], &down, vertices, &mut x);
        }
        // Downward last, so a chain of nodes hangs straight below its head.
        for l in 1..layers {
            align(&rows[l], &offsets[l], &up, vertices, &mut x);
        }
    }
    let left = rows
        .iter()
        .flatten()
        .map(|&v| x[v] - width(vertices[v]) / 2.0)
        .fold(f64::INFINITY, f64::min);
    if left.is_finite() {
        x.iter_mut().for_each(|xi| *xi -= left);
    }
    x
}

fn width(v: Vertex) -> f64 {
    match v {
        Vertex::Node(_) => NODE_W,
        Vertex::Dummy { .. } => DUMMY_W,
    }
}

fn gap(a: Vertex, b: Vertex) -> f64 {
    let both_nodes = matches!((a, b), (Vertex::Node(_), Vertex::Node(_)));
    (width(a) + width(b)) / 2.0 + if both_nodes { GAP_NODES } else { GAP_DUMMY }
}

fn align(row: &[usize], offsets: &[f64], near: &[Vec<usize>], vertices: &[Vertex], x: &mut [f64]) {
    // (target of the gap-free coordinate, weight)
    let wanted: Vec<(f64, f64)> = row
        .iter()
        .zip(offsets)
        .map(|(&v, &off)| {
            let (sum, count) = near[v]
                .iter()
                .fold((0.0, 0usize), |(s, c), &u| (s + x[u], c + 1));
            let straight = if matches!(vertices[v], Vertex::Dummy { .. }) {
                2.0
            } else {
                1.0
            };
            if count == 0 {
                // Nothing pulls it: stay, but give way easily.
                (x[v] - off, 0.1)
            } else {
                (sum / count as f64 - off, straight * count as f64)
            }
        })
        .collect();
    for ((&v, &off), y) in row.iter().zip(offsets).zip(isotonic(&wanted)) {
        x[v] = y + off;
    }
}

/// Weighted least-squares fit of a non-decreasing sequence to `(target, weight)` pairs
/// (pool adjacent violators).
pub(crate) fn isotonic(wanted: &[(f64, f64)]) -> Vec<f64> {
    // (sum of weight × target, sum of weight, how many)
    let mut blocks: Vec<(f64, f64, usize)> = Vec::with_capacity(wanted.len());
    for &(t, w) in wanted {
        blocks.push((t * w, w, 1));
        while blocks.len() > 1 {
            let (s1, w1, _) = blocks[blocks.len() - 1];
            let (s0, w0, _) = blocks[blocks.len() - 2];
            if s0 / w0 <= s1 / w1 {
                break;
            }
            let (s, w, c) = blocks.pop().unwrap_or((0.0, 1.0, 0));
            if let Some(prev) = blocks.last_mut() {
                prev.0 += s;
                prev.1 += w;
                prev.2 += c;
            }
        }
    }
    blocks
        .into_iter()
        .flat_map(|(s, w, c)| std::iter::repeat_n(s / w, c))
        .collect()
}
