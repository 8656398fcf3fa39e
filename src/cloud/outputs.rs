//! What each action returns, built once for every provider: these keys are the catalog's
//! promise to runbooks (`steps.<id>.outputs.<name>`), so the simulated cloud and AWS
//! cannot drift apart. Also the not-found errors both providers give.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json, json};

use super::ActionError;
use super::plan::{Plan, Todo};
use crate::runbook::time::{Timestamp, format_timestamp, parse_timestamp};

fn time(t: Timestamp) -> Json {
    Json::String(format_timestamp(t))
}

/// `s3.restore_to_time`: counts of the plan, the first keys kept, the recovery point.
pub fn rolled_back(plan: &Plan, recovery_point: Timestamp) -> Map<String, Json> {
    let newer = plan.newer();
    let mut o = Map::new();
    o.insert("restored".into(), json!(plan.count(|t| matches!(t, Todo::Copy(_)))));
    o.insert("undeleted".into(), json!(plan.count(|t| matches!(t, Todo::Undelete(_)))));
    o.insert("newer_kept".into(), json!(newer.len()));
    o.insert("newer_keys".into(), Json::Array(newer.into_iter().take(20).map(Json::String).collect()));
    o.insert("recovery_point".into(), time(recovery_point));
    o
}

/// `s3.copy_prefix`.
pub fn copied(count: u64, bytes: u64, recovery_point: Timestamp) -> Map<String, Json> {
    let mut o = Map::new();
    o.insert("copied".into(), json!(count));
    o.insert("bytes".into(), json!(bytes));
    o.insert("recovery_point".into(), time(recovery_point));
    o
}

/// `s3.compare` of two sides, each relative key → ETag.
pub fn compared(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> Map<String, Json> {
    let same = a.iter().filter(|(k, e)| b.get(*k) == Some(e)).count();
    let missing = a.keys().filter(|k| !b.contains_key(*k)).count();
    let extra = b.keys().filter(|k| !a.contains_key(*k)).count();
    let different = a.iter().filter(|(k, e)| b.get(*k).is_some_and(|x| x != *e)).count();
    let mut o = Map::new();
    for (k, v) in [("same", same), ("missing", missing), ("extra", extra), ("different", different)] {
        o.insert(k.into(), json!(v));
    }
    o
}

/// `rds.find_snapshot`.
pub fn snapshot_found(id: &str, taken: Timestamp) -> Map<String, Json> {
    let mut o = snapshot(id);
    o.insert("snapshot_time".into(), time(taken));
    o.insert("recovery_point".into(), time(taken));
    o
}

/// `rds.copy_snapshot`.
pub fn snapshot(id: &str) -> Map<String, Json> {
    let mut o = Map::new();
    o.insert("snapshot".into(), json!(id));
    o
}

/// The RDS restores, promotion and wait.
pub fn instance(
    id: &str,
    endpoint: &str,
    status: Option<&str>,
    recovery_point: Option<Timestamp>,
) -> Map<String, Json> {
    let mut o = Map::new();
    o.insert("instance".into(), json!(id));
    o.insert("endpoint".into(), json!(endpoint));
    if let Some(s) = status {
        o.insert("status".into(), json!(s));
    }
    if let Some(rp) = recovery_point {
        o.insert("recovery_point".into(), time(rp));
    }
    o
}

/// A bucket, instance or snapshot that is not there.
pub fn not_found(op: &str, kind: &str, id: &str, region: &str) -> ActionError {
    let code = match kind {
        "bucket" => "NoSuchBucket",
        "snapshot" => "DBSnapshotNotFound",
        _ => "DBInstanceNotFound",
    };
    ActionError::new(op, id, code, format!("no {kind} `{id}` in {region}"))
        .hint(format!("check the name and the region: {kind}s are regional"))
}

/// `rds.restore_to_time`'s time: `latest`, or `time` if it lies in the restorable window
/// — the check real AWS makes and moto does not.
pub fn restore_time(
    call: &super::ActionCall,
    source: &str,
    (earliest, latest): (Timestamp, Timestamp),
    hint: &str,
) -> Result<Timestamp, ActionError> {
    let op = call.spec.name;
    if call.bool("latest") {
        return Ok(latest);
    }
    let t = parse_timestamp(call.str("time").unwrap_or_default())
        .map_err(|h| ActionError::new(op, source, "InvalidParameterValue", h))?;
    if t > latest || t < earliest {
        return Err(ActionError::new(
            op,
            source,
            "InvalidRestoreTime",
            format!(
                "{} is outside the restorable window {} – {}",
                format_timestamp(t),
                format_timestamp(earliest),
                format_timestamp(latest)
            ),
        )
        .hint(hint));
    }
    Ok(t)
}

/// `rds.find_snapshot` found nothing old enough (`which`: "" or "available ").
pub fn no_snapshot_before(op: &str, instance: &str, region: &str, before: Timestamp, which: &str) -> ActionError {
    ActionError::new(
        op,
        instance,
        "DBSnapshotNotFound",
        format!("no {which}snapshot of `{instance}` in {region} taken before {}", format_timestamp(before)),
    )
    .hint("check the region: cross-region copies live in the backup region")
}
