//! `dynamodb.restore_to_time`: a new table from a table's point-in-time recovery, inside
//! its window, tagged with the run and step so a retried or resumed step adopts it.

use super::args::{PointInTime, point_in_time};
use super::dynamodb_wait_active::until_active;
use super::rds_restore_to_time::restore_time;
use super::{Env, args, own_tags, tagged_by};
use crate::cloud::{ActionCall, ActionError, ActionResult, outputs};

pub struct Args {
    pub table: String,
    pub new_table: String,
    pub when: PointInTime,
}

impl Args {
    pub fn decode(call: &ActionCall) -> Result<Args, ActionError> {
        Ok(Args {
            table: args::text(call, "table")?.into(),
            new_table: args::text(call, "new_table")?.into(),
            when: point_in_time(call)?,
        })
    }
}

pub async fn run(env: &Env<'_>, a: Args) -> Result<ActionResult, ActionError> {
    let (op, region) = (env.op(), env.region.as_str());
    let (source, target) = (a.table.as_str(), a.new_table.as_str());
    let db = env.dynamodb(region).await?;
    let src = db
        .describe_table(source)
        .await
        .map_err(env.fail(source, region))?
        .ok_or_else(|| env.not_found("table", source, region))?;
    let pitr = db.continuous_backups(source).await.map_err(env.fail(source, region))?;
    if !pitr.enabled {
        return Err(ActionError::new(
            op,
            source,
            "PointInTimeRecoveryUnavailableException",
            format!("point-in-time recovery is not enabled on `{source}`"),
        )
        .hint("turn on point-in-time recovery (it only covers time from then on), or restore an on-demand backup"));
    }
    let now = env.ctx.clock.now();
    let window = (pitr.earliest.unwrap_or(now), pitr.latest.unwrap_or(now));
    let time = restore_time(op, source, a.when, window, "choose a time inside the table's point-in-time window")?;
    let existing = db.describe_table(target).await.map_err(env.fail(target, region))?;
    let table = match existing {
        Some(t) => {
            let tags = db.tags(&t.arn).await.map_err(env.fail(target, region))?;
            if !tagged_by(&tags, env.call) {
                return Err(ActionError::new(
                    op,
                    target,
                    "TableAlreadyExistsException",
                    format!("a table named `{target}` already exists in {region}"),
                )
                .hint("choose another new_table name, or delete the leftover table"));
            }
            t
        }
        None => {
            let at = match a.when {
                PointInTime::Latest => None,
                PointInTime::At(t) => Some(t),
            };
            db.restore_to_time(source, target, at).await.map_err(env.fail(target, region))?;
            env.created("dynamodb-table", target, region);
            let t = db
                .describe_table(target)
                .await
                .map_err(env.fail(target, region))?
                .ok_or_else(|| env.not_found("table", target, region))?;
            db.tag(&t.arn, &own_tags(env.call)).await.map_err(env.fail(target, region))?;
            t
        }
    };
    let _ = src;
    let t = until_active(env, &db, &table.name, region, None).await?;
    let mut o = outputs::table(&t.name, &t.status, t.items);
    o.insert("recovery_point".into(), serde_json::Value::String(crate::runbook::time::format_timestamp(time)));
    Ok(ActionResult { outputs: o, recovery_point: Some(time) })
}
