//! The roll-back plan of `s3.restore_to_time`, shared by every provider: what each key
//! needs so that its current content is its newest version at or before `time`.

use std::collections::BTreeMap;

use crate::runbook::time::Timestamp;

/// One version or delete marker of a key, as a listing reports it.
#[derive(Debug, Clone)]
pub struct Ver {
    pub id: String,
    pub time: Timestamp,
    pub etag: String,
    pub marker: bool,
    pub size: u64,
}

#[derive(Debug, Clone)]
pub enum Todo {
    /// Copy this (chosen) version on top.
    Copy(Ver),
    /// Only deleted after `time`: remove these delete markers (every version stays).
    Undelete(Vec<String>),
    /// Created after `time`: kept and reported (regulated data is never quietly lost).
    Newer,
    /// Created after `time`, and `delete_newer` was asked for: a delete marker on top.
    DeleteNewer,
}

pub struct Plan {
    pub todo: Vec<(String, Todo)>,
    /// The newest version brought back: the recovery point.
    pub newest: Option<Timestamp>,
}

impl Plan {
    pub fn count(&self, f: fn(&Todo) -> bool) -> u64 {
        self.todo.iter().filter(|(_, t)| f(t)).count() as u64
    }
    /// Bytes the roll-back copies.
    pub fn bytes(&self) -> u64 {
        self.todo.iter().map(|(_, t)| if let Todo::Copy(v) = t { v.size } else { 0 }).sum()
    }

    /// The plan as the operator sees it before anything changes: counts and bytes.
    pub fn describe(&self, bucket: &str, prefix: &str, time: &str, dry_run: bool) -> String {
        format!(
            "plan for s3://{bucket}/{prefix}: {} to roll back, {} to undelete, {} created after {time}; {} to copy{}",
            self.count(|t| matches!(t, Todo::Copy(_))),
            self.count(|t| matches!(t, Todo::Undelete(_))),
            self.count(|t| matches!(t, Todo::Newer | Todo::DeleteNewer)),
            human_bytes(self.bytes()),
            if dry_run { " (dry run: nothing changes)" } else { "" }
        )
    }

    /// Keys created after the time and kept.
    pub fn newer(&self) -> Vec<String> {
        self.todo.iter().filter(|(_, t)| matches!(t, Todo::Newer)).map(|(k, _)| k.clone()).collect()
    }
}

/// `8.2 MB`, `4.0 KiB`… in the units people read (powers of 1024).
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let (mut v, mut u) = (n as f64, 0);
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 { format!("{n} B") } else { format!("{v:.1} {}", UNITS[u]) }
}

/// Versions per key must be oldest first. A key whose current content already equals
/// the chosen version's (also after an interrupted run) costs nothing.
pub fn restore_plan(keys: &BTreeMap<String, Vec<Ver>>, time: Timestamp, delete_newer: bool) -> Plan {
    let newer = if delete_newer { Todo::DeleteNewer } else { Todo::Newer };
    let mut todo = Vec::new();
    let mut newest: Option<Timestamp> = None;
    for (key, vs) in keys {
        let Some(current) = vs.last() else { continue };
        match vs.iter().rev().find(|v| v.time <= time) {
            // Gone at `time`: whatever is there now was created after it.
            Some(c) if c.marker && !current.marker => todo.push((key.clone(), newer.clone())),
            Some(c) if c.marker => {}
            Some(c) => {
                newest = newest.max(Some(c.time));
                if !current.marker && current.etag == c.etag {
                    continue;
                }
                let after: Vec<&Ver> = vs.iter().filter(|v| v.time > c.time).collect();
                if after.iter().all(|v| v.marker) {
                    todo.push((key.clone(), Todo::Undelete(after.iter().map(|v| v.id.clone()).collect())));
                } else {
                    todo.push((key.clone(), Todo::Copy(c.clone())));
                }
            }
            None if !current.marker => todo.push((key.clone(), newer.clone())),
            None => {}
        }
    }
    Plan { todo, newest }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(id: &str, t: i64, etag: &str, marker: bool) -> Ver {
        Ver { id: id.into(), time: Timestamp::from_second(t).unwrap(), etag: etag.into(), marker, size: 10 }
    }

    #[test]
    fn every_case_of_a_key() {
        let keys: BTreeMap<String, Vec<Ver>> = [
            ("untouched", vec![v("1", 10, "a", false)]),
            ("overwritten", vec![v("1", 10, "a", false), v("2", 30, "x", false)]),
            ("deleted", vec![v("1", 10, "a", false), v("m", 30, "", true)]),
            ("overwritten-then-deleted", vec![v("1", 10, "a", false), v("2", 25, "x", false), v("m", 30, "", true)]),
            ("created-after", vec![v("1", 30, "n", false)]),
            ("gone-before", vec![v("1", 5, "a", false), v("m", 8, "", true)]),
            ("already-restored", vec![v("1", 10, "a", false), v("2", 30, "x", false), v("3", 40, "a", false)]),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let plan = restore_plan(&keys, Timestamp::from_second(20).unwrap(), false);
        let got: Vec<String> = plan.todo.iter().map(|(k, t)| format!("{k}:{t:?}").chars().take(40).collect()).collect();
        assert_eq!(plan.todo.len(), 4, "{got:?}");
        assert!(matches!(&plan.todo[0], (k, Todo::Newer) if k == "created-after"));
        assert!(matches!(&plan.todo[1], (k, Todo::Undelete(m)) if k == "deleted" && m == &["m".to_string()]));
        assert!(matches!(&plan.todo[2], (k, Todo::Copy(c)) if k == "overwritten" && c.id == "1"));
        assert!(matches!(&plan.todo[3], (k, Todo::Copy(c)) if k == "overwritten-then-deleted" && c.id == "1"));
        assert_eq!(plan.newest, Some(Timestamp::from_second(10).unwrap()));
        assert_eq!(plan.bytes(), 20, "two copies of 10 bytes");
        assert!(matches!(
            restore_plan(&keys, Timestamp::from_second(20).unwrap(), true).todo[0],
            (_, Todo::DeleteNewer)
        ));
    }
}
