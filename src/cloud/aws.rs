//! Actions against AWS through the official SDK, with the standard credential chain
//! (profiles, SSO, environment, `AWS_REGION`, `AWS_ENDPOINT_URL`). Tested against a
//! local moto server.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use serde_json::{Map, Value as Json, json};
use tokio::sync::{Mutex, Semaphore};

use super::plan::{Todo, Ver, restore_plan};
use super::{ActionCall, ActionCtx, ActionError, ActionResult, BoxFuture, Progress, Provider};
use crate::runbook::time::{Timestamp, format_timestamp, parse_timestamp};

/// Copies in flight at once during a roll-back or a copy.
const CONCURRENCY: usize = 32;

pub struct Aws {
    base: aws_config::SdkConfig,
    s3: Mutex<BTreeMap<String, aws_sdk_s3::Client>>,
}

impl Aws {
    pub async fn from_env() -> Aws {
        let base = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Aws { base, s3: Mutex::new(BTreeMap::new()) }
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

/// An SDK error as a person reads it: the operation, the resource, AWS's code and
/// message, and what to check. Never a Debug dump.
fn sdk_error<E: ProvideErrorMetadata, R>(op: &str, resource: &str, region: &str, err: SdkError<E, R>) -> ActionError {
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
        "PermanentRedirect" | "AuthorizationHeaderMalformed" | "IllegalLocationConstraintException" => {
            "the bucket is in another region: set `region:` on the step"
        }
        "ConnectionFailed" => "check the network, AWS_ENDPOINT_URL and the region",
        "SlowDown"
        | "Throttling"
        | "ThrottlingException"
        | "RequestLimitExceeded"
        | "ServiceUnavailable"
        | "InternalError" => "AWS is throttling or failing; the step retries",
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
    let mut out: BTreeMap<String, Vec<Ver>> = BTreeMap::new();
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
                out.entry(k.to_string()).or_default().push(Ver {
                    id: v.version_id().unwrap_or("null").to_string(),
                    time: ts(t),
                    etag: v.e_tag().unwrap_or_default().to_string(),
                    marker: false,
                });
            }
        }
        for m in page.delete_markers() {
            if let (Some(k), Some(t)) = (m.key(), m.last_modified()) {
                out.entry(k.to_string()).or_default().push(Ver {
                    id: m.version_id().unwrap_or("null").to_string(),
                    time: ts(t),
                    etag: String::new(),
                    marker: true,
                });
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
    // Oldest first; a marker and a version of the same second: the listing order breaks the tie.
    for v in out.values_mut() {
        v.sort_by_key(|x| x.time);
    }
    Ok(out)
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
            match call.spec.name {
                "s3.restore_to_time" => self.restore_to_time(call, ctx, &region).await,
                "s3.check_posture" => self.s3_posture(call, &region).await,
                "s3.compare" => self.compare(call, &region).await,
                "s3.copy_prefix" => self.copy_prefix(call, ctx, &region).await,
                other => Err(ActionError::new(
                    other,
                    &call.step,
                    "NotImplemented",
                    "this action is not available against AWS yet",
                )
                .hint("rehearse it with `lifeboat tabletop` (simulated cloud) until it is")),
            }
        })
    }
}

impl Aws {
    async fn restore_to_time(
        &self,
        call: &ActionCall,
        ctx: &ActionCtx<'_>,
        region: &str,
    ) -> Result<ActionResult, ActionError> {
        let op = call.spec.name;
        let bucket = call.str("bucket").unwrap_or_default().to_string();
        let prefix = call.str("prefix").unwrap_or("");
        let time_text = call.str("time").unwrap_or_default();
        let time = parse_timestamp(time_text)
            .map_err(|h| ActionError::new(op, &bucket, "InvalidArgument", format!("`time` is not a timestamp: {h}")))?;
        let client = self.s3(region).await;
        let all = versions(&client, op, &bucket, prefix, region).await?;
        let plan = restore_plan(&all, time, call.bool("delete_newer"));
        let restored = plan.count(|t| matches!(t, Todo::Copy(_)));
        let undeleted = plan.count(|t| matches!(t, Todo::Undelete(_)));
        let newer = plan.newer();
        let newest = plan.newest;
        let dry_run = call.bool("dry_run");
        (ctx.progress)(Progress::Line(format!(
            "plan for s3://{bucket}/{prefix}: {restored} to roll back, {undeleted} to undelete, {} created after {time_text}{}",
            plan.count(|t| matches!(t, Todo::Newer | Todo::DeleteNewer)),
            if dry_run { " (dry run: nothing changes)" } else { "" }
        )));
        if !dry_run {
            let work: Vec<(String, Todo)> = plan.todo.into_iter().filter(|(_, t)| !matches!(t, Todo::Newer)).collect();
            let total = work.len() as u64;
            let gate = Arc::new(Semaphore::new(CONCURRENCY));
            let mut tasks = tokio::task::JoinSet::new();
            for (key, todo) in work {
                let (client, bucket, gate) = (client.clone(), bucket.clone(), gate.clone());
                let region = region.to_string();
                tasks.spawn(async move {
                    let _permit = gate.acquire_owned().await.expect("the gate stays open");
                    match todo {
                        Todo::Copy(v) => {
                            let out = client
                                .copy_object()
                                .bucket(&bucket)
                                .key(&key)
                                .copy_source(format!("{bucket}/{}?versionId={}", encode_key(&key), v.id))
                                .send()
                                .await
                                .map_err(|e| {
                                    sdk_error("s3.restore_to_time", &format!("s3://{bucket}/{key}"), &region, e)
                                })?;
                            // The final check, from the copy's own answer: no extra request.
                            let got = out.copy_object_result().and_then(|r| r.e_tag()).unwrap_or_default();
                            if got != v.etag {
                                return Err(ActionError::new(
                                    "s3.restore_to_time",
                                    &format!("s3://{bucket}/{key}"),
                                    "VerificationFailed",
                                    format!("the copy has ETag {got}, the chosen version {}", v.etag),
                                ));
                            }
                        }
                        Todo::Undelete(markers) => {
                            for m in markers {
                                client.delete_object().bucket(&bucket).key(&key).version_id(&m).send().await.map_err(
                                    |e| sdk_error("s3.restore_to_time", &format!("s3://{bucket}/{key}"), &region, e),
                                )?;
                            }
                        }
                        // Approved deletion of what was created after the time: a delete
                        // marker, so even this stays recoverable.
                        Todo::DeleteNewer => {
                            client.delete_object().bucket(&bucket).key(&key).send().await.map_err(|e| {
                                sdk_error("s3.restore_to_time", &format!("s3://{bucket}/{key}"), &region, e)
                            })?;
                        }
                        Todo::Newer => {}
                    }
                    Ok::<(), ActionError>(())
                });
            }
            let mut done = 0u64;
            while let Some(r) = tasks.join_next().await {
                if let Err(e) = r.expect("a copy task does not panic") {
                    tasks.abort_all();
                    return Err(e);
                }
                done += 1;
                if done.is_multiple_of(25) || done == total {
                    (ctx.progress)(Progress::Count { done, total, unit: "objects" });
                }
            }
        }
        let rp = newest.unwrap_or(time);
        let mut outputs = Map::new();
        outputs.insert("restored".into(), json!(restored));
        outputs.insert("undeleted".into(), json!(undeleted));
        outputs.insert("newer_kept".into(), json!(newer.len()));
        outputs
            .insert("newer_keys".into(), Json::Array(newer.iter().take(20).map(|k| Json::String(k.clone())).collect()));
        outputs.insert("recovery_point".into(), Json::String(format_timestamp(rp)));
        Ok(ActionResult { outputs, recovery_point: (!dry_run).then_some(rp) })
    }

    async fn s3_posture(&self, call: &ActionCall, region: &str) -> Result<ActionResult, ActionError> {
        let op = call.spec.name;
        let bucket = call.str("bucket").unwrap_or_default();
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
        let lock = match c.get_object_lock_configuration().bucket(bucket).send().await {
            Ok(o) => {
                o.object_lock_configuration().and_then(|l| l.rule()).and_then(|r| r.default_retention()).map(|d| {
                    format!(
                        "{} {}",
                        d.mode().map(|m| m.as_str()).unwrap_or("?"),
                        d.days().map(|n| format!("{n}d")).or(d.years().map(|y| format!("{y}y"))).unwrap_or_default()
                    )
                })
            }
            Err(e) if e.code().is_some_and(|c| c.contains("ObjectLockConfigurationNotFound")) => None,
            Err(e) => return Err(sdk_error(op, bucket, region, e)),
        };
        let encryption = match c.get_bucket_encryption().bucket(bucket).send().await {
            Ok(o) => o
                .server_side_encryption_configuration()
                .and_then(|s| s.rules().first())
                .and_then(|r| r.apply_server_side_encryption_by_default())
                .map(|d| d.sse_algorithm().as_str().to_string()),
            Err(e) if e.code().is_some_and(|c| c.contains("ServerSideEncryptionConfigurationNotFound")) => None,
            Err(e) => return Err(sdk_error(op, bucket, region, e)),
        };
        let replication = match c.get_bucket_replication().bucket(bucket).send().await {
            Ok(o) => o
                .replication_configuration()
                .and_then(|r| r.rules().first())
                .and_then(|r| r.destination())
                .map(|d| d.bucket().to_string()),
            Err(e) if e.code().is_some_and(|c| c.contains("ReplicationConfigurationNotFound")) => None,
            Err(e) => return Err(sdk_error(op, bucket, region, e)),
        };
        let public_blocked = match c.get_public_access_block().bucket(bucket).send().await {
            Ok(o) => o.public_access_block_configuration().is_some_and(|p| {
                p.block_public_acls() == Some(true)
                    && p.ignore_public_acls() == Some(true)
                    && p.block_public_policy() == Some(true)
                    && p.restrict_public_buckets() == Some(true)
            }),
            Err(e) if e.code().is_some_and(|c| c.contains("NoSuchPublicAccessBlockConfiguration")) => false,
            Err(e) => return Err(sdk_error(op, bucket, region, e)),
        };
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
    ) -> Result<BTreeMap<String, (String, i64, Timestamp)>, ActionError> {
        let c = self.s3(region).await;
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
        let side = |s: &str| {
            (
                call.path(&format!("{s}.bucket")).unwrap_or_default().to_string(),
                call.path(&format!("{s}.prefix")).unwrap_or("").to_string(),
                call.path(&format!("{s}.region")).unwrap_or(region).to_string(),
            )
        };
        let ((ab, ap, ar), (bb, bp, br)) = (side("a"), side("b"));
        let (a, b) = (self.current(op, &ab, &ap, &ar).await?, self.current(op, &bb, &bp, &br).await?);
        let same = a.iter().filter(|(k, v)| b.get(*k).is_some_and(|x| x.0 == v.0)).count();
        let missing = a.keys().filter(|k| !b.contains_key(*k)).count();
        let extra = b.keys().filter(|k| !a.contains_key(*k)).count();
        let different = a.iter().filter(|(k, v)| b.get(*k).is_some_and(|x| x.0 != v.0)).count();
        let mut outputs = Map::new();
        for (k, v) in [("same", same), ("missing", missing), ("extra", extra), ("different", different)] {
            outputs.insert(k.into(), json!(v));
        }
        Ok(ActionResult { outputs, recovery_point: None })
    }

    async fn copy_prefix(
        &self,
        call: &ActionCall,
        ctx: &ActionCtx<'_>,
        region: &str,
    ) -> Result<ActionResult, ActionError> {
        let op = call.spec.name;
        if call.path("from.role_arn").is_some() || call.path("to.role_arn").is_some() {
            return Err(ActionError::new(
                op,
                &call.step,
                "NotImplemented",
                "assuming `role_arn` is not available against AWS yet",
            )
            .hint("run with credentials that can read the source and write the target"));
        }
        let (fb, fp, fr) = (
            call.path("from.bucket").unwrap_or_default(),
            call.path("from.prefix").unwrap_or(""),
            call.path("from.region").unwrap_or(region),
        );
        let (tb, tp, tr) = (
            call.path("to.bucket").unwrap_or_default(),
            call.path("to.prefix").unwrap_or(""),
            call.path("to.region").unwrap_or(region),
        );
        let overwrite = call.bool("overwrite");
        let src = self.current(op, fb, fp, fr).await?;
        let dst = self.current(op, tb, tp, tr).await?;
        let fresh = src.values().map(|v| v.2).max();
        let todo: Vec<(String, i64)> = src
            .iter()
            .filter(|(k, v)| dst.get(*k).is_none_or(|d| overwrite && d.0 != v.0))
            .map(|(k, v)| (k.clone(), v.1))
            .collect();
        let total = todo.len() as u64;
        let client = self.s3(tr).await;
        let gate = Arc::new(Semaphore::new(CONCURRENCY));
        let mut tasks = tokio::task::JoinSet::new();
        for (key, size) in todo {
            let (client, gate) = (client.clone(), gate.clone());
            let (source, target) = (format!("{fb}/{}", encode_key(&format!("{fp}{key}"))), format!("{tp}{key}"));
            let (tb, tr) = (tb.to_string(), tr.to_string());
            tasks.spawn(async move {
                let _permit = gate.acquire_owned().await.expect("the gate stays open");
                client
                    .copy_object()
                    .bucket(&tb)
                    .key(&target)
                    .copy_source(source)
                    .send()
                    .await
                    .map_err(|e| sdk_error("s3.copy_prefix", &format!("s3://{tb}/{target}"), &tr, e))?;
                Ok::<i64, ActionError>(size)
            });
        }
        let (mut done, mut bytes) = (0u64, 0i64);
        while let Some(r) = tasks.join_next().await {
            match r.expect("a copy task does not panic") {
                Ok(size) => bytes += size,
                Err(e) => {
                    tasks.abort_all();
                    return Err(e);
                }
            }
            done += 1;
            if done.is_multiple_of(25) || done == total {
                (ctx.progress)(Progress::Count { done, total, unit: "objects" });
            }
        }
        let rp = fresh.unwrap_or_else(|| ctx.clock.now());
        let mut outputs = Map::new();
        outputs.insert("copied".into(), json!(total));
        outputs.insert("bytes".into(), json!(bytes));
        outputs.insert("recovery_point".into(), Json::String(format_timestamp(rp)));
        Ok(ActionResult { outputs, recovery_point: Some(rp) })
    }
}
