//! The ports: the few service operations the actions use, as narrow traits. Each action
//! is written once against them (`cloud::actions`); the AWS SDK and the simulated cloud
//! are thin backends behind them, so a rehearsal runs the program the night will run.

pub mod dynamodb;
pub mod rds;
pub mod s3;
pub mod s3control;
pub mod sts;

use std::sync::Arc;

use super::{ActionError, BoxFuture};
use crate::clock::Clock;

/// A service's refusal, as the service said it: its error code decides retries and hints
/// the same way whichever backend answered.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub code: String,
    pub message: String,
    /// The region S3 says a bucket is really in (`x-amz-bucket-region`).
    pub bucket_region: Option<String>,
}

impl ApiError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        ApiError { code: code.into(), message: message.into(), bucket_region: None }
    }
    pub fn is(&self, code: &str) -> bool {
        self.code == code
    }

    /// Worth trying again: throttling, a 5xx, a timeout or a dropped connection.
    pub fn retryable(&self) -> bool {
        matches!(
            self.code.as_str(),
            "SlowDown"
                | "Throttling"
                | "ThrottlingException"
                | "RequestLimitExceeded"
                | "ProvisionedThroughputExceededException"
                | "ServiceUnavailable"
                | "InternalError"
                | "Timeout"
                | "ConnectionFailed"
        )
    }

    /// The action's error: the operation, what it acted on, the service's words, and
    /// what the person on call should check.
    pub fn at(self, op: &str, resource: &str, region: &str) -> ActionError {
        let hint = match self.code.as_str() {
            "AccessDenied"
            | "AccessDeniedException"
            | "InvalidAccessKeyId"
            | "SignatureDoesNotMatch"
            | "ExpiredToken"
            | "UnauthorizedOperation" => {
                "check the credentials (AWS_PROFILE, SSO session) and that the role may do this on this resource".into()
            }
            "NoSuchBucket" => "check the bucket name and the account".into(),
            "PermanentRedirect" | "AuthorizationHeaderMalformed" | "IllegalLocationConstraintException" => {
                match &self.bucket_region {
                    Some(r) if r != region => format!("the bucket is in {r}, not {region}: set `region: {r}` on the step"),
                    _ => "the bucket is in another region: set `region:` on the step".into(),
                }
            }
            "ConnectionFailed" => "check the network, AWS_ENDPOINT_URL and the region".into(),
            _ if self.retryable() => "AWS is throttling or failing even after the SDK's retries; give the step `retries:` or lower LIFEBOAT_S3_CONCURRENCY".into(),
            _ => "check the resource name, the region and the permissions".into(),
        };
        let retryable = self.retryable();
        let message = match self.code.as_str() {
            "ConnectionFailed" if self.message.is_empty() => format!("cannot reach AWS in {region}"),
            "Timeout" if self.message.is_empty() => format!("AWS in {region} did not answer in time"),
            _ => self.message,
        };
        let mut e = ActionError::new(op, resource, &self.code, message).hint(hint);
        e.retryable = retryable;
        e
    }
}

pub type Api<T> = Result<T, ApiError>;

/// Where a service is reached: its region, the role to assume there (another account),
/// and the run's clock (the simulated cloud's time; AWS keeps its own).
#[derive(Clone)]
pub struct Reach {
    pub region: String,
    pub role_arn: Option<String>,
    pub clock: Arc<dyn Clock>,
}

/// A cloud behind the ports: AWS, or the simulated one.
pub trait Backend: Send + Sync {
    /// `sim` or `aws`, as recorded in the log.
    fn name(&self) -> &'static str;
    fn s3<'a>(&'a self, at: &'a Reach) -> BoxFuture<'a, Api<Arc<dyn s3::S3Api>>>;
    fn rds<'a>(&'a self, at: &'a Reach) -> BoxFuture<'a, Api<Arc<dyn rds::RdsApi>>>;
    fn dynamodb<'a>(&'a self, at: &'a Reach) -> BoxFuture<'a, Api<Arc<dyn dynamodb::DynamoApi>>>;
    fn sts<'a>(&'a self, at: &'a Reach) -> BoxFuture<'a, Api<Arc<dyn sts::StsApi>>>;
    fn s3control<'a>(&'a self, at: &'a Reach) -> BoxFuture<'a, Api<Arc<dyn s3control::S3ControlApi>>>;
    /// Said after "not found": where this cloud's resources come from.
    fn not_found_hint(&self) -> Option<&'static str> {
        None
    }
}
