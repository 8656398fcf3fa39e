//! `s3.copy_prefix`: the good copies brought back from a backup bucket (another region,
//! or another account through its role), each copy proved.

use std::cmp::Ordering;

use super::listing::Cursor;
use super::s3_compare::Side;
use super::s3_object::{Checked, Source, Target, server_copy, stream_copy};
use super::tasks::{self, concurrency};
use super::{Env, args};
use crate::cloud::manifest::{self, Change, Manifest, ManifestError, PartWriter};
use crate::cloud::plan::{Todo, Ver};
use crate::cloud::{ActionCall, ActionError, ActionResult, Progress, outputs};
use crate::runbook::raw::{ResourceKind, Role};
use crate::runbook::time::Timestamp;

pub struct Args {
    pub from: Side,
    pub to: Side,
    pub from_role: Option<String>,
    pub to_role: Option<String>,
    pub overwrite: bool,
}

impl Args {
    pub fn decode(call: &ActionCall) -> Result<Args, ActionError> {
        Ok(Args {
            from: Side::decode(call, "from")?,
            to: Side::decode(call, "to")?,
            from_role: args::opt_name(call, "from.role_arn")?.map(str::to_string),
            to_role: args::opt_name(call, "to.role_arn")?.map(str::to_string),
            overwrite: args::flag(call, "overwrite")?,
        })
    }
}

/// Copies through this machine in flight at most: 32 parts of 8 MiB held is 256 MiB.
const THROUGH_HERE: usize = 32;

pub async fn run(env: &Env<'_>, a: Args) -> Result<ActionResult, ActionError> {
    let op = env.op();
    let fr = a.from.region.clone().unwrap_or_else(|| env.region.clone());
    let tr = a.to.region.clone().unwrap_or_else(|| env.region.clone());
    let reader = env.s3(&fr, a.from_role.as_deref()).await?;
    let writer = env.s3(&tr, a.to_role.as_deref()).await?;
    // The plan first, written to a manifest as the two listings are walked side by side
    // (a page of each held): without `overwrite`, what exists at the target stays; with
    // it, only what differs is copied.
    let local = |e: ManifestError| e.at(op, &format!("s3://{}", a.to.bucket));
    let dir = manifest::work_dir();
    let mut part = PartWriter::create(&dir, &a.from.bucket).map_err(local)?;
    let mut src = Cursor::new(reader.clone(), op, &a.from.bucket, &a.from.prefix, &fr);
    let mut dst = Cursor::new(writer.clone(), op, &a.to.bucket, &a.to.prefix, &tr);
    // The backup is as fresh as the newest object in it: that is the recovery point,
    // whether or not that object needed copying.
    let mut fresh: Option<Timestamp> = None;
    loop {
        let order = match (src.peek().await?, dst.peek().await?) {
            (None, _) => break,
            (Some(_), None) => Ordering::Less,
            (Some(x), Some(y)) => x.cmp(y),
        };
        if order == Ordering::Greater {
            dst.take();
            continue;
        }
        let Some(o) = src.take() else { break };
        fresh = fresh.max(Some(o.time));
        let there = if order == Ordering::Equal { dst.take() } else { None };
        if there.is_none_or(|d| a.overwrite && d.etag != o.etag) {
            let key = o.key[a.from.prefix.len()..].to_string();
            let v = Ver { id: String::new(), time: o.time, etag: o.etag, marker: false, size: o.size };
            part.write(&key, &Todo::Copy(v)).map_err(local)?;
        }
    }
    let manifest = Manifest::join(&dir, vec![part.finish(&a.from.prefix).map_err(local)?]).map_err(local)?;
    let total = manifest.records;
    let records = manifest.records().map_err(local)?;
    // One identity: S3 copies server-side. Two (a role in the backup account): each
    // object is read with one and written with the other, its ETag checked.
    let through_here = a.from_role != a.to_role;
    let target = format!("s3://{}", a.to.bucket);
    // Copies into a drill's bucket are the drill's to take down: each version written is
    // recorded the moment it exists (its id is the proof `cleanup` deletes only those).
    let drill = env
        .ctx
        .dataset
        .resources
        .iter()
        .any(|r| r.kind == ResourceKind::S3Bucket && r.id == a.to.bucket && r.role == Role::Drill);
    let (made, mut written) = tokio::sync::mpsc::unbounded_channel::<(String, Option<String>)>();
    let jobs = records.map(|c| {
        let (key, etag, size) = match c {
            Ok(Change::Copy { key, version }) => (key, version.etag, version.size),
            Ok(other) => {
                let why = format!("the copy's manifest holds a change that is no copy: {other:?}");
                return tasks::failed(ActionError::new(op, &target, "LocalFile", why));
            }
            Err(e) => return tasks::failed(e.at(op, &target)),
        };
        let (reader, writer, made) = (reader.clone(), writer.clone(), drill.then(|| made.clone()));
        let (fb, fr, tb, tr) = (a.from.bucket.clone(), fr.clone(), a.to.bucket.clone(), tr.clone());
        let (source_key, target_key) = (format!("{}{key}", a.from.prefix), format!("{}{key}", a.to.prefix));
        tasks::job(&target_key.clone(), move || {
            let (reader, writer, made) = (reader.clone(), writer.clone(), made.clone());
            let (fb, fr, tb, tr, etag) = (fb.clone(), fr.clone(), tb.clone(), tr.clone(), etag.clone());
            let (source_key, target_key) = (source_key.clone(), target_key.clone());
            async move {
                let src = Source { bucket: &fb, key: &source_key, version: None, etag: &etag, size, region: &fr };
                let dst = Target { bucket: &tb, key: &target_key, region: &tr };
                let (checked, version) = if through_here {
                    stream_copy(reader.as_ref(), writer.as_ref(), &src, &dst, op).await?
                } else {
                    server_copy(&writer, &src, &dst, op).await?
                };
                if let Some(made) = made {
                    let _ = made.send((target_key.clone(), version));
                }
                Ok((1, size, checked == Checked::Size))
            }
        })
    });
    // Through this machine each copy in flight holds a part in memory (8 MiB by default).
    let ceiling = if through_here { concurrency().min(THROUGH_HERE) } else { concurrency() };
    let record = |(key, version): (String, Option<String>)| {
        let id = format!("{}/{key}", a.to.bucket);
        (env.ctx.progress)(Progress::Created { kind: "s3-object", id, region: tr.clone(), version });
    };
    let run = tasks::run(jobs, total, ceiling, env.ctx);
    tokio::pin!(run);
    let done = loop {
        tokio::select! {
            biased;
            Some(w) = written.recv() => record(w),
            done = &mut run => break done,
        }
    };
    while let Ok(w) = written.try_recv() {
        record(w);
    }
    manifest.remove();
    let bytes = done?;
    let rp = fresh.unwrap_or_else(|| env.ctx.clock.now());
    // Copying nothing restored nothing: no recovery point, so no RPO is claimed for it.
    let recovery_point = (total > 0).then_some(rp);
    Ok(ActionResult { outputs: outputs::copied(total, bytes, rp, &tr), recovery_point })
}
