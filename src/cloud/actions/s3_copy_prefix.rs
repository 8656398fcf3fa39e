//! `s3.copy_prefix`: the good copies brought back from a backup bucket (another region,
//! or another account through its role), each copy proved.

use super::s3_compare::{Side, current};
use super::s3_object::{Checked, Source, Target, server_copy, stream_copy};
use super::tasks::{self, concurrency};
use super::{Env, args};
use crate::cloud::{ActionCall, ActionError, ActionResult, outputs};

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
    let src = current(reader.as_ref(), op, &a.from.bucket, &a.from.prefix, &fr).await?;
    let dst = current(writer.as_ref(), op, &a.to.bucket, &a.to.prefix, &tr).await?;
    // The backup is as fresh as the newest object in it: that is the recovery point,
    // whether or not that object needed copying.
    let fresh = src.values().map(|v| v.time).max();
    // Without `overwrite`, what exists at the target stays; with it, only what differs.
    let todo: Vec<(String, String, u64)> = src
        .into_iter()
        .filter(|(k, v)| dst.get(k).is_none_or(|d| a.overwrite && d.etag != v.etag))
        .map(|(k, v)| (k, v.etag, v.size))
        .collect();
    drop(dst);
    let total = todo.len() as u64;
    // One identity: S3 copies server-side. Two (a role in the backup account): each
    // object is read with one and written with the other, its ETag checked.
    let through_here = a.from_role != a.to_role;
    let jobs = todo.into_iter().map(|(key, etag, size)| {
        let (reader, writer) = (reader.clone(), writer.clone());
        let (fb, fr, tb, tr) = (a.from.bucket.clone(), fr.clone(), a.to.bucket.clone(), tr.clone());
        let (source_key, target_key) = (format!("{}{key}", a.from.prefix), format!("{}{key}", a.to.prefix));
        tasks::job(move || {
            let (reader, writer) = (reader.clone(), writer.clone());
            let (fb, fr, tb, tr, etag) = (fb.clone(), fr.clone(), tb.clone(), tr.clone(), etag.clone());
            let (source_key, target_key) = (source_key.clone(), target_key.clone());
            async move {
                let src = Source { bucket: &fb, key: &source_key, version: None, etag: &etag, size, region: &fr };
                let dst = Target { bucket: &tb, key: &target_key, region: &tr };
                let checked = if through_here {
                    stream_copy(reader.as_ref(), writer.as_ref(), &src, &dst, op).await?
                } else {
                    server_copy(&writer, &src, &dst, op).await?.0
                };
                Ok((1, size, checked == Checked::Size))
            }
        })
    });
    // Through this machine each copy in flight holds a part in memory (8 MiB by default).
    let ceiling = if through_here { concurrency().min(THROUGH_HERE) } else { concurrency() };
    let bytes = tasks::run(jobs, total, ceiling, env.ctx).await?;
    let rp = fresh.unwrap_or_else(|| env.ctx.clock.now());
    Ok(ActionResult { outputs: outputs::copied(total, bytes, rp), recovery_point: Some(rp) })
}
