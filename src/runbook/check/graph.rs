//! The steps of a phase as a graph: `needs` written or implied, cycles, reachability.

use super::*;

/// For each step of a phase, the indexes of the steps it needs (written or implied).
pub(super) fn step_needs(cx: &mut Cx, p: &raw::Phase, all: &[raw::Phase]) -> Vec<Vec<usize>> {
    let steps = p.steps.as_deref().unwrap_or_default();
    let index: HashMap<&str, usize> =
        steps.iter().enumerate().filter_map(|(i, s)| Some((s.id.as_ref()?.as_str(), i))).collect();
    steps
        .iter()
        .enumerate()
        .map(|(i, s)| match &s.needs {
            None if i > 0 => vec![i - 1],
            None => Vec::new(),
            Some(needs) => needs
                .iter()
                .filter_map(|n| {
                    if let Some(&j) = index.get(n.as_str()) {
                        return Some(j);
                    }
                    let other = all
                        .iter()
                        .find(|q| q.steps.iter().flatten().any(|s| s.id.as_ref().is_some_and(|x| x.value == n.value)));
                    match other {
                        Some(q) => cx.push(
                            Diag::new(
                                Kind::NeedOtherPhase {
                                    step: n.value.clone(),
                                    phase: q.id.as_ref().map(|x| x.value.clone()).unwrap_or_default(),
                                },
                                n.span,
                            )
                            .help("phases run one after another; `needs` orders steps within a phase"),
                        ),
                        None => {
                            let mut d = Diag::new(Kind::UnknownNeed(clip(n)), n.span);
                            if let Some(s) = suggest(n, index.keys().copied()) {
                                d = d.label(format!("did you mean `{s}`?"));
                            }
                            cx.push(d);
                        }
                    }
                    None
                })
                .collect(),
        })
        .collect()
}

/// Every step's transitive prerequisites; a cycle is reported (once) and broken.
pub(super) fn check_cycles(cx: &mut Cx, steps: &[raw::Step], needs: &[Vec<usize>]) {
    let n = steps.len();
    // 0 = unvisited, 1 = on the stack, 2 = done
    let mut state = vec![0u8; n];
    let name = |i: usize| steps[i].id.as_ref().map(|x| x.value.clone()).unwrap_or_else(|| format!("#{}", i + 1));
    let mut reported = false;
    for root in 0..n {
        if state[root] != 0 {
            continue;
        }
        // Iterative DFS: (node, next edge index).
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        state[root] = 1;
        while let Some(&mut (v, ref mut e)) = stack.last_mut() {
            if let Some(&w) = needs[v].get(*e) {
                *e += 1;
                match state[w] {
                    0 => {
                        state[w] = 1;
                        stack.push((w, 0));
                    }
                    1 if !reported => {
                        reported = true;
                        let pos = stack.iter().position(|(x, _)| *x == w).unwrap_or(0);
                        let mut cycle: Vec<String> =
                            stack[pos..].iter().map(|(x, _)| format!("`{}`", name(*x))).collect();
                        cycle.push(format!("`{}`", name(w)));
                        // Blame a `needs` that is written (implied ones have no place in the file).
                        let span = stack[pos..]
                            .iter()
                            .find_map(|(x, _)| steps[*x].needs.as_ref().map(|n| n.span))
                            .unwrap_or(steps[v].span);
                        cx.push(
                            Diag::new(Kind::Cycle(cycle.join(" needs ")), span)
                                .help("a step cannot wait, directly or not, for itself; remove one of these `needs`"),
                        );
                    }
                    _ => {}
                }
            } else {
                stack.pop();
                state[v] = 2;
            }
        }
    }
}

/// Whether step `from` waits, directly or not, for step `to` of the same phase: a walk
/// of the `needs` edges, asked only where an expression or a deletion needs it.
pub(super) fn reaches(needs: &[Vec<usize>], from: usize, to: usize) -> bool {
    let mut seen = vec![false; needs.len()];
    let mut stack = vec![from];
    while let Some(v) = stack.pop() {
        for &w in needs.get(v).into_iter().flatten() {
            if w == to {
                return true;
            }
            if !std::mem::replace(&mut seen[w], true) {
                stack.push(w);
            }
        }
    }
    false
}
