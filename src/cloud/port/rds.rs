//! The RDS operations the actions use.

use super::Api;
use crate::cloud::BoxFuture;
use crate::runbook::time::Timestamp;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DbInstance {
    pub id: String,
    pub arn: String,
    pub status: String,
    /// `host:port`, once there is one.
    pub endpoint: Option<String>,
    pub replica_source: Option<String>,
    pub retention_days: i32,
    pub encrypted: bool,
    pub deletion_protection: bool,
    /// Regions its automated backups are replicated to.
    pub backup_replicas: Vec<String>,
    pub latest_restorable: Option<Timestamp>,
    /// How far a read replica trails its source, where the backend knows (the RDS API
    /// does not say; CloudWatch does).
    pub replica_lag_secs: Option<i64>,
}

/// Automated backups replicated into this region from an instance elsewhere.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicatedBackups {
    pub arn: String,
    pub earliest: Option<Timestamp>,
    pub latest: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DbSnapshot {
    pub id: String,
    pub arn: String,
    pub instance: String,
    pub time: Option<Timestamp>,
    pub status: String,
}

/// Where a point-in-time restore reads from.
#[derive(Debug, Clone, PartialEq)]
pub enum PitrSource {
    Instance(String),
    /// Replicated automated backups, by ARN (a restore in the backup region).
    Backups(String),
}

#[derive(Debug, Clone)]
pub struct NewInstance {
    pub id: String,
    pub class: Option<String>,
    pub tags: Vec<(String, String)>,
}

pub trait RdsApi: Send + Sync {
    fn describe_instance<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Api<Option<DbInstance>>>;
    fn list_tags<'a>(&'a self, arn: &'a str) -> BoxFuture<'a, Api<Vec<(String, String)>>>;
    fn replicated_backups<'a>(&'a self, source: &'a str) -> BoxFuture<'a, Api<Option<ReplicatedBackups>>>;
    /// Every snapshot of an instance, all pages.
    fn snapshots_of<'a>(&'a self, instance: &'a str) -> BoxFuture<'a, Api<Vec<DbSnapshot>>>;
    fn describe_snapshot<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Api<Option<DbSnapshot>>>;
    /// Into this client's region, from a snapshot named by ARN.
    fn copy_snapshot<'a>(
        &'a self,
        source_arn: &'a str,
        target: &'a str,
        kms_key: Option<&'a str>,
        tags: &'a [(String, String)],
    ) -> BoxFuture<'a, Api<()>>;
    fn restore_from_snapshot<'a>(&'a self, snapshot: &'a str, new: &'a NewInstance) -> BoxFuture<'a, Api<()>>;
    /// `time: None` is the latest restorable time.
    fn restore_to_time<'a>(
        &'a self,
        source: &'a PitrSource,
        time: Option<Timestamp>,
        new: &'a NewInstance,
    ) -> BoxFuture<'a, Api<()>>;
    fn promote_replica<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Api<()>>;
    /// Without a final snapshot and with its automated backups: what a drill restored
    /// must not linger in another form.
    fn delete_instance<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Api<()>>;
    fn delete_snapshot<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Api<()>>;
}
