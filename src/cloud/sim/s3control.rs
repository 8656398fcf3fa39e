//! S3 Batch Operations in memory: a job reads its manifest through the S3 port, waits
//! `Suspended` for its confirmation, then copies every listed version through the same
//! port (the same copies, limits and faults as any other) on the run's clock, and writes
//! a completion report of its failed tasks, as AWS's does.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use super::State;
use super::model::Model;
use super::s3::SimS3;
use super::world::{Job, det};
use crate::clock::Clock;
use crate::cloud::BoxFuture;
use crate::cloud::port::s3::{ObjRef, S3Api};
use crate::cloud::port::s3control::*;
use crate::cloud::port::{Api, ApiError};
use crate::runbook::time::Timestamp;

pub struct SimS3Control {
    pub(super) state: Arc<State>,
    pub(super) region: String,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) model: Model,
}

fn parse(text: &str) -> Result<Vec<(String, String, String)>, String> {
    let mut tasks = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.is_empty()) {
        let mut f = line.split(',');
        match (f.next(), f.next().and_then(crate::cloud::manifest::unbatch_key), f.next(), f.next()) {
            (Some(b), Some(k), Some(v), None) if !b.is_empty() && !k.is_empty() => {
                tasks.push((b.to_string(), k, v.to_string()))
            }
            _ => return Err(format!("line {} of the manifest is not Bucket,Key,VersionId", n + 1)),
        }
    }
    Ok(tasks)
}

impl SimS3Control {
    fn s3(&self, region: &str, clock: &Arc<dyn Clock>) -> SimS3 {
        SimS3 { state: self.state.clone(), region: region.into(), clock: clock.clone(), model: self.model }
    }

    fn bucket_region(&self, name: &str) -> String {
        self.state.world().buckets.get(name).map_or_else(|| self.region.clone(), |b| b.region.clone())
    }

    fn update(&self, id: &str, f: impl FnOnce(&mut Job)) {
        if let Some(j) = self.state.world().jobs.get_mut(id) {
            f(j)
        }
    }

    /// Every task, `batch_in_flight` at a time, then the report of those that failed.
    async fn execute(self: Arc<Self>, id: String, clock: Arc<dyn Clock>) {
        let (spec, tasks) = match self.state.world().jobs.get(&id) {
            Some(j) => (j.spec.clone(), j.tasks.clone()),
            None => return,
        };
        let s3 = Arc::new(self.s3(&self.bucket_region(&spec.target_bucket), &clock));
        let (done, failed) = (Arc::new(AtomicI64::new(0)), Arc::new(AtomicI64::new(0)));
        let mut rows = Vec::new();
        let mut set = tokio::task::JoinSet::new();
        let mut tasks = tasks.into_iter();
        loop {
            while set.len() < self.model.batch_in_flight.max(1) {
                let Some((bucket, key, version)) = tasks.next() else { break };
                let (s3, target, me, id, done, failed) =
                    (s3.clone(), spec.target_bucket.clone(), self.clone(), id.clone(), done.clone(), failed.clone());
                set.spawn(crate::clock::inherit(async move {
                    let src = ObjRef { bucket: bucket.clone(), key: key.clone(), version: Some(version.clone()) };
                    let r = s3.copy_object(&src, &target, &key).await;
                    let (ok, bad) = match &r {
                        Ok(_) => (done.fetch_add(1, Ordering::Relaxed) + 1, failed.load(Ordering::Relaxed)),
                        Err(_) => (done.load(Ordering::Relaxed), failed.fetch_add(1, Ordering::Relaxed) + 1),
                    };
                    me.update(&id, |j| {
                        j.succeeded = j.succeeded.max(ok);
                        j.failed = j.failed.max(bad);
                    });
                    r.err().map(|e| {
                        let status = if e.is("SlowDown") { 503 } else { 400 };
                        let why = e.message.replace([',', '\n', '\r'], " ");
                        format!(
                            "{bucket},{},{version},failed,{},{status},{why}",
                            crate::cloud::manifest::batch_key(&key),
                            e.code
                        )
                    })
                }));
            }
            match set.join_next().await {
                Some(Ok(Some(row))) => rows.push(row),
                Some(_) => {}
                None => break,
            }
        }
        let report = format!(
            "{}/job-{id}/results/{:016x}.csv",
            spec.report_prefix.trim_end_matches('/'),
            det(&id, 0, u64::MAX - 1)
        );
        let body = rows.iter().map(|r| format!("{r}\n")).collect::<String>().into_bytes();
        let writer = self.s3(&self.bucket_region(&spec.report_bucket), &clock);
        let written = writer.put_object(&spec.report_bucket, &report, body).await;
        self.update(&id, |j| match written {
            Ok(_) => j.status = "Complete".into(),
            Err(e) => {
                j.status = "Failed".into();
                j.reasons.push(format!("the completion report could not be written: {}", e.message));
            }
        });
    }
}

impl S3ControlApi for SimS3Control {
    fn create_copy_job<'a>(&'a self, job: &'a NewCopyJob) -> BoxFuture<'a, Api<String>> {
        Box::pin(async move {
            self.state
                .request(&self.clock, "CreateJob", self.model.control, |_, _| {
                    if !super::is_role_arn(&job.role_arn) {
                        return Err(ApiError::new(
                            "InvalidRequest",
                            format!("`{}` is not an IAM role ARN", job.role_arn),
                        ));
                    }
                    Ok(())
                })
                .await?;
            // The same token is the same job (a retried or resumed plan step).
            let same =
                self.state.world().jobs.iter().find(|(_, j)| j.spec.token == job.token).map(|(id, _)| id.clone());
            if let Some(id) = same {
                return Ok(id);
            }
            let now = self.clock.now();
            let id =
                format!("{:08x}-sim-{:012x}", det(&job.token, 0, u32::MAX as u64), det(&job.manifest_key, 0, 1 << 47));
            // The manifest is read as the job prepares, through the S3 port: a manifest
            // that changed (another ETag) or cannot be read fails the job.
            let reader = self.s3(&self.bucket_region(&job.manifest_bucket), &self.clock);
            let obj = ObjRef { bucket: job.manifest_bucket.clone(), key: job.manifest_key.clone(), version: None };
            let read = reader.get(&obj, None, &job.manifest_etag).await;
            let (status, tasks, reasons) =
                match read.map_err(|e| e.message).and_then(|g| parse(&String::from_utf8_lossy(&g.bytes))) {
                    Ok(t) => ("Suspended", t, vec![]),
                    Err(why) => ("Failed", vec![], vec![format!("reading the manifest failed: {why}")]),
                };
            let prepared_at =
                now.checked_add(jiff::SignedDuration::from_secs(5 + tasks.len() as i64 / 100_000)).unwrap_or(now);
            self.state.world().jobs.insert(
                id.clone(),
                Job {
                    region: self.region.clone(),
                    spec: job.clone(),
                    status: status.into(),
                    tasks,
                    succeeded: 0,
                    failed: 0,
                    reasons,
                    prepared_at,
                },
            );
            Ok(id)
        })
    }

    fn describe_job<'a>(&'a self, account: &'a str, id: &'a str) -> BoxFuture<'a, Api<JobState>> {
        Box::pin(self.state.request(&self.clock, "DescribeJob", self.model.control, move |s, now| {
            let w = s.world();
            let j = w
                .jobs
                .get(id)
                .filter(|j| j.region == self.region && j.spec.account == account)
                .ok_or_else(|| ApiError::new("NotFoundException", format!("no job `{id}` in {}", self.region)))?;
            let preparing = now < j.prepared_at && j.status == "Suspended";
            Ok(JobState {
                id: id.into(),
                status: if preparing { "Preparing".into() } else { j.status.clone() },
                total: (!preparing).then_some(j.tasks.len() as i64),
                succeeded: j.succeeded,
                failed: j.failed,
                reasons: j.reasons.clone(),
                report: Some((j.spec.report_bucket.clone(), j.spec.report_prefix.clone())),
            })
        }))
    }

    fn confirm<'a>(&'a self, account: &'a str, id: &'a str) -> BoxFuture<'a, Api<()>> {
        Box::pin(async move {
            self.state
                .request(&self.clock, "UpdateJobStatus", self.model.control, |s, now: Timestamp| {
                    let mut w = s.world();
                    let j = w
                        .jobs
                        .get_mut(id)
                        .filter(|j| j.region == self.region && j.spec.account == account)
                        .ok_or_else(|| {
                            ApiError::new("NotFoundException", format!("no job `{id}` in {}", self.region))
                        })?;
                    if j.status != "Suspended" || now < j.prepared_at {
                        return Err(ApiError::new(
                            "JobStatusException",
                            format!("job `{id}` is {}, not awaiting confirmation", j.status),
                        ));
                    }
                    j.status = "Active".into();
                    Ok(())
                })
                .await?;
            let me = Arc::new(SimS3Control {
                state: self.state.clone(),
                region: self.region.clone(),
                clock: self.clock.clone(),
                model: self.model,
            });
            tokio::spawn(crate::clock::tracked(self.clock.as_ref(), me.execute(id.to_string(), self.clock.clone())));
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_line_is_bucket_key_version_with_the_key_url_encoded() {
        let t = parse("b,a%2Cb%20c/%C3%A9,v1\nb,plain,v2\n").unwrap();
        assert_eq!(t[0], ("b".into(), "a,b c/é".into(), "v1".into()));
        assert_eq!(t[1].1, "plain");
        assert!(parse("b,k\n").unwrap_err().contains("line 1"));
        assert!(parse("b,k,v,extra\n").is_err());
    }
}
