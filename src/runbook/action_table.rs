//! The action table: every built-in action's name, parameters, outputs and effect (not
//! to be confused with the dataset catalog, `datasets.yaml`). Adding an action is one
//! entry here and its implementation in `cloud::actions`; the runbook layer checks
//! `with:` against this table without knowing any cloud.

pub use crate::runbook::action_spec::ActionKind;
pub use crate::runbook::action_spec::Effect;
use crate::runbook::action_spec::{ActionSpec, OutputDoc, Param, ParamType as T, Shape, opt, req};

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
            "newer_keys",
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

const fn out(name: &'static str, shape: Shape, doc: &'static str, example: &'static str) -> OutputDoc {
    OutputDoc { name, shape, doc, example }
}

/// Every output an action gives, once: what `steps.<id>.outputs.<name>` holds and in
/// what form (`expect:` compares the whole value: `object_lock` is `COMPLIANCE 30d`, not
/// `COMPLIANCE`). The tests hold every call's outputs to these shapes.
pub const OUTPUTS: &[OutputDoc] = &[
    out("restored", Shape::Count, "objects copied back to their version at `time`", "153"),
    out("undeleted", Shape::Count, "deleted objects brought back (their delete marker removed)", "2"),
    out("newer_kept", Shape::Count, "objects created after `time` and kept (0 with `delete_newer`)", "1"),
    out("newer_keys", Shape::Names, "the first keys created after `time` that were kept", "[\"ransom-note.txt\"]"),
    out("region", Shape::Text, "the region the data is in (where a copy went)", "eu-central-1"),
    out(
        "recovery_point",
        Shape::Time,
        "the time the restored data is from; absent when nothing was restored (no RPO then)",
        "2026-11-24T02:59:00Z",
    ),
    out(
        "manifest_sha256",
        Shape::Digest,
        "the plan's manifest (one line per change); give it to `plan_sha256` to hold a later run to this plan",
        "9f2c…(64 hex digits)",
    ),
    out("manifest_records", Shape::Count, "changes the manifest lists", "155"),
    out("batch_job", Shape::Text, "the S3 Batch Operations job that copies (mode `batch`)", "b7e1c2d0-…"),
    out("batch_tasks", Shape::Count, "copies the Batch Operations job made", "153"),
    out("copied", Shape::Count, "objects copied", "20"),
    out("bytes", Shape::Count, "bytes copied", "4718592"),
    out("same", Shape::Count, "keys on both sides with the same content", "1200"),
    out("missing", Shape::Count, "keys on side `a` only (missing from `b`)", "0"),
    out("extra", Shape::Count, "keys on side `b` only", "0"),
    out("different", Shape::Count, "keys on both sides with different content", "0"),
    out("versioning", Shape::Text, "`Enabled`, `Suspended` or `never enabled`", "Enabled"),
    out("object_lock", Shape::Text, "`none`, or the default retention as `MODE Nd` / `MODE Ny`", "COMPLIANCE 30d"),
    out(
        "encryption",
        Shape::Text,
        "S3: the default encryption (`AES256`, `aws:kms`) or `none`; DynamoDB: the KMS key, or `AWS owned key`",
        "aws:kms",
    ),
    out(
        "replication",
        Shape::Text,
        "the replication rule's destination bucket, or `none`",
        "arn:aws:s3:::orders-docs-dr",
    ),
    out("public_access_blocked", Shape::Flag, "all four public-access blocks are on", "true"),
    out("passed", Shape::Flag, "every check of the posture passed", "false"),
    out("findings", Shape::Text, "what failed, `; ` between findings (empty when `passed`)", "no default encryption"),
    out("snapshot", Shape::Text, "the snapshot's identifier", "rds:customers-prod-2026-11-24-02-00"),
    out("snapshot_time", Shape::Time, "when the snapshot was taken", "2026-11-24T02:00:00Z"),
    out("instance", Shape::Text, "the instance's identifier", "customers-restored"),
    out(
        "endpoint",
        Shape::Text,
        "the instance's address, `host:port`",
        "customers-restored.abc.eu-west-1.rds.amazonaws.com:5432",
    ),
    out("status", Shape::Text, "as AWS says it: `available` (RDS), `ACTIVE` (DynamoDB)", "available"),
    out("backup_retention_days", Shape::Count, "days of automated backups kept (0: none)", "7"),
    out("encrypted", Shape::Flag, "storage is encrypted", "true"),
    out("deletion_protection", Shape::Flag, "deletion protection is on", "true"),
    out("cross_region_backups", Shape::Flag, "automated backups are replicated to another region", "false"),
    out("table", Shape::Text, "the table's name", "customer-profiles-restored"),
    out("items", Shape::Count, "items in the table, as DynamoDB last counted them", "48213"),
    out("pitr", Shape::Flag, "point-in-time recovery is on", "true"),
    out("pitr_window_days", Shape::Count, "days point-in-time recovery reaches back (0 when off)", "35"),
    out("earliest_restorable", Shape::TimeOrNone, "the earliest time a restore can reach", "2026-10-20T03:00:00Z"),
    out("cross_region", Shape::Text, "regions holding a replica, `, ` between them, or `none`", "eu-west-1"),
];

pub fn output_doc(name: &str) -> Option<&'static OutputDoc> {
    OUTPUTS.iter().find(|o| o.name == name)
}

/// `docs/actions.md`, made from the tables above (a test holds the file equal to it).
pub fn reference_markdown() -> String {
    use std::fmt::Write;
    let mut md = String::from(
        "# Actions\n\n<!-- Made from src/runbook/action_table.rs by `lifeboat schema --actions-md`; a test fails when they differ. -->\n\n\
         An `action:` step names one of these and gives its arguments under `with:`. Every action takes `region`\n\
         (default: where the catalog puts the resource, else the dataset's primary region). Outputs are read as\n\
         `${{ steps.<id>.outputs.<name> }}` and checked with `expect: { outputs: { <name>: <value> } }`, which\n\
         compares the whole value as written here.\n\n",
    );
    for a in ACTIONS {
        let mut summary = a.summary.chars();
        let first = summary.next().map(|c| c.to_uppercase().collect::<String>()).unwrap_or_default();
        let _ = write!(md, "## `{}`\n\n{first}{}.", a.name, summary.as_str());
        let effect = match a.effect {
            crate::runbook::action_spec::Effect::Read => " Reads only.",
            crate::runbook::action_spec::Effect::Create => {
                " Creates something new: a typed confirmation at a keyboard."
            }
            crate::runbook::action_spec::Effect::Modify => {
                " Changes what exists: a typed confirmation naming the target; a drill refuses a `production` or `backup` target."
            }
        };
        md.push_str(effect);
        if a.restores {
            md.push_str(" Restores data: its `recovery_point` is the RPO achieved.");
        }
        md.push_str("\n\n| argument | type | required | what |\n|---|---|---|---|\n");
        for p in a.params {
            params_rows(&mut md, "", p);
        }
        for group in a.one_of {
            let _ = writeln!(
                md,
                "\nExactly one of {}.",
                group.iter().map(|g| format!("`{g}`")).collect::<Vec<_>>().join(", ")
            );
        }
        md.push_str("\n| output | form | what | example |\n|---|---|---|---|\n");
        for name in a.outputs {
            match output_doc(name) {
                Some(o) => {
                    let _ = writeln!(md, "| `{}` | {} | {} | `{}` |", o.name, o.shape.describe(), o.doc, o.example);
                }
                None => {
                    let _ = writeln!(md, "| `{name}` | ? | undocumented | |");
                }
            }
        }
        md.push('\n');
    }
    md
}

fn params_rows(md: &mut String, parent: &str, p: &Param) {
    use std::fmt::Write;
    let name = format!("{parent}{}", p.name);
    let _ = writeln!(md, "| `{name}` | {} | {} | {} |", p.ty.describe(), if p.required { "yes" } else { "no" }, p.doc);
    if let T::Object(inner) = p.ty {
        for q in inner {
            params_rows(md, &format!("{name}."), q);
        }
    }
}

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
mod output_tests {
    use super::*;

    /// Every output an action declares is documented once, and nothing documented is
    /// given by no action.
    #[test]
    fn every_output_is_documented_once_and_used() {
        for a in ACTIONS {
            for name in a.outputs {
                assert!(output_doc(name).is_some(), "{}: output `{name}` has no entry in OUTPUTS", a.name);
            }
        }
        for (i, o) in OUTPUTS.iter().enumerate() {
            assert!(OUTPUTS[..i].iter().all(|p| p.name != o.name), "`{}` twice", o.name);
            assert!(ACTIONS.iter().any(|a| a.outputs.contains(&o.name)), "`{}` belongs to no action", o.name);
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
