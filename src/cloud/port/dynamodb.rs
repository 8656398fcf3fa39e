//! The DynamoDB operations the actions use.

use super::Api;
use crate::cloud::BoxFuture;
use crate::runbook::time::Timestamp;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub name: String,
    pub arn: String,
    /// `CREATING`, `ACTIVE`, `UPDATING`, …
    pub status: String,
    pub deletion_protection: bool,
    /// The customer-managed KMS key, when encrypted with one (not AWS-owned).
    pub kms_key: Option<String>,
    /// Regions holding a replica (global tables).
    pub replicas: Vec<String>,
    pub items: Option<i64>,
}

/// Point-in-time recovery of a table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pitr {
    pub enabled: bool,
    pub earliest: Option<Timestamp>,
    pub latest: Option<Timestamp>,
    /// How many days back it reaches (35 unless set lower).
    pub days: Option<i32>,
}

pub trait DynamoApi: Send + Sync {
    fn describe_table<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Api<Option<Table>>>;
    fn continuous_backups<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Api<Pitr>>;
    /// `time: None` is the latest restorable time.
    fn restore_to_time<'a>(
        &'a self,
        source: &'a str,
        target: &'a str,
        time: Option<Timestamp>,
    ) -> BoxFuture<'a, Api<()>>;
    fn tag<'a>(&'a self, arn: &'a str, tags: &'a [(String, String)]) -> BoxFuture<'a, Api<()>>;
    fn tags<'a>(&'a self, arn: &'a str) -> BoxFuture<'a, Api<Vec<(String, String)>>>;
    fn delete_table<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Api<()>>;
}
