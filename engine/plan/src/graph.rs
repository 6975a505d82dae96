//! Graph algorithms over loaded ports: cycles (strongly connected
//! components, iteratively so a deep chain cannot overflow the stack) and
//! the dependencies-first order.
//!
//! Every kind of dependency is an edge: a port cannot be built before a
//! tool it builds with, nor installed usable before what it runs with.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use crate::error::PlanError;
use crate::port::Port;

/// Each port's dependencies among `ports` (names outside are ignored),
/// sorted, without repeats.
fn edges(ports: &BTreeMap<String, Arc<Port>>) -> BTreeMap<&str, Vec<&str>> {
    ports
        .iter()
        .map(|(name, port)| {
            let deps: BTreeSet<&str> = port
                .all_deps()
                .map(|(_, dep)| dep)
                .filter(|dep| ports.contains_key(*dep))
                .collect();
            (name.as_str(), deps.into_iter().collect())
        })
        .collect()
}

/// One [`PlanError::Cycle`] per strongly connected component with a cycle
/// (two ports or more, or a port depending on itself): the shortest circle
/// through the component's smallest name, at the line where that port
/// declares the next one.
pub(crate) fn cycles(ports: &BTreeMap<String, Arc<Port>>) -> Vec<PlanError> {
    let edges = edges(ports);
    let mut errors = Vec::new();
    for component in components(&edges) {
        let first = component[0];
        let self_loop = edges[first].contains(&first);
        if component.len() < 2 && !self_loop {
            continue;
        }
        let members: BTreeSet<&str> = component.iter().copied().collect();
        let cycle = shortest_circle(first, &edges, &members);
        let port = &ports[first];
        let (line, column) = port.first_declaration(cycle[1]);
        errors.push(PlanError::Cycle {
            cycle: cycle.iter().map(|s| (*s).to_owned()).collect(),
            portfile: port.portfile_path.clone(),
            line,
            column,
        });
    }
    errors
}

/// Tarjan's strongly connected components, without recursion. Each
/// component sorted; components in no particular order.
fn components<'a>(edges: &BTreeMap<&'a str, Vec<&'a str>>) -> Vec<Vec<&'a str>> {
    struct State {
        index: usize,
        low: usize,
        on_stack: bool,
    }
    let mut state: BTreeMap<&str, State> = BTreeMap::new();
    let mut stack: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    let mut next = 0;
    for &start in edges.keys() {
        if state.contains_key(start) {
            continue;
        }
        // (node, index of the next successor to visit)
        let mut call: Vec<(&str, usize)> = vec![(start, 0)];
        state.insert(
            start,
            State {
                index: next,
                low: next,
                on_stack: true,
            },
        );
        next += 1;
        stack.push(start);
        while let Some(&mut (v, ref mut i)) = call.last_mut() {
            if let Some(&w) = edges[v].get(*i) {
                *i += 1;
                match state.get(w) {
                    None => {
                        state.insert(
                            w,
                            State {
                                index: next,
                                low: next,
                                on_stack: true,
                            },
                        );
                        next += 1;
                        stack.push(w);
                        call.push((w, 0));
                    }
                    Some(s) if s.on_stack => {
                        let index = s.index;
                        let sv = state.get_mut(v).expect("visited");
                        sv.low = sv.low.min(index);
                    }
                    Some(_) => {}
                }
                continue;
            }
            call.pop();
            let (low, index) = {
                let s = &state[v];
                (s.low, s.index)
            };
            if let Some(&(u, _)) = call.last() {
                let su = state.get_mut(u).expect("visited");
                su.low = su.low.min(low);
            }
            if low == index {
                let mut component = Vec::new();
                loop {
                    let w = stack.pop().expect("v is on the stack");
                    state.get_mut(w).expect("visited").on_stack = false;
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                component.sort_unstable();
                out.push(component);
            }
        }
    }
    out
}

/// The shortest path `first -> ... -> first` inside `members` (breadth
/// first, successors by name, so the same tree always prints the same
/// circle).
fn shortest_circle<'a>(
    first: &'a str,
    edges: &BTreeMap<&'a str, Vec<&'a str>>,
    members: &BTreeSet<&'a str>,
) -> Vec<&'a str> {
    let mut parent: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = VecDeque::from([first]);
    while let Some(v) = queue.pop_front() {
        for &w in &edges[v] {
            if !members.contains(w) {
                continue;
            }
            if w == first {
                let mut path = vec![first, v];
                let mut at = v;
                while at != first {
                    at = parent[at];
                    path.push(at);
                }
                // path is first <- ... <- v <- first, reversed.
                path.reverse();
                return path;
            }
            if w != first && !parent.contains_key(w) {
                parent.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    unreachable!("a strongly connected component has a circle through each member")
}

/// Dependencies first; among ports whose dependencies are all placed, the
/// smallest name first. `None` when the ports hold a cycle.
pub(crate) fn order(ports: &BTreeMap<String, Arc<Port>>) -> Option<Vec<String>> {
    let edges = edges(ports);
    let mut waiting: BTreeMap<&str, usize> = edges.iter().map(|(k, v)| (*k, v.len())).collect();
    let mut dependents: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (port, deps) in &edges {
        for dep in deps {
            dependents.entry(dep).or_default().push(port);
        }
    }
    let mut ready: BTreeSet<&str> = waiting
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(k, _)| *k)
        .collect();
    let mut out = Vec::with_capacity(edges.len());
    while let Some(next) = ready.pop_first() {
        out.push(next.to_owned());
        for dependent in dependents.get(next).into_iter().flatten() {
            let n = waiting.get_mut(dependent).expect("a port");
            *n -= 1;
            if *n == 0 {
                ready.insert(dependent);
            }
        }
    }
    (out.len() == edges.len()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(
        pairs: &[(&'static str, &[&'static str])],
    ) -> BTreeMap<&'static str, Vec<&'static str>> {
        pairs.iter().map(|(k, v)| (*k, v.to_vec())).collect()
    }

    #[test]
    fn components_find_every_circle() {
        let g = graph(&[
            ("a", &["b"]),
            ("b", &["a", "c"]),
            ("c", &["d"]),
            ("d", &["c"]),
            ("e", &["a"]),
        ]);
        let mut found = components(&g);
        found.sort();
        assert_eq!(found, [vec!["a", "b"], vec!["c", "d"], vec!["e"]]);
        let members = ["a", "b"].into_iter().collect();
        assert_eq!(shortest_circle("a", &g, &members), ["a", "b", "a"]);
    }

    #[test]
    fn a_deep_chain_does_not_overflow() {
        let names: Vec<String> = (0..200_000).map(|i| format!("p{i:06}")).collect();
        let mut g: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (i, name) in names.iter().enumerate() {
            g.insert(
                name,
                names
                    .get(i + 1)
                    .map(|n| vec![n.as_str()])
                    .unwrap_or_default(),
            );
        }
        assert_eq!(components(&g).len(), names.len());
    }
}
