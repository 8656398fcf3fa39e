//! The world a rehearsal starts in, from the dataset catalog: every resource with
//! history (object versions over two weeks and recent changes, automated backups,
//! nightly snapshots copied to the backup region), and the damage of the runbook's
//! failure in the dataset's production buckets.

use std::collections::BTreeMap;

use jiff::SignedDuration;

use super::world::{Bucket, Content, Damaged, Generated, Instance, Snapshot, Table, Version, World, det, etag_of};
use crate::runbook::model::{Catalog, Dataset, SimSize};
use crate::runbook::raw::{ResourceKind, Role, Scenario};
use crate::runbook::time::Timestamp;

pub fn ago(now: Timestamp, secs: i64) -> Timestamp {
    now.checked_sub(SignedDuration::from_secs(secs)).unwrap_or(now)
}

const PREFIXES: [&str; 4] = ["customers/2026/10/", "customers/2026/11/", "invoices/2026/10/", "invoices/2026/11/"];
const KEYS_PER_PREFIX: usize = 100;

/// What the incident did to a dataset's production buckets, so a rehearsal meets the
/// failure its runbook is written for (a deletion runbook finds deleted objects).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Damage {
    /// Nothing: the data is as it was (region outages, database failures, audits).
    None,
    /// A third overwritten, one in twenty deleted, a ransom note left behind.
    Ransomware,
    /// A whole prefix deleted (`customers/2026/11/`): delete markers, nothing overwritten.
    Deletion,
}

impl Damage {
    pub fn of(scenario: Scenario) -> Damage {
        match scenario {
            Scenario::Ransomware | Scenario::AccountCompromise => Damage::Ransomware,
            Scenario::Deletion => Damage::Deletion,
            _ => Damage::None,
        }
    }
}

/// The prefix a simulated deletion removes.
pub const DELETED_PREFIX: &str = "customers/2026/11/";

pub fn world(catalog: &Catalog, now: Timestamp, incident: Timestamp, dataset: Option<&str>, damage: Damage) -> World {
    let mut w = World::default();
    for d in &catalog.datasets {
        let damage = if dataset.is_none_or(|x| x == d.id) { damage } else { Damage::None };
        let backup_region = d.backup.as_ref().map(|b| b.region.clone());
        for r in &d.resources {
            let region = r.region.clone().unwrap_or_else(|| d.primary.region.clone());
            match r.kind {
                ResourceKind::S3Bucket => {
                    let mut b = Bucket {
                        region: region.clone(),
                        versioning: true,
                        object_lock_days: (r.role == Role::Backup).then_some(30),
                        kms: r.role != Role::Drill,
                        replication_to: (r.role == Role::Production).then(|| backup_region.clone()).flatten(),
                        public_access_blocked: true,
                        objects: BTreeMap::new(),
                        generated: None,
                    };
                    match r.sim {
                        Some(size) if r.role != Role::Drill => {
                            b.generated = Some(generated(size, r.role, b.kms, incident, damage))
                        }
                        _ if r.role != Role::Drill => seed_objects(&mut b, &r.id, r.role, now, incident, damage),
                        _ => {}
                    }
                    w.buckets.insert(r.id.clone(), b);
                    // The bucket a Batch job's manifest and report go to, empty.
                    if let Some(batch) = &r.batch {
                        w.buckets.entry(batch.reports.clone()).or_insert_with(|| Bucket {
                            region: region.clone(),
                            versioning: true,
                            kms: true,
                            public_access_blocked: true,
                            ..Bucket::default()
                        });
                    }
                }
                ResourceKind::RdsInstance | ResourceKind::RdsCluster => {
                    if r.role == Role::Drill {
                        continue; // a drill restores into it: it must not exist yet
                    }
                    w.instances.insert(
                        r.id.clone(),
                        Instance {
                            region: region.clone(),
                            available_at: ago(now, 86_400 * 30),
                            busy_status: "creating",
                            replica_of: (r.role == Role::Replica).then(|| production_instance(d)).flatten(),
                            replica_lag_secs: det(&r.id, 20, 90) as i64,
                            retention_days: 7,
                            encrypted: true,
                            deletion_protection: r.role == Role::Production,
                            backup_region: backup_region.clone().filter(|_| r.role == Role::Production),
                            tags: vec![],
                            recovery_point: None,
                            created_at: ago(now, 86_400 * 400),
                        },
                    );
                    if r.role == Role::Production {
                        seed_snapshots(&mut w, &r.id, &region, backup_region.as_deref(), now);
                    }
                }
                ResourceKind::DynamodbTable => {
                    if r.role == Role::Drill {
                        continue;
                    }
                    let protected = r.role == Role::Production;
                    w.tables.insert(
                        r.id.clone(),
                        Table {
                            region: region.clone(),
                            active_at: ago(now, 86_400 * 400),
                            pitr: true,
                            pitr_days: 35,
                            pitr_since: ago(now, 86_400 * 200),
                            deletion_protection: protected,
                            kms_key: Some(format!(
                                "arn:aws:kms:{region}:000000000000:key/{:08x}",
                                det(&r.id, 0, u32::MAX as u64)
                            )),
                            replicas: backup_region.clone().filter(|_| protected).into_iter().collect(),
                            items: det(&r.id, 40_000, 90_000) as i64,
                            tags: vec![],
                            recovery_point: None,
                        },
                    );
                }
            }
        }
    }
    w
}

fn seed_snapshots(w: &mut World, id: &str, region: &str, backup_region: Option<&str>, now: Timestamp) {
    let midnight = now.checked_sub(SignedDuration::from_secs(now.as_second().rem_euclid(86_400))).unwrap_or(now);
    for day in 0..7 {
        let t = ago(midnight, 86_400 * day);
        let date = t.strftime("%Y-%m-%d").to_string();
        let snap = |region: &str| Snapshot {
            instance: id.into(),
            region: region.into(),
            time: t,
            available_at: t,
            tags: vec![],
        };
        w.snapshots.insert(format!("rds:{id}-{date}-00-00"), snap(region));
        if let Some(br) = backup_region {
            w.snapshots.insert(format!("{id}-{date}-00-00-copy"), snap(br));
        }
    }
}

fn production_instance(d: &Dataset) -> Option<String> {
    d.resources.iter().find(|r| r.role == Role::Production && r.kind == ResourceKind::RdsInstance).map(|r| r.id.clone())
}

/// A seeded object version: same key and generation, same content, so a replica in
/// another bucket matches.
pub fn version(bucket: &str, key: &str, n: usize, time: Timestamp, delete_marker: bool, keyed: bool) -> Version {
    let id = format!("{:016x}", det(&format!("{bucket}/{key}/{n}"), 0, u64::MAX - 1));
    if delete_marker {
        return Version::marker(id, time);
    }
    let content = Content::Seeded(det(&format!("etag/{key}/{n}"), 0, u64::MAX - 1));
    let size = 4096 + det(key, 0, 60_000);
    Version {
        etag: etag_of(&content, size, None, keyed),
        id,
        time,
        size,
        delete_marker,
        content,
        part_size: None,
        crc32: true,
    }
}

/// A bucket of `size.objects` keys of 64 KiB held as a rule: written over the two weeks
/// before the incident (the last a minute before it); in production a minute into it
/// every one overwritten by ransomware, or deleted. A backup bucket holds them untouched.
fn generated(size: SimSize, role: Role, keyed: bool, incident: Timestamp, damage: Damage) -> Generated {
    let hit = incident.checked_add(SignedDuration::from_secs(60)).unwrap_or(incident);
    let damaged = match (role, damage) {
        (Role::Production, Damage::Ransomware) => Damaged::Overwritten(hit),
        (Role::Production, Damage::Deletion) => Damaged::Deleted(hit),
        _ => Damaged::Untouched,
    };
    Generated::new(size.objects, size.prefixes, 64 * 1024, keyed, ago(incident, 86_400 * 14), damaged)
        .spread(SignedDuration::from_secs(86_400 * 14 - 60))
}

fn seed_objects(b: &mut Bucket, bucket: &str, role: Role, now: Timestamp, incident: Timestamp, damage: Damage) {
    let keyed = b.kms;
    let damage_window = now.duration_since(incident).as_secs().max(1) as u64;
    let at = |key: &str, salt: &str| {
        let off = det(&format!("{salt}{key}"), 0, damage_window.saturating_sub(1)) as i64;
        incident.checked_add(SignedDuration::from_secs(off + 1)).unwrap_or(now).min(now)
    };
    for prefix in PREFIXES {
        for i in 0..KEYS_PER_PREFIX {
            let key = format!("{prefix}doc-{i:05}.pdf");
            let mut versions = vec![version(bucket, &key, 0, ago(incident, 86_400 * 14 - i as i64 * 60), false, keyed)];
            // Production saw ordinary writes before the incident; a backup bucket holds
            // them too, replicated a minute later. Then the damage, in production only: a
            // third overwritten, one in twenty deleted.
            let roll = det(&key, 0, 99);
            if roll < 20 {
                let changed = ago(incident, det(&key, 600, 6 * 3600) as i64);
                let lag = if role == Role::Production { 0 } else { 60 };
                let when = changed.checked_add(SignedDuration::from_secs(lag)).unwrap_or(changed);
                versions.push(version(bucket, &key, 1, when, false, keyed));
            }
            if role == Role::Production && damage == Damage::Ransomware {
                if (20..55).contains(&roll) {
                    versions.push(version(bucket, &key, 2, at(&key, "overwrite"), false, keyed));
                }
                if roll >= 95 {
                    versions.push(version(bucket, &key, 3, at(&key, "delete"), true, keyed));
                }
            }
            if role == Role::Production && damage == Damage::Deletion && prefix == DELETED_PREFIX {
                versions.push(version(bucket, &key, 3, at(&key, "delete"), true, keyed));
            }
            b.objects.insert(key, versions);
        }
    }
    // What the attacker left behind, created after the incident began.
    if role == Role::Production && damage == Damage::Ransomware && now > incident {
        b.objects.insert(
            "README-RESTORE-YOUR-FILES.txt".into(),
            vec![version(bucket, "README", 0, at("note", "note"), false, keyed)],
        );
    }
}
