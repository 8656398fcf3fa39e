//! S3 Batch Operations: the jobs that copy a manifest of object versions on AWS's side,
//! for a bucket too big for one machine's copies to finish inside its RTO.

use super::Api;
use crate::cloud::BoxFuture;

/// A copy job of every version a CSV manifest lists (Bucket, Key, VersionId) onto the
/// same key: what a roll-back needs, and nothing else (the operation is fixed).
#[derive(Debug, Clone, PartialEq)]
pub struct NewCopyJob {
    /// The account the job runs in (S3 Control asks for it on every call).
    pub account: String,
    /// The role S3 assumes to read the versions and write the copies.
    pub role_arn: String,
    /// Where the copies go (the bucket rolled back).
    pub target_bucket: String,
    /// The manifest object and the ETag S3 must find on it (a changed manifest fails).
    pub manifest_bucket: String,
    pub manifest_key: String,
    pub manifest_etag: String,
    /// The completion report: failed tasks only, under this prefix.
    pub report_bucket: String,
    pub report_prefix: String,
    /// The same token creates the same job once (a retried or resumed plan step).
    pub token: String,
    pub description: String,
}

/// A job as `DescribeJob` tells it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobState {
    pub id: String,
    /// `New`, `Preparing`, `Suspended` (awaiting confirmation), `Ready`, `Active`,
    /// `Complete`, `Failed`, `Cancelled`, …
    pub status: String,
    /// Tasks the job read from its manifest (known once it is prepared).
    pub total: Option<i64>,
    pub succeeded: i64,
    pub failed: i64,
    /// The job's own failure reasons (a manifest it could not read, say).
    pub reasons: Vec<String>,
    /// Where its completion report goes (bucket, prefix), as the job was created.
    pub report: Option<(String, String)>,
}

impl JobState {
    /// No task will change any more.
    pub fn finished(&self) -> bool {
        matches!(self.status.as_str(), "Complete" | "Failed" | "Cancelled")
    }
}

pub trait S3ControlApi: Send + Sync {
    /// The job's id; it waits, `Suspended`, for [`S3ControlApi::confirm`].
    fn create_copy_job<'a>(&'a self, job: &'a NewCopyJob) -> BoxFuture<'a, Api<String>>;
    fn describe_job<'a>(&'a self, account: &'a str, id: &'a str) -> BoxFuture<'a, Api<JobState>>;
    /// `UpdateJobStatus` to `Ready`: the job starts.
    fn confirm<'a>(&'a self, account: &'a str, id: &'a str) -> BoxFuture<'a, Api<()>>;
}
