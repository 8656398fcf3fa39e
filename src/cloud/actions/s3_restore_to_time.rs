//! `s3.restore_to_time`: every key under a prefix back to its newest version at or before
//! a time, in the fewest requests — one listing, one copy per overwritten key, delete
//! markers removed a thousand at a time — each copy proved, the newer keys kept.

use std::sync::Arc;

use super::s3_object::{Checked, Source, Target, server_copy};
use super::tasks::{self, concurrency};
use super::{Env, args};
use crate::cloud::manifest::{self, Change, Manifest, ManifestError, Part, PartWriter};
use crate::cloud::plan::{Plan, Planner, Tally, Ver};
use crate::cloud::port::s3::{S3Api, VersionMarker};
use crate::cloud::{ActionCall, ActionError, ActionResult, Progress, outputs};
use crate::runbook::time::Timestamp;

pub struct Args {
    pub bucket: String,
    pub prefix: String,
    pub time: Timestamp,
    pub time_text: String,
    pub delete_newer: bool,
    pub dry_run: bool,
    /// The plan confirmed: the roll-back changes nothing it does not list.
    pub plan_sha256: Option<String>,
}

impl Args {
    pub fn decode(call: &ActionCall) -> Result<Args, ActionError> {
        Ok(Args {
            bucket: args::text(call, "bucket")?.into(),
            prefix: args::opt_text(call, "prefix")?.unwrap_or("").into(),
            time: args::timestamp(call, "time")?,
            time_text: args::text(call, "time")?.into(),
            delete_newer: args::flag(call, "delete_newer")?,
            dry_run: args::flag(call, "dry_run")?,
            plan_sha256: args::opt_name(call, "plan_sha256")?.map(str::to_string),
        })
    }
}

/// Cursors listing at once (`LIFEBOAT_S3_LISTERS`; 1 lists the whole prefix from one
/// cursor). One cursor reads about a million versions in five minutes (AWS's roll-back
/// guidance), so a bucket of tens of millions is listed by many.
pub fn listers() -> usize {
    std::env::var("LIFEBOAT_S3_LISTERS").ok().and_then(|v| v.parse().ok()).filter(|n| *n > 0).unwrap_or(16)
}

/// Levels a discovery descends while it finds one prefix only (`data/2026/…`).
const DESCEND: usize = 4;

/// A roll-back's plan: its counts and recovery point in memory, its changes on disk.
pub struct Planned {
    pub tally: Tally,
    pub newest: Option<Timestamp>,
    pub manifest: Manifest,
}

/// What a roll-back of everything under `prefix` to `time` must do, decided key by key as
/// the listing passes (one key's versions held, not the bucket's) and written to the
/// manifest a page at a time. The key space is split where its keys say `/`: one listing
/// with a delimiter finds the prefixes below (and decides the keys beside them), then
/// each prefix is listed by its own cursor.
pub async fn plan(
    s3: &Arc<dyn S3Api>,
    op: &'static str,
    bucket: &str,
    prefix: &str,
    region: &str,
    (time, delete_newer): (Timestamp, bool),
    lanes: usize,
) -> Result<Planned, ActionError> {
    let dir = manifest::work_dir();
    let at = |e: ManifestError| ActionError::new(op, &format!("s3://{bucket}/{prefix}"), "LocalFile", e.to_string());
    let (mut tally, mut newest, mut parts) = (Tally::default(), None, Vec::new());
    let mut add = |(plan, more): (Plan, Vec<Part>)| {
        tally.merge(plan.tally);
        newest = newest.max(plan.newest);
        parts.extend(more);
    };
    let mut ranges = Vec::new();
    if lanes <= 1 {
        add(list_range(s3.as_ref(), op, bucket, prefix, None, region, (time, delete_newer)).await?);
    } else {
        let mut level = prefix.to_string();
        for depth in 0..DESCEND {
            let mut below = Vec::new();
            add(list_range(s3.as_ref(), op, bucket, &level, Some(&mut below), region, (time, delete_newer)).await?);
            match below.pop() {
                Some(only) if below.is_empty() && depth + 1 < DESCEND => level = only,
                Some(last) => {
                    below.push(last);
                    ranges = below;
                    break;
                }
                None => break,
            }
        }
    }
    let mut set = tokio::task::JoinSet::new();
    let mut ranges = ranges.into_iter();
    loop {
        while set.len() < lanes {
            let Some(range) = ranges.next() else { break };
            let (s3, bucket, region) = (s3.clone(), bucket.to_string(), region.to_string());
            set.spawn(async move {
                list_range(s3.as_ref(), op, &bucket, &range, None, &region, (time, delete_newer)).await
            });
        }
        let Some(done) = set.join_next().await else { break };
        match done {
            Ok(part) => add(part?),
            Err(e) => {
                return Err(ActionError::new(op, bucket, "InternalError", format!("a listing ended abnormally: {e}")));
            }
        }
    }
    let manifest = Manifest::join(&dir, parts).map_err(at)?;
    Ok(Planned { tally, newest, manifest })
}

/// One cursor over a prefix, page after page on the key and version markers, its
/// decisions written to the manifest as each page is read. With `below`, the listing is
/// of one level (delimiter `/`) and the prefixes under it are collected there; the keys
/// beside them are written in runs between two prefixes, so that the parts joined by
/// their first keys are the bucket's order, however many cursors listed it.
async fn list_range(
    s3: &dyn S3Api,
    op: &str,
    bucket: &str,
    prefix: &str,
    mut below: Option<&mut Vec<String>>,
    region: &str,
    (time, delete_newer): (Timestamp, bool),
) -> Result<(Plan, Vec<Part>), ActionError> {
    let at = |e: ManifestError| ActionError::new(op, &format!("s3://{bucket}/{prefix}"), "LocalFile", e.to_string());
    let dir = manifest::work_dir();
    let mut parts = Vec::new();
    // The part being written: its writer, first key, and how many prefixes sort before it.
    let mut open: Option<(PartWriter, String, usize)> = None;
    let mut planner = Planner::new(time, delete_newer);
    let delimiter = below.is_some().then_some("/");
    let mut from: Option<VersionMarker> = None;
    loop {
        let page =
            s3.list_versions(bucket, prefix, delimiter, from.take()).await.map_err(|e| e.at(op, bucket, region))?;
        if let Some(b) = below.as_deref_mut() {
            b.extend(page.prefixes);
        }
        let mut versions = page.versions;
        // Versions and delete markers come as two lists; a stable sort by key puts each
        // key's entries together.
        versions.sort_by(|a, b| a.key.cmp(&b.key));
        let last_page = page.next.is_none();
        for v in versions {
            let ver = Ver { id: v.version_id, time: v.time, etag: v.etag, marker: v.marker, size: v.size };
            planner
                .push(&v.key, ver, v.latest)
                .map_err(|e| ActionError::new(op, &format!("s3://{bucket}/{prefix}"), "OutOfOrder", e.to_string()))?;
        }
        if last_page {
            planner.flush();
        }
        for (key, todo) in planner.plan.todo.drain(..) {
            let gap = below.as_deref().map_or(0, |b| b.partition_point(|p| p.as_str() < key.as_str()));
            if open.as_ref().is_some_and(|(_, _, g)| *g != gap)
                && let Some((w, first, _)) = open.take()
            {
                parts.push(w.finish(&first).map_err(at)?);
            }
            if open.is_none() {
                open = Some((PartWriter::create(&dir, bucket).map_err(at)?, key.clone(), gap));
            }
            if let Some((w, _, _)) = open.as_mut() {
                w.write(&key, &todo).map_err(at)?;
            }
        }
        match page.next {
            Some(next) => from = Some(next),
            None => break,
        }
    }
    if let Some((w, first, _)) = open.take() {
        parts.push(w.finish(&first).map_err(at)?);
    }
    Ok((planner.finish(), parts))
}

/// Entries of a DeleteObjects request: a key and, to remove a delete marker, its id.
type Deletes = Vec<(String, Option<String>)>;

/// One DeleteObjects request: a version id removes that delete marker; none places a new
/// marker (approved deletion stays recoverable). S3 answers 200 with per-key errors, so
/// each is read.
async fn delete_batch(
    s3: &dyn S3Api,
    op: &str,
    bucket: &str,
    region: &str,
    (batch, keys): (Deletes, u64),
) -> Result<u64, ActionError> {
    let failures = s3.delete_objects(bucket, &batch).await.map_err(|e| e.at(op, &format!("s3://{bucket}"), region))?;
    if let Some(f) = failures.first() {
        return Err(ActionError::new(
            op,
            &format!("s3://{bucket}/{}", f.key),
            &f.code,
            format!("{} ({} of {} deletes in this batch failed)", f.message, failures.len(), batch.len()),
        ));
    }
    Ok(keys)
}

/// One request's worth of the manifest.
#[derive(Debug, PartialEq)]
enum Piece {
    Copy(String, Ver),
    /// Up to a thousand delete-marker changes, and the keys they finish.
    Deletes(Deletes, u64),
    Unreadable(String),
}

/// The manifest's changes as requests: each copy one; delete-marker changes gathered a
/// thousand to a DeleteObjects request (a mass deletion — the commonest accident — costs
/// pages, not one request a key; copies have no batch form in S3). A key is counted done
/// in the batch that holds its last entry, so progress stays a count of objects.
struct Pieces<I: Iterator<Item = Result<Change, ManifestError>>> {
    records: std::iter::Peekable<I>,
    deletes: Deletes,
    keys_done: u64,
}

impl<I: Iterator<Item = Result<Change, ManifestError>>> Pieces<I> {
    fn new(records: I) -> Self {
        Pieces { records: records.peekable(), deletes: Deletes::new(), keys_done: 0 }
    }
    fn batch(&mut self) -> Piece {
        Piece::Deletes(std::mem::take(&mut self.deletes), std::mem::take(&mut self.keys_done))
    }
}

impl<I: Iterator<Item = Result<Change, ManifestError>>> Iterator for Pieces<I> {
    type Item = Piece;

    fn next(&mut self) -> Option<Piece> {
        loop {
            let change = match self.records.next() {
                None if self.deletes.is_empty() => return None,
                None => return Some(self.batch()),
                Some(Err(e)) => return Some(Piece::Unreadable(e.to_string())),
                Some(Ok(c)) => c,
            };
            let (key, entry) = match change {
                Change::Copy { key, version } => return Some(Piece::Copy(key, version)),
                Change::RemoveMarker { key, marker } => (key, Some(marker)),
                Change::PlaceMarker { key } => (key, None),
            };
            let last = !matches!(self.records.peek(), Some(Ok(next)) if next.key() == key);
            self.deletes.push((key, entry));
            self.keys_done += last as u64;
            if self.deletes.len() >= 1000 {
                return Some(self.batch());
            }
        }
    }
}

/// A piece as work the pace can start again.
fn job(piece: Piece, s3: &Arc<dyn S3Api>, op: &'static str, bucket: &str, region: &str) -> tasks::Job {
    let (s3, bucket, region) = (s3.clone(), bucket.to_string(), region.to_string());
    match piece {
        Piece::Deletes(entries, keys) => tasks::job(move || {
            let (s3, bucket, region, batch) = (s3.clone(), bucket.clone(), region.clone(), (entries.clone(), keys));
            async move { delete_batch(s3.as_ref(), op, &bucket, &region, batch).await.map(|n| (n, 0, false)) }
        }),
        Piece::Copy(key, v) => {
            let (key, v) = (Arc::new(key), Arc::new(v));
            tasks::job(move || {
                let (s3, bucket, region, key, v) = (s3.clone(), bucket.clone(), region.clone(), key.clone(), v.clone());
                async move {
                    let src = Source {
                        bucket: &bucket,
                        key: &key,
                        version: Some(&v.id),
                        etag: &v.etag,
                        size: v.size,
                        region: &region,
                    };
                    let dst = Target { bucket: &bucket, key: &key, region: &region };
                    let (checked, _) = server_copy(&s3, &src, &dst, op).await?;
                    Ok((1, v.size, checked == Checked::Size))
                }
            })
        }
        Piece::Unreadable(why) => tasks::job(move || {
            let e = ActionError::new(op, &format!("s3://{bucket}"), "LocalFile", why.clone());
            async move { Err(e) }
        }),
    }
}

pub async fn run(env: &Env<'_>, a: Args) -> Result<ActionResult, ActionError> {
    let (op, region) = (env.op(), env.region.as_str());
    let s3 = env.s3(region, None).await?;
    let planned = plan(&s3, op, &a.bucket, &a.prefix, region, (a.time, a.delete_newer), listers()).await?;
    let (tally, manifest) = (&planned.tally, &planned.manifest);
    let rp = planned.newest.unwrap_or(a.time);
    let mut result = outputs::rolled_back(tally, a.delete_newer, rp);
    result.insert("manifest_sha256".into(), manifest.sha256.clone().into());
    result.insert("manifest_records".into(), manifest.records.into());
    (env.ctx.progress)(Progress::Line(format!(
        "{}; manifest {} ({} changes, sha256 {})",
        tally.describe(&a.bucket, &a.prefix, &a.time_text, a.dry_run),
        manifest.path.display(),
        manifest.records,
        manifest.sha256
    )));
    if a.dry_run {
        return Ok(ActionResult { outputs: result, recovery_point: None });
    }
    // What runs is what was confirmed: planned again (a retry or a resume finds less to
    // do), but never a change the confirmed plan did not list.
    if let Some(sha) = &a.plan_sha256 {
        let refused = |why: String| {
            ActionError::new(op, &format!("s3://{}/{}", a.bucket, a.prefix), "PlanChanged", why)
                .hint("nothing was changed: run the dry run again, review its plan and confirm that one".to_string())
        };
        let confirmed = Manifest::confirmed(&manifest::work_dir(), sha)
            .map_err(|e| refused(format!("the confirmed plan cannot be read: {e}")))?;
        let outside = manifest.outside(&confirmed).map_err(|e| refused(e.to_string()))?;
        if let Some(change) = outside {
            if manifest.sha256 != *sha {
                manifest.remove();
            }
            return Err(refused(format!(
                "the bucket changed after the plan {}… was confirmed: {change}, which that plan does not list",
                sha.get(..16).unwrap_or(sha)
            )));
        }
    }
    let records = manifest.records().map_err(|e| ActionError::new(op, &a.bucket, "LocalFile", e.to_string()))?;
    let work = Pieces::new(records).map(|p| job(p, &s3, op, &a.bucket, region));
    let done = tasks::run(work, tally.changes(a.delete_newer), concurrency(), env.ctx).await;
    // A confirmed plan stays, as the record of what was agreed; this run's own goes.
    if a.plan_sha256.as_deref() != Some(manifest.sha256.as_str()) {
        manifest.remove();
    }
    done?;
    Ok(ActionResult { outputs: result, recovery_point: Some(rp) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delete_batches_hold_a_thousand_and_count_whole_keys() {
        let mut changes: Vec<Result<Change, ManifestError>> =
            (0..1500).map(|i| Ok(Change::RemoveMarker { key: format!("k{i:04}"), marker: "m".into() })).collect();
        changes.push(Ok(Change::RemoveMarker { key: "k1499".into(), marker: "m2".into() }));
        let v = Ver { id: "v".into(), time: Timestamp::UNIX_EPOCH, etag: "\"e\"".into(), marker: false, size: 1 };
        changes.insert(10, Ok(Change::Copy { key: "c".into(), version: v.clone() }));
        let pieces: Vec<Piece> = Pieces::new(changes.into_iter()).collect();
        assert_eq!(pieces[0], Piece::Copy("c".into(), v), "a copy is sent as it comes");
        let batches: Vec<(usize, u64)> = pieces[1..]
            .iter()
            .map(|p| match p {
                Piece::Deletes(d, n) => (d.len(), *n),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(batches.iter().map(|b| b.0).collect::<Vec<_>>(), [1000, 501]);
        assert_eq!(batches.iter().map(|b| b.1).sum::<u64>(), 1500, "each key counted once");
    }
}
