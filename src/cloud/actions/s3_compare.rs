//! `s3.compare`: two buckets or prefixes, key by key, by ETag.

use std::cmp::Ordering;

use super::listing::Cursor;
use super::s3_object::parts_in;
use super::{Env, args};
use crate::cloud::port::ApiError;
use crate::cloud::port::s3::{ObjRef, S3Api};
use crate::cloud::{ActionCall, ActionError, ActionResult, Progress, outputs};

/// One side of a comparison or copy: a bucket, a prefix in it, its region.
pub struct Side {
    pub bucket: String,
    pub prefix: String,
    pub region: Option<String>,
}

impl Side {
    pub fn decode(call: &ActionCall, name: &str) -> Result<Side, ActionError> {
        Ok(Side {
            bucket: args::text(call, &format!("{name}.bucket"))?.into(),
            prefix: args::opt_text(call, &format!("{name}.prefix"))?.unwrap_or("").into(),
            region: args::opt_name(call, &format!("{name}.region"))?.map(str::to_string),
        })
    }
}

pub struct Args {
    pub a: Side,
    pub b: Side,
}

impl Args {
    pub fn decode(call: &ActionCall) -> Result<Args, ActionError> {
        Ok(Args { a: Side::decode(call, "a")?, b: Side::decode(call, "b")? })
    }
}

/// Two objects with different ETags may still hold the same bytes: an ETag is no MD5
/// under a KMS key (each bucket's copy has its own), nor for another part layout. Then
/// the full-object checksums they store decide; where none can be compared the pair is
/// counted as different — lifeboat does not call unproven copies the same.
async fn same_content(
    (sa, a): (&dyn S3Api, ObjRef),
    (sb, b): (&dyn S3Api, ObjRef),
    fail: (&(dyn Fn(ApiError) -> ActionError + Sync), &(dyn Fn(ApiError) -> ActionError + Sync)),
) -> Result<Option<bool>, ActionError> {
    let ha = sa.head(&a, None).await.map_err(fail.0)?;
    let hb = sb.head(&b, None).await.map_err(fail.1)?;
    for (x, y) in ha.checksums.iter().zip(&hb.checksums) {
        if let (Some(x), Some(y)) = (x, y) {
            return Ok(Some(x == y));
        }
    }
    let digests = !ha.keyed && !hb.keyed && parts_in(&ha.etag).is_none() && parts_in(&hb.etag).is_none();
    Ok(digests.then_some(false))
}

/// Pairs whose content is checked by their stored checksums at once.
const CHECKS: usize = 32;

/// Both sides listed side by side in key order, a page of each held (so a bucket of
/// millions costs two pages of memory); pairs with differing ETags checked by their
/// stored checksums, many at once.
pub async fn run(env: &Env<'_>, a: Args) -> Result<ActionResult, ActionError> {
    let op = env.op();
    let mut cursors = Vec::new();
    for s in [&a.a, &a.b] {
        let region = s.region.clone().unwrap_or_else(|| env.region.clone());
        let s3 = env.s3(&region, None).await?;
        cursors.push(Cursor::new(s3, op, &s.bucket, &s.prefix, &region));
    }
    let (Some(mut right), Some(mut left)) = (cursors.pop(), cursors.pop()) else {
        return Err(ActionError::new(op, &a.a.bucket, "InternalError", "two sides are compared"));
    };
    let (mut same, mut missing, mut extra, mut different, mut unproven) = (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut checks = tokio::task::JoinSet::new();
    loop {
        let order = match (left.peek().await?, right.peek().await?) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(x), Some(y)) => x.cmp(y),
        };
        match order {
            Ordering::Less => {
                missing += 1;
                left.take();
            }
            Ordering::Greater => {
                extra += 1;
                right.take();
            }
            Ordering::Equal => {
                let (Some(x), Some(y)) = (left.take(), right.take()) else { break };
                if x.etag == y.etag {
                    same += 1;
                } else if x.size != y.size {
                    different += 1;
                } else {
                    while checks.len() >= CHECKS {
                        tally(checks.join_next().await, &mut same, &mut different, &mut unproven)?;
                    }
                    let (sa, sb) = (left.s3.clone(), right.s3.clone());
                    let (ra, rb) = (left.region.clone(), right.region.clone());
                    let oa = ObjRef { bucket: left.bucket.clone(), key: x.key, version: None };
                    let ob = ObjRef { bucket: right.bucket.clone(), key: y.key, version: None };
                    checks.spawn(crate::clock::inherit(async move {
                        let fa = |e: ApiError| e.at(op, &format!("s3://{}/{}", oa.bucket, oa.key), &ra);
                        let fb = |e: ApiError| e.at(op, &format!("s3://{}/{}", ob.bucket, ob.key), &rb);
                        same_content((sa.as_ref(), oa.clone()), (sb.as_ref(), ob.clone()), (&fa, &fb)).await
                    }));
                }
            }
        }
    }
    while let Some(r) = checks.join_next().await {
        tally(Some(r), &mut same, &mut different, &mut unproven)?;
    }
    if unproven > 0 {
        (env.ctx.progress)(Progress::Line(format!(
            "{unproven} pair(s) counted as different: their ETags differ and they store no checksum to compare (KMS or customer keys, or other part layouts)"
        )));
    }
    Ok(ActionResult { outputs: outputs::compared(same, missing, extra, different), recovery_point: None })
}

/// Counts one checked pair; an unproven pair is different (never called the same).
fn tally(
    r: Option<Result<Result<Option<bool>, ActionError>, tokio::task::JoinError>>,
    same: &mut u64,
    different: &mut u64,
    unproven: &mut u64,
) -> Result<(), ActionError> {
    let Some(r) = r else { return Ok(()) };
    let r = r.map_err(|e| ActionError::new("s3.compare", "tasks", "InternalError", e.to_string()))?;
    match r? {
        Some(true) => *same += 1,
        Some(false) => *different += 1,
        None => {
            *different += 1;
            *unproven += 1;
        }
    }
    Ok(())
}
