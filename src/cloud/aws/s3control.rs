//! The S3 Batch Operations port on the AWS SDK: a copy job, its state, its confirmation.

use aws_sdk_s3control::Client;
use aws_sdk_s3control::types::{
    JobManifest, JobManifestFieldName, JobManifestFormat, JobManifestLocation, JobManifestSpec, JobOperation,
    JobReport, JobReportFormat, JobReportScope, RequestedJobStatus, S3CopyObjectOperation,
};

use super::api_error;
use crate::cloud::BoxFuture;
use crate::cloud::port::s3control::*;
use crate::cloud::port::{Api, ApiError};

pub struct AwsS3Control {
    pub client: Client,
    /// `aws` for the commercial partition (ARNs name it).
    pub partition: String,
}

fn invalid(what: &str) -> ApiError {
    ApiError::new("InvalidRequest", format!("S3 Control refused the request: {what}"))
}

impl AwsS3Control {
    fn bucket_arn(&self, bucket: &str) -> String {
        format!("arn:{}:s3:::{bucket}", self.partition)
    }
}

impl S3ControlApi for AwsS3Control {
    fn create_copy_job<'a>(&'a self, job: &'a NewCopyJob) -> BoxFuture<'a, Api<String>> {
        Box::pin(async move {
            let copy = S3CopyObjectOperation::builder().target_resource(self.bucket_arn(&job.target_bucket)).build();
            let spec = JobManifestSpec::builder()
                .format(JobManifestFormat::S3BatchOperationsCsv20180820)
                .fields(JobManifestFieldName::Bucket)
                .fields(JobManifestFieldName::Key)
                .fields(JobManifestFieldName::VersionId)
                .build()
                .map_err(|e| invalid(&e.to_string()))?;
            let location = JobManifestLocation::builder()
                .object_arn(format!("{}/{}", self.bucket_arn(&job.manifest_bucket), job.manifest_key))
                .e_tag(job.manifest_etag.trim_matches('"'))
                .build()
                .map_err(|e| invalid(&e.to_string()))?;
            let report = JobReport::builder()
                .enabled(true)
                .bucket(self.bucket_arn(&job.report_bucket))
                .prefix(&job.report_prefix)
                .format(JobReportFormat::ReportCsv20180820)
                .report_scope(JobReportScope::FailedTasksOnly)
                .build();
            let out = self
                .client
                .create_job()
                .account_id(&job.account)
                .confirmation_required(true)
                .operation(JobOperation::builder().s3_put_object_copy(copy).build())
                .manifest(JobManifest::builder().spec(spec).location(location).build())
                .report(report)
                .client_request_token(&job.token)
                .description(&job.description)
                .priority(10)
                .role_arn(&job.role_arn)
                .send()
                .await
                .map_err(api_error)?;
            out.job_id.ok_or_else(|| ApiError::new("InvalidResponse", "CreateJob answered without a job id"))
        })
    }

    fn describe_job<'a>(&'a self, account: &'a str, id: &'a str) -> BoxFuture<'a, Api<JobState>> {
        Box::pin(async move {
            let out = self.client.describe_job().account_id(account).job_id(id).send().await.map_err(api_error)?;
            let job = out.job.ok_or_else(|| ApiError::new("InvalidResponse", "DescribeJob answered without a job"))?;
            let p = job.progress_summary.as_ref();
            Ok(JobState {
                id: id.into(),
                status: job.status.as_ref().map(|s| s.as_str().to_string()).unwrap_or_default(),
                total: p.and_then(|p| p.total_number_of_tasks),
                succeeded: p.and_then(|p| p.number_of_tasks_succeeded).unwrap_or(0),
                failed: p.and_then(|p| p.number_of_tasks_failed).unwrap_or(0),
                reasons: job.failure_reasons().iter().filter_map(|r| r.failure_reason.clone()).collect(),
                report: job.report.as_ref().and_then(|r| {
                    let bucket = r.bucket.as_deref()?.rsplit(":::").next()?.to_string();
                    Some((bucket, r.prefix.clone().unwrap_or_default()))
                }),
            })
        })
    }

    fn confirm<'a>(&'a self, account: &'a str, id: &'a str) -> BoxFuture<'a, Api<()>> {
        Box::pin(async move {
            self.client
                .update_job_status()
                .account_id(account)
                .job_id(id)
                .requested_job_status(RequestedJobStatus::Ready)
                .status_update_reason("confirmed in lifeboat by the operator")
                .send()
                .await
                .map_err(api_error)?;
            Ok(())
        })
    }
}
