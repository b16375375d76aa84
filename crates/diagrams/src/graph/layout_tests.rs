//! The layout's phases on small graphs (layers, back edges, crossing reduction, placement),
//! and its invariants on random ones.

use proptest::prelude::*;

use super::*;

#[test]
fn layers_follow_the_longest_path() {
    // s → a → c, s → c, c → d: c sits below a, not beside it.
    let edges = [(0, 1), (1, 2), (0, 2), (2, 3)];
    let layout = Layout::new(4, &edges, Some(0));
    assert_eq!(layout.layer, [0, 1, 2, 3]);
    assert_eq!(layout.back, [false; 4]);
    // The long edge s → c crosses layer 1 as a dummy.
    assert_eq!(layout.chains[2].len(), 3);
    assert!(matches!(
        layout.vertices[layout.chains[2][1]],
        Vertex::Dummy { edge: 2 }
    ));
}

#[test]
fn a_cycle_through_a_wait_has_one_back_edge_into_the_loop_head() {
    // welcome → pause(wait) → check → nudge → pause; check → done.
    let edges = [(0, 1), (1, 2), (2, 4), (2, 3), (3, 1)];
    let (back, preorder) = find_back_edges(5, &edges, Some(0));
    assert_eq!(back, [false, false, false, false, true]);
    assert_eq!(preorder[0], 0);
    let layout = Layout::new(5, &edges, Some(0));
    assert_eq!(layout.layer, [0, 1, 2, 3, 3]);
    assert!(layout.lane[4].is_some());
    assert!(layout.lane[..4].iter().all(Option::is_none));
    // The lane runs right of every box it passes.
    let lane = layout.lane[4].unwrap_or_default();
    assert!((0..5).all(|v| layout.x[v] + NODE_W / 2.0 < lane));
}

#[test]
fn the_walk_starts_at_the_start_not_at_node_zero() {
    // 0 → 1 → 0, start at 1: the edge into 1 closes the loop.
    let (back, _) = find_back_edges(2, &[(0, 1), (1, 0)], Some(1));
    assert_eq!(back, [true, false]);
    // A self-loop is a back edge whatever the start.
    let (back, _) = find_back_edges(1, &[(0, 0)], Some(0));
    assert_eq!(back, [true]);
}

#[test]
fn sweeps_undo_crossings_a_bad_first_order_makes() {
    // Top layer a b c, bottom layer x y z with a → z, b → y, c → x: in index order every
    // pair crosses.
    let vertices: Vec<Vertex> = (0..6).map(Vertex::Node).collect();
    let vertex_layer = [0, 0, 0, 1, 1, 1];
    let segments: Vec<Segment> = [(0, 5), (1, 4), (2, 3)]
        .into_iter()
        .map(|(upper, lower)| Segment {
            upper,
            lower,
            port: 0.0,
        })
        .collect();
    let index_order = positions(&[vec![0, 1, 2], vec![3, 4, 5]], 6);
    assert_eq!(crossings(&segments, &index_order, &vertex_layer), 3);
    let preorder = [0, 1, 2, 3, 4, 5];
    let rows = order(&vertices, &vertex_layer, 2, &segments, &preorder);
    let pos = positions(&rows, 6);
    assert_eq!(crossings(&segments, &pos, &vertex_layer), 0);
    assert_eq!(rows[1], [5, 4, 3]);
}

#[test]
fn yes_goes_left_of_no() {
    // A condition with two children: the first edge (yes) takes the left one.
    let layout = Layout::new(3, &[(0, 2), (0, 1)], Some(0));
    assert!(layout.x[2] < layout.x[1]);
    assert_eq!(layout.rows[1], [2, 1]);
}

#[test]
fn a_chain_hangs_straight_and_a_parent_centres_over_its_children() {
    let layout = Layout::new(3, &[(0, 1), (1, 2)], Some(0));
    assert!((layout.x[0] - layout.x[1]).abs() < 0.5 && (layout.x[1] - layout.x[2]).abs() < 0.5);
    let fork = Layout::new(3, &[(0, 1), (0, 2)], Some(0));
    let mid = (fork.x[1] + fork.x[2]) / 2.0;
    assert!((fork.x[0] - mid).abs() < 0.5, "{:?}", fork.x);
}

#[test]
fn isotonic_fit_pools_violators() {
    let fit = isotonic(&[(1.0, 1.0), (3.0, 1.0), (2.0, 1.0), (5.0, 1.0)]);
    assert_eq!(fit, [1.0, 2.5, 2.5, 5.0]);
    let weighted = isotonic(&[(4.0, 3.0), (0.0, 1.0)]);
    assert_eq!(weighted, [3.0, 3.0]);
}

fn graphs() -> impl Strategy<Value = (usize, Vec<(usize, usize)>, usize)> {
    (1usize..40).prop_flat_map(|n| {
        (
            Just(n),
            proptest::collection::vec((0..n, 0..n), 0..n * 2),
            0..n,
        )
    })
}

proptest! {
    #[test]
    fn any_graph_lays_out_consistently((n, edges, start) in graphs()) {
        let layout = Layout::new(n, &edges, Some(start));
        // Every vertex in exactly one row, the row of its layer.
        let mut seen = vec![0; layout.vertices.len()];
        for (l, row) in layout.rows.iter().enumerate() {
            for &v in row {
                seen[v] += 1;
                prop_assert_eq!(layout.vertex_layer[v], l);
            }
        }
        prop_assert!(seen.iter().all(|&c| c == 1));
        // Forward edges point down; their chains step one layer at a time.
        for (e, &(from, to)) in edges.iter().enumerate() {
            if layout.back[e] {
                prop_assert!(layout.layer[to] <= layout.layer[from]);
                prop_assert!(layout.lane[e].is_some());
            } else {
                prop_assert!(layout.layer[to] > layout.layer[from]);
                for pair in layout.chains[e].windows(2) {
                    prop_assert_eq!(layout.vertex_layer[pair[1]], layout.vertex_layer[pair[0]] + 1);
                }
            }
        }
        // Nothing overlaps in a row, and everything is on the canvas.
        for row in &layout.rows {
            for pair in row.windows(2) {
                let need = gap(layout.vertices[pair[0]], layout.vertices[pair[1]]);
                prop_assert!(layout.x[pair[1]] - layout.x[pair[0]] >= need - 0.01);
            }
            for &v in row {
                prop_assert!(layout.x[v] - width(layout.vertices[v]) / 2.0 >= -0.01);
                prop_assert!(layout.x[v] + width(layout.vertices[v]) / 2.0 <= layout.width + 0.01);
            }
        }
        // When every node is reachable (any published journey), the start is on top; an
        // unreachable node of a draft that leads into it may sit above it.
        let mut reach = vec![false; n];
        reach[start] = true;
        let mut stack = vec![start];
        while let Some(v) = stack.pop() {
            for &(from, to) in &edges {
                if from == v && !reach[to] {
                    reach[to] = true;
                    stack.push(to);
                }
            }
        }
        if reach.iter().all(|&r| r) {
            prop_assert_eq!(layout.layer[start], 0);
        }
    }
}
