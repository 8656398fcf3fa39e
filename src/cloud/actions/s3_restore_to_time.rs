//! `s3.restore_to_time`: every key under a prefix back to its newest version at or before
//! a time, in the fewest requests — one listing, one copy per overwritten key, delete
//! markers removed a thousand at a time — each copy proved, the newer keys kept.

use std::sync::Arc;

use super::s3_object::{Checked, Source, Target, server_copy};
use super::tasks::{self, concurrency};
use super::{Env, args};
use crate::cloud::plan::{Plan, Planner, Todo, Ver};
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

/// What a roll-back of everything under `prefix` to `time` must do, decided key by key as
/// the listing passes (one key's versions held, not the bucket's). The key space is split
/// where its keys say `/`: one listing with a delimiter finds the prefixes below (and
/// decides the keys beside them), then each prefix is listed by its own cursor.
pub async fn plan(
    s3: &Arc<dyn S3Api>,
    op: &'static str,
    bucket: &str,
    prefix: &str,
    region: &str,
    (time, delete_newer): (Timestamp, bool),
    lanes: usize,
) -> Result<Plan, ActionError> {
    if lanes <= 1 {
        return list_range(s3.as_ref(), op, bucket, prefix, None, region, (time, delete_newer)).await;
    }
    let mut plan = Plan::new();
    let mut level = prefix.to_string();
    let mut ranges = Vec::new();
    for depth in 0..DESCEND {
        let mut below = Vec::new();
        let part = list_range(s3.as_ref(), op, bucket, &level, Some(&mut below), region, (time, delete_newer)).await?;
        plan.merge(part);
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
            Ok(part) => plan.merge(part?),
            Err(e) => {
                return Err(ActionError::new(op, bucket, "InternalError", format!("a listing ended abnormally: {e}")));
            }
        }
    }
    plan.sort();
    Ok(plan)
}

/// One cursor over a prefix, page after page on the key and version markers. With
/// `below`, the listing is of one level (delimiter `/`) and the prefixes under it are
/// collected there.
async fn list_range(
    s3: &dyn S3Api,
    op: &str,
    bucket: &str,
    prefix: &str,
    mut below: Option<&mut Vec<String>>,
    region: &str,
    (time, delete_newer): (Timestamp, bool),
) -> Result<Plan, ActionError> {
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
        for v in versions {
            let ver = Ver { id: v.version_id, time: v.time, etag: v.etag, marker: v.marker, size: v.size };
            planner
                .push(&v.key, ver, v.latest)
                .map_err(|e| ActionError::new(op, &format!("s3://{bucket}/{prefix}"), "OutOfOrder", e.to_string()))?;
        }
        match page.next {
            Some(next) => from = Some(next),
            None => break,
        }
    }
    Ok(planner.finish())
}

type Deletes = Vec<(String, Option<String>)>;

/// A thousand entries a request is DeleteObjects' limit. Each batch carries the number of
/// keys it finishes (a key's entries are contiguous; it is done where its last one is), so
/// progress stays a count of objects even when a key had several markers.
fn batches(deletes: Deletes) -> Vec<(Deletes, u64)> {
    let mut out: Vec<(Deletes, u64)> = vec![];
    let mut it = deletes.into_iter().peekable();
    while let Some(d) = it.next() {
        let last = it.peek().is_none_or(|n| n.0 != d.0);
        match out.last_mut() {
            Some((b, _)) if b.len() < 1000 => b.push(d),
            _ => out.push((vec![d], 0)),
        }
        if last && let Some(b) = out.last_mut() {
            b.1 += 1;
        }
    }
    out
}

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

pub async fn run(env: &Env<'_>, a: Args) -> Result<ActionResult, ActionError> {
    let (op, region) = (env.op(), env.region.as_str());
    let s3 = env.s3(region, None).await?;
    let plan = plan(&s3, op, &a.bucket, &a.prefix, region, (a.time, a.delete_newer), listers()).await?;
    let rp = plan.newest.unwrap_or(a.time);
    let result = outputs::rolled_back(&plan, rp);
    (env.ctx.progress)(Progress::Line(plan.describe(&a.bucket, &a.prefix, &a.time_text, a.dry_run)));
    if a.dry_run {
        return Ok(ActionResult { outputs: result, recovery_point: None });
    }
    let total = plan.todo.iter().filter(|(_, t)| !matches!(t, Todo::Newer)).count() as u64;
    // Removing delete markers and placing approved ones are batched a thousand keys a
    // request (DeleteObjects): a mass deletion — the commonest accident — costs pages,
    // not one request a key. Copies have no batch form in S3.
    let mut copies = Vec::new();
    let mut deletes = Deletes::new();
    for (key, todo) in plan.todo {
        match todo {
            Todo::Copy(v) => copies.push((key, v)),
            Todo::Undelete(markers) => deletes.extend(markers.into_iter().map(|m| (key.clone(), Some(m)))),
            Todo::DeleteNewer => deletes.push((key, None)),
            Todo::Newer => {}
        }
    }
    let deletes = batches(deletes).into_iter().map(|batch| {
        let (s3, bucket, region) = (s3.clone(), a.bucket.clone(), region.to_string());
        tasks::job(move || {
            let (s3, bucket, region, batch) = (s3.clone(), bucket.clone(), region.clone(), batch.clone());
            async move { delete_batch(s3.as_ref(), op, &bucket, &region, batch).await.map(|n| (n, 0, false)) }
        })
    });
    let copies = copies.into_iter().map(|(key, v)| {
        let (s3, bucket, region): (Arc<dyn S3Api>, String, String) = (s3.clone(), a.bucket.clone(), region.to_string());
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
    });
    tasks::run(deletes.chain(copies), total, concurrency(), env.ctx).await?;
    Ok(ActionResult { outputs: result, recovery_point: Some(rp) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delete_batches_hold_a_thousand_and_count_whole_keys() {
        let mut d: Deletes = (0..1500).map(|i| (format!("k{i:04}"), Some("m".to_string()))).collect();
        d.push(("k1499".into(), Some("m2".into())));
        let b = batches(d);
        assert_eq!(b.iter().map(|(x, _)| x.len()).collect::<Vec<_>>(), [1000, 501]);
        assert_eq!(b.iter().map(|(_, n)| n).sum::<u64>(), 1500);
    }
}
