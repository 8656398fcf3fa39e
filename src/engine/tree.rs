//! A step's processes wherever they went. A process group is not enough: `setsid`
//! leaves it, and a double fork hands a daemon to init, so killing the group told the
//! log "killed" while `sleep` went on. The step's first process is made a child
//! subreaper (`PR_SET_CHILD_SUBREAPER`): whatever its command leaves behind is
//! re-parented to it, never to init, so every process the step started stays a
//! descendant of it, and is found (by walking `/proc`) and killed with the step.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// A process as `/proc` shows it: its id, its parent, whether it is alive (not a
/// zombie), and its start time (to tell it from a later process reusing the id).
#[derive(Clone, Copy)]
struct Proc {
    pid: i32,
    ppid: i32,
    alive: bool,
    start: u64,
}

fn stat(pid: i32) -> Option<Proc> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold anything: fields after the last `)`.
    let mut rest = text.get(text.rfind(')')? + 1..)?.split_whitespace();
    let state = rest.next()?;
    let ppid = rest.next()?.parse().ok()?;
    let start = rest.nth(17)?.parse().ok()?;
    Some(Proc { pid, ppid, alive: !matches!(state, "Z" | "X" | "x"), start })
}

/// A process's start time in clock ticks since boot (with the boot, what tells it from a
/// later process that reuses its id).
pub fn start_ticks(pid: i32) -> Option<u64> {
    stat(pid).map(|p| p.start)
}

/// Every live descendant of `root` (not `root` itself). Walks the subtree through each
/// thread's `children` file (a handful of reads for a step's few processes); a kernel
/// without it gets the whole of `/proc` read instead.
fn descendants(root: i32) -> Vec<Proc> {
    match children_of(root) {
        Some(first) => {
            let mut out = Vec::new();
            let mut todo = first;
            while let Some(pid) = todo.pop() {
                let Some(p) = stat(pid) else { continue };
                todo.extend(children_of(pid).unwrap_or_default());
                if p.alive {
                    out.push(p);
                }
            }
            out
        }
        None => descendants_by_scan(root),
    }
}

/// The children of every thread of `pid`; `None` when the kernel keeps no such file.
fn children_of(pid: i32) -> Option<Vec<i32>> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut out = Vec::new();
    let mut any = false;
    for t in tasks.flatten() {
        if let Ok(text) = std::fs::read_to_string(t.path().join("children")) {
            any = true;
            out.extend(text.split_whitespace().filter_map(|n| n.parse::<i32>().ok()));
        }
    }
    any.then_some(out)
}

fn descendants_by_scan(root: i32) -> Vec<Proc> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    let mut children: HashMap<i32, Vec<Proc>> = HashMap::new();
    for entry in dir.flatten() {
        if let Some(p) = entry.file_name().to_str().and_then(|n| n.parse().ok()).and_then(stat) {
            children.entry(p.ppid).or_default().push(p);
        }
    }
    let mut out = Vec::new();
    let mut todo = vec![root];
    while let Some(pid) = todo.pop() {
        for c in children.get(&pid).into_iter().flatten() {
            todo.push(c.pid);
            if c.alive {
                out.push(*c);
            }
        }
    }
    out
}

/// What killing a step's leftovers came to: only what was seen gone counts as killed.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Killed {
    /// Processes that were alive, were sent SIGKILL, and were then seen gone.
    pub killed: usize,
    /// Still alive after a second of SIGKILLs (stuck in the kernel, or another user's).
    pub survivors: Vec<u32>,
}

/// Kills every descendant of `root` (its subreaper) until none is left or a second has
/// passed; kills repeat, so a process forked meanwhile goes too.
pub fn kill_descendants(root: i32) -> Killed {
    let deadline = Instant::now() + Duration::from_secs(1);
    let mut sent: HashSet<(i32, u64)> = HashSet::new();
    loop {
        let live = descendants(root);
        if live.is_empty() {
            return Killed { killed: sent.len(), survivors: Vec::new() };
        }
        if Instant::now() >= deadline {
            let stuck: HashSet<(i32, u64)> = live.iter().map(|p| (p.pid, p.start)).collect();
            return Killed {
                killed: sent.difference(&stuck).count(),
                survivors: live.iter().map(|p| p.pid as u32).collect(),
            };
        }
        for p in &live {
            // SAFETY: kill only sends a signal, to a process just found under `root`.
            unsafe {
                libc::kill(p.pid, libc::SIGKILL);
            }
            sent.insert((p.pid, p.start));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The live descendants of `root` now, each with its start time.
pub fn snapshot(root: i32) -> Vec<(i32, u64)> {
    descendants(root).iter().map(|p| (p.pid, p.start)).collect()
}

/// SIGKILL to each listed process that is still the same process (same start time).
pub fn kill_listed(list: &[(i32, u64)]) {
    for &(pid, start) in list {
        if stat(pid).is_some_and(|p| p.alive && p.start == start) {
            // SAFETY: kill only sends a signal, to the process identified just above.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}

/// Makes the calling process a child subreaper. For `pre_exec`: async-signal-safe (one
/// system call) and kept across `execve`.
pub fn become_subreaper() -> std::io::Result<()> {
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER only sets a flag on the calling process.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
