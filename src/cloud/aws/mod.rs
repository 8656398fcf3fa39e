//! AWS behind the ports, through the official SDK, with the standard credential chain
//! (profiles, SSO, environment, `AWS_REGION`, `AWS_ENDPOINT_URL`): one client per
//! service and region, each operation one SDK call. Tested against a local moto server.

mod dynamodb;
mod rds;
mod s3;
mod s3control;

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use tokio::sync::Mutex;

use super::BoxFuture;
use super::port::dynamodb::DynamoApi;
use super::port::rds::RdsApi;
use super::port::s3::S3Api;
use super::port::s3control::S3ControlApi;
use super::port::sts::{Caller, StsApi};
use super::port::{Api, ApiError, Backend, Reach};
use crate::runbook::time::Timestamp;

/// A clone is the same connection: it shares the clients made per region.
#[derive(Clone)]
pub struct Aws {
    base: aws_config::SdkConfig,
    s3: Arc<Mutex<BTreeMap<String, Arc<dyn S3Api>>>>,
    rds: Arc<Mutex<BTreeMap<String, Arc<dyn RdsApi>>>>,
    dynamodb: Arc<Mutex<BTreeMap<String, Arc<dyn DynamoApi>>>>,
}

impl Aws {
    pub async fn from_env() -> Aws {
        Aws::with_config(aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await)
    }

    /// The endpoint requests go to when it is not AWS's own: the configuration's
    /// (`AWS_ENDPOINT_URL`, a profile's `endpoint_url`) or a service's own variable
    /// (`AWS_ENDPOINT_URL_S3`, …). A run against one proves nothing about AWS.
    pub fn custom_endpoint(&self) -> Option<String> {
        self.base.endpoint_url().map(str::to_string).or_else(|| {
            std::env::vars()
                .find(|(k, v)| k.starts_with("AWS_ENDPOINT_URL_") && !v.trim().is_empty())
                .map(|(k, v)| format!("{v} ({k})"))
        })
    }

    /// With a configuration built elsewhere (a test's endpoint and credentials).
    pub fn with_config(base: aws_config::SdkConfig) -> Aws {
        Aws {
            base,
            s3: Arc::new(Mutex::new(BTreeMap::new())),
            rds: Arc::new(Mutex::new(BTreeMap::new())),
            dynamodb: Arc::new(Mutex::new(BTreeMap::new())),
        }
    }

    fn s3_client(&self, region: &str, role_arn: Option<aws_config::sts::AssumeRoleProvider>) -> aws_sdk_s3::Client {
        let mut conf =
            aws_sdk_s3::config::Builder::from(&self.base).region(aws_sdk_s3::config::Region::new(region.to_string()));
        if let Some(p) = role_arn {
            conf = conf.credentials_provider(p);
        }
        // Local S3-compatible endpoints (moto, MinIO) need path-style addressing; real
        // AWS keeps virtual-hosted style.
        if self.base.endpoint_url().is_some() {
            conf = conf.force_path_style(true);
        }
        aws_sdk_s3::Client::from_conf(conf.build())
    }
}

/// The innermost cause of an SDK error (no credentials, no route), without secrets.
fn innermost(e: &dyn std::error::Error) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// An SDK error as the service said it; no Debug dump. A request that never got an
/// answer has an empty message, which the action fills in with the region.
fn api_error<E: ProvideErrorMetadata, R>(err: SdkError<E, R>) -> ApiError {
    match &err {
        SdkError::DispatchFailure(_) => ApiError::new("ConnectionFailed", ""),
        SdkError::TimeoutError(_) => ApiError::new("Timeout", ""),
        _ => ApiError::new(
            err.code().unwrap_or("Unknown"),
            err.message().map(str::to_string).unwrap_or_else(|| "no message from AWS".into()),
        ),
    }
}

/// S3's, RDS's and DynamoDB's `DateTime` are the same smithy type.
fn ts(dt: &aws_sdk_s3::primitives::DateTime) -> Timestamp {
    Timestamp::new(dt.secs(), dt.subsec_nanos() as i32).unwrap_or(Timestamp::UNIX_EPOCH)
}

impl Backend for Aws {
    fn name(&self) -> &'static str {
        "aws"
    }

    fn s3<'a>(&'a self, at: &'a Reach) -> BoxFuture<'a, Api<Arc<dyn S3Api>>> {
        Box::pin(async move {
            // A bucket in the backup account, read with that account's role (assumed
            // through STS): a client of its own, never cached beside the default ones.
            if let Some(role) = &at.role_arn {
                let provider = aws_config::sts::AssumeRoleProvider::builder(role)
                    .session_name("lifeboat")
                    .configure(&self.base)
                    .build()
                    .await;
                return Ok(Arc::new(s3::AwsS3 { client: self.s3_client(&at.region, Some(provider)) }) as Arc<dyn S3Api>);
            }
            let mut clients = self.s3.lock().await;
            Ok(clients
                .entry(at.region.clone())
                .or_insert_with(|| Arc::new(s3::AwsS3 { client: self.s3_client(&at.region, None) }))
                .clone())
        })
    }

    fn rds<'a>(&'a self, at: &'a Reach) -> BoxFuture<'a, Api<Arc<dyn RdsApi>>> {
        Box::pin(async move {
            let mut clients = self.rds.lock().await;
            Ok(clients
                .entry(at.region.clone())
                .or_insert_with(|| {
                    let conf = aws_sdk_rds::config::Builder::from(&self.base)
                        .region(aws_sdk_rds::config::Region::new(at.region.clone()));
                    Arc::new(rds::AwsRds { client: aws_sdk_rds::Client::from_conf(conf.build()) })
                })
                .clone())
        })
    }

    fn s3control<'a>(&'a self, at: &'a Reach) -> BoxFuture<'a, Api<Arc<dyn S3ControlApi>>> {
        Box::pin(async move {
            let conf = aws_sdk_s3control::config::Builder::from(&self.base)
                .region(aws_sdk_s3control::config::Region::new(at.region.clone()));
            let partition = if at.region.starts_with("cn-") {
                "aws-cn"
            } else if at.region.starts_with("us-gov-") {
                "aws-us-gov"
            } else {
                "aws"
            };
            Ok(Arc::new(s3control::AwsS3Control {
                client: aws_sdk_s3control::Client::from_conf(conf.build()),
                partition: partition.into(),
            }) as Arc<dyn S3ControlApi>)
        })
    }

    fn sts<'a>(&'a self, _at: &'a Reach) -> BoxFuture<'a, Api<Arc<dyn StsApi>>> {
        Box::pin(
            async move { Ok(Arc::new(AwsSts { client: aws_sdk_sts::Client::new(&self.base) }) as Arc<dyn StsApi>) },
        )
    }

    fn dynamodb<'a>(&'a self, at: &'a Reach) -> BoxFuture<'a, Api<Arc<dyn DynamoApi>>> {
        Box::pin(async move {
            let mut clients = self.dynamodb.lock().await;
            Ok(clients
                .entry(at.region.clone())
                .or_insert_with(|| {
                    let conf = aws_sdk_dynamodb::config::Builder::from(&self.base)
                        .region(aws_sdk_dynamodb::config::Region::new(at.region.clone()));
                    Arc::new(dynamodb::AwsDynamo { client: aws_sdk_dynamodb::Client::from_conf(conf.build()) })
                })
                .clone())
        })
    }
}

/// STS, asked in the default region; a failure that never reached STS says why in the
/// SDK's innermost words (no credentials, no route), never with a secret.
struct AwsSts {
    client: aws_sdk_sts::Client,
}

impl StsApi for AwsSts {
    fn caller_identity(&self) -> BoxFuture<'_, Api<Caller>> {
        Box::pin(async move {
            let out = self.client.get_caller_identity().send().await.map_err(|e| match e.code() {
                Some(_) => api_error(e),
                None => ApiError::new("NoCredentialsOrNoRoute", innermost(&e)),
            })?;
            match (out.account, out.arn) {
                (Some(account), Some(arn)) => Ok(Caller { account, arn }),
                _ => Err(ApiError::new("InvalidResponse", "STS answered without an account or ARN")),
            }
        })
    }
}
