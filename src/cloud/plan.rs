//! The roll-back plan of `s3.restore_to_time`, shared by every provider: what each key
//! needs so that its current content is its newest version at or before `time`.

use std::collections::BTreeMap;

use crate::runbook::time::Timestamp;

/// One version or delete marker of a key, as a listing reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Ver {
    pub id: String,
    pub time: Timestamp,
    pub etag: String,
    pub marker: bool,
    pub size: u64,
}

/// The largest object an S3 Batch Operations `PutObjectCopy` copies (a single CopyObject).
pub const MAX_BATCH_COPY: u64 = 5 * 1024 * 1024 * 1024;

impl Ver {
    /// Whether a Batch job may copy this version: whole, so neither too big for one
    /// CopyObject nor stored in parts (a whole copy would change its ETag).
    pub fn batch_copies(&self) -> bool {
        self.size <= MAX_BATCH_COPY && !self.etag.contains('-')
    }
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

/// What the roll-back must do: the decisions not yet taken away (to the manifest, a
/// page at a time), and the counts of all of them.
pub struct Plan {
    pub todo: Vec<(String, Todo)>,
    /// The newest version brought back: the recovery point.
    pub newest: Option<Timestamp>,
    pub tally: Tally,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    pub copies: u64,
    pub undeletes: u64,
    /// Keys created after the time (kept, or given a delete marker when asked).
    pub newer: u64,
    /// Bytes the roll-back copies.
    pub bytes: u64,
    /// Of the copies, those an S3 Batch job may make (the rest this machine copies).
    pub batch_copies: u64,
    /// The first of the newer keys, for the outputs (all are counted).
    pub newer_keys: Vec<String>,
}

/// Newer keys named in the outputs; the rest are counted.
const NEWER_NAMED: usize = 20;

impl Tally {
    fn add(&mut self, key: &str, t: &Todo) {
        match t {
            Todo::Copy(v) => {
                self.copies += 1;
                self.bytes += v.size;
                self.batch_copies += u64::from(v.batch_copies());
            }
            Todo::Undelete(_) => self.undeletes += 1,
            Todo::Newer | Todo::DeleteNewer => {
                self.newer += 1;
                if self.newer_keys.len() < NEWER_NAMED && matches!(t, Todo::Newer) {
                    self.newer_keys.push(key.to_string());
                }
            }
        }
    }

    pub fn merge(&mut self, o: Tally) {
        self.copies += o.copies;
        self.undeletes += o.undeletes;
        self.newer += o.newer;
        self.bytes += o.bytes;
        self.batch_copies += o.batch_copies;
        self.newer_keys.extend(o.newer_keys);
        self.newer_keys.sort();
        self.newer_keys.truncate(NEWER_NAMED);
    }

    /// Objects the roll-back changes.
    pub fn changes(&self, delete_newer: bool) -> u64 {
        self.copies + self.undeletes + if delete_newer { self.newer } else { 0 }
    }

    /// The plan as the operator sees it before anything changes: counts and bytes.
    pub fn describe(&self, bucket: &str, prefix: &str, time: &str, dry_run: bool) -> String {
        format!(
            "plan for s3://{bucket}/{prefix}: {} to roll back, {} to undelete, {} created after {time}; {} to copy{}",
            self.copies,
            self.undeletes,
            self.newer,
            human_bytes(self.bytes),
            if dry_run { " (dry run: nothing changes)" } else { "" }
        )
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
    let mut plan = Plan::new();
    for (key, vs) in keys {
        plan.add(key, vs, time, delete_newer);
    }
    plan
}

impl Plan {
    pub fn new() -> Plan {
        Plan { todo: Vec::new(), newest: None, tally: Tally::default() }
    }

    fn push(&mut self, key: &str, t: Todo) {
        self.tally.add(key, &t);
        self.todo.push((key.to_string(), t));
    }

    /// Decides one key from all its versions, oldest first.
    fn add(&mut self, key: &str, vs: &[Ver], time: Timestamp, delete_newer: bool) {
        let newer = if delete_newer { Todo::DeleteNewer } else { Todo::Newer };
        let Some(current) = vs.last() else { return };
        match vs.iter().rev().find(|v| v.time <= time) {
            // Gone at `time`: whatever is there now was created after it.
            Some(c) if c.marker && !current.marker => self.push(key, newer),
            Some(c) if c.marker => {}
            Some(c) => {
                self.newest = self.newest.max(Some(c.time));
                if !current.marker && current.etag == c.etag {
                    return;
                }
                let after: Vec<&Ver> = vs.iter().filter(|v| v.time > c.time).collect();
                if after.iter().all(|v| v.marker) {
                    self.push(key, Todo::Undelete(after.iter().map(|v| v.id.clone()).collect()));
                } else {
                    self.push(key, Todo::Copy(c.clone()));
                }
            }
            None if !current.marker => self.push(key, newer),
            None => {}
        }
    }
}

impl Default for Plan {
    fn default() -> Self {
        Plan::new()
    }
}

/// Decides each key as soon as the listing has passed it, so what is held is one key's
/// versions, not the bucket's: S3 lists keys in order and a key's versions together
/// (a page may split them, never reorder them).
pub struct Planner {
    time: Timestamp,
    delete_newer: bool,
    key: Option<String>,
    /// The current key's versions, with S3's IsLatest.
    held: Vec<(Ver, bool)>,
    /// The last key decided.
    last: Option<String>,
    pub plan: Plan,
}

/// A listing that broke S3's order: deciding on it could restore the wrong version.
#[derive(Debug, thiserror::Error)]
#[error("the listing went back from `{after}` to `{key}`: a key's versions were not listed together")]
pub struct OutOfOrder {
    pub key: String,
    pub after: String,
}

impl Planner {
    pub fn new(time: Timestamp, delete_newer: bool) -> Planner {
        Planner { time, delete_newer, key: None, held: Vec::new(), last: None, plan: Plan::new() }
    }

    /// One page's entries, in the page's order (versions of a key together; S3 gives
    /// versions and delete markers as two lists, which the caller sorts by key first).
    pub fn push(&mut self, key: &str, v: Ver, latest: bool) -> Result<(), OutOfOrder> {
        match self.key.as_deref() {
            Some(k) if k == key => {}
            Some(k) if k > key => return Err(OutOfOrder { key: key.into(), after: k.into() }),
            None if self.last.as_deref().is_some_and(|l| l >= key) => {
                return Err(OutOfOrder { key: key.into(), after: self.last.clone().unwrap_or_default() });
            }
            _ => {
                self.flush();
                self.key = Some(key.to_string());
            }
        }
        self.held.push((v, latest));
        Ok(())
    }

    /// Decides the key held (the listing is over).
    pub fn flush(&mut self) {
        let Some(key) = self.key.take() else { return };
        let mut vs = std::mem::take(&mut self.held);
        // Oldest first; within one second, the current version last.
        vs.sort_by_key(|(v, latest)| (v.time, *latest));
        let vs: Vec<Ver> = vs.into_iter().map(|(v, _)| v).collect();
        self.plan.add(&key, &vs, self.time, self.delete_newer);
        self.last = Some(key);
    }

    /// Stops where the listing stands, once a key is decided: the key whose versions may
    /// not all have been listed is dropped undecided (another cursor lists it whole).
    /// Returns the last key decided and the one dropped — no key lies between them, which
    /// tells how much of the levels above the last is left; with none decided, nothing is
    /// dropped.
    pub fn abandon(&mut self) -> Option<(String, Option<String>)> {
        let last = self.last.clone()?;
        self.held.clear();
        Some((last, self.key.take()))
    }

    pub fn finish(mut self) -> Plan {
        self.flush();
        self.plan
    }
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
        assert_eq!(plan.tally.bytes, 20, "two copies of 10 bytes");
        assert_eq!((plan.tally.copies, plan.tally.undeletes, plan.tally.newer), (2, 1, 1));
        assert_eq!(plan.tally.newer_keys, ["created-after"]);
        assert!(matches!(
            restore_plan(&keys, Timestamp::from_second(20).unwrap(), true).todo[0],
            (_, Todo::DeleteNewer)
        ));
    }

    /// The count a Batch roll-back confirms its job against is kept while planning: only
    /// copies of whole objects of at most 5 GiB are the job's.
    #[test]
    fn the_tally_counts_the_copies_a_batch_job_may_make() {
        let big = Ver { size: MAX_BATCH_COPY + 1, ..v("1", 10, "b", false) };
        let keys: BTreeMap<String, Vec<Ver>> = [
            ("whole", vec![v("1", 10, "a", false), v("2", 30, "x", false)]),
            ("in-parts", vec![v("1", 10, "0123-4", false), v("2", 30, "x", false)]),
            ("too-big", vec![big, v("2", 30, "x", false)]),
            ("at-the-limit", vec![Ver { size: MAX_BATCH_COPY, ..v("1", 10, "c", false) }, v("2", 30, "x", false)]),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let plan = restore_plan(&keys, Timestamp::from_second(20).unwrap(), false);
        assert_eq!((plan.tally.copies, plan.tally.batch_copies), (4, 2));
        let mut both = plan.tally.clone();
        both.merge(plan.tally);
        assert_eq!(both.batch_copies, 4, "merged as the cursors' plans are");
    }

    #[test]
    fn the_planner_decides_as_the_listing_passes_and_equals_the_whole_plan() {
        let t = |s| Timestamp::from_second(s).unwrap();
        let listing = [
            ("a", v("2", 30, "x", false), true),
            ("a", v("1", 10, "a", false), false),
            ("b", v("m", 30, "", true), true),
            ("b", v("1", 10, "b", false), false),
            ("c", v("1", 30, "n", false), true),
        ];
        let mut p = Planner::new(t(20), false);
        for (k, ver, latest) in listing.iter().cloned() {
            p.push(k, ver, latest).unwrap();
            assert!(p.held.len() <= 2, "holds one key's versions only");
        }
        let got = p.finish();
        let mut whole: BTreeMap<String, Vec<Ver>> = BTreeMap::new();
        // S3 lists newest first; the whole plan takes each key's versions oldest first.
        for (k, ver, _) in listing {
            whole.entry(k.into()).or_default().insert(0, ver);
        }
        let want = restore_plan(&whole, t(20), false);
        assert_eq!(format!("{:?}", got.todo), format!("{:?}", want.todo));
        assert_eq!(got.newest, want.newest);
        let mut p = Planner::new(t(20), false);
        p.push("b", v("1", 10, "b", false), true).unwrap();
        assert!(p.push("a", v("1", 10, "a", false), true).is_err(), "a key before the last one is refused");
    }
}
