//! The DynamoDB port on the AWS SDK.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{PointInTimeRecoveryStatus, SseType, TableStatus, Tag};

use super::{api_error, ts};
use crate::cloud::BoxFuture;
use crate::cloud::port::Api;
use crate::cloud::port::dynamodb::*;
use crate::runbook::time::Timestamp;

pub struct AwsDynamo {
    pub client: Client,
}

impl DynamoApi for AwsDynamo {
    fn describe_table<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Api<Option<Table>>> {
        Box::pin(async move {
            let out = match self.client.describe_table().table_name(name).send().await {
                Ok(o) => o,
                Err(e) if e.code() == Some("ResourceNotFoundException") => return Ok(None),
                Err(e) => return Err(api_error(e)),
            };
            let Some(t) = out.table() else { return Ok(None) };
            let sse = t.sse_description();
            Ok(Some(Table {
                name: t.table_name().unwrap_or(name).into(),
                arn: t.table_arn().unwrap_or_default().into(),
                status: t.table_status().map(TableStatus::as_str).unwrap_or("UNKNOWN").into(),
                deletion_protection: t.deletion_protection_enabled().unwrap_or(false),
                kms_key: sse
                    .filter(|s| s.sse_type() == Some(&SseType::Kms))
                    .and_then(|s| s.kms_master_key_arn())
                    .map(str::to_string),
                replicas: t.replicas().iter().filter_map(|r| r.region_name()).map(str::to_string).collect(),
                items: t.item_count(),
            }))
        })
    }

    fn continuous_backups<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Api<Pitr>> {
        Box::pin(async move {
            let out = self.client.describe_continuous_backups().table_name(name).send().await.map_err(api_error)?;
            let p = out.continuous_backups_description().and_then(|c| c.point_in_time_recovery_description());
            Ok(Pitr {
                enabled: p.and_then(|p| p.point_in_time_recovery_status()) == Some(&PointInTimeRecoveryStatus::Enabled),
                earliest: p.and_then(|p| p.earliest_restorable_date_time()).map(ts),
                latest: p.and_then(|p| p.latest_restorable_date_time()).map(ts),
                days: p.and_then(|p| p.recovery_period_in_days()),
            })
        })
    }

    fn restore_to_time<'a>(
        &'a self,
        source: &'a str,
        target: &'a str,
        time: Option<Timestamp>,
    ) -> BoxFuture<'a, Api<()>> {
        Box::pin(async move {
            let req = self.client.restore_table_to_point_in_time().source_table_name(source).target_table_name(target);
            let req = match time {
                None => req.use_latest_restorable_time(true),
                Some(t) => req.restore_date_time(aws_sdk_dynamodb::primitives::DateTime::from_secs_and_nanos(
                    t.as_second(),
                    t.subsec_nanosecond().max(0) as u32,
                )),
            };
            req.send().await.map_err(api_error)?;
            Ok(())
        })
    }

    fn tag<'a>(&'a self, arn: &'a str, tags: &'a [(String, String)]) -> BoxFuture<'a, Api<()>> {
        Box::pin(async move {
            let tags = tags
                .iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| crate::cloud::port::ApiError::new("InvalidArgument", e.to_string()))?;
            self.client.tag_resource().resource_arn(arn).set_tags(Some(tags)).send().await.map_err(api_error)?;
            Ok(())
        })
    }

    fn tags<'a>(&'a self, arn: &'a str) -> BoxFuture<'a, Api<Vec<(String, String)>>> {
        Box::pin(async move {
            let out = self.client.list_tags_of_resource().resource_arn(arn).send().await.map_err(api_error)?;
            Ok(out.tags().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect())
        })
    }

    fn delete_table<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Api<()>> {
        Box::pin(async move {
            self.client.delete_table().table_name(name).send().await.map_err(api_error)?;
            Ok(())
        })
    }
}
