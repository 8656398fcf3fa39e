//! The DynamoDB port in memory: tables with point-in-time recovery, restores that take
//! their time on the run's clock.

use std::sync::Arc;

use jiff::SignedDuration;

use super::State;
use super::model::Model;
use super::seed::ago;
use super::world::{Table as Stored, det};
use crate::clock::Clock;
use crate::cloud::BoxFuture;
use crate::cloud::port::dynamodb::*;
use crate::cloud::port::{Api, ApiError};
use crate::runbook::time::{Timestamp, format_timestamp};

pub struct SimDynamo {
    pub(super) state: Arc<State>,
    pub(super) region: String,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) model: Model,
}

fn arn(region: &str, name: &str) -> String {
    format!("arn:aws:dynamodb:{region}:000000000000:table/{name}")
}

fn not_found(name: &str) -> ApiError {
    ApiError::new("ResourceNotFoundException", format!("Requested resource not found: Table: {name} not found"))
}

impl SimDynamo {
    fn mine<'w>(&self, w: &'w super::World, name: &str) -> Option<&'w Stored> {
        w.tables.get(name).filter(|t| t.region == self.region)
    }
    /// The window: from when recovery was turned on (at most its days back) to 5 minutes ago.
    fn window(t: &Stored, now: Timestamp) -> (Timestamp, Timestamp) {
        let reach = ago(now, t.pitr_days as i64 * 86_400);
        (t.pitr_since.max(reach), ago(now, 300))
    }
}

impl DynamoApi for SimDynamo {
    fn describe_table<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Api<Option<Table>>> {
        Box::pin(self.state.request(&self.clock, "DescribeTable", self.model.control, move |s, now| {
            let w = s.world();
            Ok(self.mine(&w, name).map(|t| Table {
                name: name.into(),
                arn: arn(&t.region, name),
                status: if now >= t.active_at { "ACTIVE" } else { "CREATING" }.into(),
                deletion_protection: t.deletion_protection,
                kms_key: t.kms_key.clone(),
                replicas: t.replicas.clone(),
                items: Some(t.items),
            }))
        }))
    }

    fn continuous_backups<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Api<Pitr>> {
        Box::pin(self.state.request(&self.clock, "DescribeContinuousBackups", self.model.control, move |s, now| {
            let w = s.world();
            let t = self.mine(&w, name).ok_or_else(|| not_found(name))?;
            let (earliest, latest) = Self::window(t, now);
            Ok(Pitr {
                enabled: t.pitr,
                earliest: t.pitr.then_some(earliest),
                latest: t.pitr.then_some(latest),
                days: t.pitr.then_some(t.pitr_days),
            })
        }))
    }

    fn restore_to_time<'a>(
        &'a self,
        source: &'a str,
        target: &'a str,
        time: Option<Timestamp>,
    ) -> BoxFuture<'a, Api<()>> {
        Box::pin(self.state.request(&self.clock, "RestoreTableToPointInTime", self.model.control, move |s, now| {
            let mut w = s.world();
            let src = self
                .mine(&w, source)
                .ok_or_else(|| ApiError::new("TableNotFoundException", format!("table `{source}` not found")))?
                .clone();
            if w.tables.contains_key(target) {
                return Err(ApiError::new("TableAlreadyExistsException", format!("table `{target}` already exists")));
            }
            if !src.pitr {
                return Err(ApiError::new(
                    "PointInTimeRecoveryUnavailableException",
                    "point-in-time recovery is not enabled",
                ));
            }
            let (earliest, latest) = Self::window(&src, now);
            let at = time.unwrap_or(latest);
            if at < earliest || at > latest {
                return Err(ApiError::new(
                    "InvalidRestoreTimeException",
                    format!(
                        "{} is outside {} – {}",
                        format_timestamp(at),
                        format_timestamp(earliest),
                        format_timestamp(latest)
                    ),
                ));
            }
            // A restore of a modest table: 10–30 minutes (AWS: "most within hours").
            let secs = det(&format!("{source}{target}"), 600, 1800) as i64;
            w.tables.insert(
                target.into(),
                Stored {
                    region: self.region.clone(),
                    active_at: now.checked_add(SignedDuration::from_secs(secs)).unwrap_or(now),
                    pitr: false,
                    pitr_days: 35,
                    pitr_since: now,
                    deletion_protection: false,
                    kms_key: src.kms_key.clone(),
                    replicas: vec![],
                    items: src.items,
                    tags: vec![],
                    recovery_point: Some(at),
                },
            );
            Ok(())
        }))
    }

    fn tag<'a>(&'a self, of: &'a str, tags: &'a [(String, String)]) -> BoxFuture<'a, Api<()>> {
        Box::pin(self.state.request(&self.clock, "TagResource", self.model.control, move |s, _| {
            let mut w = s.world();
            let name = of.rsplit('/').next().unwrap_or(of);
            let t = w.tables.get_mut(name).ok_or_else(|| not_found(name))?;
            for (k, v) in tags {
                t.tags.retain(|(x, _)| x != k);
                t.tags.push((k.clone(), v.clone()));
            }
            Ok(())
        }))
    }

    fn tags<'a>(&'a self, of: &'a str) -> BoxFuture<'a, Api<Vec<(String, String)>>> {
        Box::pin(self.state.request(&self.clock, "ListTagsOfResource", self.model.control, move |s, _| {
            let w = s.world();
            let name = of.rsplit('/').next().unwrap_or(of);
            Ok(w.tables.get(name).map(|t| t.tags.clone()).unwrap_or_default())
        }))
    }

    fn delete_table<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Api<()>> {
        Box::pin(self.state.request(&self.clock, "DeleteTable", self.model.control, move |s, _| {
            let mut w = s.world();
            match self.mine(&w, name) {
                None => Err(not_found(name)),
                Some(t) if t.deletion_protection => {
                    Err(ApiError::new("ValidationException", format!("table `{name}` has deletion protection on")))
                }
                Some(_) => {
                    w.tables.remove(name);
                    Ok(())
                }
            }
        }))
    }
}
