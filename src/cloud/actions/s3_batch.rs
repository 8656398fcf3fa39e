//! The roll-back's copies by S3 Batch Operations, for a bucket whose copies one machine
//! cannot finish inside the RTO: the plan's copies become a job's CSV manifest in the
//! reports bucket; the job is created unconfirmed (`Suspended`) by the dry run, so the
//! typed confirmation shows the job's own count of what it read; the roll-back confirms
//! it, follows `DescribeJob` as the step's progress and reads the completion report,
//! naming every failed task. S3 Batch has no delete: lifeboat's own DeleteObjects remove
//! the delete markers, and objects over 5 GiB or stored in parts are copied here.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use super::Env;
use crate::cloud::manifest::{Change, ManifestError, batch_key};
use crate::cloud::port::s3::{ObjRef, PartDone, S3Api};
use crate::cloud::port::s3control::{JobState, NewCopyJob, S3ControlApi};
use crate::cloud::{ActionError, Progress};
use crate::runbook::model::BatchSetup;

/// Parts of the job's manifest upload (S3 wants at least 5 MiB but the last).
const PART: usize = 16 * 1024 * 1024;

/// How often the job's state is asked.
const POLL: StdDuration = StdDuration::from_secs(5);

/// A change the job makes (all others are lifeboat's): a copy of an object stored whole.
/// `S3PutObjectCopy` writes a copy whole, so an object stored in parts would come back
/// with another ETag and the roll-back could not prove it; lifeboat copies those part by
/// part, as it copies what is over 5 GiB.
pub fn by_job(c: &Change) -> bool {
    matches!(c, Change::Copy { version, .. } if version.batch_copies())
}

/// How the step reaches S3 Control: the account and region the job lives in.
pub struct Control {
    pub api: Arc<dyn S3ControlApi>,
    pub account: String,
}

pub async fn control(env: &Env<'_>, region: &str) -> Result<Control, ActionError> {
    let op = env.op();
    let api = env.backend.s3control(&env.reach(region, None)).await.map_err(|e| e.at(op, region, region))?;
    let sts = env.backend.sts(&env.reach(region, None)).await.map_err(|e| e.at(op, region, region))?;
    let account = sts.caller_identity().await.map_err(|e| e.at(op, "the caller's account", region))?.account;
    Ok(Control { api, account })
}

/// The job's names in the reports bucket: one folder per run and step.
fn folder(env: &Env<'_>) -> String {
    format!("lifeboat/{}/{}", env.call.run_id, env.call.step)
}

/// The job's manifest written to the reports bucket, streamed in parts: (key, ETag,
/// copies in it).
async fn upload_manifest(
    s3: &Arc<dyn S3Api>,
    env: &Env<'_>,
    setup: &BatchSetup,
    bucket: &str,
    sha: &str,
    records: impl Iterator<Item = Result<Change, ManifestError>>,
) -> Result<(String, String, u64), ActionError> {
    let (op, region) = (env.op(), env.region.as_str());
    let key = format!("{}/manifest-{}.csv", folder(env), sha.get(..16).unwrap_or(sha));
    let at = |e: crate::cloud::port::ApiError| e.at(op, &format!("s3://{}/{key}", setup.reports), region);
    let (mut buf, mut count, mut parts, mut upload) = (Vec::new(), 0u64, Vec::<PartDone>::new(), None::<String>);
    for r in records {
        let c = r.map_err(|e| e.at(op, bucket))?;
        if let Change::Copy { key: k, version } = &c
            && by_job(&c)
        {
            buf.extend_from_slice(format!("{bucket},{},{}\n", batch_key(k), version.id).as_bytes());
            count += 1;
        }
        if buf.len() >= PART {
            let id = match &upload {
                Some(id) => id.clone(),
                None => upload.insert(s3.create_multipart(&setup.reports, &key).await.map_err(at)?).clone(),
            };
            let n = parts.len() as i32 + 1;
            parts.push(s3.upload_part(&setup.reports, &key, &id, n, std::mem::take(&mut buf)).await.map_err(at)?);
        }
    }
    let written = match upload {
        None => s3.put_object(&setup.reports, &key, buf).await.map_err(at)?,
        Some(id) => {
            if !buf.is_empty() {
                let n = parts.len() as i32 + 1;
                parts.push(s3.upload_part(&setup.reports, &key, &id, n, buf).await.map_err(at)?);
            }
            s3.complete_multipart(&setup.reports, &key, &id, parts).await.map_err(at)?
        }
    };
    Ok((key, written.etag, count))
}

/// The job, created unconfirmed and prepared: its id and the tasks it read.
pub async fn create(
    env: &Env<'_>,
    setup: &BatchSetup,
    bucket: &str,
    sha: &str,
    records: impl Iterator<Item = Result<Change, ManifestError>>,
) -> Result<(String, i64), ActionError> {
    let (op, region) = (env.op(), env.region.as_str());
    let mut records = records.peekable();
    let reports = env.s3(region, None).await?;
    // Up to the first change the job makes; none at all, and no job is made.
    while records.next_if(|r| r.as_ref().is_ok_and(|c| !by_job(c))).is_some() {}
    if records.peek().is_none() {
        return Ok((NO_JOB.to_string(), 0));
    }
    let (key, etag, copies) = upload_manifest(&reports, env, setup, bucket, sha, records).await?;
    let ctl = control(env, region).await?;
    // The same plan of the same run and step is the same job (a retried dry run).
    let token = format!("lifeboat-{}", &sha.get(..40).unwrap_or(sha));
    let job = NewCopyJob {
        account: ctl.account.clone(),
        role_arn: setup.role.clone(),
        target_bucket: bucket.into(),
        manifest_bucket: setup.reports.clone(),
        manifest_key: key.clone(),
        manifest_etag: etag,
        report_bucket: setup.reports.clone(),
        report_prefix: format!("{}/report", folder(env)),
        token,
        description: format!("lifeboat {} {}: roll back s3://{bucket}", env.call.run_id, env.call.step),
    };
    let id = ctl.api.create_copy_job(&job).await.map_err(|e| e.at(op, &format!("s3://{bucket}"), region))?;
    let state = until(env, &ctl, &id, |s| s.status != "New" && s.status != "Preparing").await?;
    match (state.status.as_str(), state.total) {
        ("Suspended", Some(total)) if total as u64 == copies => Ok((id, total)),
        ("Suspended", Some(total)) => Err(ActionError::new(
            op,
            &format!("batch job {id}"),
            "BatchManifestMismatch",
            format!("the job read {total} tasks from s3://{}/{key}, which holds {copies} copies", setup.reports),
        )
        .hint("the manifest changed after it was written: run the plan again")),
        (status, _) => Err(failed_job(op, &id, status, &state)),
    }
}

fn failed_job(op: &str, id: &str, status: &str, s: &JobState) -> ActionError {
    let name = format!("batch job {id}");
    if !matches!(status, "Failed" | "Cancelled" | "Cancelling" | "Failing") {
        return ActionError::new(
            op,
            &name,
            "BatchJobState",
            format!("the job is {status}, not what this step expects"),
        )
        .hint("someone may have confirmed or changed it outside lifeboat: check it in the S3 console before going on");
    }
    let why = if s.reasons.is_empty() { "no reason given".to_string() } else { s.reasons.join("; ") };
    ActionError::new(op, &name, "BatchJobFailed", format!("the job is {status}: {why}"))
        .hint("check the job's role (it must read the versions and the manifest, and write the copies and the report)")
}

/// What the dry run names when the plan holds no copy for a job (only delete markers,
/// or only objects lifeboat copies itself): no job is made for nothing.
pub const NO_JOB: &str = "none";

/// The job's state once `done` holds, asked every few seconds on the run's clock.
async fn until(
    env: &Env<'_>,
    ctl: &Control,
    id: &str,
    done: impl Fn(&JobState) -> bool,
) -> Result<JobState, ActionError> {
    let (op, region) = (env.op(), env.region.as_str());
    loop {
        let s =
            ctl.api.describe_job(&ctl.account, id).await.map_err(|e| e.at(op, &format!("batch job {id}"), region))?;
        if done(&s) || s.finished() {
            return Ok(s);
        }
        env.ctx.clock.sleep(POLL).await;
    }
}

/// Where a confirmed roll-back finds its job.
pub enum Found {
    /// Confirmed now, or already running (a resumed step): follow it, through the same
    /// S3 Control client and account.
    Running(Control),
    /// Done before (a retried step): what is left is this machine's to do.
    Finished,
}

/// What a confirmed roll-back does with its job: `Suspended` and holding the tasks the
/// plan counts, it is confirmed; already running, followed; already done, left.
pub async fn run(env: &Env<'_>, id: &str, bucket: &str, copies: u64) -> Result<Found, ActionError> {
    let (op, region) = (env.op(), env.region.as_str());
    if id == NO_JOB {
        if copies > 0 {
            return Err(ActionError::new(
                op,
                &format!("s3://{bucket}"),
                "PlanChanged",
                format!("the plan now holds {copies} copies for a job, and its dry run made none"),
            )
            .hint("nothing was changed: run the dry run again, review its plan and confirm that one"));
        }
        return Ok(Found::Finished);
    }
    let ctl = control(env, region).await?;
    let name = format!("batch job {id}");
    let state = ctl.api.describe_job(&ctl.account, id).await.map_err(|e| e.at(op, &name, region))?;
    match state.status.as_str() {
        "Suspended" => {
            if state.total != Some(copies as i64) {
                return Err(ActionError::new(
                    op,
                    &name,
                    "PlanChanged",
                    format!(
                        "the job holds {} copies, the plan now {copies}: the bucket changed after the job was made",
                        state.total.map_or("an unknown number of".into(), |t| t.to_string())
                    ),
                )
                .hint("nothing was changed: run the dry run again, review its plan and confirm that one"));
            }
            ctl.api.confirm(&ctl.account, id).await.map_err(|e| e.at(op, &name, region))?;
            (env.ctx.progress)(Progress::Line(format!("{name} confirmed: {copies} copies into s3://{bucket}")));
        }
        "Ready" | "Active" => {
            (env.ctx.progress)(Progress::Line(format!("{name} is already {}: following it", state.status)));
        }
        "Complete" => {
            (env.ctx.progress)(Progress::Line(format!(
                "{name} finished before ({} copies, {} failed): what is left is copied here",
                state.succeeded, state.failed
            )));
            return Ok(Found::Finished);
        }
        status => return Err(failed_job(op, id, status, &state)),
    }
    Ok(Found::Running(ctl))
}

/// Follows the job to its end as the step's progress, then reads its completion report:
/// every failed task is named, and any fails the step.
pub async fn follow(
    env: &Env<'_>,
    ctl: &Control,
    id: &str,
    bucket: &str,
    setup: &BatchSetup,
) -> Result<i64, ActionError> {
    let op = env.op();
    let name = format!("batch job {id}");
    let state = until(env, ctl, id, |s| {
        if let Some(total) = s.total {
            (env.ctx.progress)(Progress::Count {
                done: (s.succeeded + s.failed) as u64,
                total: total as u64,
                unit: "objects",
            });
        }
        false
    })
    .await?;
    if state.status != "Complete" {
        return Err(failed_job(op, id, &state.status, &state));
    }
    let (reports, prefix) = state.report.clone().unwrap_or_else(|| (setup.reports.clone(), String::new()));
    let failed = report(env, id, &reports, &prefix).await?;
    for (key, why) in &failed {
        (env.ctx.progress)(Progress::Line(format!("{name}: s3://{bucket}/{key} failed: {why}")));
    }
    if let Some((key, why)) = failed.first() {
        let more = match failed.len() {
            1 => String::new(),
            n => format!(" (and {} more, each listed above)", n - 1),
        };
        return Err(ActionError::new(
            op,
            &format!("s3://{bucket}/{key}"),
            "BatchTaskFailed",
            format!("{} of {} copies failed in {name}: {key}: {why}{more}", failed.len(), state.total.unwrap_or(0)),
        )
        .hint("fix what the report says, then retry the step: the plan is made again and only what is left is done"));
    }
    if state.failed > 0 {
        return Err(ActionError::new(
            op,
            &name,
            "BatchTaskFailed",
            format!("{} tasks failed, but the completion report names none", state.failed),
        )
        .hint(format!("read the job's report under s3://{reports}/{prefix}")));
    }
    Ok(state.succeeded)
}

/// The failed tasks of the job's completion report: (key, error code and message).
async fn report(env: &Env<'_>, id: &str, bucket: &str, prefix: &str) -> Result<Vec<(String, String)>, ActionError> {
    let (op, region) = (env.op(), env.region.as_str());
    let s3 = env.s3(region, None).await?;
    let prefix = format!("{}/job-{id}/results/", prefix.trim_end_matches('/'));
    let at = |e: crate::cloud::port::ApiError| e.at(op, &format!("s3://{bucket}/{prefix}"), region);
    let mut out = Vec::new();
    let mut from = None;
    loop {
        let page = s3.list_objects(bucket, &prefix, from.take()).await.map_err(at)?;
        for o in &page.objects {
            let obj = ObjRef { bucket: bucket.to_string(), key: o.key.clone(), version: None };
            let got = s3.get(&obj, None, &o.etag).await.map_err(at)?;
            for line in String::from_utf8_lossy(&got.bytes).lines().filter(|l| !l.is_empty()) {
                let f: Vec<&str> = line.splitn(7, ',').collect();
                let key = f.get(1).and_then(|k| crate::cloud::manifest::unbatch_key(k)).unwrap_or_default();
                if f.get(3).is_some_and(|s| !s.eq_ignore_ascii_case("succeeded")) {
                    let why = format!("{}: {}", f.get(4).unwrap_or(&""), f.get(6).unwrap_or(&""));
                    out.push((key, why));
                }
            }
        }
        match page.next {
            Some(n) => from = Some(n),
            None => break,
        }
    }
    Ok(out)
}
