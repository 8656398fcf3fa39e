//! Taking down what a drill made, over the ports: is each resource still there, is it
//! provably the drill's own, and deleting it. The proof is the cloud's, not the log's
//! alone: an instance, table or snapshot copy must carry the drill's `lifeboat:run` tag,
//! an object version is the very version id the drill wrote (ids are never reused).

use std::sync::Arc;

use super::actions::RUN_TAG;
use super::port::s3::ObjRef;
use super::port::{Api, ApiError, Backend, Reach};
use crate::clock::Clock;
use crate::event::TeardownOutcome;

/// A resource a drill's log says it made, typed by kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Made {
    RdsInstance(String),
    RdsSnapshot(String),
    DynamodbTable(String),
    S3Object { bucket: String, key: String, version: Option<String> },
}

impl Made {
    /// From a `resource_created` event's fields; `None` for a kind cleanup does not know
    /// (left alone, and said so).
    pub fn parse(kind: &str, id: &str, version: Option<&str>) -> Option<Made> {
        Some(match kind {
            "rds-instance" => Made::RdsInstance(id.into()),
            "rds-snapshot" => Made::RdsSnapshot(id.into()),
            "dynamodb-table" => Made::DynamodbTable(id.into()),
            "s3-object" => {
                // Bucket names hold no `/`: the first one ends the bucket.
                let (bucket, key) = id.split_once('/')?;
                Made::S3Object { bucket: bucket.into(), key: key.into(), version: version.map(str::to_string) }
            }
            _ => return None,
        })
    }
    /// The catalog's name of what holds it: the resource itself, or an object's bucket.
    pub fn resource(&self) -> &str {
        match self {
            Made::RdsInstance(id) | Made::RdsSnapshot(id) | Made::DynamodbTable(id) => id,
            Made::S3Object { bucket, .. } => bucket,
        }
    }
}

/// What the cloud says about one resource now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Look {
    Gone,
    /// There, and provably the drill's.
    Ours,
    /// There, but not to be deleted: why.
    NotOurs(String),
}

fn reach(region: &str, clock: &Arc<dyn Clock>) -> Reach {
    Reach { region: region.into(), role_arn: None, clock: clock.clone() }
}

fn tagged(tags: &[(String, String)], run: &str, what: &str) -> Look {
    match tags.iter().find(|(k, _)| k == RUN_TAG) {
        Some((_, v)) if v == run => Look::Ours,
        Some((_, v)) => Look::NotOurs(format!("{what} is tagged {RUN_TAG}={v}, not this drill's run {run}")),
        None => Look::NotOurs(format!("{what} has no {RUN_TAG} tag: nothing proves the drill made it")),
    }
}

fn gone(e: &ApiError) -> bool {
    matches!(
        e.code.as_str(),
        "NotFound"
            | "NoSuchKey"
            | "NoSuchVersion"
            | "404"
            | "DBInstanceNotFound"
            | "DBSnapshotNotFound"
            | "ResourceNotFoundException"
    )
}

/// Whether `made` (in `region`) is still there and the drill `run`'s own.
pub async fn look(backend: &dyn Backend, clock: &Arc<dyn Clock>, made: &Made, region: &str, run: &str) -> Api<Look> {
    let at = reach(region, clock);
    match made {
        Made::RdsInstance(id) => {
            let rds = backend.rds(&at).await?;
            let Some(i) = rds.describe_instance(id).await? else { return Ok(Look::Gone) };
            if i.status == "deleting" {
                return Ok(Look::Gone);
            }
            if i.deletion_protection {
                return Ok(Look::NotOurs(format!("{id} has deletion protection on")));
            }
            Ok(tagged(&rds.list_tags(&i.arn).await?, run, id))
        }
        Made::RdsSnapshot(id) => {
            let rds = backend.rds(&at).await?;
            let Some(s) = rds.describe_snapshot(id).await? else { return Ok(Look::Gone) };
            Ok(tagged(&rds.list_tags(&s.arn).await?, run, id))
        }
        Made::DynamodbTable(name) => {
            let db = backend.dynamodb(&at).await?;
            let Some(t) = db.describe_table(name).await? else { return Ok(Look::Gone) };
            if t.status == "DELETING" {
                return Ok(Look::Gone);
            }
            if t.deletion_protection {
                return Ok(Look::NotOurs(format!("{name} has deletion protection on")));
            }
            Ok(tagged(&db.tags(&t.arn).await?, run, name))
        }
        Made::S3Object { bucket, key, version } => {
            let Some(v) = version else {
                let why = "no version id was recorded: deleting the key could take a version the drill did not write";
                return Ok(Look::NotOurs(why.into()));
            };
            let s3 = backend.s3(&at).await?;
            let obj = ObjRef { bucket: bucket.clone(), key: key.clone(), version: Some(v.clone()) };
            match s3.head(&obj, None).await {
                Ok(_) => Ok(Look::Ours),
                Err(e) if gone(&e) => Ok(Look::Gone),
                Err(e) => Err(e),
            }
        }
    }
}

/// Deletes what [`look`] found to be the drill's. An instance or table may take a while
/// to go: `Deleting` then, never `Deleted` before the service says it is gone.
pub async fn delete(backend: &dyn Backend, clock: &Arc<dyn Clock>, made: &Made, region: &str) -> Api<TeardownOutcome> {
    let at = reach(region, clock);
    match made {
        Made::RdsInstance(id) => {
            let rds = backend.rds(&at).await?;
            rds.delete_instance(id).await?;
            let left = rds.describe_instance(id).await?;
            Ok(if left.is_none() { TeardownOutcome::Deleted } else { TeardownOutcome::Deleting })
        }
        Made::RdsSnapshot(id) => {
            let rds = backend.rds(&at).await?;
            rds.delete_snapshot(id).await?;
            let left = rds.describe_snapshot(id).await?;
            Ok(if left.is_none() { TeardownOutcome::Deleted } else { TeardownOutcome::Deleting })
        }
        Made::DynamodbTable(name) => {
            let db = backend.dynamodb(&at).await?;
            db.delete_table(name).await?;
            let left = db.describe_table(name).await?;
            Ok(if left.is_none() { TeardownOutcome::Deleted } else { TeardownOutcome::Deleting })
        }
        Made::S3Object { bucket, key, version } => {
            // Without a version id S3 would place a delete marker over whatever is there.
            let Some(v) = version else { return Err(ApiError::new("NoVersion", "no version id to delete")) };
            let s3 = backend.s3(&at).await?;
            let entry = [(key.clone(), Some(v.clone()))];
            if let Some(f) = s3.delete_objects(bucket, &entry).await?.into_iter().next() {
                return Err(ApiError::new(&f.code, f.message));
            }
            Ok(TeardownOutcome::Deleted)
        }
    }
}
