//! `rds.restore_to_time`: a new instance from an instance's automated backups at a point
//! in time — in its region, or where its backups are replicated — inside the restorable
//! window (which real AWS enforces and moto does not, so it is checked here).

use jiff::SignedDuration;

use super::args::{PointInTime, point_in_time};
use super::rds_instance::{instance_outputs, own_instance, until_available};
use super::{Env, args, own_tags};
use crate::cloud::port::rds::{NewInstance, PitrSource};
use crate::cloud::{ActionCall, ActionError, ActionResult};
use crate::runbook::time::{Timestamp, format_timestamp};

pub struct Args {
    pub instance: String,
    pub new_instance: String,
    pub when: PointInTime,
    pub instance_class: Option<String>,
}

impl Args {
    pub fn decode(call: &ActionCall) -> Result<Args, ActionError> {
        Ok(Args {
            instance: args::text(call, "instance")?.into(),
            new_instance: args::text(call, "new_instance")?.into(),
            when: point_in_time(call)?,
            instance_class: args::opt_name(call, "instance_class")?.map(str::to_string),
        })
    }
}

/// `latest`, or `time` if it lies inside the window.
pub fn restore_time(
    op: &str,
    source: &str,
    when: PointInTime,
    (earliest, latest): (Timestamp, Timestamp),
    hint: &str,
) -> Result<Timestamp, ActionError> {
    let t = match when {
        PointInTime::Latest => return Ok(latest),
        PointInTime::At(t) => t,
    };
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
        .hint(hint.to_string()));
    }
    Ok(t)
}

pub async fn run(env: &Env<'_>, a: Args) -> Result<ActionResult, ActionError> {
    let (op, region) = (env.op(), env.region.as_str());
    let (source, id) = (a.instance.as_str(), a.new_instance.as_str());
    let rds = env.rds(region).await?;
    let now = env.ctx.clock.now();
    // In the instance's region its own backups; elsewhere, the ones replicated there.
    let (from, earliest, latest) = match rds.describe_instance(source).await.map_err(env.fail(source, region))? {
        Some(src) => {
            if src.retention_days <= 0 {
                return Err(ActionError::new(
                    op,
                    source,
                    "PointInTimeRestoreNotEnabled",
                    format!("`{source}` keeps no automated backups (retention 0)"),
                )
                .hint("point-in-time restore needs backup retention of at least 1 day; restore a snapshot instead"));
            }
            let earliest = now.checked_sub(SignedDuration::from_hours(24 * src.retention_days as i64)).unwrap_or(now);
            (PitrSource::Instance(source.into()), earliest, src.latest_restorable.unwrap_or(now))
        }
        None => {
            let b = rds.replicated_backups(source).await.map_err(env.fail(source, region))?.ok_or_else(|| {
                env.not_found("instance", source, region).hint(
                    "point-in-time restore works in the instance's region, or where its automated backups are replicated",
                )
            })?;
            (PitrSource::Backups(b.arn), b.earliest.unwrap_or(now), b.latest.unwrap_or(now))
        }
    };
    let time = restore_time(
        op,
        source,
        a.when,
        (earliest, latest),
        "choose a time inside the window (the latest restorable time trails now by about 5 minutes)",
    )?;
    if own_instance(env, rds.as_ref(), id, region).await?.is_none() {
        let new = NewInstance { id: id.into(), class: a.instance_class, tags: own_tags(env.call) };
        let at = match a.when {
            PointInTime::Latest => None,
            PointInTime::At(t) => Some(t),
        };
        rds.restore_to_time(&from, at, &new).await.map_err(env.fail(id, region))?;
        env.created("rds-instance", id, region);
    }
    let inst = until_available(env, &rds, id, region, None).await?;
    Ok(ActionResult { outputs: instance_outputs(&inst, false, Some(time)), recovery_point: Some(time) })
}
