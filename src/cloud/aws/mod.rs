//! Actions against AWS through the official SDK, with the standard credential chain
//! (profiles, SSO, environment, `AWS_REGION`, `AWS_ENDPOINT_URL`). Tested against a
//! local moto server.

use std::collections::BTreeMap;
use std::sync::Arc;
use tracing::Instrument;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use serde_json::{Map, Value as Json, json};
use tokio::sync::{Mutex, Semaphore};

mod copy;

use super::plan::{Todo, Ver, restore_plan};
use super::{ActionCall, ActionCtx, ActionError, ActionResult, BoxFuture, Progress, Provider, outputs};
use crate::runbook::action_spec::ActionKind;
use crate::runbook::time::{Timestamp, parse_timestamp};
use copy::{Checked, Source, Target};

/// Copies in flight at once during a roll-back or a copy (`LIFEBOAT_S3_CONCURRENCY`
/// overrides: real S3 takes thousands of writes a second per prefix).
fn concurrency() -> usize {
    std::env::var("LIFEBOAT_S3_CONCURRENCY").ok().and_then(|v| v.parse().ok()).filter(|n| *n > 0).unwrap_or(32)
}

pub struct Aws {
    base: aws_config::SdkConfig,
    s3: Mutex<BTreeMap<String, aws_sdk_s3::Client>>,
    rds: Mutex<BTreeMap<String, aws_sdk_rds::Client>>,
}

impl Aws {
    pub async fn from_env() -> Aws {
        let base = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Aws { base, s3: Mutex::new(BTreeMap::new()), rds: Mutex::new(BTreeMap::new()) }
    }

    /// Who the credentials belong to: the account and the principal's ARN.
    pub async fn caller_identity(&self) -> Result<(String, String), String> {
        let sts = aws_sdk_sts::Client::new(&self.base);
        let out = sts.get_caller_identity().send().await.map_err(|e| match (e.code(), e.message()) {
            (Some(code), m) => format!("{code}: {}", m.unwrap_or_default()),
            _ => aws_smithy_error(&e),
        })?;
        match (out.account, out.arn) {
            (Some(account), Some(arn)) => Ok((account, arn)),
            _ => Err("STS answered without an account or ARN".into()),
        }
    }

    /// An S3 client acting as `role_arn` (assumed through STS): a bucket in the backup
    /// account, read with that account's role.
    async fn s3_as(&self, region: &str, role_arn: Option<&str>) -> aws_sdk_s3::Client {
        let Some(role) = role_arn else { return self.s3(region).await };
        let provider = aws_config::sts::AssumeRoleProvider::builder(role)
            .session_name("lifeboat")
            .configure(&self.base)
            .build()
            .await;
        let mut conf = aws_sdk_s3::config::Builder::from(&self.base)
            .region(aws_sdk_s3::config::Region::new(region.to_string()))
            .credentials_provider(provider);
        if self.base.endpoint_url().is_some() {
            conf = conf.force_path_style(true);
        }
        aws_sdk_s3::Client::from_conf(conf.build())
    }

    /// The default region: `--region`-less steps act in the dataset's primary region.
    async fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        let mut clients = self.s3.lock().await;
        clients
            .entry(region.to_string())
            .or_insert_with(|| {
                let mut conf = aws_sdk_s3::config::Builder::from(&self.base)
                    .region(aws_sdk_s3::config::Region::new(region.to_string()));
                // Local S3-compatible endpoints (moto, MinIO) need path-style addressing;
                // real AWS keeps virtual-hosted style.
                if self.base.endpoint_url().is_some() {
                    conf = conf.force_path_style(true);
                }
                aws_sdk_s3::Client::from_conf(conf.build())
            })
            .clone()
    }
}

/// The innermost cause of an SDK error (no credentials, no route), without secrets.
fn aws_smithy_error(e: &dyn std::error::Error) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

impl Aws {
    async fn rds(&self, region: &str) -> aws_sdk_rds::Client {
        let mut clients = self.rds.lock().await;
        clients
            .entry(region.to_string())
            .or_insert_with(|| {
                let conf = aws_sdk_rds::config::Builder::from(&self.base)
                    .region(aws_sdk_rds::config::Region::new(region.to_string()));
                aws_sdk_rds::Client::from_conf(conf.build())
            })
            .clone()
    }
}

/// An SDK error as a person reads it: the operation, the resource, AWS's code and
/// message, and what to check. Never a Debug dump.
fn sdk_error<E: ProvideErrorMetadata>(
    op: &str,
    resource: &str,
    region: &str,
    err: SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> ActionError {
    // S3 names a bucket's real region in a header when asked in the wrong one.
    let elsewhere = err
        .raw_response()
        .and_then(|r| r.headers().get("x-amz-bucket-region"))
        .filter(|r| *r != region)
        .map(str::to_string);
    let (code, message) = match &err {
        SdkError::DispatchFailure(_) => ("ConnectionFailed".to_string(), format!("cannot reach AWS in {region}")),
        SdkError::TimeoutError(_) => ("Timeout".to_string(), format!("AWS in {region} did not answer in time")),
        _ => (
            err.code().unwrap_or("Unknown").to_string(),
            err.message().map(str::to_string).unwrap_or_else(|| "no message from AWS".into()),
        ),
    };
    let hint = match code.as_str() {
        "AccessDenied"
        | "AccessDeniedException"
        | "InvalidAccessKeyId"
        | "SignatureDoesNotMatch"
        | "ExpiredToken"
        | "UnauthorizedOperation" => {
            "check the credentials (AWS_PROFILE, SSO session) and that the role may do this on this resource"
        }
        "NoSuchBucket" => "check the bucket name and the account",
        "PermanentRedirect" | "AuthorizationHeaderMalformed" | "IllegalLocationConstraintException" => match &elsewhere
        {
            Some(r) => &format!("the bucket is in {r}, not {region}: set `region: {r}` on the step"),
            None => "the bucket is in another region: set `region:` on the step",
        },
        "ConnectionFailed" => "check the network, AWS_ENDPOINT_URL and the region",
        "SlowDown"
        | "Throttling"
        | "ThrottlingException"
        | "RequestLimitExceeded"
        | "ServiceUnavailable"
        | "InternalError" => {
            "AWS is throttling or failing even after the SDK's retries; give the step `retries:` or lower LIFEBOAT_S3_CONCURRENCY"
        }
        _ => "check the resource name, the region and the permissions",
    };
    let retryable = matches!(
        code.as_str(),
        "SlowDown"
            | "Throttling"
            | "ThrottlingException"
            | "RequestLimitExceeded"
            | "ServiceUnavailable"
            | "InternalError"
            | "Timeout"
            | "ConnectionFailed"
    );
    let mut e = ActionError::new(op, resource, &code, message).hint(hint);
    e.retryable = retryable;
    e
}

/// A bucket setting that may not exist: `None` when S3's error code names it `absent`
/// (each setting has its own "not found" code), any other error as [`sdk_error`].
fn or_absent<T, E: ProvideErrorMetadata>(
    r: Result<T, SdkError<E, aws_sdk_s3::config::http::HttpResponse>>,
    absent: &str,
    (op, bucket, region): (&str, &str, &str),
) -> Result<Option<T>, ActionError> {
    match r {
        Ok(o) => Ok(Some(o)),
        Err(e) if e.code().is_some_and(|c| c.contains(absent)) => Ok(None),
        Err(e) => Err(sdk_error(op, bucket, region, e)),
    }
}

/// S3's and RDS's `DateTime` are the same smithy type.
fn ts(dt: &aws_sdk_s3::primitives::DateTime) -> Timestamp {
    Timestamp::new(dt.secs(), dt.subsec_nanos() as i32).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Percent-encodes a key for `x-amz-copy-source` (slashes stay).
fn encode_key(key: &str) -> String {
    let mut out = String::new();
    for b in key.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Every version and delete marker under a prefix, per key, oldest first. The SDK has no
/// paginator for this call: page on the key and version markers.
async fn versions(
    client: &aws_sdk_s3::Client,
    op: &str,
    bucket: &str,
    prefix: &str,
    region: &str,
) -> Result<BTreeMap<String, Vec<Ver>>, ActionError> {
    // Each entry with S3's IsLatest: LastModified has one-second precision, so two
    // versions of the same second are told apart by which one S3 calls current.
    let mut out: BTreeMap<String, Vec<(Ver, bool)>> = BTreeMap::new();
    let (mut key_marker, mut version_marker): (Option<String>, Option<String>) = (None, None);
    loop {
        let page = client
            .list_object_versions()
            .bucket(bucket)
            .prefix(prefix)
            .set_key_marker(key_marker.clone())
            .set_version_id_marker(version_marker.clone())
            .send()
            .await
            .map_err(|e| sdk_error(op, bucket, region, e))?;
        for v in page.versions() {
            if let (Some(k), Some(t)) = (v.key(), v.last_modified()) {
                out.entry(k.to_string()).or_default().push((
                    Ver {
                        id: v.version_id().unwrap_or("null").to_string(),
                        time: ts(t),
                        etag: v.e_tag().unwrap_or_default().to_string(),
                        marker: false,
                        size: v.size().unwrap_or(0).max(0) as u64,
                    },
                    v.is_latest() == Some(true),
                ));
            }
        }
        for m in page.delete_markers() {
            if let (Some(k), Some(t)) = (m.key(), m.last_modified()) {
                out.entry(k.to_string()).or_default().push((
                    Ver {
                        id: m.version_id().unwrap_or("null").to_string(),
                        time: ts(t),
                        etag: String::new(),
                        marker: true,
                        size: 0,
                    },
                    m.is_latest() == Some(true),
                ));
            }
        }
        if page.is_truncated() != Some(true) {
            break;
        }
        key_marker = page.next_key_marker().map(str::to_string);
        version_marker = page.next_version_id_marker().map(str::to_string);
        if key_marker.is_none() {
            break;
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

impl Provider for Aws {
    fn name(&self) -> &'static str {
        "aws"
    }

    fn call<'a>(
        &'a self,
        call: &'a ActionCall,
        ctx: &'a ActionCtx<'a>,
    ) -> BoxFuture<'a, Result<ActionResult, ActionError>> {
        Box::pin(async move {
            let region = call.str("region").map(str::to_string).unwrap_or_else(|| ctx.dataset.primary.region.clone());
            match call.spec.kind {
                ActionKind::S3RestoreToTime => self.restore_to_time(call, ctx, &region).await,
                ActionKind::S3CheckPosture => self.s3_posture(call, &region).await,
                ActionKind::S3Compare => self.compare(call, &region).await,
                ActionKind::S3CopyPrefix => self.copy_prefix(call, ctx, &region).await,
                ActionKind::RdsFindSnapshot => self.find_snapshot(call, ctx, &region).await,
                ActionKind::RdsCopySnapshot => self.copy_snapshot(call, &region).await,
                ActionKind::RdsRestoreFromSnapshot => self.restore_from_snapshot(call, ctx, &region).await,
                ActionKind::RdsRestoreToTime => self.rds_restore_to_time(call, ctx, &region).await,
                ActionKind::RdsPromoteReplica => self.promote(call, ctx, &region).await,
                ActionKind::RdsWaitAvailable => self.wait_available(call, ctx, &region).await,
                ActionKind::RdsCheckPosture => self.rds_posture(call, &region).await,
            }
        })
    }
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
        if last {
            out.last_mut().expect("just pushed").1 += 1;
        }
    }
    out
}

/// Copies the chosen version on top, checked against it (see `copy`).
async fn copy_back(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    region: &str,
    key: &str,
    v: &Ver,
) -> Result<Checked, ActionError> {
    let src = Source { bucket, key, version: Some(&v.id), etag: &v.etag, size: v.size, region };
    let dst = Target { bucket, key, region };
    copy::server_copy(client, &src, &dst, "s3.restore_to_time").await.map(|(checked, _)| checked)
}

/// What each task of a roll-back or a copy did: objects, bytes, and whether the copy
/// could be proved by its size alone.
type Done = Result<(u64, u64, bool), ActionError>;

/// Waits for every task, reporting progress as objects finish; the first error stops the
/// rest. Returns the bytes copied.
async fn drain(mut tasks: tokio::task::JoinSet<Done>, total: u64, ctx: &ActionCtx<'_>) -> Result<u64, ActionError> {
    let (mut done, mut shown, mut bytes, mut by_size) = (0u64, 0u64, 0u64, 0u64);
    while let Some(r) = tasks.join_next().await {
        match r.expect("a copy task does not panic") {
            Ok((n, b, size_only)) => {
                done += n;
                bytes += b;
                by_size += size_only as u64;
            }
            Err(e) => {
                tasks.abort_all();
                return Err(e);
            }
        }
        if done - shown >= 25 || done == total {
            shown = done;
            (ctx.progress)(Progress::Count { done, total, unit: "objects" });
        }
    }
    if by_size > 0 {
        (ctx.progress)(Progress::Line(size_only(by_size)));
    }
    Ok(bytes)
}

/// Said once, after the work: which copies no digest could prove.
fn size_only(n: u64) -> String {
    format!(
        "{n} object(s) checked by size only: their ETags are no digest (KMS or customer keys) and they store no checksum"
    )
}

/// One DeleteObjects request: a version id removes that delete marker; none places a new
/// marker (approved deletion stays recoverable). S3 answers 200 with per-key errors, so
/// each is read.
async fn delete_batch(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    region: &str,
    (batch, keys): (Deletes, u64),
) -> Result<u64, ActionError> {
    use aws_sdk_s3::types::{Delete, ObjectIdentifier};
    let op = "s3.restore_to_time";
    let objects = batch
        .iter()
        .map(|(k, v)| ObjectIdentifier::builder().key(k).set_version_id(v.clone()).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ActionError::new(op, &format!("s3://{bucket}"), "InvalidArgument", e.to_string()))?;
    let delete = Delete::builder()
        .set_objects(Some(objects))
        .quiet(true)
        .build()
        .map_err(|e| ActionError::new(op, &format!("s3://{bucket}"), "InvalidArgument", e.to_string()))?;
    let out = client
        .delete_objects()
        .bucket(bucket)
        .delete(delete)
        .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Crc32)
        .send()
        .await
        .map_err(|e| sdk_error(op, &format!("s3://{bucket}"), region, e))?;
    if let Some(e) = out.errors().first() {
        let key = e.key().unwrap_or_default();
        return Err(ActionError::new(
            op,
            &format!("s3://{bucket}/{key}"),
            e.code().unwrap_or("DeleteFailed"),
            format!(
                "{} ({} of {} deletes in this batch failed)",
                e.message().unwrap_or("the delete was refused"),
                out.errors().len(),
                batch.len()
            ),
        ));
    }
    Ok(keys)
}

impl Aws {
    async fn restore_to_time(
        &self,
        call: &ActionCall,
        ctx: &ActionCtx<'_>,
        region: &str,
    ) -> Result<ActionResult, ActionError> {
        let op = call.spec.name;
        let bucket = call.required("bucket")?.to_string();
        let prefix = call.str("prefix").unwrap_or("");
        let time_text = call.required("time")?;
        let time = parse_timestamp(time_text)
            .map_err(|h| ActionError::new(op, &bucket, "InvalidArgument", format!("`time` is not a timestamp: {h}")))?;
        let client = self.s3(region).await;
        let all = versions(&client, op, &bucket, prefix, region).await?;
        let plan = restore_plan(&all, time, call.bool("delete_newer"));
        let rp = plan.newest.unwrap_or(time);
        let result = outputs::rolled_back(&plan, rp);
        let dry_run = call.bool("dry_run");
        (ctx.progress)(Progress::Line(plan.describe(&bucket, prefix, time_text, dry_run)));
        if !dry_run {
            let total = plan.todo.iter().filter(|(_, t)| !matches!(t, Todo::Newer)).count() as u64;
            // Removing delete markers and placing approved ones are batched a thousand keys
            // a request (DeleteObjects): a mass deletion — the commonest accident — costs
            // pages, not one request a key. Copies have no batch form in S3.
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
            let gate = Arc::new(Semaphore::new(concurrency()));
            let mut tasks = tokio::task::JoinSet::new();
            for batch in batches(deletes) {
                let (client, bucket, gate, region) = (client.clone(), bucket.clone(), gate.clone(), region.to_string());
                tasks.spawn(
                    async move {
                        let _permit = gate.acquire_owned().await.expect("the gate stays open");
                        delete_batch(&client, &bucket, &region, batch).await.map(|n| (n, 0, false))
                    }
                    .in_current_span(),
                );
            }
            for (key, v) in copies {
                let (client, bucket, gate, region) = (client.clone(), bucket.clone(), gate.clone(), region.to_string());
                tasks.spawn(
                    async move {
                        let _permit = gate.acquire_owned().await.expect("the gate stays open");
                        copy_back(&client, &bucket, &region, &key, &v).await.map(|c| (1, v.size, c == Checked::Size))
                    }
                    .in_current_span(),
                );
            }
            drain(tasks, total, ctx).await?;
        }
        Ok(ActionResult { outputs: result, recovery_point: (!dry_run).then_some(rp) })
    }

    async fn s3_posture(&self, call: &ActionCall, region: &str) -> Result<ActionResult, ActionError> {
        let op = call.spec.name;
        let bucket = call.required("bucket")?;
        let c = self.s3(region).await;
        let versioning = match c.get_bucket_versioning().bucket(bucket).send().await {
            Ok(v) => v.status().map(|s| s.as_str().to_string()),
            // moto answers with a `<GetBucketVersioningResponse>` root the SDK cannot
            // parse; the answer itself is in the raw body.
            Err(SdkError::ServiceError(se)) if se.err().code().is_none() => {
                let body = se.raw().body().bytes().and_then(|b| std::str::from_utf8(b).ok()).unwrap_or("");
                body.split_once("<Status>")
                    .and_then(|(_, rest)| rest.split_once("</Status>"))
                    .map(|(s, _)| s.to_string())
            }
            Err(e) => return Err(sdk_error(op, bucket, region, e)),
        };
        let versioning = versioning.unwrap_or_else(|| "never enabled".into());
        let lock = or_absent(
            c.get_object_lock_configuration().bucket(bucket).send().await,
            "ObjectLockConfigurationNotFound",
            (op, bucket, region),
        )?
        .and_then(|o| {
            o.object_lock_configuration().and_then(|l| l.rule()).and_then(|r| r.default_retention()).map(|d| {
                format!(
                    "{} {}",
                    d.mode().map(|m| m.as_str()).unwrap_or("?"),
                    d.days().map(|n| format!("{n}d")).or(d.years().map(|y| format!("{y}y"))).unwrap_or_default()
                )
            })
        });
        let encryption = or_absent(
            c.get_bucket_encryption().bucket(bucket).send().await,
            "ServerSideEncryptionConfigurationNotFound",
            (op, bucket, region),
        )?
        .and_then(|o| {
            o.server_side_encryption_configuration()
                .and_then(|s| s.rules().first())
                .and_then(|r| r.apply_server_side_encryption_by_default())
                .map(|d| d.sse_algorithm().as_str().to_string())
        });
        let replication = or_absent(
            c.get_bucket_replication().bucket(bucket).send().await,
            "ReplicationConfigurationNotFound",
            (op, bucket, region),
        )?
        .and_then(|o| {
            o.replication_configuration()
                .and_then(|r| r.rules().first())
                .and_then(|r| r.destination())
                .map(|d| d.bucket().to_string())
        });
        let public_blocked = or_absent(
            c.get_public_access_block().bucket(bucket).send().await,
            "NoSuchPublicAccessBlockConfiguration",
            (op, bucket, region),
        )?
        .is_some_and(|o| {
            o.public_access_block_configuration().is_some_and(|p| {
                p.block_public_acls() == Some(true)
                    && p.ignore_public_acls() == Some(true)
                    && p.block_public_policy() == Some(true)
                    && p.restrict_public_buckets() == Some(true)
            })
        });
        let checks = [
            (
                "versioning",
                json!(versioning),
                versioning == "Enabled",
                "versioning is not enabled: overwritten objects cannot be rolled back",
            ),
            ("object_lock", json!(lock.clone().unwrap_or_else(|| "none".into())), true, ""),
            (
                "encryption",
                json!(encryption.clone().unwrap_or_else(|| "none".into())),
                encryption.is_some(),
                "no default encryption",
            ),
            (
                "replication",
                json!(replication.clone().unwrap_or_else(|| "none".into())),
                replication.is_some() || lock.is_some(),
                "no copy elsewhere and no object lock",
            ),
            ("public_access_blocked", json!(public_blocked), public_blocked, "public access is not fully blocked"),
        ];
        super::posture(call, bucket, &checks)
    }

    /// Current objects under a prefix: relative key → (ETag, size, last modified).
    async fn current(
        &self,
        op: &str,
        bucket: &str,
        prefix: &str,
        region: &str,
        role: Option<&str>,
    ) -> Result<BTreeMap<String, (String, i64, Timestamp)>, ActionError> {
        let c = self.s3_as(region, role).await;
        let mut out = BTreeMap::new();
        let mut pages = c.list_objects_v2().bucket(bucket).prefix(prefix).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk_error(op, bucket, region, e))?;
            for o in page.contents() {
                if let Some(k) = o.key() {
                    out.insert(
                        k[prefix.len()..].to_string(),
                        (
                            o.e_tag().unwrap_or_default().to_string(),
                            o.size().unwrap_or(0),
                            o.last_modified().map(ts).unwrap_or(Timestamp::UNIX_EPOCH),
                        ),
                    );
                }
            }
        }
        Ok(out)
    }

    async fn compare(&self, call: &ActionCall, region: &str) -> Result<ActionResult, ActionError> {
        let op = call.spec.name;
        let side = |s: &str| -> Result<_, ActionError> {
            Ok((
                call.required(&format!("{s}.bucket"))?.to_string(),
                call.path(&format!("{s}.prefix")).unwrap_or("").to_string(),
                call.path(&format!("{s}.region")).unwrap_or(region).to_string(),
            ))
        };
        let ((ab, ap, ar), (bb, bp, br)) = (side("a")?, side("b")?);
        // Each side as relative key → ETag.
        let etags = |m: BTreeMap<String, (String, i64, Timestamp)>| m.into_iter().map(|(k, v)| (k, v.0)).collect();
        let a = etags(self.current(op, &ab, &ap, &ar, None).await?);
        let b = etags(self.current(op, &bb, &bp, &br, None).await?);
        Ok(ActionResult { outputs: outputs::compared(&a, &b), recovery_point: None })
    }

    async fn copy_prefix(
        &self,
        call: &ActionCall,
        ctx: &ActionCtx<'_>,
        region: &str,
    ) -> Result<ActionResult, ActionError> {
        let op = call.spec.name;

        let (fb, fp, fr) = (
            call.required("from.bucket")?,
            call.path("from.prefix").unwrap_or(""),
            call.path("from.region").unwrap_or(region),
        );
        let (tb, tp, tr) = (
            call.required("to.bucket")?,
            call.path("to.prefix").unwrap_or(""),
            call.path("to.region").unwrap_or(region),
        );
        let overwrite = call.bool("overwrite");
        let (from_role, to_role) = (call.path("from.role_arn"), call.path("to.role_arn"));
        let src = self.current(op, fb, fp, fr, from_role).await?;
        let dst = self.current(op, tb, tp, tr, to_role).await?;
        // One identity: S3 copies server-side. Two (a role in the backup account): each
        // object is read with one and written with the other, its ETag checked.
        let reader = if from_role != to_role { Some(self.s3_as(fr, from_role).await) } else { None };
        let fresh = src.values().map(|v| v.2).max();
        let todo: Vec<(String, i64)> = src
            .iter()
            .filter(|(k, v)| dst.get(*k).is_none_or(|d| overwrite && d.0 != v.0))
            .map(|(k, v)| (k.clone(), v.1))
            .collect();
        let total = todo.len() as u64;
        let client = self.s3_as(tr, to_role).await;
        let gate = Arc::new(Semaphore::new(concurrency()));
        let mut tasks = tokio::task::JoinSet::new();
        for (key, size) in todo {
            let (client, gate, reader) = (client.clone(), gate.clone(), reader.clone());
            let (fb, fr, tb, tr) = (fb.to_string(), fr.to_string(), tb.to_string(), tr.to_string());
            let (source_key, target_key, etag) = (format!("{fp}{key}"), format!("{tp}{key}"), src[&key].0.clone());
            tasks.spawn(
                async move {
                    let _permit = gate.acquire_owned().await.expect("the gate stays open");
                    let src = Source {
                        bucket: &fb,
                        key: &source_key,
                        version: None,
                        etag: &etag,
                        size: size.max(0) as u64,
                        region: &fr,
                    };
                    let dst = Target { bucket: &tb, key: &target_key, region: &tr };
                    let checked = match &reader {
                        None => copy::server_copy(&client, &src, &dst, op).await?.0,
                        Some(reader) => copy::stream_copy(reader, &client, &src, &dst, op).await?,
                    };
                    Ok((1, size.max(0) as u64, checked == Checked::Size))
                }
                .in_current_span(),
            );
        }
        let bytes = drain(tasks, total, ctx).await?;
        let rp = fresh.unwrap_or_else(|| ctx.clock.now());
        Ok(ActionResult { outputs: outputs::copied(total, bytes, rp), recovery_point: Some(rp) })
    }
}

fn instance_outputs(id: &str, inst: &aws_sdk_rds::types::DbInstance, rp: Option<Timestamp>) -> Map<String, Json> {
    let endpoint = inst
        .endpoint()
        .map(|e| format!("{}:{}", e.address().unwrap_or_default(), e.port().unwrap_or(5432)))
        .unwrap_or_default();
    outputs::instance(id, &endpoint, Some(inst.db_instance_status().unwrap_or("unknown")), rp)
}

const RUN_TAG: &str = "lifeboat:run";
const STEP_TAG: &str = "lifeboat:step";

impl Aws {
    async fn describe(
        &self,
        op: &str,
        id: &str,
        region: &str,
    ) -> Result<Option<aws_sdk_rds::types::DbInstance>, ActionError> {
        let c = self.rds(region).await;
        match c.describe_db_instances().db_instance_identifier(id).send().await {
            Ok(o) => Ok(o.db_instances().first().cloned()),
            Err(e) if e.code() == Some("DBInstanceNotFound") || e.code() == Some("DBInstanceNotFoundFault") => Ok(None),
            Err(e) => Err(sdk_error(op, id, region, e)),
        }
    }

    /// An instance this run's step already created, found by its tags (so a retried or
    /// resumed step adopts its own work instead of failing or doubling it).
    async fn own_instance(
        &self,
        call: &ActionCall,
        id: &str,
        region: &str,
    ) -> Result<Option<aws_sdk_rds::types::DbInstance>, ActionError> {
        let op = call.spec.name;
        let Some(inst) = self.describe(op, id, region).await? else { return Ok(None) };
        let arn = inst.db_instance_arn().unwrap_or_default().to_string();
        let tags = self
            .rds(region)
            .await
            .list_tags_for_resource()
            .resource_name(&arn)
            .send()
            .await
            .map_err(|e| sdk_error(op, id, region, e))?;
        let tag =
            |k: &str| tags.tag_list().iter().find(|t| t.key() == Some(k)).and_then(|t| t.value()).map(str::to_string);
        if tag(RUN_TAG).as_deref() == Some(call.run_id.as_str()) && tag(STEP_TAG).as_deref() == Some(call.step.as_str())
        {
            return Ok(Some(inst));
        }
        Err(ActionError::new(
            op,
            id,
            "DBInstanceAlreadyExists",
            format!("an instance named `{id}` already exists in {region}"),
        )
        .hint("choose another new_instance name, or delete the leftover instance"))
    }

    fn tags(call: &ActionCall) -> Vec<aws_sdk_rds::types::Tag> {
        vec![
            aws_sdk_rds::types::Tag::builder().key(RUN_TAG).value(&call.run_id).build(),
            aws_sdk_rds::types::Tag::builder().key(STEP_TAG).value(&call.step).build(),
        ]
    }

    /// Polls through the run's clock, with backoff, until the instance is available.
    async fn until_available(
        &self,
        op: &str,
        id: &str,
        region: &str,
        ctx: &ActionCtx<'_>,
        limit: Option<std::time::Duration>,
    ) -> Result<aws_sdk_rds::types::DbInstance, ActionError> {
        let started = ctx.clock.now();
        let mut wait = std::time::Duration::from_secs(15);
        loop {
            let inst =
                self.describe(op, id, region).await?.ok_or_else(|| outputs::not_found(op, "instance", id, region))?;
            let status = inst.db_instance_status().unwrap_or("unknown").to_string();
            (ctx.progress)(Progress::Line(format!("{id}: {status}")));
            if status == "available" {
                return Ok(inst);
            }
            if matches!(status.as_str(), "failed" | "incompatible-restore" | "incompatible-parameters" | "storage-full")
            {
                return Err(ActionError::new(op, id, "InvalidDBInstanceState", format!("`{id}` is {status}"))
                    .hint("check the instance's events in the console"));
            }
            if let Some(limit) = limit
                && ctx.clock.now().duration_since(started).as_secs() as u64 >= limit.as_secs()
            {
                return Err(ActionError::new(op, id, "WaiterTimeout", format!("`{id}` was still {status}"))
                    .hint("restores of large databases take longer; raise the timeout"));
            }
            ctx.clock.sleep(wait).await;
            wait = (wait * 2).min(std::time::Duration::from_secs(120));
        }
    }

    async fn find_snapshot(
        &self,
        call: &ActionCall,
        ctx: &ActionCtx<'_>,
        region: &str,
    ) -> Result<ActionResult, ActionError> {
        let op = call.spec.name;
        let instance = call.required("instance")?;
        let before = match call.str("before") {
            Some(t) => parse_timestamp(t).map_err(|h| ActionError::new(op, instance, "InvalidParameterValue", h))?,
            None => ctx.clock.now(),
        };
        let c = self.rds(region).await;
        let mut pages = c.describe_db_snapshots().db_instance_identifier(instance).into_paginator().send();
        let mut best: Option<(String, Timestamp)> = None;
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk_error(op, instance, region, e))?;
            for s in page.db_snapshots() {
                if let (Some(id), Some(t)) = (s.db_snapshot_identifier(), s.snapshot_create_time().map(ts))
                    && t <= before
                    && s.status() == Some("available")
                    && best.as_ref().is_none_or(|(_, b)| t > *b)
                {
                    best = Some((id.to_string(), t));
                }
            }
        }
        let Some((id, t)) = best else {
            return Err(outputs::no_snapshot_before(op, instance, region, before, "available "));
        };
        Ok(ActionResult { outputs: outputs::snapshot_found(&id, t), recovery_point: None })
    }

    async fn copy_snapshot(&self, call: &ActionCall, region: &str) -> Result<ActionResult, ActionError> {
        let op = call.spec.name;
        let snap = call.required("snapshot")?;
        let to = call.required("to_region")?;
        // The source is named by ARN in the destination region's call.
        let source = self
            .rds(region)
            .await
            .describe_db_snapshots()
            .db_snapshot_identifier(snap)
            .send()
            .await
            .map_err(|e| sdk_error(op, snap, region, e))?;
        let arn = source
            .db_snapshots()
            .first()
            .and_then(|s| s.db_snapshot_arn())
            .ok_or_else(|| outputs::not_found(op, "snapshot", snap, region))?
            .to_string();
        let target = format!("{}-copy-{to}", snap.trim_start_matches("rds:").replace(':', "-"));
        let dest = self.rds(to).await;
        let exists = dest
            .describe_db_snapshots()
            .db_snapshot_identifier(&target)
            .send()
            .await
            .is_ok_and(|o| !o.db_snapshots().is_empty());
        if !exists {
            let mut req =
                dest.copy_db_snapshot().source_db_snapshot_identifier(&arn).target_db_snapshot_identifier(&target);
            if let Some(k) = call.str("kms_key") {
                req = req.kms_key_id(k);
            }
            req.send().await.map_err(|e| sdk_error(op, snap, to, e))?;
        }
        Ok(ActionResult { outputs: outputs::snapshot(&target), recovery_point: None })
    }

    async fn restore_from_snapshot(
        &self,
        call: &ActionCall,
        ctx: &ActionCtx<'_>,
        region: &str,
    ) -> Result<ActionResult, ActionError> {
        let op = call.spec.name;
        let snap = call.required("snapshot")?;
        let id = call.required("new_instance")?;
        let c = self.rds(region).await;
        let found = c.describe_db_snapshots().db_snapshot_identifier(snap).send().await;
        let time = match found {
            Ok(o) => o
                .db_snapshots()
                .first()
                .and_then(|s| s.snapshot_create_time())
                .map(ts)
                .ok_or_else(|| outputs::not_found(op, "snapshot", snap, region))?,
            Err(e) if e.code().is_some_and(|c| c.starts_with("DBSnapshotNotFound")) => {
                return Err(outputs::not_found(op, "snapshot", snap, region));
            }
            Err(e) => return Err(sdk_error(op, snap, region, e)),
        };
        if self.own_instance(call, id, region).await?.is_none() {
            let mut req = c
                .restore_db_instance_from_db_snapshot()
                .db_instance_identifier(id)
                .db_snapshot_identifier(snap)
                .set_tags(Some(Self::tags(call)));
            if let Some(class) = call.str("instance_class") {
                req = req.db_instance_class(class);
            }
            req.send().await.map_err(|e| sdk_error(op, id, region, e))?;
        }
        let inst = self.until_available(op, id, region, ctx, None).await?;
        Ok(ActionResult { outputs: instance_outputs(id, &inst, Some(time)), recovery_point: Some(time) })
    }

    async fn rds_restore_to_time(
        &self,
        call: &ActionCall,
        ctx: &ActionCtx<'_>,
        region: &str,
    ) -> Result<ActionResult, ActionError> {
        let op = call.spec.name;
        let source = call.required("instance")?;
        let id = call.required("new_instance")?;
        let src = self
            .describe(op, source, region)
            .await?
            .ok_or_else(|| outputs::not_found(op, "instance", source, region))?;
        // The window AWS enforces (moto does not): from the oldest retained backup to the
        // latest restorable time.
        let now = ctx.clock.now();
        let latest = src.latest_restorable_time().map(ts).unwrap_or(now);
        let retention = src.backup_retention_period().unwrap_or(0);
        if retention == 0 {
            return Err(ActionError::new(
                op,
                source,
                "PointInTimeRestoreNotEnabled",
                format!("`{source}` keeps no automated backups (retention 0)"),
            )
            .hint("point-in-time restore needs backup retention of at least 1 day; restore a snapshot instead"));
        }
        let earliest = now.checked_sub(jiff::SignedDuration::from_hours(24 * retention as i64)).unwrap_or(now);
        let time = outputs::restore_time(call, source, (earliest, latest), "choose a time inside the window")?;
        if self.own_instance(call, id, region).await?.is_none() {
            let mut req = self
                .rds(region)
                .await
                .restore_db_instance_to_point_in_time()
                .source_db_instance_identifier(source)
                .target_db_instance_identifier(id)
                .set_tags(Some(Self::tags(call)));
            req = if call.bool("latest") {
                req.use_latest_restorable_time(true)
            } else {
                req.restore_time(aws_sdk_rds::primitives::DateTime::from_secs(time.as_second()))
            };
            if let Some(class) = call.str("instance_class") {
                req = req.db_instance_class(class);
            }
            req.send().await.map_err(|e| sdk_error(op, id, region, e))?;
        }
        let inst = self.until_available(op, id, region, ctx, None).await?;
        Ok(ActionResult { outputs: instance_outputs(id, &inst, Some(time)), recovery_point: Some(time) })
    }

    async fn promote(&self, call: &ActionCall, ctx: &ActionCtx<'_>, region: &str) -> Result<ActionResult, ActionError> {
        let op = call.spec.name;
        let id = call.required("replica")?;
        let inst =
            self.describe(op, id, region).await?.ok_or_else(|| outputs::not_found(op, "instance", id, region))?;
        if inst.read_replica_source_db_instance_identifier().is_some() {
            self.rds(region)
                .await
                .promote_read_replica()
                .db_instance_identifier(id)
                .send()
                .await
                .map_err(|e| sdk_error(op, id, region, e))?;
        } else {
            (ctx.progress)(Progress::Line(format!("{id} is not (or no longer) a replica: nothing to promote")));
        }
        let inst = self.until_available(op, id, region, ctx, None).await?;
        // The replica holds what reached it before the primary stopped; the RDS API does
        // not report the lag, so the recovery point is the incident start (or now).
        let rp = ctx.incident_started_at.min(ctx.clock.now());
        Ok(ActionResult { outputs: instance_outputs(id, &inst, Some(rp)), recovery_point: Some(rp) })
    }

    async fn wait_available(
        &self,
        call: &ActionCall,
        ctx: &ActionCtx<'_>,
        region: &str,
    ) -> Result<ActionResult, ActionError> {
        let id = call.required("instance")?;
        let limit = call
            .str("timeout")
            .and_then(|t| crate::runbook::time::Duration::parse(t).ok())
            .map(|d| std::time::Duration::from_secs(d.secs()));
        let inst = self.until_available(call.spec.name, id, region, ctx, limit).await?;
        Ok(ActionResult { outputs: instance_outputs(id, &inst, None), recovery_point: None })
    }

    async fn rds_posture(&self, call: &ActionCall, region: &str) -> Result<ActionResult, ActionError> {
        let op = call.spec.name;
        let id = call.required("instance")?;
        let i = self.describe(op, id, region).await?.ok_or_else(|| outputs::not_found(op, "instance", id, region))?;
        let retention = i.backup_retention_period().unwrap_or(0);
        let encrypted = i.storage_encrypted().unwrap_or(false);
        let protection = i.deletion_protection().unwrap_or(false);
        let cross = !i.db_instance_automated_backups_replications().is_empty();
        let checks = [
            ("backup_retention_days", json!(retention), retention >= 7, "automated backups are kept less than 7 days"),
            ("encrypted", json!(encrypted), encrypted, "storage is not encrypted"),
            ("deletion_protection", json!(protection), protection, "deletion protection is off"),
            ("cross_region_backups", json!(cross), cross, "automated backups are not replicated to another region"),
        ];
        super::posture(call, id, &checks)
    }
}
