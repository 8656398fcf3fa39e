//! The RDS port on the AWS SDK.

use aws_sdk_rds::Client;
use aws_sdk_rds::error::ProvideErrorMetadata;
use aws_sdk_rds::types::Tag;

use super::{api_error, ts};
use crate::cloud::BoxFuture;
use crate::cloud::port::Api;
use crate::cloud::port::rds::*;

pub struct AwsRds {
    pub client: Client,
}

fn instance(i: &aws_sdk_rds::types::DbInstance) -> DbInstance {
    DbInstance {
        id: i.db_instance_identifier().unwrap_or_default().into(),
        arn: i.db_instance_arn().unwrap_or_default().into(),
        status: i.db_instance_status().unwrap_or("unknown").into(),
        endpoint: i.endpoint().map(|e| format!("{}:{}", e.address().unwrap_or_default(), e.port().unwrap_or(5432))),
        replica_source: i.read_replica_source_db_instance_identifier().map(str::to_string),
        retention_days: i.backup_retention_period().unwrap_or(0),
        encrypted: i.storage_encrypted().unwrap_or(false),
        deletion_protection: i.deletion_protection().unwrap_or(false),
        backup_replicas: i
            .db_instance_automated_backups_replications()
            .iter()
            .filter_map(|r| r.db_instance_automated_backups_arn())
            .map(|arn| arn.split(':').nth(3).unwrap_or(arn).to_string())
            .collect(),
        latest_restorable: i.latest_restorable_time().map(ts),
        replica_lag_secs: None,
    }
}

fn snapshot(s: &aws_sdk_rds::types::DbSnapshot) -> DbSnapshot {
    DbSnapshot {
        id: s.db_snapshot_identifier().unwrap_or_default().into(),
        arn: s.db_snapshot_arn().unwrap_or_default().into(),
        instance: s.db_instance_identifier().unwrap_or_default().into(),
        time: s.snapshot_create_time().map(ts),
        status: s.status().unwrap_or("unknown").into(),
    }
}

fn tags(new: &NewInstance) -> Vec<Tag> {
    new.tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

impl RdsApi for AwsRds {
    fn describe_instance<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Api<Option<DbInstance>>> {
        Box::pin(async move {
            match self.client.describe_db_instances().db_instance_identifier(id).send().await {
                Ok(o) => Ok(o.db_instances().first().map(instance)),
                Err(e) if e.code().is_some_and(|c| c.starts_with("DBInstanceNotFound")) => Ok(None),
                Err(e) => Err(api_error(e)),
            }
        })
    }

    fn list_tags<'a>(&'a self, arn: &'a str) -> BoxFuture<'a, Api<Vec<(String, String)>>> {
        Box::pin(async move {
            let out = self.client.list_tags_for_resource().resource_name(arn).send().await.map_err(api_error)?;
            Ok(out
                .tag_list()
                .iter()
                .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string())))
                .collect())
        })
    }

    fn replicated_backups<'a>(&'a self, source: &'a str) -> BoxFuture<'a, Api<Option<ReplicatedBackups>>> {
        Box::pin(async move {
            let found =
                self.client.describe_db_instance_automated_backups().db_instance_identifier(source).send().await;
            let out = match found {
                Ok(o) => o,
                Err(e) if e.code().is_some_and(|c| c.contains("NotFound")) => return Ok(None),
                Err(e) => return Err(api_error(e)),
            };
            Ok(out.db_instance_automated_backups().first().map(|b| ReplicatedBackups {
                arn: b.db_instance_automated_backups_arn().unwrap_or_default().into(),
                earliest: b.restore_window().and_then(|w| w.earliest_time()).map(ts),
                latest: b.restore_window().and_then(|w| w.latest_time()).map(ts),
            }))
        })
    }

    fn snapshots_of<'a>(&'a self, inst: &'a str) -> BoxFuture<'a, Api<Vec<DbSnapshot>>> {
        Box::pin(async move {
            let mut pages = self.client.describe_db_snapshots().db_instance_identifier(inst).into_paginator().send();
            let mut out = Vec::new();
            while let Some(page) = pages.next().await {
                out.extend(page.map_err(api_error)?.db_snapshots().iter().map(snapshot));
            }
            Ok(out)
        })
    }

    fn describe_snapshot<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Api<Option<DbSnapshot>>> {
        Box::pin(async move {
            match self.client.describe_db_snapshots().db_snapshot_identifier(id).send().await {
                Ok(o) => Ok(o.db_snapshots().first().map(snapshot)),
                Err(e) if e.code().is_some_and(|c| c.starts_with("DBSnapshotNotFound")) => Ok(None),
                Err(e) => Err(api_error(e)),
            }
        })
    }

    fn copy_snapshot<'a>(
        &'a self,
        source_arn: &'a str,
        target: &'a str,
        kms_key: Option<&'a str>,
        tags: &'a [(String, String)],
    ) -> BoxFuture<'a, Api<()>> {
        Box::pin(async move {
            self.client
                .copy_db_snapshot()
                .source_db_snapshot_identifier(source_arn)
                .target_db_snapshot_identifier(target)
                .set_kms_key_id(kms_key.map(str::to_string))
                .set_tags(Some(tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()))
                .send()
                .await
                .map_err(api_error)?;
            Ok(())
        })
    }

    fn restore_from_snapshot<'a>(&'a self, snap: &'a str, new: &'a NewInstance) -> BoxFuture<'a, Api<()>> {
        Box::pin(async move {
            self.client
                .restore_db_instance_from_db_snapshot()
                .db_instance_identifier(&new.id)
                .db_snapshot_identifier(snap)
                .set_db_instance_class(new.class.clone())
                .set_tags(Some(tags(new)))
                .send()
                .await
                .map_err(api_error)?;
            Ok(())
        })
    }

    fn restore_to_time<'a>(
        &'a self,
        source: &'a PitrSource,
        time: Option<crate::runbook::time::Timestamp>,
        new: &'a NewInstance,
    ) -> BoxFuture<'a, Api<()>> {
        Box::pin(async move {
            let mut req = self
                .client
                .restore_db_instance_to_point_in_time()
                .target_db_instance_identifier(&new.id)
                .set_db_instance_class(new.class.clone())
                .set_tags(Some(tags(new)));
            req = match source {
                PitrSource::Instance(id) => req.source_db_instance_identifier(id),
                PitrSource::Backups(arn) => req.source_db_instance_automated_backups_arn(arn),
            };
            req = match time {
                None => req.use_latest_restorable_time(true),
                Some(t) => req.restore_time(aws_sdk_rds::primitives::DateTime::from_secs_and_nanos(
                    t.as_second(),
                    t.subsec_nanosecond().max(0) as u32,
                )),
            };
            req.send().await.map_err(api_error)?;
            Ok(())
        })
    }

    fn promote_replica<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Api<()>> {
        Box::pin(async move {
            self.client.promote_read_replica().db_instance_identifier(id).send().await.map_err(api_error)?;
            Ok(())
        })
    }

    fn delete_instance<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Api<()>> {
        Box::pin(async move {
            self.client
                .delete_db_instance()
                .db_instance_identifier(id)
                .skip_final_snapshot(true)
                .delete_automated_backups(true)
                .send()
                .await
                .map_err(api_error)?;
            Ok(())
        })
    }

    fn delete_snapshot<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Api<()>> {
        Box::pin(async move {
            self.client.delete_db_snapshot().db_snapshot_identifier(id).send().await.map_err(api_error)?;
            Ok(())
        })
    }
}
