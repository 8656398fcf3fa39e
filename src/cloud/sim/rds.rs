//! The RDS port in memory, one region's client of it: instances that take their time
//! to become available on the run's clock, snapshots, copies across regions.

use std::sync::Arc;

use jiff::SignedDuration;

use super::State;
use super::model::Model;
use super::seed::ago;
use super::world::{Instance, Snapshot, World, det};
use crate::clock::Clock;
use crate::cloud::BoxFuture;
use crate::cloud::port::rds::*;
use crate::cloud::port::{Api, ApiError};
use crate::runbook::time::Timestamp;

pub struct SimRds {
    pub(super) state: Arc<State>,
    pub(super) region: String,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) model: Model,
}

fn arn(region: &str, kind: &str, id: &str) -> String {
    format!("arn:aws:rds:{region}:000000000000:{kind}:{id}")
}

fn endpoint(id: &str, region: &str) -> String {
    format!("{id}.c{:08x}.{region}.rds.amazonaws.com:5432", det(id, 0, u32::MAX as u64))
}

fn later(now: Timestamp, secs: u64) -> Timestamp {
    now.checked_add(SignedDuration::from_secs(secs as i64)).unwrap_or(now)
}

impl SimRds {
    fn view(&self, id: &str, i: &Instance, now: Timestamp) -> DbInstance {
        let ready = now >= i.available_at;
        DbInstance {
            id: id.into(),
            arn: arn(&i.region, "db", id),
            status: if ready { "available" } else { i.busy_status }.into(),
            endpoint: ready.then(|| endpoint(id, &i.region)),
            replica_source: i.replica_of.clone(),
            retention_days: i.retention_days as i32,
            encrypted: i.encrypted,
            deletion_protection: i.deletion_protection,
            backup_replicas: i.backup_region.iter().cloned().collect(),
            // What real AWS reports: the latest restorable time trails now by ~5 minutes
            // (moto's is always "now").
            latest_restorable: Some(ago(now, 300)),
            replica_lag_secs: Some(i.replica_lag_secs).filter(|_| i.replica_of.is_some() || i.recovery_point.is_some()),
        }
    }

    fn snapshot(&self, w: &World, id: &str, now: Timestamp) -> Option<DbSnapshot> {
        let id = id.rsplit(":snapshot:").next().unwrap_or(id);
        let s = w.snapshots.get(id).filter(|s| s.region == self.region)?;
        Some(DbSnapshot {
            id: id.into(),
            arn: arn(&s.region, "snapshot", id),
            instance: s.instance.clone(),
            time: Some(s.time),
            status: if now >= s.available_at { "available" } else { "creating" }.into(),
        })
    }

    /// A new instance, `creating` for 20–40 minutes (a restore of a modest database).
    fn create(&self, w: &mut World, new: &NewInstance, rp: Timestamp, now: Timestamp) -> Api<()> {
        if w.instances.contains_key(&new.id) {
            return Err(ApiError::new(
                "DBInstanceAlreadyExists",
                format!("an instance named `{}` already exists", new.id),
            ));
        }
        let run = new.tags.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>().join("/");
        w.instances.insert(
            new.id.clone(),
            Instance {
                region: self.region.clone(),
                available_at: later(now, det(&format!("{}{run}", new.id), 20 * 60, 40 * 60)),
                busy_status: "creating",
                replica_of: None,
                replica_lag_secs: 0,
                retention_days: 7,
                encrypted: true,
                deletion_protection: false,
                tags: new.tags.clone(),
                recovery_point: Some(rp),
                created_at: now,
                backup_region: None,
            },
        );
        Ok(())
    }
}

impl RdsApi for SimRds {
    fn describe_instance<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Api<Option<DbInstance>>> {
        Box::pin(self.state.request(&self.clock, "DescribeDBInstances", self.model.control, move |s, now| {
            let w = s.world();
            let found = w.instances.iter().find(|(k, i)| k.eq_ignore_ascii_case(id) && i.region == self.region);
            Ok(found.map(|(k, i)| self.view(k, i, now)))
        }))
    }

    fn list_tags<'a>(&'a self, of: &'a str) -> BoxFuture<'a, Api<Vec<(String, String)>>> {
        Box::pin(self.state.request(&self.clock, "ListTagsForResource", self.model.control, move |s, _| {
            let w = s.world();
            if let Some((_, id)) = of.rsplit_once(":snapshot:") {
                return Ok(w.snapshots.get(id).map(|s| s.tags.clone()).unwrap_or_default());
            }
            let id = of.rsplit(':').next().unwrap_or(of);
            Ok(w.instances.get(id).map(|i| i.tags.clone()).unwrap_or_default())
        }))
    }

    fn replicated_backups<'a>(&'a self, source: &'a str) -> BoxFuture<'a, Api<Option<ReplicatedBackups>>> {
        Box::pin(self.state.request(
            &self.clock,
            "DescribeDBInstanceAutomatedBackups",
            self.model.control,
            move |s, now| {
                let w = s.world();
                Ok(w.instances.get(source).filter(|i| i.backup_region.as_deref() == Some(self.region.as_str())).map(
                    |i| {
                        ReplicatedBackups {
                            arn: arn(&self.region, "auto-backup", source),
                            earliest: Some(ago(now, i.retention_days as i64 * 86_400)),
                            // Replicated backups trail a little more than the source's own.
                            latest: Some(ago(now, 600)),
                        }
                    },
                ))
            },
        ))
    }

    fn snapshots_of<'a>(&'a self, instance: &'a str) -> BoxFuture<'a, Api<Vec<DbSnapshot>>> {
        Box::pin(self.state.request(&self.clock, "DescribeDBSnapshots", self.model.control, move |s, now| {
            let w = s.world();
            let ids: Vec<&String> =
                w.snapshots.iter().filter(|(_, s)| s.instance == instance).map(|(k, _)| k).collect();
            Ok(ids.into_iter().filter_map(|id| self.snapshot(&w, id, now)).collect())
        }))
    }

    fn describe_snapshot<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Api<Option<DbSnapshot>>> {
        Box::pin(self.state.request(&self.clock, "DescribeDBSnapshots", self.model.control, move |s, now| {
            Ok(self.snapshot(&s.world(), id, now))
        }))
    }

    fn copy_snapshot<'a>(
        &'a self,
        source_arn: &'a str,
        target: &'a str,
        _kms_key: Option<&'a str>,
        tags: &'a [(String, String)],
    ) -> BoxFuture<'a, Api<()>> {
        Box::pin(self.state.request(&self.clock, "CopyDBSnapshot", self.model.control, move |s, now| {
            let mut w = s.world();
            let id = source_arn.rsplit(":snapshot:").next().unwrap_or(source_arn);
            let src = w
                .snapshots
                .get(id)
                .cloned()
                .ok_or_else(|| ApiError::new("DBSnapshotNotFound", format!("no snapshot `{id}`")))?;
            if w.snapshots.contains_key(target) {
                return Err(ApiError::new("DBSnapshotAlreadyExists", format!("snapshot `{target}` exists")));
            }
            // A cross-region copy of a modest snapshot: 10–20 minutes.
            let ready = later(now, det(id, 600, 1200));
            w.snapshots.insert(
                target.into(),
                Snapshot { region: self.region.clone(), available_at: ready, tags: tags.to_vec(), ..src },
            );
            Ok(())
        }))
    }

    fn restore_from_snapshot<'a>(&'a self, snap: &'a str, new: &'a NewInstance) -> BoxFuture<'a, Api<()>> {
        Box::pin(self.state.request(
            &self.clock,
            "RestoreDBInstanceFromDBSnapshot",
            self.model.control,
            move |s, now| {
                let mut w = s.world();
                let time = self.snapshot(&w, snap, now).and_then(|s| s.time).ok_or_else(|| {
                    ApiError::new("DBSnapshotNotFound", format!("no snapshot `{snap}` in {}", self.region))
                })?;
                self.create(&mut w, new, time, now)
            },
        ))
    }

    fn restore_to_time<'a>(
        &'a self,
        source: &'a PitrSource,
        time: Option<Timestamp>,
        new: &'a NewInstance,
    ) -> BoxFuture<'a, Api<()>> {
        Box::pin(self.state.request(
            &self.clock,
            "RestoreDBInstanceToPointInTime",
            self.model.control,
            move |s, now| {
                let mut w = s.world();
                let (id, latest) = match source {
                    PitrSource::Instance(id) => (id.as_str(), ago(now, 300)),
                    PitrSource::Backups(arn) => (arn.rsplit(':').next().unwrap_or(arn), ago(now, 600)),
                };
                if !w.instances.contains_key(id) {
                    return Err(ApiError::new("DBInstanceNotFound", format!("no instance `{id}`")));
                }
                self.create(&mut w, new, time.unwrap_or(latest), now)
            },
        ))
    }

    fn promote_replica<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Api<()>> {
        Box::pin(self.state.request(&self.clock, "PromoteReadReplica", self.model.control, move |s, now| {
            let mut w = s.world();
            let i = w.instances.get_mut(id).filter(|i| i.region == self.region);
            let i = i.ok_or_else(|| ApiError::new("DBInstanceNotFound", format!("no instance `{id}`")))?;
            if i.replica_of.is_none() {
                return Err(ApiError::new("InvalidDBInstanceState", format!("`{id}` is not a read replica")));
            }
            i.replica_of = None;
            i.recovery_point = Some(now);
            i.busy_status = "modifying";
            // A promotion takes 5–10 minutes.
            i.available_at = later(now, det(id, 300, 600));
            Ok(())
        }))
    }

    fn delete_instance<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Api<()>> {
        Box::pin(self.state.request(&self.clock, "DeleteDBInstance", self.model.control, move |s, _| {
            let mut w = s.world();
            match w.instances.get(id) {
                Some(i) if i.region == self.region && i.deletion_protection => {
                    Err(ApiError::new("InvalidParameterCombination", format!("`{id}` has deletion protection on")))
                }
                Some(i) if i.region == self.region => {
                    w.instances.remove(id);
                    Ok(())
                }
                _ => Err(ApiError::new("DBInstanceNotFound", format!("no instance `{id}`"))),
            }
        }))
    }

    fn delete_snapshot<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Api<()>> {
        Box::pin(self.state.request(&self.clock, "DeleteDBSnapshot", self.model.control, move |s, _| {
            let mut w = s.world();
            if w.snapshots.get(id).is_none_or(|s| s.region != self.region) {
                return Err(ApiError::new("DBSnapshotNotFound", format!("no snapshot `{id}`")));
            }
            w.snapshots.remove(id);
            Ok(())
        }))
    }
}
