//! The built-in actions: names, parameters, outputs. Adding an action is one entry here
//! and its implementation beside the providers.

pub use crate::runbook::action_spec::ActionKind;
pub use crate::runbook::action_spec::Effect;
use crate::runbook::action_spec::{ActionSpec, Param, ParamType as T, opt, req};

const S3_LOCATION: &[Param] = &[
    req("bucket", T::String, "bucket name"),
    opt("prefix", T::String, "key prefix; default: the whole bucket"),
    opt("region", T::String, "the bucket's region"),
    opt("role_arn", T::String, "IAM role to assume for this bucket (another account)"),
];

const S3_SIDE: &[Param] = &[
    req("bucket", T::String, "bucket name"),
    opt("prefix", T::String, "key prefix"),
    opt("region", T::String, "the bucket's region"),
];

pub const ACTIONS: &[ActionSpec] = &[
    ActionSpec {
        kind: ActionKind::S3RestoreToTime,
        name: "s3.restore_to_time",
        summary: "roll every object back to its newest version at or before `time`",
        params: &[
            req("bucket", T::String, "the versioned bucket to roll back"),
            opt("prefix", T::String, "only keys under this prefix"),
            req("time", T::Timestamp, "the moment to roll back to"),
            opt("delete_newer", T::Bool, "also delete objects created after `time` (needs approval)"),
            opt("dry_run", T::Bool, "plan only; change nothing"),
            opt("region", T::String, "the bucket's region"),
            opt(
                "plan_sha256",
                T::String,
                "the manifest a dry run planned (its `manifest_sha256`): change nothing it does not list",
            ),
            opt(
                "mode",
                T::String,
                "who copies: `direct` (this machine), `batch` (S3 Batch Operations, the bucket's `batch:` setup), `auto` (batch above its `above` copies)",
            ),
            opt("job", T::String, "the S3 Batch Operations job the confirmed dry run created (its `batch_job`)"),
        ],
        one_of: &[],
        outputs: &[
            "restored",
            "undeleted",
            "newer_kept",
            "region",
            "recovery_point",
            "manifest_sha256",
            "manifest_records",
            "batch_job",
            "batch_tasks",
        ],
        restores: true,
        effect: Effect::Modify,
        targets: &["bucket"],
    },
    ActionSpec {
        kind: ActionKind::S3CopyPrefix,
        name: "s3.copy_prefix",
        summary: "copy objects from a backup bucket (another region or account) into place",
        params: &[
            req("from", T::Object(S3_LOCATION), "where the good copies are"),
            req("to", T::Object(S3_LOCATION), "where they go"),
            opt("overwrite", T::Bool, "replace objects that already exist at the target"),
            opt("region", T::String, "default region for both sides"),
        ],
        one_of: &[],
        outputs: &["copied", "bytes", "region", "recovery_point"],
        restores: true,
        effect: Effect::Modify,
        targets: &["to.bucket"],
    },
    ActionSpec {
        kind: ActionKind::S3Compare,
        name: "s3.compare",
        summary: "compare two buckets or prefixes key by key",
        params: &[
            req("a", T::Object(S3_SIDE), "one side"),
            req("b", T::Object(S3_SIDE), "the other side"),
            opt("region", T::String, "default region for both sides"),
        ],
        one_of: &[],
        outputs: &["same", "missing", "extra", "different"],
        restores: false,
        effect: Effect::Read,
        targets: &[],
    },
    ActionSpec {
        kind: ActionKind::S3CheckPosture,
        name: "s3.check_posture",
        summary: "check versioning, object lock, encryption, replication and public access",
        params: &[req("bucket", T::String, "the bucket to check"), opt("region", T::String, "the bucket's region")],
        one_of: &[],
        outputs: &[
            "versioning",
            "object_lock",
            "encryption",
            "replication",
            "public_access_blocked",
            "passed",
            "findings",
        ],
        restores: false,
        effect: Effect::Read,
        targets: &[],
    },
    ActionSpec {
        kind: ActionKind::RdsFindSnapshot,
        name: "rds.find_snapshot",
        summary: "find the newest snapshot of an instance, optionally before a time",
        params: &[
            req("instance", T::String, "the DB instance the snapshot is of"),
            opt("before", T::Timestamp, "newest snapshot taken at or before this time"),
            opt("region", T::String, "where to look"),
        ],
        one_of: &[],
        outputs: &["snapshot", "snapshot_time", "recovery_point"],
        restores: false,
        effect: Effect::Read,
        targets: &[],
    },
    ActionSpec {
        kind: ActionKind::RdsCopySnapshot,
        name: "rds.copy_snapshot",
        summary: "copy a snapshot to another region",
        params: &[
            req("snapshot", T::String, "snapshot identifier or ARN"),
            req("to_region", T::String, "destination region"),
            opt("kms_key", T::String, "KMS key in the destination region"),
            opt("region", T::String, "the source region"),
        ],
        one_of: &[],
        outputs: &["snapshot"],
        restores: false,
        effect: Effect::Create,
        targets: &[],
    },
    ActionSpec {
        kind: ActionKind::RdsRestoreFromSnapshot,
        name: "rds.restore_from_snapshot",
        summary: "create a new instance from a snapshot",
        params: &[
            req("snapshot", T::String, "snapshot identifier or ARN"),
            req("new_instance", T::String, "identifier of the instance to create"),
            opt("instance_class", T::String, "e.g. db.r6g.large; default: the snapshot's"),
            opt("region", T::String, "where to restore"),
        ],
        one_of: &[],
        outputs: &["instance", "endpoint", "recovery_point"],
        restores: true,
        effect: Effect::Create,
        targets: &["new_instance"],
    },
    ActionSpec {
        kind: ActionKind::RdsRestoreToTime,
        name: "rds.restore_to_time",
        summary: "create a new instance from an instance's backups at a point in time",
        params: &[
            req("instance", T::String, "the source instance"),
            req("new_instance", T::String, "identifier of the instance to create"),
            opt("time", T::Timestamp, "the point in time to restore to"),
            opt("latest", T::Bool, "restore to the latest restorable time"),
            opt("instance_class", T::String, "default: the source's"),
            opt("region", T::String, "where to restore"),
        ],
        one_of: &[&["time", "latest"]],
        outputs: &["instance", "endpoint", "recovery_point"],
        restores: true,
        effect: Effect::Create,
        targets: &["new_instance"],
    },
    ActionSpec {
        kind: ActionKind::RdsPromoteReplica,
        name: "rds.promote_replica",
        summary: "promote a read replica to a standalone primary",
        params: &[
            req("replica", T::String, "the replica to promote"),
            opt("region", T::String, "the replica's region"),
        ],
        one_of: &[],
        outputs: &["instance", "endpoint", "recovery_point"],
        restores: true,
        effect: Effect::Modify,
        targets: &["replica"],
    },
    ActionSpec {
        kind: ActionKind::RdsWaitAvailable,
        name: "rds.wait_available",
        summary: "wait until an instance is available",
        params: &[
            req("instance", T::String, "the instance to wait for"),
            opt("timeout", T::Duration, "give up after this long"),
            opt("region", T::String, "the instance's region"),
        ],
        one_of: &[],
        outputs: &["instance", "endpoint", "status"],
        restores: false,
        effect: Effect::Read,
        targets: &[],
    },
    ActionSpec {
        kind: ActionKind::RdsCheckPosture,
        name: "rds.check_posture",
        summary: "check backup retention, encryption, deletion protection and cross-region backups",
        params: &[
            req("instance", T::String, "the instance to check"),
            opt("region", T::String, "the instance's region"),
        ],
        one_of: &[],
        outputs: &[
            "backup_retention_days",
            "encrypted",
            "deletion_protection",
            "cross_region_backups",
            "passed",
            "findings",
        ],
        restores: false,
        effect: Effect::Read,
        targets: &[],
    },
    ActionSpec {
        kind: ActionKind::DynamodbRestoreToTime,
        name: "dynamodb.restore_to_time",
        summary: "create a new table from a table's point-in-time recovery",
        params: &[
            req("table", T::String, "the source table"),
            req("new_table", T::String, "name of the table to create"),
            opt("time", T::Timestamp, "the point in time to restore to"),
            opt("latest", T::Bool, "restore to the latest restorable time"),
            opt("region", T::String, "the table's region"),
        ],
        one_of: &[&["time", "latest"]],
        outputs: &["table", "status", "items", "recovery_point"],
        restores: true,
        effect: Effect::Create,
        targets: &["new_table"],
    },
    ActionSpec {
        kind: ActionKind::DynamodbWaitActive,
        name: "dynamodb.wait_active",
        summary: "wait until a table is active",
        params: &[
            req("table", T::String, "the table to wait for"),
            opt("timeout", T::Duration, "give up after this long"),
            opt("region", T::String, "the table's region"),
        ],
        one_of: &[],
        outputs: &["table", "status", "items"],
        restores: false,
        effect: Effect::Read,
        targets: &[],
    },
    ActionSpec {
        kind: ActionKind::DynamodbCheckPosture,
        name: "dynamodb.check_posture",
        summary: "check point-in-time recovery and its window, deletion protection, a customer key, a copy elsewhere",
        params: &[req("table", T::String, "the table to check"), opt("region", T::String, "the table's region")],
        one_of: &[],
        outputs: &[
            "pitr",
            "pitr_window_days",
            "earliest_restorable",
            "deletion_protection",
            "encryption",
            "cross_region",
            "passed",
            "findings",
        ],
        restores: false,
        effect: Effect::Read,
        targets: &[],
    },
];

pub fn find(name: &str) -> Option<&'static ActionSpec> {
    ACTIONS.iter().find(|a| a.name == name)
}

#[cfg(test)]
mod tests {
    use super::ACTIONS;

    #[test]
    fn every_action_takes_region_and_restores_report_a_recovery_point() {
        for a in ACTIONS {
            assert!(a.param("region").is_some(), "{} lacks region", a.name);
            assert!(!a.restores || a.outputs.contains(&"recovery_point"), "{}", a.name);
            assert_eq!(
                a.targets.is_empty(),
                a.effect == super::Effect::Read || a.name == "rds.copy_snapshot",
                "{}",
                a.name
            );
            for group in a.one_of {
                assert!(group.iter().all(|p| a.param(p).is_some_and(|p| !p.required)), "{}", a.name);
            }
        }
    }
}

#[cfg(test)]
mod kind_tests {
    use super::*;

    /// Both providers match on `kind` with no catch-all, so every catalog entry has an
    /// implementation in each (or the build fails); here: no two entries share a kind
    /// or a name, and looking an entry up by its name finds that entry.
    #[test]
    fn every_catalog_entry_has_its_own_kind_and_name() {
        let kinds: std::collections::HashSet<_> = ACTIONS.iter().map(|a| a.kind).collect();
        let names: std::collections::HashSet<_> = ACTIONS.iter().map(|a| a.name).collect();
        assert_eq!((kinds.len(), names.len()), (ACTIONS.len(), ACTIONS.len()));
        for spec in ACTIONS {
            assert_eq!(find(spec.name).map(|s| s.kind), Some(spec.kind), "{}", spec.name);
        }
    }
}
