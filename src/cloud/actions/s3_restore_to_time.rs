//! `s3.restore_to_time`: every key under a prefix back to its newest version at or before
//! a time, in the fewest requests — one listing, one copy per overwritten key, delete
//! markers removed a thousand at a time — each copy proved, the newer keys kept.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::s3_object::{Checked, Source, Target, server_copy};
use super::tasks::{Tasks, concurrency};
use super::{Env, args};
use crate::cloud::plan::{Todo, Ver, restore_plan};
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

/// Every version and delete marker under a prefix, per key, oldest first, one page of
/// `ListObjectVersions` after another on the key and version markers.
pub async fn versions(
    s3: &dyn S3Api,
    op: &str,
    bucket: &str,
    prefix: &str,
    region: &str,
) -> Result<BTreeMap<String, Vec<Ver>>, ActionError> {
    let mut out: BTreeMap<String, Vec<(Ver, bool)>> = BTreeMap::new();
    let mut from: Option<VersionMarker> = None;
    loop {
        let page = s3.list_versions(bucket, prefix, from.take()).await.map_err(|e| e.at(op, bucket, region))?;
        for v in page.versions {
            let latest = v.latest;
            out.entry(v.key)
                .or_default()
                .push((Ver { id: v.version_id, time: v.time, etag: v.etag, marker: v.marker, size: v.size }, latest));
        }
        match page.next {
            Some(next) => from = Some(next),
            None => break,
        }
    }
    // Oldest first; within one second, the current version last.
    Ok(out
        .into_iter()
        .map(|(k, mut vs)| {
            vs.sort_by_key(|(v, latest)| (v.time, *latest));
            (k, vs.into_iter().map(|(v, _)| v).collect())
        })
        .collect())
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
    let all = versions(s3.as_ref(), op, &a.bucket, &a.prefix, region).await?;
    let plan = restore_plan(&all, a.time, a.delete_newer);
    drop(all);
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
    let mut tasks = Tasks::new(concurrency());
    for batch in batches(deletes) {
        let (s3, bucket, region) = (s3.clone(), a.bucket.clone(), region.to_string());
        tasks.spawn(async move { delete_batch(s3.as_ref(), op, &bucket, &region, batch).await.map(|n| (n, 0, false)) });
    }
    for (key, v) in copies {
        let (s3, bucket, region): (Arc<dyn S3Api>, String, String) = (s3.clone(), a.bucket.clone(), region.to_string());
        tasks.spawn(async move {
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
        });
    }
    tasks.drain(total, env.ctx).await?;
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
