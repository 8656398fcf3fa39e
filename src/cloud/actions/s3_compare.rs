//! `s3.compare`: two buckets or prefixes, key by key, by ETag.

use std::collections::BTreeMap;

use super::s3_object::parts_in;
use super::{Env, args};
use crate::cloud::port::ApiError;
use crate::cloud::port::s3::{ObjRef, S3Api};
use crate::cloud::{ActionCall, ActionError, ActionResult, Progress, outputs};
use crate::runbook::time::Timestamp;

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

/// A current object, relative to the listed prefix.
pub struct Current {
    pub etag: String,
    pub size: u64,
    pub time: Timestamp,
}

/// Current objects under a prefix, one `ListObjectsV2` page after another.
pub async fn current(
    s3: &dyn S3Api,
    op: &str,
    bucket: &str,
    prefix: &str,
    region: &str,
) -> Result<BTreeMap<String, Current>, ActionError> {
    let mut out = BTreeMap::new();
    let mut token = None;
    loop {
        let page = s3.list_objects(bucket, prefix, token.take()).await.map_err(|e| e.at(op, bucket, region))?;
        for o in page.objects {
            if let Some(rel) = o.key.strip_prefix(prefix) {
                out.insert(rel.to_string(), Current { etag: o.etag, size: o.size, time: o.time });
            }
        }
        match page.next {
            Some(t) => token = Some(t),
            None => return Ok(out),
        }
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

pub async fn run(env: &Env<'_>, a: Args) -> Result<ActionResult, ActionError> {
    let op = env.op();
    let mut sides = Vec::new();
    for s in [&a.a, &a.b] {
        let region = s.region.clone().unwrap_or_else(|| env.region.clone());
        let s3 = env.s3(&region, None).await?;
        let listed = current(s3.as_ref(), op, &s.bucket, &s.prefix, &region).await?;
        sides.push((s3, listed, region));
    }
    let ((s3a, left, ra), (s3b, right, rb)) = (&sides[0], &sides[1]);
    let missing = left.keys().filter(|k| !right.contains_key(*k)).count() as u64;
    let extra = right.keys().filter(|k| !left.contains_key(*k)).count() as u64;
    let (mut same, mut different, mut unproven) = (0u64, 0u64, 0u64);
    let (fa, fb) = (env.fail(&a.a.bucket, ra), env.fail(&a.b.bucket, rb));
    for (k, x) in left {
        let Some(y) = right.get(k) else { continue };
        if x.etag == y.etag {
            same += 1;
            continue;
        }
        if x.size != y.size {
            different += 1;
            continue;
        }
        let oa = ObjRef { bucket: a.a.bucket.clone(), key: format!("{}{k}", a.a.prefix), version: None };
        let ob = ObjRef { bucket: a.b.bucket.clone(), key: format!("{}{k}", a.b.prefix), version: None };
        match same_content((s3a.as_ref(), oa), (s3b.as_ref(), ob), (&fa, &fb)).await? {
            Some(true) => same += 1,
            Some(false) => different += 1,
            None => {
                different += 1;
                unproven += 1;
            }
        }
    }
    if unproven > 0 {
        (env.ctx.progress)(Progress::Line(format!(
            "{unproven} pair(s) counted as different: their ETags differ and they store no checksum to compare (KMS or customer keys, or other part layouts)"
        )));
    }
    Ok(ActionResult { outputs: outputs::compared(same, missing, extra, different), recovery_point: None })
}
