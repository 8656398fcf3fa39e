//! What the RDS actions share: finding an instance, adopting one this step already
//! created, and waiting on the run's clock until an instance is available.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use serde_json::{Map, Value as Json};

use super::wait::{Look, until};
use super::{Env, tagged_by};
use crate::cloud::port::rds::{DbInstance, RdsApi};
use crate::cloud::{ActionError, Progress, outputs};
use crate::runbook::time::Timestamp;

pub async fn describe(env: &Env<'_>, rds: &dyn RdsApi, id: &str, region: &str) -> Result<DbInstance, ActionError> {
    rds.describe_instance(id).await.map_err(env.fail(id, region))?.ok_or_else(|| env.not_found("instance", id, region))
}

/// An instance this run's step already created, found by its tags (so a retried or
/// resumed step adopts its own work instead of failing or doubling it); another of the
/// same name is an error.
pub async fn own_instance(
    env: &Env<'_>,
    rds: &dyn RdsApi,
    id: &str,
    region: &str,
) -> Result<Option<DbInstance>, ActionError> {
    let Some(inst) = rds.describe_instance(id).await.map_err(env.fail(id, region))? else { return Ok(None) };
    let tags = rds.list_tags(&inst.arn).await.map_err(env.fail(id, region))?;
    if tagged_by(&tags, env.call) {
        return Ok(Some(inst));
    }
    Err(ActionError::new(
        env.op(),
        id,
        "DBInstanceAlreadyExists",
        format!("an instance named `{id}` already exists in {region}"),
    )
    .hint("choose another new_instance name, or delete the leftover instance"))
}

/// Until the instance is available, as `aws rds wait db-instance-available` does;
/// `limit` on the run's clock.
pub async fn until_available(
    env: &Env<'_>,
    rds: &Arc<dyn RdsApi>,
    id: &str,
    region: &str,
    limit: Option<StdDuration>,
) -> Result<DbInstance, ActionError> {
    let hint = "check the instance's events in the console; restores of large databases take longer";
    until(env, id, StdDuration::from_secs(15), limit, hint, || async move {
        let inst = describe(env, rds.as_ref(), id, region).await?;
        match inst.status.as_str() {
            "available" => {
                (env.ctx.progress)(Progress::Line(format!("{id}: available")));
                Ok(Look::Ready(inst))
            }
            "failed" | "incompatible-restore" | "incompatible-parameters" | "storage-full" => {
                Err(ActionError::new(env.op(), id, "InvalidDBInstanceState", format!("`{id}` is {}", inst.status))
                    .hint("check the instance's events in the console"))
            }
            _ => Ok(Look::Busy(inst.status)),
        }
    })
    .await
}

pub fn instance_outputs(inst: &DbInstance, status: bool, rp: Option<Timestamp>) -> Map<String, Json> {
    outputs::instance(
        &inst.id,
        inst.endpoint.as_deref().unwrap_or_default(),
        status.then_some(inst.status.as_str()),
        rp,
    )
}
