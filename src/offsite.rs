//! The log's immutable copy, written as the run goes: each signed segment (the lines up
//! to a checkpoint or the seal) as its own object in the catalog's evidence bucket, then
//! `LOG.sig`. With S3 Object Lock in COMPLIANCE mode no one can delete or change what
//! was written, so a log deleted or cut on the operator's machine still stands there.
//! A failed write is shown and retried; it never stops the recovery.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::{mpsc, oneshot};

use crate::cloud::port::s3::{ObjRef, S3Api};
use crate::cloud::port::{Api, ApiError};
use crate::event::{Event, Record};

/// `s3://bucket/prefix/RUN_ID/`: where one run's copy goes.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    pub bucket: String,
    /// Ends in `/`.
    pub prefix: String,
}

impl Place {
    /// `s3://BUCKET/PREFIX/RUN` (a trailing `/` or not).
    pub fn parse(url: &str) -> Option<Place> {
        let rest = url.strip_prefix("s3://")?;
        let (bucket, prefix) = rest.split_once('/')?;
        let prefix = prefix.trim_matches('/');
        (!bucket.is_empty() && !prefix.is_empty())
            .then(|| Place { bucket: bucket.into(), prefix: format!("{prefix}/") })
    }
    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }
    fn segment(&self, n: u64) -> String {
        format!("{}segment-{n:06}.jsonl", self.prefix)
    }
    fn sig(&self) -> String {
        format!("{}log.sig", self.prefix)
    }
}

#[derive(Deserialize)]
struct Kind {
    #[serde(rename = "type")]
    kind: String,
}

/// Where the complete lines of `tail` that a signature covers end: after the last
/// `checkpoint` or `sealed` line (all complete lines when `all`).
fn signed_end(tail: &[u8], all: bool) -> usize {
    let mut end = 0;
    let mut at = 0;
    for line in tail.split_inclusive(|b| *b == b'\n') {
        if !line.ends_with(b"\n") {
            break;
        }
        at += line.len();
        let signed = serde_json::from_slice::<Kind>(line).is_ok_and(|k| k.kind == "checkpoint" || k.kind == "sealed");
        if all || signed {
            end = at;
        }
    }
    end
}

struct State {
    s3: Arc<dyn S3Api>,
    place: Place,
    log: PathBuf,
    /// Bytes of the log already in the bucket, and the next segment's number.
    offset: u64,
    next: u64,
    failing: bool,
}

impl State {
    /// Writes what is signed and not yet copied, as one segment. `Err` keeps it for the
    /// next try.
    async fn sync(&mut self, all: bool) -> Result<(), String> {
        let bytes = std::fs::read(&self.log).map_err(|e| format!("cannot read {}: {e}", self.log.display()))?;
        let tail = bytes.get(self.offset as usize..).unwrap_or_default();
        let end = signed_end(tail, all);
        if end == 0 {
            return Ok(());
        }
        let key = self.place.segment(self.next);
        self.s3.put_object(&self.place.bucket, &key, tail[..end].to_vec()).await.map_err(|e| e.to_string())?;
        self.offset += end as u64;
        self.next += 1;
        Ok(())
    }
}

/// Where an earlier copy of the same log (a resumed run) stopped: bytes and the next
/// segment's number; and a warning if the bucket does not hold it immutably.
async fn where_it_stands(s3: &dyn S3Api, place: &Place) -> Api<(u64, u64, Option<String>)> {
    let (mut offset, mut next, mut token) = (0u64, 1u64, None);
    loop {
        let page = s3.list_objects(&place.bucket, &place.prefix, token.take()).await?;
        for o in page.objects.iter().filter(|o| o.key.contains("segment-")) {
            offset += o.size;
            next += 1;
        }
        match page.next {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    let lock = s3.object_lock(&place.bucket).await?;
    let warning = (!lock.is_some_and(|l| l.starts_with("COMPLIANCE"))).then(|| {
        format!(
            "evidence bucket {} has no Object Lock in COMPLIANCE mode: its copy of this log can be deleted or changed",
            place.bucket
        )
    });
    Ok((offset, next, warning))
}

/// How long the end of a run keeps trying to write its log's last segment.
const FINISH_WITHIN: Duration = Duration::from_secs(30);

/// The copy of one run's log, kept up to date by a task of its own.
pub struct Copier {
    done: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Vec<String>>,
}

impl Copier {
    /// Picks up where an earlier copy of the same log (a resumed run) stopped. `warn` is
    /// how a failure is shown (a warning in the log, once until a write succeeds again).
    pub fn start(
        s3: Arc<dyn S3Api>,
        place: Place,
        log: PathBuf,
        mut records: mpsc::UnboundedReceiver<Record>,
        warn: Box<dyn Fn(String) + Send + Sync>,
    ) -> Copier {
        let (done, mut finish) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            // Nothing is said before the log's first line (its genesis) is written.
            if records.recv().await.is_none() {
                return vec![];
            }
            let (offset, next, lock) = match where_it_stands(s3.as_ref(), &place).await {
                Ok(x) => x,
                Err(e) => (0, 1, Some(format!("cannot read {} ({e}); copying from the start", place.url()))),
            };
            if let Some(w) = lock {
                warn(w);
            }
            let mut st = State { s3, place, log, offset, next, failing: false };
            let r = st.sync(false).await;
            if let Err(e) = &r {
                warn(format!("the log's copy to {} failed (retried as the run goes): {e}", st.place.url()));
                st.failing = true;
            }
            let shown = |st: &mut State, r: Result<(), String>| match r {
                Ok(()) => st.failing = false,
                Err(e) if !st.failing => {
                    st.failing = true;
                    warn(format!("the log's copy to {} failed (retried as the run goes): {e}", st.place.url()));
                }
                Err(_) => {}
            };
            loop {
                tokio::select! {
                    r = records.recv() => match r {
                        // The journal signs after these: only then is there a new segment
                        // (a long command's output lines are not each a read of the log).
                        Some(r) if matches!(r.event, Event::Answer { .. } | Event::StepFinished { .. } | Event::Resumed { .. })
                            || matches!(r.event, Event::StepWaiting { waiting_for: crate::event::Waiting::Approval, .. }) => {
                            let r = st.sync(false).await;
                            shown(&mut st, r);
                        }
                        Some(_) => {}
                        None => break,
                    },
                    _ = &mut finish => break,
                }
            }
            // The end: everything left, then the seal's signature, retried for a while.
            let deadline = tokio::time::Instant::now() + FINISH_WITHIN;
            let mut problems = Vec::new();
            let mut wait = Duration::from_millis(200);
            loop {
                match st.sync(true).await {
                    Ok(()) => break,
                    Err(e) if tokio::time::Instant::now() >= deadline => {
                        problems.push(format!("the last lines of the log are not in {}: {e}", st.place.url()));
                        break;
                    }
                    Err(_) => {
                        tokio::time::sleep(wait).await;
                        wait = (wait * 2).min(Duration::from_secs(5));
                    }
                }
            }
            if let Ok(sig) = std::fs::read(crate::journal::sig_path(&st.log)) {
                let key = st.place.sig();
                if let Err(e) = st.s3.put_object(&st.place.bucket, &key, sig).await {
                    problems.push(format!("the seal's signature is not in {}: {e}", st.place.url()));
                }
            }
            problems
        });
        Copier { done, task }
    }

    /// After the run: the rest copied (trying for a while); what could not be.
    pub async fn finish(self) -> Vec<String> {
        let _ = self.done.send(());
        self.task.await.unwrap_or_else(|e| vec![format!("the log's copy stopped: {e}")])
    }
}

/// A run's copy read back: the log's bytes as first written, its signature, and what
/// was done to the copy since (a second version of a segment, a delete marker).
#[derive(Debug, Default)]
pub struct Copy {
    pub bytes: Vec<u8>,
    pub sig: Option<String>,
    pub segments: usize,
    pub problems: Vec<String>,
}

pub async fn read(s3: &dyn S3Api, place: &Place) -> Api<Copy> {
    read_from(s3, place, 0).await
}

/// The copy after its first `skip` segments (what a watcher has not read yet); `segments` counts
/// them all, `LOG.sig` is read whenever it is there, problems are said of every key.
pub async fn read_from(s3: &dyn S3Api, place: &Place, skip: usize) -> Api<Copy> {
    let mut versions = Vec::new();
    let mut from = None;
    loop {
        let page = s3.list_versions(&place.bucket, &place.prefix, None, from.take()).await?;
        versions.extend(page.versions);
        match page.next {
            Some(m) => from = Some(m),
            None => break,
        }
    }
    let mut copy = Copy::default();
    let mut keys: Vec<&str> = versions.iter().map(|v| v.key.as_str()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        // S3 lists a key's versions newest first: the last is what the run wrote.
        let of: Vec<_> = versions.iter().filter(|v| v.key == key).collect();
        if of.len() > 1 {
            let markers = of.iter().filter(|v| v.marker).count();
            copy.problems.push(match markers {
                0 => format!(
                    "{key} was written {} times: the first version is read, the later ones are not the run's",
                    of.len()
                ),
                _ => format!("{key} has a delete marker on it: someone tried to delete it"),
            });
        }
        let Some(first) = of.iter().rev().find(|v| !v.marker) else {
            copy.problems.push(format!("{key} holds only delete markers"));
            continue;
        };
        let segment = key.contains("segment-") && !key.ends_with("log.sig");
        if segment && copy.segments < skip {
            copy.segments += 1;
            continue;
        }
        let obj = ObjRef { bucket: place.bucket.clone(), key: key.into(), version: Some(first.version_id.clone()) };
        let got = s3.get(&obj, None, &first.etag).await?;
        if key.ends_with("log.sig") {
            copy.sig =
                Some(String::from_utf8(got.bytes).map_err(|_| ApiError::new("BadSignature", "log.sig is not text"))?);
        } else if segment {
            copy.bytes.extend_from_slice(&got.bytes);
            copy.segments += 1;
        }
    }
    Ok(copy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_segment_ends_at_the_last_signed_line_and_never_inside_a_torn_one() {
        let log = b"{\"type\":\"genesis\"}\n{\"type\":\"checkpoint\"}\n{\"type\":\"note\"}\n{\"type\":\"sea";
        assert_eq!(signed_end(log, false), 41);
        assert_eq!(signed_end(log, true), 57);
        assert_eq!(signed_end(b"{\"type\":\"note\"}\n", false), 0);
    }

    #[test]
    fn a_place_reads_from_its_url() {
        let p = Place::parse("s3://evidence/runs/drill-1").unwrap();
        assert_eq!((p.bucket.as_str(), p.prefix.as_str()), ("evidence", "runs/drill-1/"));
        assert_eq!(p.segment(3), "runs/drill-1/segment-000003.jsonl");
        assert!(Place::parse("s3://evidence").is_none() && Place::parse("/tmp/x").is_none());
    }
}
