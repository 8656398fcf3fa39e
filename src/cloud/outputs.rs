//! What each action returns, built once for every provider: these keys are the catalog's
//! promise to runbooks (`steps.<id>.outputs.<name>`), so the simulated cloud and AWS
//! cannot drift apart. Also the not-found errors both providers give.

use serde_json::{Map, Value as Json, json};

use super::ActionError;
use super::plan::Tally;
use crate::runbook::time::{Timestamp, format_timestamp, format_timestamp_ms};

/// To the second, or the millisecond when the time has a fraction: a recovery point 65 ms
/// after the incident began must not read as at its start, in a gate or in a later call
/// that takes the time from these outputs.
fn time(t: Timestamp) -> Json {
    Json::String(if t.subsec_nanosecond() == 0 { format_timestamp(t) } else { format_timestamp_ms(t) })
}

/// `s3.restore_to_time`: counts of the plan, the first keys kept, the region the bucket
/// is in, and the recovery point when the plan brings anything back (a roll-back that
/// changes nothing restored nothing, and has no RPO).
pub fn rolled_back(plan: &Tally, delete_newer: bool, recovery_point: Timestamp, region: &str) -> Map<String, Json> {
    let mut o = Map::new();
    o.insert("restored".into(), json!(plan.copies));
    o.insert("undeleted".into(), json!(plan.undeletes));
    o.insert("newer_kept".into(), json!(if delete_newer { 0 } else { plan.newer }));
    o.insert("newer_keys".into(), Json::Array(plan.newer_keys.iter().cloned().map(Json::String).collect()));
    o.insert("region".into(), json!(region));
    if plan.copies + plan.undeletes > 0 {
        o.insert("recovery_point".into(), time(recovery_point));
    }
    o
}

/// `s3.copy_prefix`: the region the copies went to, and the recovery point only when
/// something was copied (restoring nothing proves nothing and has no RPO).
pub fn copied(count: u64, bytes: u64, recovery_point: Timestamp, region: &str) -> Map<String, Json> {
    let mut o = Map::new();
    o.insert("copied".into(), json!(count));
    o.insert("bytes".into(), json!(bytes));
    o.insert("region".into(), json!(region));
    if count > 0 {
        o.insert("recovery_point".into(), time(recovery_point));
    }
    o
}

/// `s3.compare`: keys on both sides with the same content, only on the first side
/// (missing from the second), only on the second, and on both with different content.
pub fn compared(same: u64, missing: u64, extra: u64, different: u64) -> Map<String, Json> {
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
        "table" => "ResourceNotFoundException",
        _ => "DBInstanceNotFound",
    };
    ActionError::new(op, id, code, format!("no {kind} `{id}` in {region}"))
        .hint(format!("check the name and the region: {kind}s are regional"))
}

/// `dynamodb.restore_to_time` and `dynamodb.wait_active`.
pub fn table(name: &str, status: &str, items: Option<i64>) -> Map<String, Json> {
    let mut o = Map::new();
    o.insert("table".into(), json!(name));
    o.insert("status".into(), json!(status));
    if let Some(n) = items {
        o.insert("items".into(), json!(n));
    }
    o
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
