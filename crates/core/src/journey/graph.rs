//! The structural half of J2 on a journey's nodes: ids, edges, reachability and wait-free
//! cycles. Iterative throughout, so a huge user-supplied graph cannot overflow the stack.

use std::collections::{HashMap, VecDeque};

use super::definition::Node;
use crate::error::ValidationErrors;

/// Nodes indexed by id. Edges lead to the first node of an id; a repeated or empty id has
/// already been reported, so later checks skip such nodes rather than report them again.
pub(super) struct Graph<'a> {
    nodes: &'a [Node],
    index: HashMap<&'a str, usize>,
    valid_id: Vec<bool>,
    /// `edges[i]`: indices `nodes[i]` leads to (targets that exist only).
    edges: Vec<Vec<usize>>,
}

impl<'a> Graph<'a> {
    /// Indexes the nodes, reporting empty and repeated ids.
    pub(super) fn new(nodes: &'a [Node], errors: &mut ValidationErrors) -> Self {
        let mut index = HashMap::with_capacity(nodes.len());
        let mut valid_id = vec![true; nodes.len()];
        for (i, node) in nodes.iter().enumerate() {
            let id = node.id();
            if id.is_empty() {
                errors.push(format!("nodes[{i}].id"), "a node id must not be empty");
                valid_id[i] = false;
            } else if let Some(first) = index.get(id) {
                errors.push(
                    format!("nodes[{i}].id"),
                    format!("node id \"{id}\" is already used by nodes[{first}]"),
                );
                valid_id[i] = false;
            } else {
                index.insert(id, i);
            }
        }
        let edges = nodes
            .iter()
            .map(|n| {
                n.edges()
                    .into_iter()
                    .filter_map(|(_, id)| index.get(id).copied())
                    .collect()
            })
            .collect();
        Graph {
            nodes,
            index,
            valid_id,
            edges,
        }
    }

    /// Reports each edge of `nodes[i]` that leads nowhere.
    pub(super) fn check_edges(&self, i: usize, errors: &mut ValidationErrors) {
        let Some(node) = self.nodes.get(i) else {
            return;
        };
        for (field, target) in node.edges() {
            if !self.index.contains_key(target) {
                errors.push(
                    format!("nodes[{i}].{field}"),
                    format!(
                        "node \"{}\": {field} → \"{target}\" does not exist",
                        node.id()
                    ),
                );
            }
        }
    }

    /// Reports every node the walk from `start` can never reach (nothing when there is no
    /// such start: that is reported on its own, and every node would be unreachable).
    pub(super) fn check_reachable(&self, start: &str, errors: &mut ValidationErrors) {
        let Some(&start_index) = self.index.get(start) else {
            return;
        };
        let mut seen = vec![false; self.nodes.len()];
        seen[start_index] = true;
        let mut queue = VecDeque::from([start_index]);
        while let Some(i) = queue.pop_front() {
            for &j in &self.edges[i] {
                if !seen[j] {
                    seen[j] = true;
                    queue.push_back(j);
                }
            }
        }
        for (i, node) in self.nodes.iter().enumerate() {
            if !seen[i] && self.valid_id[i] {
                errors.push(
                    format!("nodes[{i}]"),
                    format!(
                        "node \"{}\" is not reachable from start \"{start}\"",
                        node.id()
                    ),
                );
            }
        }
    }

    /// Reports each cycle that no wait node breaks, once per strongly connected group of
    /// nodes, at the group's first node.
    pub(super) fn check_cycles(&self, errors: &mut ValidationErrors) {
        // A wait until a fixed time does not count: once that time has passed, the cycle spins.
        let delays = |i: usize| self.nodes[i].always_delays();
        let edges: Vec<Vec<usize>> = self
            .edges
            .iter()
            .enumerate()
            .map(|(i, out)| {
                if delays(i) {
                    Vec::new()
                } else {
                    out.iter().copied().filter(|&j| !delays(j)).collect()
                }
            })
            .collect();
        let mut cycles: Vec<Vec<usize>> = strongly_connected(&edges)
            .into_iter()
            .filter(|group| group.len() > 1 || edges[group[0]].contains(&group[0]))
            .collect();
        for group in &mut cycles {
            group.sort_unstable();
        }
        cycles.sort_unstable();
        for group in cycles {
            let first = group[0];
            let path = cycle_through(first, &group, &edges);
            let names: Vec<&str> = path.iter().map(|&i| self.nodes[i].id()).collect();
            let until_note = if path
                .iter()
                .any(|&i| matches!(self.nodes[i], Node::Wait { .. }))
            {
                " (a wait until a fixed time stops holding once that time has passed)"
            } else {
                ""
            };
            errors.push(
                format!("nodes[{first}]"),
                format!(
                    "node \"{}\": the cycle {} passes through no wait node with a duration{until_note}",
                    self.nodes[first].id(),
                    names.join(" → "),
                ),
            );
        }
    }
}

/// Tarjan's algorithm with an explicit call stack.
fn strongly_connected(edges: &[Vec<usize>]) -> Vec<Vec<usize>> {
    const UNSEEN: usize = usize::MAX;
    let n = edges.len();
    let (mut order, mut low, mut on_stack) = (vec![UNSEEN; n], vec![0; n], vec![false; n]);
    let (mut stack, mut groups, mut counter) = (Vec::new(), Vec::new(), 0);
    for root in 0..n {
        if order[root] != UNSEEN {
            continue;
        }
        // (node, position of the next edge to follow)
        let mut calls = vec![(root, 0)];
        order[root] = counter;
        low[root] = counter;
        counter += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&(v, pos)) = calls.last() {
            if let Some(&w) = edges[v].get(pos) {
                if let Some(top) = calls.last_mut() {
                    top.1 += 1;
                }
                if order[w] == UNSEEN {
                    order[w] = counter;
                    low[w] = counter;
                    counter += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    calls.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(order[w]);
                }
                continue;
            }
            calls.pop();
            if let Some(&(parent, _)) = calls.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == order[v] {
                let mut group = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    group.push(w);
                    if w == v {
                        break;
                    }
                }
                groups.push(group);
            }
        }
    }
    groups
}

/// A shortest cycle from `start` back to itself inside `group`, as `[start, …, start]`.
fn cycle_through(start: usize, group: &[usize], edges: &[Vec<usize>]) -> Vec<usize> {
    let mut parent: HashMap<usize, usize> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(u) = queue.pop_front() {
        for &w in &edges[u] {
            if w == start {
                let mut path = vec![u];
                let mut at = u;
                while let Some(&p) = parent.get(&at) {
                    path.push(p);
                    at = p;
                }
                path.reverse();
                path.push(start);
                return path;
            }
            if group.binary_search(&w).is_ok() && !parent.contains_key(&w) {
                parent.insert(w, u);
                queue.push_back(w);
            }
        }
    }
    vec![start]
}
