//! The simulated cloud: buckets with object versions, DB instances, snapshots — seeded
//! from the dataset catalog so every example runbook has something to restore, with
//! realistic durations on the run's clock and failures that can be switched on.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration as StdDuration;

use jiff::SignedDuration;
use serde_json::json;

use super::plan::{Todo, Ver, restore_plan};
use super::{ActionCall, ActionCtx, ActionError, ActionResult, BoxFuture, Progress, Provider, outputs};
use crate::runbook::action_spec::ActionKind;
use crate::runbook::model::{Catalog, Dataset};
use crate::runbook::raw::{ResourceKind, Role};
use crate::runbook::time::{Timestamp, parse_timestamp};

#[derive(Debug, Clone)]
pub struct Version {
    pub id: String,
    pub time: Timestamp,
    pub etag: String,
    pub size: u64,
    pub delete_marker: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Bucket {
    pub region: String,
    pub versioning: bool,
    pub object_lock_days: Option<u32>,
    pub kms: bool,
    pub replication_to: Option<String>,
    pub public_access_blocked: bool,
    /// Versions of each key, oldest first.
    pub objects: BTreeMap<String, Vec<Version>>,
}

impl Bucket {
    fn current(&self, key: &str) -> Option<&Version> {
        self.objects.get(key).and_then(|v| v.last()).filter(|v| !v.delete_marker)
    }
}

#[derive(Debug, Clone)]
pub struct Instance {
    pub region: String,
    pub available_at: Timestamp,
    pub replica_of: Option<String>,
    pub replica_lag_secs: i64,
    pub retention_days: u32,
    pub encrypted: bool,
    pub deletion_protection: bool,
    pub cross_region_backups: bool,
    /// (run id, step) that created it, for idempotence.
    pub created_by: Option<(String, String)>,
    pub recovery_point: Option<Timestamp>,
    pub created_at: Timestamp,
    /// Where automated backups are replicated (point-in-time restore works there too).
    pub backup_region: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Snapshot {
    pub instance: String,
    pub region: String,
    pub time: Timestamp,
}

#[derive(Debug, Default)]
pub struct World {
    pub buckets: BTreeMap<String, Bucket>,
    pub instances: BTreeMap<String, Instance>,
    pub snapshots: BTreeMap<String, Snapshot>,
}

/// A failure switched on for an action or a step.
#[derive(Debug, Clone)]
pub struct Inject {
    pub action: Option<String>,
    pub step: Option<String>,
    pub code: String,
    pub message: String,
    /// How many calls fail before it clears.
    pub times: u32,
    pub retryable: bool,
}

pub struct Sim {
    world: Mutex<World>,
    injects: Mutex<Vec<Inject>>,
    /// Virtual time per object write in an S3 roll-back or copy (at the simulated
    /// concurrency); keeps rehearsal durations plausible.
    per_object: StdDuration,
}

/// FNV-1a: a stable pseudo-random choice from a name, so rehearsals are repeatable.
fn det(seed: &str, lo: u64, hi: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    lo + h % (hi - lo + 1).max(1)
}

fn ago(now: Timestamp, secs: i64) -> Timestamp {
    now.checked_sub(SignedDuration::from_secs(secs)).unwrap_or(now)
}

/// Objects a simulated roll-back or copy works on between two waits and progress
/// reports: one wait per batch keeps fast rehearsals from drowning in timer grain.
const BATCH: u64 = 25;

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
    pub fn of(scenario: crate::runbook::raw::Scenario) -> Damage {
        use crate::runbook::raw::Scenario;
        match scenario {
            Scenario::Ransomware | Scenario::AccountCompromise => Damage::Ransomware,
            Scenario::Deletion => Damage::Deletion,
            _ => Damage::None,
        }
    }
}

/// The prefix a simulated deletion removes.
pub const DELETED_PREFIX: &str = "customers/2026/11/";

impl Sim {
    /// Every resource of the catalog, with history: object versions over two weeks and
    /// recent changes, automated backups, nightly snapshots copied to the backup region.
    /// Production buckets have legitimate changes in the hours before `incident` and the
    /// damage of a ransomware attack (overwrites, deletes) between `incident` and `now`.
    pub fn seeded(catalog: &Catalog, now: Timestamp, incident: Timestamp) -> Sim {
        Sim::seeded_for(catalog, now, incident, None, Damage::Ransomware)
    }

    /// The same world, damaged as `damage` says in `dataset`'s production buckets only
    /// (every dataset's when `None`).
    pub fn seeded_for(
        catalog: &Catalog,
        now: Timestamp,
        incident: Timestamp,
        dataset: Option<&str>,
        damage: Damage,
    ) -> Sim {
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
                        };
                        if r.role != Role::Drill {
                            seed_objects(&mut b, &r.id, r.role, now, incident, damage);
                        }
                        w.buckets.insert(r.id.clone(), b);
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
                                replica_of: (r.role == Role::Replica).then(|| production_instance(d)).flatten(),
                                replica_lag_secs: det(&r.id, 20, 90) as i64,
                                retention_days: 7,
                                encrypted: true,
                                deletion_protection: r.role == Role::Production,
                                cross_region_backups: r.role == Role::Production && backup_region.is_some(),
                                backup_region: backup_region.clone().filter(|_| r.role == Role::Production),
                                created_by: None,
                                recovery_point: None,
                                created_at: ago(now, 86_400 * 400),
                            },
                        );
                        if r.role == Role::Production {
                            let midnight = now
                                .checked_sub(SignedDuration::from_secs(now.as_second().rem_euclid(86_400)))
                                .unwrap_or(now);
                            for day in 0..7 {
                                let t = ago(midnight, 86_400 * day);
                                let date = t.strftime("%Y-%m-%d").to_string();
                                w.snapshots.insert(
                                    format!("rds:{}-{date}-00-00", r.id),
                                    Snapshot { instance: r.id.clone(), region: region.clone(), time: t },
                                );
                                if let Some(br) = &backup_region {
                                    w.snapshots.insert(
                                        format!("{}-{date}-00-00-copy", r.id),
                                        Snapshot { instance: r.id.clone(), region: br.clone(), time: t },
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
        Sim { world: Mutex::new(w), injects: Mutex::new(Vec::new()), per_object: StdDuration::from_millis(40) }
    }

    pub fn inject(&self, inject: Inject) {
        self.injects.lock().unwrap().push(inject);
    }

    /// A look at the world, for tests and the facilitator.
    pub fn with_world<T>(&self, f: impl FnOnce(&mut World) -> T) -> T {
        f(&mut self.world.lock().unwrap())
    }

    fn injected(&self, call: &ActionCall) -> Option<ActionError> {
        let mut injects = self.injects.lock().unwrap();
        let i = injects.iter_mut().find(|i| {
            i.times > 0
                && i.action.as_deref().is_none_or(|a| a == call.spec.name)
                && i.step.as_deref().is_none_or(|s| s == call.step)
        })?;
        i.times -= 1;
        // Name what the action acts on: its target, else its first argument.
        let resource = call
            .spec
            .targets
            .iter()
            .chain(call.spec.params.iter().filter(|p| p.required).map(|p| &p.name))
            .find_map(|p| call.path(p))
            .unwrap_or(&call.step)
            .to_string();
        let mut e = ActionError::new(call.spec.name, &resource, &i.code, i.message.clone())
            .hint("a failure injected for this rehearsal");
        e.retryable = i.retryable;
        Some(e)
    }
}

fn production_instance(d: &Dataset) -> Option<String> {
    d.resources.iter().find(|r| r.role == Role::Production && r.kind == ResourceKind::RdsInstance).map(|r| r.id.clone())
}

fn version(bucket: &str, key: &str, n: usize, time: Timestamp, delete_marker: bool) -> Version {
    let id = format!("{:016x}", det(&format!("{bucket}/{key}/{n}"), 0, u64::MAX - 1));
    Version {
        // Same key and generation, same content: a replica in another bucket matches.
        etag: format!("\"{:032x}\"", det(&format!("etag/{key}/{n}"), 0, u64::MAX - 1)),
        id,
        time,
        size: 4096 + det(key, 0, 60_000),
        delete_marker,
    }
}

fn seed_objects(b: &mut Bucket, bucket: &str, role: Role, now: Timestamp, incident: Timestamp, damage: Damage) {
    let damage_window = now.duration_since(incident).as_secs().max(1) as u64;
    let at = |key: &str, salt: &str| {
        let off = det(&format!("{salt}{key}"), 0, damage_window.saturating_sub(1)) as i64;
        incident.checked_add(SignedDuration::from_secs(off + 1)).unwrap_or(now).min(now)
    };
    for prefix in PREFIXES {
        for i in 0..KEYS_PER_PREFIX {
            let key = format!("{prefix}doc-{i:05}.pdf");
            let mut versions = vec![version(bucket, &key, 0, ago(incident, 86_400 * 14 - i as i64 * 60), false)];
            // Production saw ordinary writes before the incident; a backup bucket holds
            // them too, replicated a minute later. Then the damage, in production only: a
            // third overwritten, one in twenty deleted.
            let roll = det(&key, 0, 99);
            if roll < 20 {
                let changed = ago(incident, det(&key, 600, 6 * 3600) as i64);
                let lag = if role == Role::Production { 0 } else { 60 };
                versions.push(version(
                    bucket,
                    &key,
                    1,
                    changed.checked_add(SignedDuration::from_secs(lag)).unwrap_or(changed),
                    false,
                ));
            }
            if role == Role::Production && damage == Damage::Ransomware {
                if (20..55).contains(&roll) {
                    versions.push(version(bucket, &key, 2, at(&key, "overwrite"), false));
                }
                if roll >= 95 {
                    versions.push(version(bucket, &key, 3, at(&key, "delete"), true));
                }
            }
            if role == Role::Production && damage == Damage::Deletion && prefix == DELETED_PREFIX {
                versions.push(version(bucket, &key, 3, at(&key, "delete"), true));
            }
            b.objects.insert(key, versions);
        }
    }
    // What the attacker left behind, created after the incident began.
    if role == Role::Production && damage == Damage::Ransomware && now > incident {
        b.objects.insert(
            "README-RESTORE-YOUR-FILES.txt".into(),
            vec![version(bucket, "README", 0, at("note", "note"), false)],
        );
    }
}

fn no_such(op: &str, kind: &str, id: &str, region: &str) -> ActionError {
    outputs::not_found(op, kind, id, region).hint(format!(
        "check the name and the region (--cloud sim knows the resources of datasets.yaml); {kind}s are regional"
    ))
}

impl Provider for Sim {
    fn name(&self) -> &'static str {
        "sim"
    }

    fn call<'a>(
        &'a self,
        call: &'a ActionCall,
        ctx: &'a ActionCtx<'a>,
    ) -> BoxFuture<'a, Result<ActionResult, ActionError>> {
        Box::pin(async move {
            // An API round trip takes a moment even when it fails.
            ctx.clock.sleep(StdDuration::from_millis(300)).await;
            if let Some(e) = self.injected(call) {
                return Err(e);
            }
            let region = call.str("region").map(str::to_string).unwrap_or_else(|| ctx.dataset.primary.region.clone());
            match call.spec.kind {
                ActionKind::S3RestoreToTime => self.restore_to_time(call, ctx, &region).await,
                ActionKind::S3CopyPrefix => self.copy_prefix(call, ctx).await,
                ActionKind::S3Compare => self.compare(call),
                ActionKind::S3CheckPosture => self.s3_posture(call, &region),
                ActionKind::RdsFindSnapshot => self.find_snapshot(call, ctx, &region),
                ActionKind::RdsCopySnapshot => self.copy_snapshot(call, ctx, &region).await,
                ActionKind::RdsRestoreFromSnapshot => self.restore_from_snapshot(call, ctx, &region).await,
                ActionKind::RdsRestoreToTime => self.rds_restore_to_time(call, ctx, &region).await,
                ActionKind::RdsPromoteReplica => self.promote(call, ctx, &region).await,
                ActionKind::RdsWaitAvailable => self.wait_available(call, ctx, &region).await,
                ActionKind::RdsCheckPosture => self.rds_posture(call, &region),
            }
        })
    }
}

impl Sim {
    fn bucket_region(&self, op: &str, bucket: &str, region: Option<&str>) -> Result<String, ActionError> {
        let w = self.world.lock().unwrap();
        let b = w.buckets.get(bucket).ok_or_else(|| no_such(op, "bucket", bucket, region.unwrap_or("any region")))?;
        if let Some(r) = region.filter(|r| *r != b.region) {
            return Err(ActionError::new(
                op,
                bucket,
                "PermanentRedirect",
                format!("the bucket is in {}, not {r}", b.region),
            )
            .hint(format!("set `region: {}` on this step", b.region)));
        }
        Ok(b.region.clone())
    }

    async fn restore_to_time(
        &self,
        call: &ActionCall,
        ctx: &ActionCtx<'_>,
        _region: &str,
    ) -> Result<ActionResult, ActionError> {
        let op = call.spec.name;
        let bucket = call.required("bucket")?;
        let prefix = call.str("prefix").unwrap_or("");
        let time_text = call.required("time")?;
        let time = parse_timestamp(time_text)
            .map_err(|h| ActionError::new(op, bucket, "InvalidArgument", format!("`time` is not a timestamp: {h}")))?;
        self.bucket_region(op, bucket, call.str("region"))?;
        let dry_run = call.bool("dry_run");
        let delete_newer = call.bool("delete_newer");
        // The plan, from the listing alone, by the same planner as every provider.
        let plan = {
            let w = self.world.lock().unwrap();
            let listing: BTreeMap<String, Vec<Ver>> = w.buckets[bucket]
                .objects
                .range(prefix.to_string()..)
                .take_while(|(k, _)| k.starts_with(prefix))
                .map(|(k, vs)| {
                    let vs = vs
                        .iter()
                        .map(|v| Ver {
                            id: v.id.clone(),
                            time: v.time,
                            etag: v.etag.clone(),
                            marker: v.delete_marker,
                            size: v.size,
                        })
                        .collect();
                    (k.clone(), vs)
                })
                .collect();
            restore_plan(&listing, time, delete_newer)
        };
        let rp = plan.newest.unwrap_or(time);
        let result = outputs::rolled_back(&plan, rp);
        let keys = { self.world.lock().unwrap().buckets[bucket].objects.len() };
        ctx.clock.sleep(StdDuration::from_millis(5) * keys as u32).await; // listing
        (ctx.progress)(Progress::Line(plan.describe(bucket, prefix, time_text, dry_run)));

        let plan = plan.todo;
        if !dry_run {
            let total = plan.iter().filter(|(_, t)| !matches!(t, Todo::Newer)).count() as u64;
            let mut done: u64 = 0;
            for (key, todo) in &plan {
                if matches!(todo, Todo::Newer) {
                    continue;
                }
                if done.is_multiple_of(BATCH) {
                    ctx.clock.sleep(self.per_object * BATCH as u32).await;
                }
                let now = ctx.clock.now();
                let mut w = self.world.lock().unwrap();
                let versions = w.buckets.get_mut(bucket).expect("checked").objects.get_mut(key).expect("planned");
                match todo {
                    Todo::Copy(v) => {
                        let n = versions.len();
                        let size = versions.iter().find(|x| x.id == v.id).map_or(0, |x| x.size);
                        versions.push(Version {
                            id: format!("{:016x}", det(&format!("{key}{n}{now}"), 0, u64::MAX - 1)),
                            time: now,
                            etag: v.etag.clone(),
                            size,
                            delete_marker: false,
                        });
                    }
                    // Removing the markers brings the object back; every version stays as evidence.
                    Todo::Undelete(markers) => versions.retain(|v| !markers.contains(&v.id)),
                    Todo::DeleteNewer => {
                        let n = versions.len();
                        versions.push(version(bucket, key, n + 100, now, true));
                    }
                    Todo::Newer => {}
                }
                drop(w);
                done += 1;
                if done.is_multiple_of(BATCH) || done == total {
                    (ctx.progress)(Progress::Count { done, total, unit: "objects" });
                }
            }
            // The final check: every key's current ETag is the one chosen.
            let w = self.world.lock().unwrap();
            let b = &w.buckets[bucket];
            for (key, todo) in &plan {
                if let Todo::Copy(v) = todo
                    && b.current(key).map(|c| &c.etag) != Some(&v.etag)
                {
                    return Err(ActionError::new(
                        op,
                        bucket,
                        "VerificationFailed",
                        format!("`{key}` does not hold the chosen version after the roll-back"),
                    )
                    .retryable());
                }
            }
        }
        Ok(ActionResult { outputs: result, recovery_point: (!dry_run).then_some(rp) })
    }

    async fn copy_prefix(&self, call: &ActionCall, ctx: &ActionCtx<'_>) -> Result<ActionResult, ActionError> {
        let op = call.spec.name;
        let (from, to) = (call.required("from.bucket")?, call.required("to.bucket")?);
        let (fp, tp) = (call.path("from.prefix").unwrap_or(""), call.path("to.prefix").unwrap_or(""));
        if let Some(role) = call.path("from.role_arn").or(call.path("to.role_arn"))
            && !(role.starts_with("arn:aws:iam::") && role.contains(":role/"))
        {
            return Err(ActionError::new(
                op,
                role,
                "AccessDenied",
                "cannot assume this role: it is not an IAM role ARN",
            )
            .hint("role_arn looks like arn:aws:iam::123456789012:role/NAME"));
        }
        self.bucket_region(op, from, call.path("from.region"))?;
        self.bucket_region(op, to, call.path("to.region"))?;
        let overwrite = call.bool("overwrite");
        // The backup is as fresh as the newest object in it: that is the recovery point,
        // whether or not that object needed copying.
        let (todo, fresh): (Vec<(String, Version)>, Option<Timestamp>) = {
            let w = self.world.lock().unwrap();
            let (src, dst) = (&w.buckets[from], &w.buckets[to]);
            let fresh = src
                .objects
                .iter()
                .filter(|(k, _)| k.starts_with(fp))
                .filter_map(|(k, _)| src.current(k))
                .map(|v| v.time)
                .max();
            let todo = src
                .objects
                .keys()
                .filter(|k| k.starts_with(fp))
                .filter_map(|k| src.current(k).map(|v| (k, v)))
                .map(|(k, v)| (format!("{tp}{}", &k[fp.len()..]), v.clone()))
                // Without `overwrite`, what exists at the target stays; with it, only what differs is copied.
                .filter(|(k, v)| dst.current(k).is_none_or(|d| overwrite && d.etag != v.etag))
                .collect();
            (todo, fresh)
        };
        let total = todo.len() as u64;
        let mut bytes = 0;
        for (i, (key, v)) in todo.iter().enumerate() {
            if (i as u64).is_multiple_of(BATCH) {
                ctx.clock.sleep(self.per_object * BATCH as u32).await;
            }
            let now = ctx.clock.now();
            let mut w = self.world.lock().unwrap();
            let versions = w.buckets.get_mut(to).expect("checked").objects.entry(key.clone()).or_default();
            let n = versions.len();
            versions.push(Version {
                id: format!("{:016x}", det(&format!("{to}{key}{n}"), 0, u64::MAX - 1)),
                time: now,
                ..v.clone()
            });
            bytes += v.size;
            if (i as u64 + 1).is_multiple_of(BATCH) || i + 1 == todo.len() {
                (ctx.progress)(Progress::Count { done: i as u64 + 1, total, unit: "objects" });
            }
        }
        let rp = fresh.unwrap_or_else(|| ctx.clock.now());
        Ok(ActionResult { outputs: outputs::copied(total, bytes, rp), recovery_point: Some(rp) })
    }

    fn compare(&self, call: &ActionCall) -> Result<ActionResult, ActionError> {
        let op = call.spec.name;
        let (a, b) = (call.required("a.bucket")?, call.required("b.bucket")?);
        let (ap, bp) = (call.path("a.prefix").unwrap_or(""), call.path("b.prefix").unwrap_or(""));
        self.bucket_region(op, a, call.path("a.region"))?;
        self.bucket_region(op, b, call.path("b.region"))?;
        let w = self.world.lock().unwrap();
        let side = |name: &str, p: &str| -> BTreeMap<String, String> {
            let bucket = &w.buckets[name];
            bucket
                .objects
                .keys()
                .filter(|k| k.starts_with(p))
                .filter_map(|k| Some((k[p.len()..].to_string(), bucket.current(k)?.etag.clone())))
                .collect()
        };
        Ok(ActionResult { outputs: outputs::compared(&side(a, ap), &side(b, bp)), recovery_point: None })
    }

    fn s3_posture(&self, call: &ActionCall, region: &str) -> Result<ActionResult, ActionError> {
        let bucket = call.required("bucket")?;
        let w = self.world.lock().unwrap();
        let b = w.buckets.get(bucket).ok_or_else(|| no_such(call.spec.name, "bucket", bucket, region))?;
        let checks = [
            (
                "versioning",
                json!(if b.versioning { "Enabled" } else { "Suspended" }),
                b.versioning,
                "versioning is off: overwritten objects cannot be rolled back",
            ),
            ("object_lock", json!(b.object_lock_days.map_or("none".into(), |d| format!("COMPLIANCE {d}d"))), true, ""),
            ("encryption", json!(if b.kms { "aws:kms" } else { "AES256" }), true, ""),
            (
                "replication",
                json!(b.replication_to.clone().unwrap_or_else(|| "none".into())),
                b.replication_to.is_some() || b.object_lock_days.is_some(),
                "no copy in another region and no object lock",
            ),
            (
                "public_access_blocked",
                json!(b.public_access_blocked),
                b.public_access_blocked,
                "public access is not blocked",
            ),
        ];
        super::posture(call, bucket, &checks)
    }

    fn rds_posture(&self, call: &ActionCall, region: &str) -> Result<ActionResult, ActionError> {
        let id = call.required("instance")?;
        let w = self.world.lock().unwrap();
        let i = w.instances.get(id).ok_or_else(|| no_such(call.spec.name, "instance", id, region))?;
        let checks = [
            (
                "backup_retention_days",
                json!(i.retention_days),
                i.retention_days >= 7,
                "automated backups are kept less than 7 days",
            ),
            ("encrypted", json!(i.encrypted), i.encrypted, "storage is not encrypted"),
            ("deletion_protection", json!(i.deletion_protection), i.deletion_protection, "deletion protection is off"),
            (
                "cross_region_backups",
                json!(i.cross_region_backups),
                i.cross_region_backups,
                "automated backups are not replicated to another region",
            ),
        ];
        super::posture(call, id, &checks)
    }

    fn find_snapshot(&self, call: &ActionCall, ctx: &ActionCtx<'_>, region: &str) -> Result<ActionResult, ActionError> {
        let op = call.spec.name;
        let instance = call.required("instance")?;
        let before = match call.str("before") {
            Some(t) => parse_timestamp(t).map_err(|h| ActionError::new(op, instance, "InvalidParameterValue", h))?,
            None => ctx.clock.now(),
        };
        let w = self.world.lock().unwrap();
        let found = w
            .snapshots
            .iter()
            .filter(|(_, s)| s.instance == instance && s.region == region && s.time <= before)
            .max_by_key(|(_, s)| s.time);
        let Some((id, s)) = found else {
            return Err(outputs::no_snapshot_before(op, instance, region, before, ""));
        };
        Ok(ActionResult { outputs: outputs::snapshot_found(id, s.time), recovery_point: None })
    }

    async fn copy_snapshot(
        &self,
        call: &ActionCall,
        ctx: &ActionCtx<'_>,
        region: &str,
    ) -> Result<ActionResult, ActionError> {
        let op = call.spec.name;
        let snap = call.required("snapshot")?;
        let to = call.required("to_region")?;
        let copy = format!("{}-copy-{to}", snap.trim_start_matches("rds:"));
        let source = {
            let w = self.world.lock().unwrap();
            if w.snapshots.contains_key(&copy) {
                None
            } else {
                Some(
                    w.snapshots
                        .get(snap)
                        .filter(|s| s.region == region)
                        .cloned()
                        .ok_or_else(|| no_such(op, "snapshot", snap, region))?,
                )
            }
        };
        if let Some(s) = source {
            ctx.clock.sleep(StdDuration::from_secs(det(snap, 600, 1200))).await;
            self.world.lock().unwrap().snapshots.insert(copy.clone(), Snapshot { region: to.to_string(), ..s });
        }
        Ok(ActionResult { outputs: outputs::snapshot(&copy), recovery_point: None })
    }

    /// Creates an instance (or finds the one this run's step already created) and waits
    /// until it is available, as `restore … && aws rds wait db-instance-available` does.
    async fn create_instance(
        &self,
        call: &ActionCall,
        ctx: &ActionCtx<'_>,
        id: &str,
        region: &str,
        rp: Timestamp,
    ) -> Result<ActionResult, ActionError> {
        let op = call.spec.name;
        let me = (call.run_id.clone(), call.step.clone());
        let ready_at = {
            let mut w = self.world.lock().unwrap();
            match w.instances.get(id) {
                Some(i) if i.created_by.as_ref() == Some(&me) => i.available_at,
                Some(_) => {
                    return Err(ActionError::new(
                        op,
                        id,
                        "DBInstanceAlreadyExists",
                        format!("an instance named `{id}` already exists in {region}"),
                    )
                    .hint("choose another new_instance name, or delete the leftover instance"));
                }
                None => {
                    let now = ctx.clock.now();
                    let ready = now
                        .checked_add(SignedDuration::from_secs(
                            det(&format!("{id}{}", call.run_id), 20 * 60, 40 * 60) as i64
                        ))
                        .unwrap_or(now);
                    w.instances.insert(
                        id.to_string(),
                        Instance {
                            region: region.to_string(),
                            available_at: ready,
                            replica_of: None,
                            replica_lag_secs: 0,
                            retention_days: 7,
                            encrypted: true,
                            deletion_protection: false,
                            cross_region_backups: false,
                            backup_region: None,
                            created_by: Some(me),
                            recovery_point: Some(rp),
                            created_at: now,
                        },
                    );
                    ready
                }
            }
        };
        self.until_available(ctx, id, ready_at).await;
        Ok(ActionResult {
            outputs: outputs::instance(id, &endpoint(id, region), None, Some(rp)),
            recovery_point: Some(rp),
        })
    }

    async fn until_available(&self, ctx: &ActionCtx<'_>, id: &str, ready_at: Timestamp) {
        let mut wait = StdDuration::from_secs(15);
        loop {
            let now = ctx.clock.now();
            if now >= ready_at {
                (ctx.progress)(Progress::Line(format!("{id}: available")));
                return;
            }
            (ctx.progress)(Progress::Line(format!(
                "{id}: creating ({} min left)",
                (ready_at.as_second() - now.as_second() + 59) / 60
            )));
            ctx.clock.sleep(wait).await;
            wait = (wait * 2).min(StdDuration::from_secs(120));
        }
    }

    async fn restore_from_snapshot(
        &self,
        call: &ActionCall,
        ctx: &ActionCtx<'_>,
        region: &str,
    ) -> Result<ActionResult, ActionError> {
        let snap = call.required("snapshot")?;
        let id = call.required("new_instance")?;
        let time = {
            let w = self.world.lock().unwrap();
            let s = w.snapshots.get(snap).ok_or_else(|| no_such(call.spec.name, "snapshot", snap, region))?;
            if s.region != region {
                return Err(ActionError::new(
                    call.spec.name,
                    snap,
                    "DBSnapshotNotFound",
                    format!("snapshot `{snap}` is in {}, not {region}", s.region),
                )
                .hint("copy it with rds.copy_snapshot, or restore in its region"));
            }
            s.time
        };
        self.create_instance(call, ctx, id, region, time).await
    }

    async fn rds_restore_to_time(
        &self,
        call: &ActionCall,
        ctx: &ActionCtx<'_>,
        region: &str,
    ) -> Result<ActionResult, ActionError> {
        let op = call.spec.name;
        let source = call.required("instance")?;
        let id = call.required("new_instance")?;
        let now = ctx.clock.now();
        let (retention, replicated) = {
            let w = self.world.lock().unwrap();
            let i = w
                .instances
                .get(source)
                .filter(|i| i.region == region || i.backup_region.as_deref() == Some(region))
                .ok_or_else(|| {
                    no_such(op, "instance", source, region).hint(
                        "point-in-time restore works in the instance's region, or where its automated backups are replicated",
                    )
                })?;
            (i.retention_days, i.region != region)
        };
        // What real AWS checks and moto does not: the window of restorable time (replicated
        // backups trail a little more).
        let latest = ago(now, if replicated { 600 } else { 300 });
        let earliest = ago(now, retention as i64 * 86_400);
        let time = outputs::restore_time(
            call,
            source,
            (earliest, latest),
            "choose a time inside the window (the latest restorable time trails now by about 5 minutes)",
        )?;
        self.create_instance(call, ctx, id, region, time).await
    }

    async fn promote(&self, call: &ActionCall, ctx: &ActionCtx<'_>, region: &str) -> Result<ActionResult, ActionError> {
        let op = call.spec.name;
        let id = call.required("replica")?;
        let (lag, already) = {
            let w = self.world.lock().unwrap();
            let i = w
                .instances
                .get(id)
                .filter(|i| i.region == region)
                .ok_or_else(|| no_such(op, "instance", id, region))?;
            match (&i.replica_of, i.recovery_point) {
                (Some(_), _) => (i.replica_lag_secs, None),
                (None, Some(rp))
                    if i.created_by.as_ref().is_some_and(|(r, s)| *r == call.run_id && *s == call.step) =>
                {
                    (0, Some(rp))
                }
                _ => {
                    return Err(ActionError::new(
                        op,
                        id,
                        "InvalidDBInstanceState",
                        format!("`{id}` is not a read replica"),
                    )
                    .hint("promote the cross-region replica, not the primary"));
                }
            }
        };
        let rp = match already {
            Some(rp) => rp,
            None => {
                // The replica holds what arrived before the primary stopped, less its lag.
                let stop = ctx.incident_started_at.min(ctx.clock.now());
                let rp = ago(stop, lag);
                (ctx.progress)(Progress::Line(format!("{id}: promoting (replica lag was {lag}s)")));
                ctx.clock.sleep(StdDuration::from_secs(det(id, 300, 600))).await;
                let mut w = self.world.lock().unwrap();
                let i = w.instances.get_mut(id).expect("checked");
                i.replica_of = None;
                i.recovery_point = Some(rp);
                i.created_by = Some((call.run_id.clone(), call.step.clone()));
                rp
            }
        };
        Ok(ActionResult {
            outputs: outputs::instance(id, &endpoint(id, region), None, Some(rp)),
            recovery_point: Some(rp),
        })
    }

    async fn wait_available(
        &self,
        call: &ActionCall,
        ctx: &ActionCtx<'_>,
        region: &str,
    ) -> Result<ActionResult, ActionError> {
        let op = call.spec.name;
        let id = call.required("instance")?;
        let ready_at = {
            let w = self.world.lock().unwrap();
            w.instances
                .get(id)
                .filter(|i| i.region == region)
                .ok_or_else(|| no_such(op, "instance", id, region))?
                .available_at
        };
        let limit = call.str("timeout").and_then(|t| crate::runbook::time::Duration::parse(t).ok());
        if let Some(limit) = limit {
            let waited = crate::clock::timeout(
                ctx.clock,
                StdDuration::from_secs(limit.secs()),
                self.until_available(ctx, id, ready_at),
            )
            .await;
            if waited.is_none() {
                return Err(ActionError::new(
                    op,
                    id,
                    "WaiterTimeout",
                    format!("`{id}` was not available after {limit}"),
                )
                .hint("check the instance's events in the console; restores of large databases take longer"));
            }
        } else {
            self.until_available(ctx, id, ready_at).await;
        }
        Ok(ActionResult {
            outputs: outputs::instance(id, &endpoint(id, region), Some("available"), None),
            recovery_point: None,
        })
    }
}

fn endpoint(id: &str, region: &str) -> String {
    format!("{id}.c{:08x}.{region}.rds.amazonaws.com:5432", det(id, 0, u32::MAX as u64))
}
